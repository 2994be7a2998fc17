"""The pattern view for QA staff: which cases show a concern, how often, since when, on what.

``GET /patterns`` asks ``app.actions.run_patterns`` (the audited action behind
``POST /v1/patterns``) with an indicator category or a question, a date range and "include
weaker matches", and renders the answer: counts, a monthly bar chart drawn here as inline SVG
with the same numbers in a table, a team breakdown, the cases strongest first with their quoted
evidence, and the mentions set apart. ``GET /patterns.csv`` answers the same question, through
the same action, as a CSV download (one row per case, or per quoted sentence with
``rows=evidence``). A GET form, so a question's URL can be shared; no JavaScript.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from app.actions import PatternParams, run_patterns
from app.api.deps import ServicesDep
from app.csv_export import csv_text
from app.errors import InvalidRequest
from app.services import Services
from app.web import present
from app.web.forms import DateField, parse_search_form
from app.web.render import PAGE_HEADERS, render
from app.web.routes import PageSession, _mark_page, base_context
from app.web.session import Session
from retrieval.errors import InvalidQueryError
from retrieval.indicators import load_library
from retrieval.patterns import CasePattern, Evidence, PatternResult

# Same page marker as the other pages: errors raised here are answered with an HTML page.
router = APIRouter(include_in_schema=False, dependencies=[Depends(_mark_page)])

MAX_CATEGORY_CHARS = 64
CSV_ROWS = ("cases", "evidence")
CASE_COLUMNS = ("case_id", "records", "strong_records", "first", "last")
EVIDENCE_COLUMNS = (
    "case_id",
    "document_id",
    "date",
    "assertion",
    "via",
    "wording",
    "quote",
    "char_start",
    "char_end",
)

# How each reading of a sentence is shown: (label, GOV.UK tag colour modifier).
ASSERTION_TAGS: dict[str, tuple[str, str]] = {
    "affirmed": ("Affirmed", "govuk-tag--blue"),
    "historical": ("Historical", "govuk-tag--grey"),
    "negated": ("Negated", "govuk-tag--green"),
    "hypothetical": ("Hypothetical", "govuk-tag--yellow"),
    "other person": ("Someone else", "govuk-tag--purple"),
}

# The chart's drawing units (the SVG scales to the column's width).
CHART_HEIGHT = 220
CHART_BAR = 40
CHART_GAP = 12
CHART_LEFT = 40
CHART_BOTTOM = 36
CHART_TOP = 12
DAY_MONTH_YEAR = ("day", "month", "year")


@dataclass(slots=True)
class PatternForm:
    """The pattern form as typed (to fill it again) and as checked values."""

    submitted: bool = False
    category: str = ""
    q: str = ""
    include_weak: bool = False
    date_from_input: DateField = field(default_factory=DateField)
    date_to_input: DateField = field(default_factory=DateField)
    params: PatternParams | None = None
    errors: dict[str, str] = field(default_factory=dict)

    def query(self, **extra: str) -> list[tuple[str, str]]:
        """Query parameters that ask this question again (for the CSV links)."""
        out: list[tuple[str, str]] = []
        if self.category:
            out.append(("category", self.category))
        if self.q:
            out.append(("q", self.q))
        for prefix, value in (("from", self.date_from_input), ("to", self.date_to_input)):
            if not value.empty:
                out += [(f"{prefix}_{part}", getattr(value, part)) for part in DAY_MONTH_YEAR]
        if self.include_weak:
            out.append(("all", "1"))
        out.extend(extra.items())
        return out


def parse_pattern_form(request: Request, services: Services) -> PatternForm:
    """Read the pattern form from the query string; a page with neither ``category`` nor ``q``
    is not a question. Errors are collected (keyed by field), never raised."""
    query = request.query_params
    form = PatternForm(submitted="category" in query or "q" in query)
    errors = form.errors
    max_chars = services.settings.limits.max_query_chars
    form.category = (query.get("category") or "").strip()[: MAX_CATEGORY_CHARS + 1]
    form.q = (query.get("q") or "").strip()[: max_chars + 1]
    form.include_weak = query.get("all") in ("1", "true", "on")
    # The date boxes are the search page's (same names, same checks).
    dates = parse_search_form(request, services.settings)
    form.date_from_input, form.date_to_input = dates.date_from_input, dates.date_to_input
    errors.update({k: v for k, v in dates.errors.items() if k in ("from", "to")})
    if form.submitted:
        if form.category and load_library().get(form.category) is None:
            errors["category"] = "Choose a concern from the list"
        elif form.category and form.q:
            errors["q"] = "Choose a concern from the list or type a question, not both"
        elif not form.category and not form.q:
            errors["category"] = "Choose a concern from the list or type a question"
        elif len(form.q) > max_chars:
            errors["q"] = f"Question must be {max_chars} characters or fewer"
            form.q = form.q[:max_chars]
    if form.submitted and not errors:
        form.params = PatternParams(
            query=form.q or None,
            category=form.category or None,
            date_from=dates.date_from,
            date_to=dates.date_to,
            include_weak=form.include_weak,
        )
    return form


def _ask(services: Services, session: Session, form: PatternForm) -> PatternResult | None:
    """Run the audited pattern question; a question the finder rejects becomes a form error."""
    if form.params is None:
        return None
    try:
        return run_patterns(services, session.caller, form.params)
    except (InvalidQueryError, InvalidRequest) as exc:
        text = str(exc).strip() or "Check your question and try again"
        form.errors["category" if form.category else "q"] = text[:1].upper() + text[1:]
        return None


# -- what the page shows ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EvidenceView:
    url: str
    date: str
    document_id: str
    quote: str
    tag: str
    tag_class: str
    via: str


@dataclass(frozen=True, slots=True)
class CaseView:
    case_id: str
    url: str
    records: int
    strong_records: int
    first: str
    last: str
    evidence: list[EvidenceView]


@dataclass(frozen=True, slots=True)
class Bar:
    month: str  # "YYYY-MM"
    label: str  # "June 2024"
    records: int
    x: float
    y: float
    height: float
    tick: str  # the axis label under this bar ("" for none)


@dataclass(frozen=True, slots=True)
class Chart:
    bars: list[Bar]
    width: int
    height: int
    top: int
    baseline: int
    left: int
    bar_width: int
    peak: int
    name: str  # the accessible name


def evidence_url(e: Evidence) -> str:
    """The record page at the quoted sentence (the same anchor a search result links to)."""
    query = urlencode(
        [("chunk", e.chunk_id), ("start", str(e.char_start)), ("end", str(e.char_end))]
    )
    return f"{present.record_url(e.document_id)}?{query}#cited"


def _evidence_view(e: Evidence) -> EvidenceView:
    tag, tag_class = ASSERTION_TAGS.get(e.assertion, (e.assertion.capitalize(), "govuk-tag--grey"))
    via = f"the wording “{e.wording}”" if e.via == "wording" and e.wording else "meaning"
    return EvidenceView(
        url=evidence_url(e),
        date=present.long_date(e.created_at),
        document_id=e.document_id,
        quote=e.text,
        tag=tag,
        tag_class=tag_class,
        via=via,
    )


def _month_label(month: str, *, short: bool = False) -> str:
    year, number = month.split("-")
    name = present.MONTHS[int(number) - 1]
    return f"{name[:3] if short else name} {year}"


def _months_between(first: str, last: str) -> list[str]:
    year, month = (int(p) for p in first.split("-"))
    out: list[str] = []
    while f"{year:04d}-{month:02d}" <= last:
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def monthly_chart(histogram: tuple[tuple[str, int], ...]) -> Chart | None:
    """Bars for every month from the first to the last with a record (months without one are
    drawn as zero, so the time axis is even); ``None`` when no record has a date."""
    if not histogram:
        return None
    counts = dict(histogram)
    months = _months_between(histogram[0][0], histogram[-1][0])
    peak = max(counts.values())
    plot = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM
    baseline = CHART_TOP + plot
    # an axis label each January, and on the first bar; every bar when there are few
    every = len(months) <= 12
    bars = []
    for i, month in enumerate(months):
        records = counts.get(month, 0)
        height = plot * records / peak
        tick = _month_label(month, short=True) if every or i == 0 or month.endswith("-01") else ""
        bars.append(
            Bar(
                month=month,
                label=_month_label(month),
                records=records,
                x=CHART_LEFT + CHART_GAP + i * (CHART_BAR + CHART_GAP),
                y=round(baseline - height, 2),
                height=round(height, 2),
                tick=tick,
            )
        )
    busiest = max(bars, key=lambda b: b.records)
    span = bars[0].label if len(bars) == 1 else f"{bars[0].label} to {bars[-1].label}"
    name = (
        f"Bar chart of records showing the concern per month, {span}. "
        f"Most in {busiest.label}: {busiest.records} record{'' if busiest.records == 1 else 's'}."
    )
    return Chart(
        bars=bars,
        width=max(CHART_LEFT + CHART_GAP + len(months) * (CHART_BAR + CHART_GAP), 240),
        height=CHART_HEIGHT,
        top=CHART_TOP,
        baseline=baseline,
        left=CHART_LEFT,
        bar_width=CHART_BAR,
        peak=peak,
        name=name,
    )


def _team_label(principal: str) -> str:
    return principal.removeprefix("team:")


def _threshold(services: Services) -> dict[str, Any]:
    finder = services.patterns
    share = finder.min_strong_share
    example = 50
    return {
        "min_records": finder.min_strong_records,
        "share_percent": f"{share * 100:g}",
        "example_records": example,
        "example_strong": max(finder.min_strong_records, math.ceil(share * example)),
    }


def _category_options() -> list[tuple[str, str]]:
    return [(c.id, c.label) for c in load_library().categories]


READ_AS = {
    "name": "Your question names",
    "meaning": "Your question reads, by its meaning, as",
    "signs": "Your question describes a sign of",
}
"""How the page says the concern was read (``PatternResult.categories_by``)."""


def _page(
    request: Request,
    services: Services,
    session: Session,
    form: PatternForm,
    result: PatternResult | None,
) -> HTMLResponse:
    errors = form.errors
    library = load_library()
    named = [c.label for cid in (result.categories if result else ()) if (c := library.get(cid))]
    asked = (form.q or ", ".join(named)) if result is not None else ""
    return render(
        request,
        "patterns.html",
        base_context(
            services,
            session,
            nav="patterns",
            title=f"{asked} – Patterns across cases" if asked else "Patterns across cases",
            form=form,
            errors=errors,
            categories=_category_options(),
            result=result,
            asked=asked,
            named=named,
            read_as=READ_AS.get(result.categories_by or "", READ_AS["name"]) if result else "",
            cases=[_case_view(c) for c in result.cases] if result else [],
            chart=monthly_chart(result.histogram) if result else None,
            teams=[(_team_label(t), n) for t, n in result.teams] if result else [],
            set_apart=[_evidence_view(e) for e in result.set_apart] if result else [],
            threshold=_threshold(services),
            csv_cases_url="/patterns.csv?" + urlencode(form.query()),
            csv_evidence_url="/patterns.csv?" + urlencode(form.query(rows="evidence")),
        ),
        status_code=400 if errors else 200,
    )


def _case_view(c: CasePattern) -> CaseView:
    return CaseView(
        case_id=c.case_id,
        url=present.case_url(c.case_id),
        records=c.records,
        strong_records=c.strong_records,
        first=present.long_date(c.first),
        last=present.long_date(c.last),
        evidence=[_evidence_view(e) for e in c.evidence],
    )


@router.get("/patterns", response_class=HTMLResponse)
def patterns_page(request: Request, services: ServicesDep, session: PageSession) -> Response:
    """The pattern view; with ``category`` or ``q`` it asks the audited pattern question."""
    form = parse_pattern_form(request, services)
    result = _ask(services, session, form)
    return _page(request, services, session, form, result)


# -- CSV --------------------------------------------------------------------------------------


def cases_csv(result: PatternResult) -> str:
    """One row per listed case, strongest first (``CASE_COLUMNS``; dates ISO, blank if none)."""
    rows: list[tuple[object, ...]] = [
        (
            c.case_id,
            c.records,
            c.strong_records,
            c.first.isoformat() if c.first else "",
            c.last.isoformat() if c.last else "",
        )
        for c in result.cases
    ]
    return csv_text(CASE_COLUMNS, rows)


def evidence_csv(result: PatternResult) -> str:
    """One row per quoted sentence the page shows for the listed cases (``EVIDENCE_COLUMNS``)."""
    rows: list[tuple[object, ...]] = [
        (
            c.case_id,
            e.document_id,
            e.created_at.isoformat() if e.created_at else "",
            e.assertion,
            e.via,
            e.wording or "",
            e.text,
            e.char_start,
            e.char_end,
        )
        for c in result.cases
        for e in c.evidence
    ]
    return csv_text(EVIDENCE_COLUMNS, rows)


@router.get("/patterns.csv", response_class=Response)
def patterns_csv(request: Request, services: ServicesDep, session: PageSession) -> Response:
    """The same question as ``/patterns`` as a CSV download (``rows=cases``, the default, or
    ``rows=evidence``), through the same audited action. A form with errors gets the page
    with its error summary (400) instead."""
    form = parse_pattern_form(request, services)
    rows = request.query_params.get("rows", "cases")
    if rows not in CSV_ROWS:
        form.errors["rows"] = "Choose cases or evidence for the download"
        form.params = None
    if not form.submitted:
        form.errors["category"] = "Choose a concern from the list or type a question"
    result = _ask(services, session, form)
    if result is None:
        return _page(request, services, session, form, None)
    body = evidence_csv(result) if rows == "evidence" else cases_csv(result)
    name = f"patterns-{form.category or 'question'}-{rows}.csv"
    headers = dict(PAGE_HEADERS)
    headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return Response(body, media_type="text/csv; charset=utf-8", headers=headers)
