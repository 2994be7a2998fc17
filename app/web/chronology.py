"""The child's chronology page: ``GET /cases/{case_id}/chronology`` (and ``.../chronology.csv``).

A table with the four columns practice guidance asks of a chronology (date, event, source,
significance), each event a verbatim sentence linking to its record with the sentence marked.
Filters by category and date (a GET form, so a filtered chronology's URL can be shared), a CSV
download of the same answer, and a print stylesheet (``chronology-print.css``) that leaves out
the navigation and the filters. Both go through ``app.actions.case_chronology_for``, the
audited action behind ``GET /v1/cases/{case_id}/chronology``. A case with nothing the user may
see renders the same 404 as a case that does not exist, like the case page.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from app.actions import case_chronology_for
from app.api.chronology import chronology_csv
from app.api.deps import ServicesDep
from app.services import Services
from app.web import present
from app.web.forms import MAX_ID_CHARS, SearchForm, parse_search_form
from app.web.render import PAGE_HEADERS, render
from app.web.routes import PageSession, _mark_page, base_context, not_found_page
from retrieval.chronology import ChronologyEvent, load_rules

router = APIRouter(include_in_schema=False, dependencies=[Depends(_mark_page)])


@dataclass(frozen=True, slots=True)
class EventView:
    date: str
    date_iso: str
    date_note: str  # how the date was found
    label: str
    sentence: str
    url: str
    source: str
    source_date: str
    significance: str


@dataclass(frozen=True, slots=True)
class CategoryOption:
    value: str
    label: str
    checked: bool


def _date_text(event: ChronologyEvent) -> str:
    if event.date is None:
        return "Not recorded"
    if event.precision == "month":
        return f"{present.MONTHS[event.date.month - 1]} {event.date.year}"
    if event.precision == "year":
        return str(event.date.year)
    prefix = "week of " if event.precision == "week" else ""
    return prefix + present.long_date(event.date)


def _date_note(event: ChronologyEvent) -> str:
    if event.date_source == "record":
        return "date of the record"
    if event.precision == "relative":
        return f"“{event.date_text}”, counted from the record's date"
    return f"stated in the record (“{event.date_text}”)"


def event_view(event: ChronologyEvent) -> EventView:
    c = event.citation
    query = urlencode([("start", str(c.char_start)), ("end", str(c.char_end))])
    return EventView(
        date=_date_text(event),
        date_iso=event.date.isoformat() if event.date else "",
        date_note=_date_note(event),
        label=event.label,
        sentence=event.sentence,
        url=f"{present.record_url(c.document_id)}?{query}#cited",
        source=event.title or present.doc_type_label(event.doc_type) or c.document_id,
        source_date=present.long_date(event.record_date),
        significance=event.significance,
    )


def chronology_url(case_id: str) -> str:
    return present.case_url(case_id) + "/chronology"


@router.get("/cases/{case_id:path}/chronology.csv")
def chronology_csv_download(
    case_id: str, request: Request, services: ServicesDep, session: PageSession
) -> Response:
    """The filtered chronology as a CSV download (same action, same audit)."""
    if not case_id or len(case_id) > MAX_ID_CHARS:
        return not_found_page(request, services, session)
    categories, dates = _filters(request, services)
    chronology = case_chronology_for(
        services,
        session.caller,
        case_id,
        categories=categories,
        date_from=None if dates.errors else dates.date_from,
        date_to=None if dates.errors else dates.date_to,
    )
    return Response(
        chronology_csv(chronology),
        media_type="text/csv; charset=utf-8",
        headers={**PAGE_HEADERS, "Content-Disposition": 'attachment; filename="chronology.csv"'},
    )


@router.get("/cases/{case_id:path}/chronology", response_class=HTMLResponse)
def chronology_page(
    case_id: str, request: Request, services: ServicesDep, session: PageSession
) -> Response:
    """The case's chronology, oldest first, filtered by category and date."""
    if not case_id or len(case_id) > MAX_ID_CHARS:
        return not_found_page(request, services, session)
    categories, dates = _filters(request, services)
    errors = {k: v for k, v in dates.errors.items() if k in ("from", "to")}
    chronology = case_chronology_for(
        services,
        session.caller,
        case_id,
        categories=categories,
        date_from=None if errors else dates.date_from,
        date_to=None if errors else dates.date_to,
    )
    if chronology.records_read == 0 and dates.date_from is None:
        # nothing visible: the same 404 as a case that does not exist (the case page's rule)
        return not_found_page(request, services, session)
    options = [CategoryOption(c.id, c.label, c.id in categories) for c in load_rules().categories]
    query: list[tuple[str, str]] = [("category", c) for c in categories]
    for key in ("from", "to"):
        for part in ("day", "month", "year"):
            value = request.query_params.get(f"{key}_{part}")
            if value:
                query.append((f"{key}_{part}", value))
    csv_url = f"{chronology_url(case_id)}.csv" + (f"?{urlencode(query)}" if query else "")
    return render(
        request,
        "chronology.html",
        base_context(
            services,
            session,
            case_id=case_id,
            events=[event_view(e) for e in chronology.events],
            category_options=options,
            filtered=bool(categories or dates.date_from or dates.date_to),
            date_from_input=dates.date_from_input,
            date_to_input=dates.date_to_input,
            errors=errors,
            csv_url=csv_url,
            page_url=chronology_url(case_id),
        ),
    )


def _filters(request: Request, services: Services) -> tuple[list[str], SearchForm]:
    """The chosen categories (unknown ones ignored) and the date boxes, read as the search
    page reads them (same names, same checks)."""
    known = {c.id for c in load_rules().categories}
    wanted = [c for c in dict.fromkeys(request.query_params.getlist("category")) if c in known]
    return wanted, parse_search_form(request, services.settings)
