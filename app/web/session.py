"""Who is using the pages: the session cookie, the bearer header, CSRF tokens, safe redirects.

A signed-in browser holds the same JWT the API accepts, in an ``HttpOnly``, ``SameSite=Strict``
cookie (``Secure`` over https). Behind a reverse proxy that signs users in with the council's
identity provider (RS256), the proxy may instead pass ``Authorization: Bearer <JWT>`` on every
request; a header wins over the cookie.

CSRF: every POST form carries a token that the server can recompute and the attacker cannot.
After sign-in it is an HMAC of the session JWT (which the page's script cannot read either);
before sign-in, an HMAC of a random nonce kept in a short-lived cookie. Both use the configured
secret as the key, so an injected cookie does not come with a matching form field.

A session cookie's token ends at its ``exp`` to the second: the 30 s of clock-skew leeway that
``verify_token`` gives bearer tokens from elsewhere is not given to the cookie, whose token this
server signed itself (development or OpenID Connect sign-in, ``app/web/oidc.py``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

import jwt
from fastapi import Request, Response

from app.auth import Caller, verify_token
from app.errors import Unauthorized
from app.settings import OidcSettings, Settings

SESSION_COOKIE = "casesearch_session"
SIGN_IN_COOKIE = "casesearch_sign_in"
SIGN_IN_NONCE_TTL_S = 3600
MAX_NEXT_CHARS = 2000
# where the OpenID provider sends the browser back to, after sign-in and after sign-out
OIDC_CALLBACK_PATH = "/sign-in/oidc/callback"
OIDC_SIGNED_OUT_PATH = "/sign-in/oidc/signed-out"


@dataclass(frozen=True, slots=True)
class Session:
    """An authenticated page request: the caller and the token it came with."""

    caller: Caller
    token: str
    from_cookie: bool


class SignInRequired(Exception):
    """Raised by page dependencies; answered with a redirect to the sign-in page."""

    def __init__(self, next_path: str, *, ended: bool) -> None:
        super().__init__("sign in required")
        self.next_path = next_path
        self.ended = ended


def _key(settings: Settings) -> bytes:
    return settings.token_secret().encode()


def _mac(settings: Settings, purpose: str, value: str) -> str:
    message = f"{purpose}\x00{value}".encode()
    return hmac.new(_key(settings), message, hashlib.sha256).hexdigest()


def request_token(request: Request) -> tuple[str | None, bool]:
    """The bearer token of a request and whether it came from the session cookie."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip(), False
    cookie = request.cookies.get(SESSION_COOKIE)
    return (cookie, True) if cookie else (None, False)


def current_session(request: Request, settings: Settings) -> Session | None:
    """The verified session, or ``None`` when there is no token or it does not verify."""
    token, from_cookie = request_token(request)
    if token is None:
        return None
    try:
        caller = verify_token(settings, token)
    except Unauthorized:
        return None
    if from_cookie and _past_exp(token):
        return None
    return Session(caller=caller, token=token, from_cookie=from_cookie)


def _past_exp(token: str) -> bool:
    """Whether a verified token's ``exp`` has passed, with no leeway."""
    exp = jwt.decode(token, options={"verify_signature": False}).get("exp")
    return not isinstance(exp, int | float) or exp <= time.time()


def require_session(request: Request, settings: Settings) -> Session:
    """The verified session; raises ``SignInRequired`` (with where to come back to) otherwise."""
    session = current_session(request, settings)
    if session is None:
        token, _ = request_token(request)
        raise SignInRequired(here(request), ended=token is not None)
    return session


def here(request: Request) -> str:
    """The path and query of a request, as a ``next`` value for the sign-in page."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def safe_next(value: str | None) -> str:
    """A local path to go to after signing in; anything else (another site, ``//host``) is ``/``."""
    if not value or len(value) > MAX_NEXT_CHARS:
        return "/"
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        return "/"
    if value.startswith(("/sign-in", "/sign-out")):
        return "/"
    return value


def oidc_address(request: Request, settings: OidcSettings, path: str) -> str:
    """The absolute address of ``path`` on this server, as registered with the OpenID provider
    (from ``oidc.redirect_base_url``, else from the request)."""
    base = settings.redirect_base_url or str(request.base_url).rstrip("/")
    return base + path


def csrf_token(settings: Settings, session: Session) -> str:
    """The CSRF token for forms posted within ``session``."""
    return _mac(settings, "csrf", session.token)


def csrf_ok(settings: Settings, session: Session, submitted: str | None) -> bool:
    return bool(submitted) and hmac.compare_digest(csrf_token(settings, session), submitted or "")


def new_sign_in_nonce() -> str:
    return secrets.token_urlsafe(24)


def sign_in_csrf_token(settings: Settings, nonce: str) -> str:
    """The CSRF token of the sign-in form, bound to the nonce in the sign-in cookie."""
    return _mac(settings, "sign-in", nonce)


def sign_in_csrf_ok(settings: Settings, nonce: str | None, submitted: str | None) -> bool:
    if not nonce or not submitted:
        return False
    return hmac.compare_digest(sign_in_csrf_token(settings, nonce), submitted)


def _secure(request: Request) -> bool:
    # Behind a TLS-terminating proxy, run uvicorn with --proxy-headers so the scheme is https.
    return request.url.scheme == "https"


def set_session_cookie(response: Response, request: Request, token: str, max_age: int) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=_secure(request)
    )


def set_sign_in_cookie(response: Response, request: Request, nonce: str) -> None:
    response.set_cookie(
        SIGN_IN_COOKIE,
        nonce,
        max_age=SIGN_IN_NONCE_TTL_S,
        path="/sign-in",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )


def clear_sign_in_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        SIGN_IN_COOKIE, path="/sign-in", httponly=True, samesite="strict", secure=_secure(request)
    )
