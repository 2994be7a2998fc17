"""OpenID Connect sign-in: the provider's metadata and keys, the code flow, claims to principals.

The authorization code flow with PKCE (S256), ``state`` and ``nonce``, through Authlib's OAuth
2 client; the ID token is checked with Authlib's OIDC claim rules (``CodeIDToken``) over a
signature verified with joserfc (Authlib's JOSE library) against the keys the provider
publishes at the ``jwks_uri`` of its discovery document. Nothing here knows pages or routes
(``app/web/oidc.py``).

Principals come only from the configured table (``OidcSettings.group_principals``): each group
in the ID token's groups claim that the table lists gives its principals, every other group
gives none, so a user in no listed group holds no principals and sees no record.

Errors: ``ProviderUnavailable`` when the provider cannot be reached or answers nonsense,
``SignInRefused`` when its answer fails a check; both derive from ``OidcError``. Their messages
name the check, never a token, a code or a principal.
"""

from __future__ import annotations

import threading
import time
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import httpx
from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_uri
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from app.settings import OidcSettings

DISCOVERY_PATH = "/.well-known/openid-configuration"
METADATA_TTL_S = 3600
KEYS_TTL_S = 300
# an ID token signed with a key id we do not know refetches the keys at most this often
KEYS_COOLDOWN_S = 30
# clock skew allowed between us and the provider when checking exp, iat and nbf
LEEWAY_S = 60
MAX_SUBJECT_CHARS = 256
# Asymmetric algorithms only: an HS256 ID token would be signed with the client secret, and
# "none" is no signature at all.
SIGNING_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)


class OidcError(Exception):
    """Sign-in through the provider did not complete."""


class ProviderUnavailable(OidcError):
    """The provider could not be reached, or its discovery document or keys are unusable."""


class SignInRefused(OidcError):
    """The provider's answer failed a check (state, token exchange, ID token, claims)."""


class UnknownSigningKey(SignInRefused):
    """The ID token names a key the provider's key set (as last fetched) does not hold."""


@dataclass(frozen=True, slots=True)
class ProviderMetadata:
    """What the discovery document says, as far as the sign-in uses it."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    end_session_endpoint: str | None
    algorithms: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PendingSignIn:
    """What the browser carries (signed, in a cookie) from the redirect to the callback."""

    state: str
    nonce: str
    code_verifier: str
    redirect_uri: str
    next_path: str


@dataclass(frozen=True, slots=True)
class Identity:
    """A signed-in user: the id the audit log names, and the principals the table gives."""

    subject: str
    principals: frozenset[str]


def group_names(claims: Mapping[str, Any], groups_claim: str) -> list[str]:
    """The groups in ``claims``: a list's strings, a lone string as one group, else none."""
    value = claims.get(groups_claim)
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [g for g in value if isinstance(g, str)]
    return []


def principals_for(claims: Mapping[str, Any], settings: OidcSettings) -> frozenset[str]:
    """The principals the configured table gives the groups in ``claims`` (exact match)."""
    table = settings.group_principals
    found: set[str] = set()
    for group in group_names(claims, settings.groups_claim):
        found.update(table.get(group, ()))
    return frozenset(found)


def identity_for(claims: Mapping[str, Any], settings: OidcSettings) -> Identity:
    """The user named by verified ID token ``claims``.

    Raises ``SignInRefused`` when the user id claim is missing, not a string, empty, longer than
    256 characters or holds control characters (it is written to the audit log).
    """
    subject = claims.get(settings.user_id_claim)
    if (
        not isinstance(subject, str)
        or not subject.strip()
        or len(subject) > MAX_SUBJECT_CHARS
        or any(unicodedata.category(c) in ("Cc", "Cs") for c in subject)
    ):
        raise SignInRefused(f"the ID token has no usable '{settings.user_id_claim}' claim")
    return Identity(subject=subject, principals=principals_for(claims, settings))


