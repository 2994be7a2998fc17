"""Sign-in to the pages through the council's OpenID provider (``app/oidc.py`` does the checks).

``GET /sign-in/oidc`` sends the browser to the provider with a fresh ``state``, ``nonce`` and
PKCE verifier, kept meanwhile in a short-lived signed cookie (``SameSite=Lax``: the provider's
redirect back is a cross-site navigation, which would not carry a ``Strict`` cookie). The
callback checks ``state`` against that cookie, exchanges the code, verifies the ID token, maps
its groups to principals and starts the server's own session: the same cookie as every other
sign-in, holding a token this server signs, living at most ``oidc.session_lifetime_s``.

The callback answers with a short page that moves on to where the user was going (a
``Refresh`` header, so no script): the session cookie is ``SameSite=Strict``, and a redirect at
the end of the provider's cross-site chain would arrive without it. A user whose groups give no
principals stays on that page, which says they will find no records.

Every failure is a page saying what to do, never a traceback; logs name the check that failed
and the user id at most, never a code, a token, a group or a principal.
"""

from __future__ import annotations

import hmac
import logging
import time
from typing import Annotated

import jwt
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.actions import record_sign_in
from app.api.deps import ServicesDep
from app.auth import Caller, mint_token
from app.oidc import (
    PendingSignIn,
    ProviderUnavailable,
    SignInRefused,
    client_for,
    identity_for,
)
from app.services import Services
from app.settings import Settings
from app.web.render import PAGE_HEADERS, render
from app.web.routes import base_context, not_found_page
from app.web.session import (
    OIDC_CALLBACK_PATH,
    OIDC_SIGNED_OUT_PATH,
    Session,
    oidc_address,
    safe_next,
    set_session_cookie,
)

logger = logging.getLogger(__name__)

PENDING_COOKIE = "casesearch_oidc"
PENDING_PATH = "/sign-in/oidc"
# time allowed at the provider, from leaving this server to coming back
PENDING_TTL_S = 600
_PENDING_AUDIENCE = "casesearch:oidc-sign-in"
# The session cookie outlives the session's token by this much, so that a page asked for after
# expiry still sees the ended session and can say so ("Your sign-in has ended").
COOKIE_GRACE_S = 60


def _mark_page(request: Request) -> None:
    request.state.web_page = True


router = APIRouter(include_in_schema=False, dependencies=[Depends(_mark_page)])


# -- the pending sign-in cookie ---------------------------------------------------------------


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _set_pending(
    response: Response, request: Request, settings: Settings, pending: PendingSignIn
) -> None:
    claims = {
        "aud": _PENDING_AUDIENCE,
        "exp": int(time.time()) + PENDING_TTL_S,
        "state": pending.state,
        "nonce": pending.nonce,
        "verifier": pending.code_verifier,
        "redirect_uri": pending.redirect_uri,
        "next": pending.next_path,
    }
    value = jwt.encode(claims, settings.token_secret(), algorithm="HS256")
    response.set_cookie(
        PENDING_COOKIE,
        value,
        max_age=PENDING_TTL_S,
        path=PENDING_PATH,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )


def _read_pending(request: Request, settings: Settings) -> PendingSignIn | None:
    """The pending sign-in this browser started here, or ``None`` (absent, expired, forged)."""
    value = request.cookies.get(PENDING_COOKIE)
    if not value:
        return None
    try:
        claims = jwt.decode(
            value, settings.token_secret(), algorithms=["HS256"], audience=_PENDING_AUDIENCE
        )
        return PendingSignIn(
            state=str(claims["state"]),
            nonce=str(claims["nonce"]),
            code_verifier=str(claims["verifier"]),
            redirect_uri=str(claims["redirect_uri"]),
            next_path=safe_next(str(claims["next"])),
        )
    except (jwt.PyJWTError, KeyError):
        return None


def _clear_pending(response: Response, request: Request) -> None:
    response.delete_cookie(
        PENDING_COOKIE, path=PENDING_PATH, httponly=True, samesite="lax", secure=_secure(request)
    )


# -- pages ------------------------------------------------------------------------------------


def _problem(
    request: Request, services: Services, heading: str, lines: list[str], status_code: int
) -> HTMLResponse:
    context = base_context(services, None, heading=heading, lines=lines, again="/sign-in")
    response = render(request, "oidc_problem.html", context, status_code=status_code)
    _clear_pending(response, request)
    return response


