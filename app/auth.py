"""Bearer tokens: HS256 with ``CASESEARCH_JWT_SECRET`` (embedded default) or RS256 via JWKS.

A token carries ``sub`` and the caller's principals (claim name configurable). Expired tokens,
bad signatures, a wrong issuer or audience and unsigned (``alg: none``) tokens are rejected:
only the one configured algorithm is accepted.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jwt

from app.errors import AuthUnavailable, Unauthorized
from app.settings import Settings


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
    subject = claims.get("sub")
    principals = claims.get(auth.principals_claim, [])
    if isinstance(principals, str):
        principals = principals.split()
    if not isinstance(subject, str) or not subject or not isinstance(principals, list):
        raise Unauthorized("the token lacks a subject or principals")
    return Caller(
        subject=subject, principals=frozenset(p for p in principals if isinstance(p, str) and p)
    )
