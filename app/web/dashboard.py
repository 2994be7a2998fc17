"""The time-to-find dashboard for QA officers and auditors: how long a search takes to find.

``GET /time-to-find`` shows, for the last ``WINDOW_DAYS`` UTC days, the seconds from a search
to the first result opened from it (``app.actions.time_to_find``, the same figures as
``GET /v1/metrics/time-to-find``): the median and 90th percentile overall, a bar chart of the
daily median drawn on the server as SVG (no script), and the table behind the chart. It needs
``role:qa`` or ``role:auditor`` (anyone else gets the forbidden page); QA officers land here
from the bare search page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from app.actions import time_to_find
from app.api.deps import ServicesDep
from app.telemetry import TimeToFind, TimeToFindSummary
from app.web import present
from app.web.render import render
from app.web.routes import DASHBOARD_PAGE, PageSession, _mark_page, base_context

router = APIRouter(include_in_schema=False, dependencies=[Depends(_mark_page)])

WINDOW_DAYS = 30
CHART_HEIGHT = 200
CHART_TOP = 16
CHART_BOTTOM = 36
CHART_LEFT = 48
CHART_BAR = 14
CHART_GAP = 4


def seconds_text(value: float | None) -> str:
    """ "4.2 seconds", "1 minute 5 seconds"; "none opened" for no value."""
    if value is None:
        return "none opened"
    if value < 60:
        shown = f"{value:.1f}".removesuffix(".0")
        return f"{shown} second{'' if shown == '1' else 's'}"
    minutes, seconds = divmod(round(value), 60)
    minute_text = f"{minutes} minute{'' if minutes == 1 else 's'}"
    if not seconds:
        return minute_text
    return f"{minute_text} {seconds} second{'' if seconds == 1 else 's'}"


@dataclass(frozen=True, slots=True)
class DayRow:
    """One UTC day: the table's row and the chart's bar (``height`` 0 when nothing was opened)."""

    day: dt.date
    label: str  # "6 Dec 2026" (short: the table fits a phone)
    tick: str  # the axis label under the bar ("6 Dec"), "" for none
    searches: int
    opened: int
    median: str
    p90: str
    median_s: float | None
    x: float
    y: float
    height: float


@dataclass(frozen=True, slots=True)
class DayChart:
    rows: list[DayRow]
    width: int
    height: int
    top: int
    baseline: int
    left: int
    bar_width: int
    peak: str  # the top of the axis ("4.2 s"), "" when nothing was opened
    name: str  # the accessible name


def day_chart(summary: TimeToFind, first: dt.date, last: dt.date) -> DayChart:
    """A bar per UTC day from ``first`` to ``last`` (days without searches drawn empty, so the
    time axis is even), the bar the day's median time-to-find."""
    by_day = {d.day: d.summary for d in summary.days}
    count = (last - first).days + 1
    medians = [s.median_s for s in by_day.values() if s.median_s is not None]
    peak = max(medians, default=0.0)
    plot = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM
    baseline = CHART_TOP + plot
    rows = []
    for i in range(count):
        day = first + dt.timedelta(days=i)
        s = by_day.get(day, TimeToFindSummary(searches=0, count=0, median_s=None, p90_s=None))
        height = plot * s.median_s / peak if s.median_s is not None and peak > 0 else 0.0
        tick = f"{day.day} {present.MONTHS[day.month - 1][:3]}" if i % 7 == 0 else ""
        rows.append(
            DayRow(
                day=day,
                label=f"{day.day} {present.MONTHS[day.month - 1][:3]} {day.year}",
                tick=tick,
                searches=s.searches,
                opened=s.count,
                median=seconds_text(s.median_s),
                p90=seconds_text(s.p90_s),
                median_s=s.median_s,
                x=CHART_LEFT + CHART_GAP + i * (CHART_BAR + CHART_GAP),
                y=round(baseline - height, 2),
                height=round(height, 2),
            )
        )
    name = (
        f"Median time to find per day, {present.long_date(first)} to {present.long_date(last)}"
        + (f": longest {seconds_text(peak)}" if medians else ": no result opened yet")
    )
    return DayChart(
        rows=rows,
        width=CHART_LEFT + CHART_GAP + count * (CHART_BAR + CHART_GAP),
        height=CHART_HEIGHT,
        top=CHART_TOP,
        baseline=baseline,
        left=CHART_LEFT,
        bar_width=CHART_BAR,
        peak=_axis_label(peak) if medians else "",
        name=name,
    )


def _axis_label(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 60 else f"{seconds / 60:.1f} min"


@router.get(DASHBOARD_PAGE, response_class=HTMLResponse)
def dashboard_page(request: Request, services: ServicesDep, session: PageSession) -> Response:
    """The last ``WINDOW_DAYS`` UTC days of time-to-find; ``Forbidden`` without the role."""
    last = dt.datetime.now(dt.UTC).date()
    first = last - dt.timedelta(days=WINDOW_DAYS - 1)
    summary = time_to_find(services, session.caller, first, last)
    overall = summary.overall
    return render(
        request,
        "dashboard.html",
        base_context(
            services,
            session,
            nav="time-to-find",
            first=present.long_date(first),
            last=present.long_date(last),
            overall=overall,
            median=seconds_text(overall.median_s),
            p90=seconds_text(overall.p90_s),
            chart=day_chart(summary, first, last),
        ),
    )
