"""The pages: sign-in, search, record and case. Server-rendered; no page needs JavaScript.

Routes only translate between HTTP and ``app.actions`` (which audits every search, view and
browse and records time-to-find), so a page can never show what the API would not.

The search page also answers partial requests (``partial=1``, see ``wants_partial``): the same
search, through the same action, rendered as the results region alone. The page's script asks
for them while the user types (results as you type); without the script nothing changes.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from app.actions import (
    AUDITOR,
    QA,
    SearchParams,
    case_timeline_for,
    open_document,
    record_sign_in,
    record_sign_out,
    run_search,
)
from app.api.deps import ServicesDep
from app.auth import Caller, mint_token
from app.errors import InvalidRequest, NotFound
from app.limits import RateLimiter
from app.media import clock
from app.oidc import client_for
from app.services import Services
from app.web import present
from app.web.devlogin import check_user_id, demo_users, parse_principals
from app.web.forms import MAX_ID_CHARS, PAGE_SIZE, DateField, SearchForm, parse_search_form
from app.web.render import PAGE_HEADERS, render
from app.web.session import (
    OIDC_SIGNED_OUT_PATH,
    SIGN_IN_COOKIE,
    Session,
    clear_session_cookie,
    clear_sign_in_cookie,
    csrf_ok,
    csrf_token,
    current_session,
    new_sign_in_nonce,
    oidc_address,
    require_session,
    safe_next,
    set_session_cookie,
    set_sign_in_cookie,
    sign_in_csrf_ok,
    sign_in_csrf_token,
)
from app.web.transcript import recording_view
from retrieval.browse import visible_cases
from retrieval.errors import InvalidQueryError
from retrieval.models import AccessScope, Hit, SearchResult
from retrieval.people import case_label, children_by_case, resolve_names

# A select lists every case the user may see when there are few enough to scan; beyond that
# (a QA officer sees them all) a text box keeps the page small.
CASE_SELECT_MAX = 200
MAX_FORM_FIELD = 4000
_SEARCH_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_OFFSET = re.compile(r"[0-9]{1,9}")
PARTIAL_PARAM = "partial"
# A record opened from a result carries the search's query string (``back``) for "Back to
# results"; longer than any search the form can make is not one.
MAX_BACK_CHARS = 6000
# Where a user lands on the bare search page when their role has a page of its own.
SEARCH_PAGE = "/search"
DASHBOARD_PAGE = "/time-to-find"

# The look-ups practitioners ask for most; each runs a search scoped to the case, no typing.
QUICK_LOOKUPS: tuple[tuple[str, str], ...] = (
    ("Current safety plan", "current safety plan"),
    (
        "Current plan (child protection or child in need)",
        "current child protection plan or child in need plan",
    ),
    ("Latest GP contact", "latest GP contact"),
    ("Latest strategy discussion", "latest strategy discussion"),
)


def _mark_page(request: Request) -> None:
    """Errors raised while serving a page are answered with an HTML page (see ``install_web``)."""
    request.state.web_page = True


router = APIRouter(include_in_schema=False, dependencies=[Depends(_mark_page)])


def wants_partial(request: Request) -> bool:
    """Whether a page request asks for its results region alone (``partial=1``).

    Only the search page has one; the parameter is never part of a page's own URL (the form,
    paging links and the address the script puts in the location bar leave it out).
    """
    return request.query_params.get(PARTIAL_PARAM) == "1"


def page_session(request: Request, services: ServicesDep) -> Session:
    """The signed-in user of a page (else a redirect to sign-in), rate-limited like the API."""
    session = require_session(request, services.settings)
    limiter: RateLimiter | None = getattr(request.app.state, "rate_limiter", None)
    if limiter is not None:
        limiter.check(session.caller.subject)
    return session


PageSession = Annotated[Session, Depends(page_session)]


def dev_sign_in_on(services: Services) -> bool:
    """Whether the development sign-in is offered: only when switched on explicitly, only with
    locally signed (HS256) tokens, and never when OpenID Connect sign-in is configured."""
    settings = services.settings
    return settings.dev_sign_in and settings.auth.algorithm == "HS256" and not settings.oidc.enabled


def base_context(services: Services, session: Session | None, **extra: Any) -> dict[str, Any]:
    """What every page's layout needs, plus ``extra``."""
    principals = session.caller.all_principals if session else frozenset()
    context: dict[str, Any] = {
        "user": session.caller.subject if session else None,
        "csrf": csrf_token(services.settings, session) if session else "",
        "dev_login": dev_sign_in_on(services),
        "auditor": AUDITOR in principals,
        "time_to_find": bool({AUDITOR, QA} & principals),
        # the bare search page sends these users to their own page: the menu's search link
        # must not
        "search_href": SEARCH_PAGE if landing_page(principals) else "/",
        "nav": None,
        "errors": {},
        "max_query_chars": services.settings.limits.max_query_chars,
    }
    context.update(extra)
    return context