def verify_id_token(
    id_token: str,
    keys: KeySet,
    *,
    issuer: str,
    client_id: str,
    nonce: str,
    algorithms: tuple[str, ...],
    access_token: str | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """The claims of ``id_token`` once its signature (one of ``keys``, one of ``algorithms``),
    issuer, audience (``client_id`` among ``aud``; ``azp``, if given, is ``client_id``), nonce,
    times (``LEEWAY_S`` of skew) and ``at_hash`` all check out; ``SignInRefused`` otherwise.
    """
    allowed = [a for a in algorithms if a in SIGNING_ALGORITHMS]
    try:
        token = jwt.decode(id_token, keys, algorithms=allowed)
    except InvalidKeyIdError:
        raise UnknownSigningKey(
            "the ID token is signed with a key the provider does not list"
        ) from None
    except (JoseError, ValueError) as exc:
        name = type(exc).__name__
        raise SignInRefused(f"the ID token's signature did not verify ({name})") from None
    options: dict[str, Any] = {
        "iss": {"essential": True, "value": issuer},
        "aud": {"essential": True, "value": client_id},
        "sub": {"essential": True},
    }
    params = {"nonce": nonce, "client_id": client_id, "access_token": access_token}
    claims = CodeIDToken(token.claims, token.header, options, params)
    try:
        claims.validate(now=int(now if now is not None else time.time()), leeway=LEEWAY_S)
    except (JoseError, ValueError) as exc:
        raise SignInRefused(f"the ID token's claims did not check out ({exc})") from None
    return dict(claims)


class OidcClient:
    """One provider and this server as its client; caches the discovery document and keys.

    Thread-safe: pages are served from a thread pool.
    """

    def __init__(self, settings: OidcSettings) -> None:
        if not settings.issuer or not settings.client_id:
            raise ValueError("OIDC is not configured (issuer and client id)")
        self.issuer = settings.issuer
        self.client_id = settings.client_id
        secret = settings.client_secret
        self._secret = secret.get_secret_value() if secret is not None else None
        self.scopes = settings.scopes
        self.timeout_s = settings.timeout_s
        self._lock = threading.Lock()
        self._metadata: tuple[float, ProviderMetadata] | None = None
        self._keys: tuple[float, KeySet] | None = None

    # -- the provider's documents ---------------------------------------------------------------

    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = httpx.get(url, timeout=self.timeout_s, follow_redirects=False)
            response.raise_for_status()
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ProviderUnavailable(f"{url} could not be read ({type(exc).__name__})") from None
        if not isinstance(body, dict):
            raise ProviderUnavailable(f"{url} did not answer a JSON object")
        return body

    def metadata(self) -> ProviderMetadata:
        """The discovery document, fetched at most once an hour (again after a failure)."""
        with self._lock:
            cached = self._metadata
        if cached is not None and time.monotonic() - cached[0] < METADATA_TTL_S:
            return cached[1]
        doc = self._get_json(self.issuer.rstrip("/") + DISCOVERY_PATH)
        if doc.get("issuer") != self.issuer:
            # OpenID Connect Discovery 1.0, section 4.3: exactly the issuer configured
            raise ProviderUnavailable("the discovery document names another issuer")
        required = ("authorization_endpoint", "token_endpoint", "jwks_uri")
        if not all(isinstance(doc.get(name), str) for name in required):
            raise ProviderUnavailable("the discovery document lacks an endpoint sign-in needs")
        algorithms = doc.get("id_token_signing_alg_values_supported") or ["RS256"]
        end_session = doc.get("end_session_endpoint")
        found = ProviderMetadata(
            issuer=self.issuer,
            authorization_endpoint=doc["authorization_endpoint"],
            token_endpoint=doc["token_endpoint"],
            jwks_uri=doc["jwks_uri"],
            end_session_endpoint=end_session if isinstance(end_session, str) else None,
            algorithms=tuple(a for a in algorithms if isinstance(a, str)),
        )
        with self._lock:
            self._metadata = (time.monotonic(), found)
        return found

    def keys(self, *, refresh: bool = False) -> KeySet:
        """The provider's signing keys, fetched at most every five minutes; ``refresh`` fetches
        them again unless that was done in the last ``KEYS_COOLDOWN_S`` seconds."""
        with self._lock:
            cached = self._keys
        if cached is not None:
            age = time.monotonic() - cached[0]
            if age < KEYS_TTL_S and (not refresh or age < KEYS_COOLDOWN_S):
                return cached[1]
        doc = self._get_json(self.metadata().jwks_uri)
        try:
            keys = KeySet.import_key_set(doc)  # type: ignore[arg-type]
        except (JoseError, ValueError, KeyError, TypeError):
            raise ProviderUnavailable("the provider's key set could not be read") from None
        with self._lock:
            self._keys = (time.monotonic(), keys)
        return keys

    # -- the flow -------------------------------------------------------------------------------

    def _client(self, redirect_uri: str) -> OAuth2Client:
        return OAuth2Client(
            client_id=self.client_id,
            client_secret=self._secret,
            scope=self.scopes,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            timeout=self.timeout_s,
        )

    def begin(self, redirect_uri: str, next_path: str) -> tuple[str, PendingSignIn]:
        """The provider's authorization URL to send the browser to, and what to keep for the
        callback. Raises ``ProviderUnavailable``."""
        metadata = self.metadata()
        pending = PendingSignIn(
            state=generate_token(32),
            nonce=generate_token(32),
            code_verifier=generate_token(64),
            redirect_uri=redirect_uri,
            next_path=next_path,
        )
        with self._client(redirect_uri) as client:
            url, _ = client.create_authorization_url(
                metadata.authorization_endpoint,
                state=pending.state,
                code_verifier=pending.code_verifier,
                nonce=pending.nonce,
            )
        return str(url), pending

    def finish(self, pending: PendingSignIn, code: str) -> dict[str, Any]:
        """Exchange ``code`` (with the PKCE verifier) and return the verified ID token's claims.

        The caller has already matched the callback's ``state`` to ``pending.state``. Raises
        ``ProviderUnavailable`` when the provider cannot be reached, ``SignInRefused`` when it
        refuses the code or its ID token fails a check.
        """
        metadata = self.metadata()
        try:
            with self._client(pending.redirect_uri) as client:
                token = client.fetch_token(
                    metadata.token_endpoint,
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=pending.code_verifier,
                )
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"the token endpoint failed ({type(exc).__name__})") from None
        except (OAuthError, ValueError) as exc:
            raise SignInRefused(f"the provider refused the code ({type(exc).__name__})") from None
        id_token = token.get("id_token") if isinstance(token, Mapping) else None
        if not isinstance(id_token, str):
            raise SignInRefused("the provider's answer has no ID token")
        access_token = token.get("access_token")

        def verified(keys: KeySet) -> dict[str, Any]:
            return verify_id_token(
                id_token,
                keys,
                issuer=self.issuer,
                client_id=self.client_id,
                nonce=pending.nonce,
                algorithms=metadata.algorithms,
                access_token=access_token if isinstance(access_token, str) else None,
            )

        try:
            return verified(self.keys())
        except UnknownSigningKey:
            # the provider rotated its keys since we fetched them: one more try with fresh ones
            return verified(self.keys(refresh=True))

    def end_session_url(self, post_logout_redirect_uri: str) -> str | None:
        """Where to send the browser to sign out at the provider (RP-initiated logout), or
        ``None`` when it advertises no ``end_session_endpoint`` or cannot be reached."""
        try:
            endpoint = self.metadata().end_session_endpoint
        except ProviderUnavailable:
            return None
        if endpoint is None:
            return None
        params = [
            ("client_id", self.client_id),
            ("post_logout_redirect_uri", post_logout_redirect_uri),
        ]
        return str(add_params_to_uri(endpoint, params))


@lru_cache(maxsize=8)
def _cached_client(
    issuer: str, client_id: str, secret: str | None, scopes: str, timeout_s: float
) -> OidcClient:
    settings = OidcSettings(
        issuer=issuer,
        client_id=client_id,
        client_secret=secret,
        scopes=scopes,
        timeout_s=timeout_s,
    )
    return OidcClient(settings)


def client_for(settings: OidcSettings) -> OidcClient:
    """The process-wide client for ``settings`` (its caches shared by every request)."""
    secret = settings.client_secret.get_secret_value() if settings.client_secret else None
    return _cached_client(
        settings.issuer or "", settings.client_id or "", secret, settings.scopes, settings.timeout_s
    )
