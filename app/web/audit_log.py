"""The audit log page for ``role:auditor``: who looked up (or changed) what, and when.

A Data Protection Officer asks "who looked at this child's records?" by the child's name or
person id, or narrows by the user who acted, a case, a record, an action and UTC dates.
``GET /audit`` renders the answer newest first, 50 events a page, each with what the user asked
and the records and people the event named; ``GET /audit.csv`` is the same question as a CSV
download (every matching event, up to ``CSV_MAX_EVENTS``). Both go through the audited actions
(``app.actions.audit_events`` and ``people_for_audit``), so reading the log is itself logged,
and both need ``role:auditor`` (anyone else gets the forbidden page).

A name is looked up among every child of the store, not only those whose records the auditor
may open: answering for any child is the auditor's duty (UK GDPR Art. 15 requests).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from app.actions import AUDITOR, audit_events, people_for_audit
from app.api.deps import ServicesDep
from app.audit import ACTIONS, AuditEvent, AuditPage, AuditQuery, canonical_json
from app.csv_export import csv_text
from app.errors import Forbidden
from app.services import Services
from app.web import present
from app.web.forms import MAX_ID_CHARS, DateField, parse_search_form
from app.web.render import PAGE_HEADERS, render
from app.web.routes import PageSession, _mark_page, base_context
from app.web.session import Session
from retrieval.people import Person

router = APIRouter(include_in_schema=False, dependencies=[Depends(_mark_page)])

PAGE_EVENTS = 50
CSV_MAX_EVENTS = 10_000
MAX_PERSON_CHARS = 200
_DIGITS = re.compile(r"[0-9]{1,6}")
CSV_COLUMNS = (
    "seq",
    "at",
    "user",
    "action",
    "query",
    "filters",
    "case_ids",
    "record_ids",
    "person_ids",
)
ACTION_LABELS: dict[str, str] = {
    "search": "Searched",
    "patterns": "Asked a pattern question",
    "view": "Opened a record",
    "view_denied": "Was refused a record",
    "browse": "Browsed a case",
    "push": "Pushed records",
    "delete": "Deleted a record",
    "audit_query": "Read the audit log",
    "export_subject": "Exported a person's records",
    "erase": "Erased records",
    "sign_in": "Signed in",
    "sign_out": "Signed out",
    "changes": "Read the change feed",
}
_FILTER_FIELDS = ("person", "user", "case_id", "record_id", "action")


@dataclass(slots=True)
class AuditForm:
    """The audit form as typed (to fill it again) and as checked values."""

    person: str = ""
    user: str = ""
    case_id: str = ""
    record_id: str = ""
    action: str = ""
    date_from_input: DateField = field(default_factory=DateField)
    date_to_input: DateField = field(default_factory=DateField)
    page: int = 1
    query: AuditQuery | None = None
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def asked(self) -> bool:
        return any(getattr(self, name) for name in _FILTER_FIELDS) or not (
            self.date_from_input.empty and self.date_to_input.empty
        )

    def params(self, **extra: str) -> list[tuple[str, str]]:
        """Query parameters that ask this question again (paging and CSV links)."""
        out = [(name, getattr(self, name)) for name in _FILTER_FIELDS if getattr(self, name)]
        for prefix, value in (("from", self.date_from_input), ("to", self.date_to_input)):
            if not value.empty:
                out += [(f"{prefix}_{p}", getattr(value, p)) for p in ("day", "month", "year")]
        out.extend(extra.items())
        return out


def _field(request: Request, name: str, limit: int, form: AuditForm, label: str) -> str:
    value = (request.query_params.get(name) or "").strip()
    if len(value) > limit:
        form.errors[name] = f"{label} must be {limit} characters or fewer"
        return value[:limit]
    return value


def parse_audit_form(request: Request, services: Services) -> AuditForm:
    """Read the audit form from the query string; errors are collected, never raised."""
    form = AuditForm()
    form.person = _field(request, "person", MAX_PERSON_CHARS, form, "Child")
    form.user = _field(request, "user", MAX_ID_CHARS, form, "User")
    form.case_id = _field(request, "case_id", MAX_ID_CHARS, form, "Case reference")
    form.record_id = _field(request, "record_id", MAX_ID_CHARS, form, "Record reference")
    form.action = _field(request, "action", 32, form, "Action")
    if form.action and form.action not in ACTIONS:
        form.errors["action"] = "Choose an action from the list"
        form.action = ""
    dates = parse_search_form(request, services.settings)
    form.date_from_input, form.date_to_input = dates.date_from_input, dates.date_to_input
    form.errors.update({k: v for k, v in dates.errors.items() if k in ("from", "to")})
    page = request.query_params.get("page", "1")
    form.page = int(page) if _DIGITS.fullmatch(page) and int(page) >= 1 else 1
    if not form.errors:
        form.query = AuditQuery(
            subject=form.user or None,
            case_id=form.case_id or None,
            record_id=form.record_id or None,
            action=form.action or None,
            date_from=dates.date_from,
            date_to=dates.date_to,
            limit=PAGE_EVENTS,
            offset=(form.page - 1) * PAGE_EVENTS,
        )
    return form


@dataclass(frozen=True, slots=True)
class Asked:
    """Who the person field meant: one child (the query runs), several (the user chooses) or
    none (an error)."""

    query: AuditQuery | None
    person: Person | None = None
    choices: list[Person] = field(default_factory=list)


def _resolve_person(services: Services, session: Session, form: AuditForm) -> Asked:
    if form.query is None:
        return Asked(None)
    if not form.person:
        return Asked(form.query)
    people = people_for_audit(services, session.caller, form.person)
    if len(people) == 1:
        return Asked(dataclasses.replace(form.query, person=people[0].id), person=people[0])
    if not people:
        form.errors["person"] = "No child has that name or person id"
    return Asked(None, choices=people)


@dataclass(frozen=True, slots=True)
class EventView:
    at: str
    user: str
    action: str
    asked: str
    cases: list[tuple[str, str]]
    records: list[tuple[str, str]]
    people: list[str]


def _asked(event: AuditEvent) -> str:
    """What the user typed (or that it was erased), else the filters they gave."""
    if event.action == "sign_in":
        return f"method: {event.detail.get('method', 'unknown')}"
    if event.query:
        return event.query
    if event.query_digest is not None:
        return "(query text erased)"
    shown = {k: v for k, v in event.filters.items() if k not in ("limit", "offset")}
    return ", ".join(f"{k}: {v}" for k, v in sorted(shown.items()))


def _event_view(event: AuditEvent) -> EventView:
    return EventView(
        at=event.at.replace("T", " ")[:19] + " UTC",
        user=event.subject,
        action=ACTION_LABELS.get(event.action, event.action),
        asked=_asked(event),
        cases=[(c, present.case_url(c)) for c in event.case_ids],
        records=[(r, present.record_url(r)) for r in event.record_ids],
        people=list(event.person_ids or ()),
    )


def _require_auditor(session: Session) -> None:
    if AUDITOR not in session.caller.all_principals:
        raise Forbidden("the audit log is for auditors (role:auditor)")


def _context(
    services: Services,
    session: Session,
    form: AuditForm,
    asked: Asked,
    page: AuditPage | None,
) -> dict[str, Any]:
    shown = len(page.events) if page else 0
    first = (form.page - 1) * PAGE_EVENTS
    return base_context(
        services,
        session,
        nav="audit",
        errors=form.errors,
        form=form,
        actions=[(a, ACTION_LABELS[a]) for a in ACTIONS],
        person=asked.person,
        choices=[(p, "/audit?" + urlencode(_with_person(form, p.id))) for p in asked.choices],
        events=[_event_view(e) for e in page.events] if page else None,
        total=page.total if page else 0,
        first=first + 1,
        last=first + shown,
        previous_url=_page_url(form, asked, form.page - 1) if form.page > 1 else None,
        next_url=(
            _page_url(form, asked, form.page + 1) if page and first + shown < page.total else None
        ),
        csv_url="/audit.csv?" + urlencode(_pinned(form, asked)),
    )


def _ask(services: Services, session: Session, form: AuditForm) -> tuple[Asked, AuditPage | None]:
    asked = _resolve_person(services, session, form) if form.asked else Asked(None)
    if asked.query is None:
        return asked, None
    return asked, audit_events(services, session.caller, asked.query)


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, services: ServicesDep, session: PageSession) -> Response:
    """The audit log: the form, and with any filter given the matching events."""
    _require_auditor(session)
    form = parse_audit_form(request, services)
    asked, page = _ask(services, session, form)
    context = _context(services, session, form, asked, page)
    return render(request, "audit.html", context, status_code=400 if form.errors else 200)


def _with_person(form: AuditForm, person_id: str) -> list[tuple[str, str]]:
    return [("person", person_id), *((k, v) for k, v in form.params() if k != "person")]


def _pinned(form: AuditForm, asked: Asked) -> list[tuple[str, str]]:
    """The form's parameters with the person pinned to the resolved id (so the CSV and the
    next pages do not depend on a name that could later match someone else)."""
    return _with_person(form, asked.person.id) if asked.person else form.params()


def _page_url(form: AuditForm, asked: Asked, page: int) -> str:
    return "/audit?" + urlencode(
        [*_pinned(form, asked), *([("page", str(page))] if page > 1 else [])]
    )


def events_csv(events: list[AuditEvent]) -> str:
    """One row per event (``CSV_COLUMNS``); lists joined with spaces; formula cells escaped."""
    rows = [
        (
            e.seq,
            e.at,
            e.subject,
            e.action,
            e.query or "",
            canonical_json(dict(e.filters)),
            " ".join(e.case_ids),
            " ".join(e.record_ids),
            " ".join(e.person_ids or ()),
        )
        for e in events
    ]
    return csv_text(CSV_COLUMNS, rows)


@router.get("/audit.csv", response_class=Response)
def audit_csv(request: Request, services: ServicesDep, session: PageSession) -> Response:
    """The same question as ``/audit`` as a CSV download: every matching event, newest first,
    at most ``CSV_MAX_EVENTS``. A form with errors, no filter, or a name meaning several
    children gets the page instead (400 for errors)."""
    _require_auditor(session)
    form = parse_audit_form(request, services)
    if not form.asked and not form.errors:
        form.errors["person"] = "Enter a child, a user, a case, a record or dates to download"
    asked = _resolve_person(services, session, form) if form.asked else Asked(None)
    if asked.query is None:
        context = _context(services, session, form, asked, None)
        return render(request, "audit.html", context, status_code=400 if form.errors else 200)
    query = dataclasses.replace(asked.query, limit=CSV_MAX_EVENTS, offset=0)
    page = audit_events(services, session.caller, query)
    headers = dict(PAGE_HEADERS)
    headers["Content-Disposition"] = 'attachment; filename="audit.csv"'
    return Response(events_csv(page.events), media_type="text/csv; charset=utf-8", headers=headers)
