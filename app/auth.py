"""Bearer tokens: HS256 with ``CASESEARCH_JWT_SECRET`` (embedded default) or RS256 via JWKS.

A token carries ``sub`` and the caller's principals (claim name configurable). Expired tokens,
bad signatures, a wrong issuer or audience and unsigned (``alg: none``) tokens are rejected:
only the one configured algorithm is accepted. The claims are read strictly: ``exp``, ``iat``
and ``nbf`` must be numbers; a token may live at most ``auth.max_token_lifetime_s``; the
principals must be a list of strings (a string is not split), at most ``auth.max_principals``;
``sub`` is at most 256 characters without control characters (it is written to the audit log).
"""

from __future__ import annotations

import time
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jwt

from app.errors import AuthUnavailable, Unauthorized
from app.settings import AuthSettings, Settings

MAX_SUBJECT_CHARS = 256
MAX_PRINCIPAL_CHARS = 256
_TIME_CLAIMS = ("exp", "iat", "nbf")


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated user: a subject and the principals the records' ACLs name."""

    subject: str
    principals: frozenset[str]

    @property
    def all_principals(self) -> frozenset[str]:
        """Principals including ``user:<sub>`` so that per-user allow/deny entries apply."""
        return self.principals | {f"user:{self.subject}"} if self.subject else self.principals


def mint_token(
    settings: Settings, subject: str, principals: list[str], *, ttl_s: int | None = None
) -> str:
    """A development token signed with the configured HS256 secret."""
    if settings.auth.algorithm != "HS256":
        raise Unauthorized("tokens can only be minted locally with HS256")
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": subject,
        settings.auth.principals_claim: sorted(set(principals)),
        "iat": now,
        "exp": now + (ttl_s or settings.auth.token_ttl_s),
    }
    if settings.auth.issuer:
        claims["iss"] = settings.auth.issuer
    if settings.auth.audience:
        claims["aud"] = settings.auth.audience
    return jwt.encode(claims, settings.token_secret(), algorithm="HS256")


@lru_cache(maxsize=4)
def _jwks_client(url: str) -> jwt.PyJWKClient:
    # The key *set* is cached for five minutes; individual keys are not cached on their own
    # (PyJWT's per-key cache never expires, so a key the provider withdrew after a compromise
    # would stay trusted until restart). Unknown key ids refetch at most every 30 s.
    return jwt.PyJWKClient(url, cache_keys=False, lifespan=300, timeout=10, cooldown_duration=30)


def verify_token(settings: Settings, token: str) -> Caller:
    """Check a bearer token and return the caller.

    Raises ``Unauthorized`` for any problem with the token, and ``AuthUnavailable`` when the
    JWKS endpoint cannot be reached (the request fails closed either way).
    """
    auth = settings.auth
    options = {"require": ["exp", "sub"], "verify_aud": auth.audience is not None}
    try:
        if auth.algorithm == "RS256":
            if not auth.jwks_url:
                raise Unauthorized("RS256 is configured without a JWKS URL")
            key: Any = _jwks_client(auth.jwks_url).get_signing_key_from_jwt(token).key
        else:
            key = settings.token_secret()
        claims = jwt.decode(
            token,
            key,
            algorithms=[auth.algorithm],
            audience=auth.audience,
            issuer=auth.issuer,
            options=options,  # type: ignore[arg-type]
            leeway=30,
        )
    except Unauthorized:
        raise
    except jwt.PyJWKClientConnectionError:
        raise AuthUnavailable("the identity provider's signing keys could not be fetched") from None
    except jwt.ExpiredSignatureError:
        raise Unauthorized("the token has expired") from None
    except (jwt.PyJWTError, ValueError):
        raise Unauthorized("the token is not valid") from None
    return _caller(auth, claims)


def _caller(auth: AuthSettings, claims: dict[str, Any]) -> Caller:
    """The caller named by verified ``claims``; ``Unauthorized`` for claims of the wrong type
    or size (PyJWT turns ``"exp": "9999999999"`` into a number, and lets any lifetime pass)."""
    for name in _TIME_CLAIMS:
        value = claims.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise Unauthorized(f"the token's '{name}' claim is not a number")
    exp = float(claims["exp"])
    issued = float(claims["iat"]) if "iat" in claims else time.time()
    if exp - issued > auth.max_token_lifetime_s:
        raise Unauthorized(
            f"the token lives longer than {auth.max_token_lifetime_s} seconds; ask for a"
            " shorter-lived one"
        )
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject.strip():
        raise Unauthorized("the token lacks a subject")
    if len(subject) > MAX_SUBJECT_CHARS or _has_control(subject):
        raise Unauthorized(
            f"the token's subject must be at most {MAX_SUBJECT_CHARS} characters without"
            " control characters"
        )
    principals = claims.get(auth.principals_claim, [])
    if not isinstance(principals, list) or not all(isinstance(p, str) for p in principals):
        raise Unauthorized(f"the token's '{auth.principals_claim}' claim is not a list of strings")
    if len(principals) > auth.max_principals:
        raise Unauthorized(f"the token carries more than {auth.max_principals} principals")
    if any(len(p) > MAX_PRINCIPAL_CHARS or _has_control(p) for p in principals):
        raise Unauthorized(
            f"each principal must be at most {MAX_PRINCIPAL_CHARS} characters without control"
            " characters"
        )
    return Caller(subject=subject, principals=frozenset(p for p in principals if p))


def _has_control(text: str) -> bool:
    """Control characters or lone surrogates (neither belongs in a name)."""
    return any(unicodedata.category(c) in ("Cc", "Cs") for c in text)