def _unavailable(request: Request, services: Services, exc: Exception) -> HTMLResponse:
    logger.warning("OIDC sign-in: the identity provider is unavailable: %s", exc)
    name = services.settings.oidc.provider_name
    return _problem(
        request,
        services,
        "Sign-in is not available at the moment",
        [
            f"{name[:1].upper()}{name[1:]} could not be reached, so you have not been signed in.",
            "Try again in a few minutes. If it keeps happening, tell your IT service desk.",
        ],
        503,
    )


def _not_completed(request: Request, services: Services, reason: str) -> HTMLResponse:
    logger.warning("OIDC sign-in refused: %s", reason)
    return _problem(
        request,
        services,
        "Your sign-in could not be completed",
        [
            "You have not been signed in. The sign-in may have taken too long, been started in"
            " another tab or window, or its answer could not be checked.",
            "Sign in again from the start.",
        ],
        400,
    )


@router.get(PENDING_PATH, response_class=HTMLResponse)
def start_sign_in(
    request: Request,
    services: ServicesDep,
    next_path: Annotated[str | None, Query(alias="next")] = None,
) -> Response:
    """Send the browser to the provider to sign in; 404 when OIDC is not configured."""
    settings = services.settings
    if not settings.oidc.enabled:
        return not_found_page(request, services, None)
    redirect_uri = oidc_address(request, settings.oidc, OIDC_CALLBACK_PATH)
    try:
        url, pending = client_for(settings.oidc).begin(redirect_uri, safe_next(next_path))
    except ProviderUnavailable as exc:
        return _unavailable(request, services, exc)
    response = RedirectResponse(url, status_code=303)
    response.headers.update(PAGE_HEADERS)
    _set_pending(response, request, settings, pending)
    return response


@router.get(OIDC_CALLBACK_PATH, response_class=HTMLResponse)
def finish_sign_in(
    request: Request,
    services: ServicesDep,
    code: Annotated[str | None, Query(max_length=4096)] = None,
    state: Annotated[str | None, Query(max_length=512)] = None,
    error: Annotated[str | None, Query(max_length=256)] = None,
) -> Response:
    """Where the provider sends the browser back: start the session, or say why not."""
    settings = services.settings
    if not settings.oidc.enabled:
        return not_found_page(request, services, None)
    if error is not None:
        return _provider_said_no(request, services, error)
    pending = _read_pending(request, settings)
    if pending is None:
        return _not_completed(request, services, "no pending sign-in in this browser")
    if not state or not hmac.compare_digest(state, pending.state):
        return _not_completed(request, services, "the state does not match this browser's")
    if not code:
        return _not_completed(request, services, "the callback has no code")
    client = client_for(settings.oidc)
    try:
        identity = identity_for(client.finish(pending, code), settings.oidc)
    except ProviderUnavailable as exc:
        return _unavailable(request, services, exc)
    except SignInRefused as exc:
        return _not_completed(request, services, str(exc))
    lifetime = settings.oidc.session_lifetime_s
    token = mint_token(settings, identity.subject, sorted(identity.principals), ttl_s=lifetime)
    logger.info("OIDC sign-in: %s signed in", identity.subject)
    caller = Caller(identity.subject, identity.principals)
    record_sign_in(services, caller, "oidc")
    session = Session(caller=caller, token=token, from_cookie=True)
    context = base_context(
        services, session, next=pending.next_path, no_access=not identity.principals
    )
    response = render(request, "oidc_signed_in.html", context)
    if identity.principals:
        response.headers["Refresh"] = f"0; url={pending.next_path}"
    set_session_cookie(response, request, token, lifetime + COOKIE_GRACE_S)
    _clear_pending(response, request)
    return response


def _provider_said_no(request: Request, services: Services, error: str) -> HTMLResponse:
    """The provider sent the user back with an error instead of a code."""
    name = services.settings.oidc.provider_name
    if error in ("access_denied", "consent_required", "interaction_required"):
        logger.info("OIDC sign-in: the user or the provider declined (%s)", error)
        return _problem(
            request,
            services,
            "You have not been signed in",
            [
                f"Sign-in with {name} was cancelled, or permission to use your account for this"
                " service was not given.",
                "To use this service, sign in again and allow it. If you cannot, ask your IT"
                " service desk whether your account may use it.",
            ],
            403,
        )
    return _not_completed(request, services, "the provider answered with an error")


@router.get(OIDC_SIGNED_OUT_PATH, response_class=HTMLResponse)
def signed_out(request: Request, services: ServicesDep) -> Response:
    """Where the provider sends the browser back after signing out there."""
    response = RedirectResponse("/sign-in?signed_out=1", status_code=303)
    response.headers.update(PAGE_HEADERS)
    return response