def landing_page(principals: frozenset[str]) -> str | None:
    """The page made for a user's role, where the bare search page sends them: the audit log
    for ``role:auditor``, the time-to-find dashboard for ``role:qa``; ``None`` for others."""
    if AUDITOR in principals:
        return "/audit"
    if QA in principals:
        return DASHBOARD_PAGE
    return None


def not_found_page(request: Request, services: Services, session: Session | None) -> HTMLResponse:
    """The one "not found" page: a missing and a forbidden record or case look exactly alike."""
    return render(request, "not_found.html", base_context(services, session), status_code=404)


def _redirect(url: str) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    response.headers.update(PAGE_HEADERS)
    return response


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip()[:MAX_FORM_FIELD] if isinstance(value, str) else ""


# -- sign-in and sign-out ---------------------------------------------------------------------


def _sign_in_page(
    request: Request,
    services: Services,
    *,
    next_path: str,
    notice: str | None = None,
    errors: dict[str, str] | None = None,
    chosen: str = "",
    user_id: str = "",
    principals: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    users = demo_users(services.settings) if dev_sign_in_on(services) else ()
    oidc = services.settings.oidc
    nonce = new_sign_in_nonce()
    response = render(
        request,
        "sign_in.html",
        base_context(
            services,
            None,
            errors=errors or {},
            notice=notice,
            next=next_path,
            demo_users=users,
            user_anchor="user-1" if users else "user-other",
            chosen=chosen,
            user_id=user_id,
            principals=principals,
            sign_in_csrf=sign_in_csrf_token(services.settings, nonce),
            oidc_provider=oidc.provider_name if oidc.enabled else None,
            oidc_url="/sign-in/oidc?" + urlencode({"next": next_path}),
        ),
        status_code=status_code,
    )
    set_sign_in_cookie(response, request, nonce)
    return response


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_form(
    request: Request,
    services: ServicesDep,
    next_path: Annotated[str | None, Query(alias="next")] = None,
    signed_out: str | None = None,
    ended: str | None = None,
) -> Response:
    """The sign-in page; a signed-in user is sent on to where they were going."""
    target = safe_next(next_path)
    if signed_out is None and current_session(request, services.settings) is not None:
        return _redirect(target)
    notice = None
    if signed_out is not None:
        notice = "You have signed out."
    elif ended is not None:
        notice = "Your sign-in has ended. Sign in again to carry on."
    return _sign_in_page(request, services, next_path=target, notice=notice)


@router.post("/sign-in", response_class=HTMLResponse)
async def sign_in(request: Request, services: ServicesDep) -> Response:
    """Development sign-in (``CASESEARCH_DEV_SIGN_IN=true`` only): mints a JWT into the cookie."""
    settings = services.settings
    if not dev_sign_in_on(services):
        return not_found_page(request, services, None)
    form = await request.form()
    next_path = safe_next(_field(form, "next"))
    chosen, user_id, principals_text = (
        _field(form, "user"),
        _field(form, "user_id"),
        _field(form, "principals"),
    )

    def again(errors: dict[str, str]) -> HTMLResponse:
        return _sign_in_page(
            request,
            services,
            next_path=next_path,
            errors=errors,
            chosen=chosen,
            user_id=user_id,
            principals=principals_text,
            status_code=400,
        )

    nonce = request.cookies.get(SIGN_IN_COOKIE)
    if not sign_in_csrf_ok(settings, nonce, _field(form, "csrf_token")):
        return again({"form": "The sign-in form had expired. Check the details and sign in again."})
    errors: dict[str, str] = {}
    if not chosen and user_id:
        chosen = "other"  # typed a user id without choosing "Another user" first
    if chosen == "other":
        subject = user_id
        principals, principals_error = parse_principals(principals_text)
        if (user_error := check_user_id(user_id)) is not None:
            errors["user_id"] = user_error
        if principals_error is not None:
            errors["principals"] = principals_error
    else:
        match = [u for u in demo_users(settings) if u.sub == chosen]
        if not match:
            errors["user"] = "Select who you are signing in as"
        subject, principals = (match[0].sub, match[0].principals) if match else ("", ())
    if errors:
        return again(errors)
    token = mint_token(settings, subject, list(principals))
    record_sign_in(services, Caller(subject, frozenset(principals)), "development")
    response = _redirect(next_path)
    set_session_cookie(response, request, token, settings.auth.token_ttl_s)
    clear_sign_in_cookie(response, request)
    return response


@router.post("/sign-out", response_class=HTMLResponse)
async def sign_out(request: Request, services: ServicesDep) -> Response:
    """Clears the session cookie. A live session must send its CSRF token (else 403).

    With OpenID Connect sign-in, the user is then taken on to sign out at the provider too, if
    it advertises an ``end_session_endpoint`` (RP-initiated logout), through a page that moves
    on by itself: a form's redirect to another site would break the pages' ``form-action``.
    """
    session = current_session(request, services.settings)
    form = await request.form()
    if session is not None and not csrf_ok(services.settings, session, _field(form, "csrf_token")):
        return render(
            request,
            "problem.html",
            base_context(
                services,
                session,
                heading="You have not been signed out",
                lines=[
                    "The request could not be checked, so nothing was changed.",
                    "Go back to the page you were on, reload it, then select Sign out again.",
                ],
            ),
            status_code=403,
        )
    if session is not None:
        record_sign_out(services, session.caller)
    response: Response = _redirect("/sign-in?signed_out=1")
    oidc = services.settings.oidc
    if oidc.enabled:
        back = oidc_address(request, oidc, OIDC_SIGNED_OUT_PATH)
        url = client_for(oidc).end_session_url(back)
        if url is not None:
            context = base_context(services, None, provider=oidc.provider_name, url=url)
            response = render(request, "oidc_signing_out.html", context)
            response.headers["Refresh"] = f"0; url={url}"
    clear_session_cookie(response, request)
    return response


# -- search -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ResultView:
    url: str
    title: str
    doc_type: str
    date: str
    case_id: str | None
    snippet: list[present.Piece]
    why: list[present.Fact]
    names: str = ""  # the children the record is about ("Ruth Walker")
    heard: str = ""  # a recording's hit: "Heard at 0:12 to 0:18"


@dataclass(frozen=True, slots=True)
class PersonChoice:
    """One child of an ambiguous name: the search again in her case, and her case page."""

    label: str
    search_url: str
    case_url: str


@dataclass(frozen=True, slots=True)
class Option:
    value: str
    label: str
    checked: bool
    count: int = 0


def _result_view(search_id: str, hit: Hit, back: str) -> ResultView:
    query = urlencode(
        [
            ("search_id", search_id),
            ("chunk", hit.chunk_id),
            ("start", str(hit.snippet.char_start)),
            ("end", str(hit.snippet.char_end)),
            ("back", back),
            # a recording plays from when the matched words were said
            *([("t", f"{hit.time_range[0]:g}")] if hit.time_range is not None else []),
        ]
    )
    return ResultView(
        url=f"{present.record_url(hit.document_id)}?{query}#cited",
        title=hit.title or hit.document_id,
        doc_type=present.doc_type_label(hit.doc_type),
        date=present.long_date(hit.created_at),
        case_id=hit.case_id,
        snippet=present.pieces(hit.snippet.text, hit.snippet.highlights),
        why=present.why_facts(hit.why),
        names=present.subject_names(hit.subjects),
        heard=(
            f"Heard at {clock(hit.time_range[0])} to {clock(hit.time_range[1])} of the recording"
            if hit.time_range is not None
            else ""
        ),
    )


def _person_choices(form: SearchForm, result: SearchResult | None) -> list[PersonChoice]:
    """ "Which Ruth?": one choice per case of each child the query's name fits, when the search
    was not scoped to one: several children (all visible to the user: search only lists those)
    share the name, or the name was only offered (a lower-case word such as "ruby")."""
    people = result.understanding.get("people") if result is not None else None
    if not isinstance(people, list) or not people or result is None:
        return []
    if result.understanding.get("scoped_to"):
        return []
    choices: list[PersonChoice] = []
    for person in people:
        for case_id in person.get("case_ids", []):
            scoped = [(k, v) for k, v in form.params(page=1) if k != "case_id"]
            choices.append(
                PersonChoice(
                    label=f"{person.get('name', '')} ({case_id})",
                    search_url=present.search_url([*scoped, ("case_id", case_id)]),
                    case_url=present.case_url(case_id),
                )
            )
    return choices


def _doc_type_options(selected: list[str]) -> list[Option]:
    known = [Option(v, label, v in selected) for v, label in present.DOC_TYPE_LABELS.items()]
    extra = [
        Option(v, present.doc_type_label(v), True)
        for v in selected
        if v not in present.DOC_TYPE_LABELS
    ]
    return known + extra


def _message(exc: Exception) -> str:
    text = str(exc).strip() or "Check your search and try again"
    return text[:1].upper() + text[1:]


@dataclass(frozen=True, slots=True)
class RemovableDate:
    """A date phrase read from the query, shown as a filter; its link searches without it."""

    label: str
    remove_url: str


@dataclass(slots=True)
class QueryNotes:
    """What the search did to the words typed, said once above the results."""

    corrected: str = ""  # the query as searched, when spelling was corrected
    added: list[str] = field(default_factory=list)  # wordings added ("GP (for general ...)")
    dates: list[RemovableDate] = field(default_factory=list)
    exact_url: str = ""  # the same search of exactly the words typed
    concern: str = ""  # the safeguarding concern the query was read as, and how
    understood_url: str = ""  # on an exact search: the search with the words read again

    def __bool__(self) -> bool:
        return bool(
            self.corrected or self.added or self.dates or self.understood_url or self.concern
        )


def _query_notes(form: SearchForm, understanding: Mapping[str, Any]) -> QueryNotes:
    params = form.params(page=1)
    if form.exact:
        understood = [(k, v) for k, v in params if k != "exact"]
        return QueryNotes(understood_url=present.search_url(understood))
    notes = QueryNotes(exact_url=present.search_url([*params, ("exact", "1")]))
    corrected = present.corrected_query(form.q, understanding.get("corrections"))
    if corrected != form.q:
        notes.corrected = corrected
    notes.added = present.added_wordings(understanding.get("expansions"))
    notes.concern = present.concern_read(
        understanding.get("concepts"), understanding.get("concepts_by")
    )
    read_from = present.iso_date(understanding.get("date_from"))
    read_to = present.iso_date(understanding.get("date_to"))
    if read_from is None and read_to is None:
        return notes
    # dates the boxes hold because this page filled them in from the phrase go with it
    same = {"from": form.date_from == read_from, "to": form.date_to == read_to}
    for phrase in present.date_phrases(form.q, dt.date.today()):
        kept = [(k, v) for k, v in params if k != "q" and not same.get(k.split("_")[0])]
        url = present.search_url([("q", phrase.without), *kept] if phrase.without else kept)
        notes.dates.append(RemovableDate(f"{phrase.text}: {phrase.dates}", url))
    return notes


def _fill_dates(form: SearchForm, understanding: Mapping[str, Any]) -> None:
    """Show the dates read from the query in the empty date boxes, so the user sees them, and
    remember them (``read_from``/``read_to``, hidden in the form) so that submitting the boxes
    unchanged leaves the query's words in charge of the dates."""
    for key, attr in (("from", "date_from_input"), ("to", "date_to_input")):
        value = present.iso_date(understanding.get(f"date_{key}"))
        if value is not None and getattr(form, attr).empty:
            setattr(form, attr, DateField(str(value.day), str(value.month), str(value.year)))
            setattr(form, f"read_{key}", value)


def _date_boxes(form: SearchForm) -> dict[str, dict[str, str]]:
    """The date boxes as this answer fills them, for a results region fetched on its own
    (``partial=1``): what each box holds (``day``, ``month``, ``year``), the date the page read
    from the query's words (``read``, ISO, or empty) and the date as words (``label``).
    casesearch.js puts them into the form, as the full page renders them."""
    boxes: dict[str, dict[str, str]] = {}
    for key in ("from", "to"):
        typed: DateField = getattr(form, f"date_{key}_input")
        read: dt.date | None = getattr(form, f"read_{key}")
        boxes[key] = {
            "day": typed.day,
            "month": typed.month,
            "year": typed.year,
            "read": read.isoformat() if read else "",
            "label": present.long_date(read or getattr(form, f"date_{key}")),
        }
    return boxes


@router.get("/", response_class=HTMLResponse)
def search_page(request: Request, services: ServicesDep, session: PageSession) -> Response:
    """The search page; with ``q`` it runs the search and renders the results in this response.

    With ``partial=1`` the answer is the results region alone (``_results.html``, the same
    rendering the page includes) for the same search: same checks, same audited
    ``run_search``, same status (400 when the form has errors).

    The bare page (no query string) sends an auditor or QA officer on to the page made for
    them (``landing_page``); their menu's search link is ``/search``, the same page.
    """
    if not request.url.query:
        landing = landing_page(session.caller.all_principals)
        if landing is not None:
            return _redirect(landing)
    return _search(request, services, session)


@router.get(SEARCH_PAGE, response_class=HTMLResponse)
def plain_search_page(request: Request, services: ServicesDep, session: PageSession) -> Response:
    """The search page, without a landing page's redirect (the form still submits to ``/``)."""
    return _search(request, services, session)


def _search(
    request: Request,
    services: ServicesDep,
    session: Session,
    *,
    open_case_error: Literal["missing", "too long"] | None = None,
) -> Response:
    """The search page (see ``search_page``); ``open_case_error`` is why "Open case" could not
    open one, said on its chooser."""
    settings = services.settings
    form = parse_search_form(request, settings)
    scope = AccessScope(session.caller.all_principals)
    cases = visible_cases(services.store, scope, limit=CASE_SELECT_MAX + 1)
    people = services.searcher.visible_people(scope)
    by_case = children_by_case(people)
    if (
        form.submitted
        and not form.errors
        and not form.case_id
        and not form.exact
        and form.offset == 0
        and not wants_partial(request)
    ):
        # a search box holding just a child's name opens the child's case
        naming = resolve_names(form.q, people)
        person = naming.person
        if person is not None and not naming.text.strip() and len(person.case_ids) == 1:
            return _redirect(present.case_url(person.case_ids[0]))
    result: SearchResult | None = None
    search_id = ""
    errors = dict(form.errors)
    if form.submitted and not errors:
        params = SearchParams(
            query=form.q,
            case_id=form.case_id,
            doc_types=tuple(form.doc_types),
            date_from=form.date_from,
            date_to=form.date_to,
            top_k=PAGE_SIZE,
            offset=form.offset,
            understand=not form.exact,
        )
        try:
            search_id, result = run_search(services, session.caller, params)
        except (InvalidQueryError, InvalidRequest) as exc:
            errors["q"] = _message(exc)
    back = urlencode(form.params())
    results = [_result_view(search_id, hit, back) for hit in result.hits] if result else []
    notes = _query_notes(form, result.understanding) if result is not None else QueryNotes()
    if result is not None:
        _fill_dates(form, result.understanding)
    if open_case_error == "missing":
        chooser = len(cases) <= CASE_SELECT_MAX
        errors["open-case"] = "Select a case to open" if chooser else "Enter a case reference"
    elif open_case_error == "too long":
        errors.pop("case_id", None)  # the same case_id parameter, read as the search's filter
        errors["open-case"] = f"Case reference must be {MAX_ID_CHARS} characters or fewer"
    next_page = form.page + 1
    has_next = len(results) == PAGE_SIZE and (next_page - 1) * PAGE_SIZE <= (
        settings.limits.max_offset
    )
    return render(
        request,
        "_results.html" if wants_partial(request) else "search.html",
        base_context(
            services,
            session,
            nav="search",
            title=f"{form.q} – Search results" if form.q and not errors else "Search case records",
            form=form,
            errors=errors,
            searched=result is not None,
            results=results,
            notes=notes,
            date_boxes=_date_boxes(form),
            first_rank=form.offset + 1,
            last_rank=form.offset + len(results),
            prev_url=present.search_url(form.params(page=form.page - 1)) if form.page > 1 else None,
            next_url=present.search_url(form.params(page=next_page)) if has_next else None,
            all_cases_url=_without_case(form),
            cases=cases[:CASE_SELECT_MAX] if len(cases) <= CASE_SELECT_MAX else cases[:1],
            case_select=len(cases) <= CASE_SELECT_MAX,
            case_labels={c: case_label(c, by_case.get(c, [])) for c in cases},
            doc_type_options=_doc_type_options(form.doc_types),
            person_choices=_person_choices(form, result),
            which_name=_which_name(result),
            scoped_to=(result.understanding.get("scoped_to") if result is not None else None),
        ),
        status_code=400 if errors else 200,
    )


def _which_name(result: SearchResult | None) -> str:
    """The first name the offered children share ("Ruth"), for "Which Ruth?"."""
    people = result.understanding.get("people") if result is not None else None
    if not isinstance(people, list) or not people:
        return ""
    names = {str(p.get("name", "")).split(" ")[0] for p in people}
    return names.pop() if len(names) == 1 else "child"


def _without_case(form: SearchForm) -> str:
    return present.search_url([(k, v) for k, v in form.params(page=1) if k != "case_id"])


# -- record -----------------------------------------------------------------------------------


_SECONDS = re.compile(r"\d{1,6}(?:\.\d{1,3})?")


def _offset(value: str | None) -> int | None:
    return int(value) if value is not None and _OFFSET.fullmatch(value) else None


@router.get("/records/{document_id:path}", response_class=HTMLResponse)
def record_page(
    document_id: str,
    request: Request,
    services: ServicesDep,
    session: PageSession,
    search_id: str | None = None,
    start: str | None = None,
    end: str | None = None,
    back: str | None = None,
    t: str | None = None,
) -> Response:
    """A record in full, the cited passage (``start``..``end``) marked; 404 if not visible.
    A recording's player starts at the cited passage, or at ``t`` seconds when given.

    Opening it from a result (``search_id``) records time-to-find here on the server, so it
    counts without JavaScript. ``back`` is the search's query string, for "Back to results";
    it can only ever lead to the search page.
    """
    if not document_id or len(document_id) > MAX_ID_CHARS:
        return not_found_page(request, services, session)
    search = search_id if search_id and _SEARCH_ID.fullmatch(search_id) else None
    try:
        doc = open_document(services, session.caller, document_id, search_id=search)
    except NotFound:
        return not_found_page(request, services, session)
    first, last = _offset(start), _offset(end)
    cited = first is not None and last is not None and 0 <= first < last <= len(doc.text)
    spans = [(first, last)] if cited and first is not None and last is not None else []
    return render(
        request,
        "record.html",
        base_context(
            services,
            session,
            doc=doc,
            pieces=present.pieces(doc.text, spans),
            cited=cited,
            cite_requested=start is not None or end is not None,
            recording=recording_view(
                doc,
                (first, last) if cited and first is not None and last is not None else None,
                _seconds(t),
            ),
            back_url=_back_url(back),
            source_url=present.source_link(
                services.settings.source_link_pattern, doc.source_uri, doc.id
            ),
        ),
    )


def _seconds(value: str | None) -> float | None:
    """``t=12.5`` as seconds; anything else is ignored."""
    if value is None or not _SECONDS.fullmatch(value):
        return None
    return float(value)


def _back_url(back: str | None) -> str | None:
    """The search page at the query string ``back`` (re-encoded, so nothing but ``/?...``)."""
    if not back or len(back) > MAX_BACK_CHARS:
        return None
    params = parse_qsl(back, keep_blank_values=True)
    if not any(key == "q" for key, _ in params):
        return None
    return present.search_url(params)


# -- case -------------------------------------------------------------------------------------


@router.get("/cases", response_class=HTMLResponse)
def open_case(
    request: Request, services: ServicesDep, session: PageSession, case_id: str | None = None
) -> Response:
    """The "open a case" form's target: on to the case page. Nothing chosen (or too long an id)
    is the search page again, 400, with the error said GOV.UK style on the chooser."""
    chosen = (case_id or "").strip()
    if not chosen:
        return _search(request, services, session, open_case_error="missing")
    if len(chosen) > MAX_ID_CHARS:
        return _search(request, services, session, open_case_error="too long")
    return _redirect(present.case_url(chosen))


@router.get("/cases/{case_id:path}", response_class=HTMLResponse)
def case_page(
    case_id: str, request: Request, services: ServicesDep, session: PageSession
) -> Response:
    """A child's visible records, newest first, with one-click look-ups.

    A case with no record the user may see renders the same 404 as a case that does not exist.
    """
    if not case_id or len(case_id) > MAX_ID_CHARS:
        return not_found_page(request, services, session)
    entries = case_timeline_for(services, session.caller, case_id, ())
    if not entries:
        return not_found_page(request, services, session)
    counts: dict[str, int] = {}
    for entry in entries:
        if entry.doc_type:
            counts[entry.doc_type] = counts.get(entry.doc_type, 0) + 1
    wanted = [t for t in dict.fromkeys(request.query_params.getlist("type")) if t in counts]
    shown = [e for e in entries if not wanted or e.doc_type in wanted]
    order = list(present.DOC_TYPE_LABELS)
    options = [
        Option(t, present.doc_type_label(t), t in wanted, counts[t])
        for t in sorted(counts, key=lambda t: (order.index(t) if t in order else len(order), t))
    ]
    quick_links = [
        {"text": text, "url": present.search_url([("q", query), ("case_id", case_id)])}
        for text, query in QUICK_LOOKUPS
    ]
    scope = AccessScope(session.caller.all_principals)
    children = children_by_case(services.searcher.visible_people(scope)).get(case_id, [])
    return render(
        request,
        "case.html",
        base_context(
            services,
            session,
            case_id=case_id,
            case_heading=case_label(case_id, children),
            entries=shown,
            type_options=options,
            selected_types=wanted,
            quick_links=quick_links,
        ),
    )
