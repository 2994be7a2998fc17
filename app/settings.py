"""One settings object for the whole service (environment prefix ``CASESEARCH_``).

Nested groups use ``__``: ``CASESEARCH_SEARCH__RRF_K=40``. Read it through ``get_settings()``;
nothing else in the code base reads the environment.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from connectors import limits as caps
from retrieval.chunking import ChunkingConfig
from retrieval.models import SearchConfig
from retrieval.qdrant_collection import DEFAULT_COLLECTION, check_collection_name, check_tenant


class ChunkingSettings(BaseModel):
    max_words: int = Field(200, ge=8, le=2000)
    overlap_sentences: int = Field(1, ge=0, le=10)

    def config(self) -> ChunkingConfig:
        return ChunkingConfig(max_words=self.max_words, overlap_sentences=self.overlap_sentences)


class EmbeddingSettings(BaseModel):
    precision: Literal["fp32", "bf16"] = "fp32"
    # "onnx": the same model through ONNX Runtime, exported once into <data_dir>/models and
    # kept only at cosine >= 0.9999 of torch's vectors (1.5-1.6x faster here; precision applies
    # to "torch" only). "openvino": that export compiled by OpenVINO in float32, two inference
    # streams, batches of 4 unless batch_size is set (README, "Benchmarks"), held to the same
    # cosine; if OpenVINO cannot load or fails the check, the encoder is torch and a warning says
    # why.
    backend: Literal["torch", "onnx", "openvino"] = "torch"
    # The encoder of queries in the search server (and of records pushed to it). ONNX Runtime
    # by default: a one-line query costs 7.8 ms there against 20.5 ms through
    # sentence-transformers here, whose per-call overhead dominates a short text, at cosine
    # 0.99999994 to torch's vectors (README, "Benchmarks"). If the export cannot be made or
    # fails its check, the server logs why and uses torch.
    query_backend: Literal["torch", "onnx"] = "onnx"
    # Where ONNX exports are kept (default <data_dir>/models). Named by a digest of the
    # weights, so one folder can serve several stores and processes.
    model_dir: Path | None = None
    # Keep vectors of every text ever embedded (keyed by model and text) in
    # <data_dir>/embedding-cache.sqlite3: rebuilds and evaluations then skip known texts.
    cache: bool = False
    # torch intra-op threads for indexing (None: torch's default, one per core)
    threads: int | None = Field(None, ge=1, le=256)
    # threads while serving queries: one short query gains little from a second thread, and
    # on a shared CPU OpenMP spin-waits made some queries 25x slower (490 ms vs 19 ms here)
    serve_threads: int = Field(1, ge=1, le=256)
    batch_size: int = Field(32, ge=1, le=1024)
    device: str = "cpu"


class SearchSettings(BaseModel):
    rrf_k: float = Field(20.0, ge=0)
    candidates: int = Field(200, ge=10, le=5000)
    type_boost: float = Field(1.0, ge=0)
    recency_boost: float = Field(1.0, ge=0)

    def config(self) -> SearchConfig:
        return SearchConfig(
            rrf_k=self.rrf_k,
            candidates=self.candidates,
            type_boost=self.type_boost,
            recency_boost=self.recency_boost,
        )


class AuthSettings(BaseModel):
    algorithm: Literal["HS256", "RS256"] = "HS256"
    jwks_url: str | None = None
    issuer: str | None = None
    audience: str | None = None
    principals_claim: str = "principals"
    token_ttl_s: int = Field(8 * 3600, ge=60)
    # Tokens living longer than this (exp - iat, or exp - now without iat) are refused: a
    # leaked long-lived token would otherwise stay valid for years.
    max_token_lifetime_s: int = Field(12 * 3600, ge=60)
    # A user in many directory groups carries thousands of principals; more are refused.
    max_principals: int = Field(10_000, ge=1, le=100_000)


class ExtractionSettings(BaseModel):
    """Caps on what one file or record may cost an indexing run (connectors/README.md,
    "Limits"): ``CASESEARCH_EXTRACTION__MAX_TEXT_CHARS`` and so on."""

    max_text_chars: int = Field(caps.MAX_TEXT_CHARS, ge=1_000)
    max_xml_elements: int = Field(caps.MAX_XML_ELEMENTS, ge=1_000)
    max_xml_depth: int = Field(caps.MAX_XML_DEPTH, ge=16)
    max_mime_depth: int = Field(caps.MAX_MIME_DEPTH, ge=2)
    max_mime_parts: int = Field(caps.MAX_MIME_PARTS, ge=2)
    memory_bytes: int = Field(caps.EXTRACTION_MEMORY_BYTES, ge=64 << 20)
    timeout_s: float = Field(caps.EXTRACTION_TIMEOUT_S, gt=0)
    isolate: bool = True
    # recordings (issue 17): longest recording transcribed, largest audio or video file read
    max_media_seconds: float = Field(caps.MAX_MEDIA_SECONDS, gt=0)
    max_media_bytes: int = Field(caps.MAX_MEDIA_BYTES, ge=1_000)

    def limits(self) -> caps.ExtractionLimits:
        return caps.ExtractionLimits(**self.model_dump())


class LimitSettings(BaseModel):
    max_query_chars: int = 1000
    max_top_k: int = 50
    max_offset: int = 1000
    max_body_bytes: int = 5_000_000
    rate_limit_per_minute: int = 120
    # where the rate limit counts: "memory://" (this process) or a `limits` storage URI such
    # as "redis://127.0.0.1:6379" shared by every API process (required with workers > 1)
    rate_limit_storage: str = "memory://"
    # One pushed record's characters (all its strings); a longer one is rejected on its own.
    max_record_chars: int = Field(100_000, ge=1)
    # All records of one push (413 above it; the CMS sends smaller batches). Embedding is
    # CPU-bound: one busy shared core indexed 5,500 characters a second, so 200,000 is about
    # 36 s of one core at worst (a 4.8 MB push had kept a core busy for over 4 minutes).
    max_push_chars: int = Field(200_000, ge=1)
    # Searches and pattern questions computed at once; more wait their turn (about first
    # come, first served). None: one per CPU core; 0: no bound (all 40 worker threads may
    # search). The server process keeps about one core busy whatever the concurrency (the GIL);
    # bounded, it answered 12-13 % more searches a second at 16-64 clients and its p95 at 32
    # clients fell from 1.4 to 0.9 s (`python -m evaluation.bench --only load`).
    max_concurrent_searches: int | None = Field(None, ge=0, le=1024)


# plain http is allowed for the provider and this server's address on this machine only
_LOOPBACK = r"http://(localhost|127\.0\.0\.1|\[::1\])(:[0-9]+)?(/|$)"


class OidcSettings(BaseModel):
    """Sign-in to the pages with the council's OpenID provider (docs/sign-in.md).

    On when ``issuer`` and ``client_id`` are set (``CASESEARCH_OIDC__ISSUER`` and so on). The
    group table is JSON: ``CASESEARCH_OIDC__GROUP_PRINCIPALS='{"<group>": ["team:south"]}'``.
    """

    issuer: str | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    # what the sign-in button says: "Sign in with <provider_name>"
    provider_name: str = Field("your organisation's account", min_length=1, max_length=80)
    # space-separated, as OAuth writes them; must include openid
    scopes: str = "openid profile"
    # the address users reach this server at (https://casesearch.example.org), for the
    # callback and post-logout addresses registered with the provider; None: the request's
    redirect_base_url: str | None = None
    groups_claim: str = Field("groups", min_length=1)
    user_id_claim: str = Field("sub", min_length=1)
    # group (id or name, as the groups claim holds it) -> principals; unlisted groups give none
    group_principals: dict[str, list[str]] = Field(default_factory=dict)
    # the server's own session after sign-in lives at most this long
    session_lifetime_s: int = Field(8 * 3600, ge=1, le=24 * 3600)
    # each call to the provider (discovery, keys, token) gives up after this long
    timeout_s: float = Field(10.0, gt=0, le=120)

    @property
    def enabled(self) -> bool:
        return bool(self.issuer and self.client_id)

    @field_validator("issuer", "redirect_base_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not re.fullmatch(r"https?://[^\s?#]+", value):
            raise ValueError(f"{value!r} is not an http(s) address without query or fragment")
        if value.startswith("http:") and not re.match(_LOOPBACK, value):
            raise ValueError(f"{value!r}: plain http only on this machine (localhost); use https")
        return value

    @field_validator("redirect_base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str | None) -> str | None:
        # the issuer stays exactly as given: ID tokens must name it so, trailing slash and all
        return value.rstrip("/") if value is not None else None

    @field_validator("scopes")
    @classmethod
    def _openid(cls, value: str) -> str:
        if "openid" not in value.split():
            raise ValueError("the OIDC scopes must include openid")
        return value

    @field_validator("group_principals")
    @classmethod
    def _principals(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for group, principals in value.items():
            for principal in principals:
                if not re.fullmatch(r"[^\x00-\x1f\x7f]{1,256}", principal):
                    raise ValueError(f"group {group!r}: {principal!r} is not a principal")
                if principal.startswith("user:"):
                    # a group must not let its members act as one named user
                    raise ValueError(f"group {group!r}: a group cannot grant {principal!r}")
        return value


# The secret development mode signs tokens with when no CASESEARCH_JWT_SECRET is given. It is in
# the source, so anyone can mint a token with it: outside development mode it is refused, given
# or not (``Settings.token_secret``).
DEVELOPMENT_SECRET = "development-only-secret-change-me-before-deploying"  # noqa: S105


# scheme://host[:port], nothing after: what CORS compares and CSP frame-ancestors may hold
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")


class ConfigurationError(Exception):
    """The settings cannot run a safe service; the message says which variable to set."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CASESEARCH_", env_nested_delimiter="__", extra="ignore"
    )

    data_dir: Path = Path("./data")
    # The record store. None: the embedded SQLite file in data_dir (one machine). A
    # PostgreSQL URL (postgresql+psycopg://user:password@host:5432/db): the scale-out store,
    # shared by several API processes and indexers (docs/scaling.md). The embedding cache, the
    # models and the scratch files stay in data_dir either way.
    database_url: str | None = None
    # The dense index. None: the in-memory matrix each process loads from the record store
    # (as before). A Qdrant server's URL (https://qdrant.example.org:6333), or local:PATH for
    # qdrant-client's local mode on disk (tests, small installations): chunks are also written
    # to Qdrant after each committed batch, and searches take their dense candidates from it
    # (retrieval/qdrant_index.py), so an API process no longer holds the vectors.
    qdrant_url: str | None = None
    # Qdrant's API key (a server with authentication on); never logged.
    qdrant_api_key: SecretStr | None = None
    # The collection the store's chunks live in (letters, digits, _ and -): one per store, so
    # several stores (a test and a live one, or one per council) can share a Qdrant server.
    # The store remembers per collection how far each was synced.
    qdrant_collection: str = DEFAULT_COLLECTION
    # The council this store's points belong to when several councils' stores share one
    # collection (payload key "tenant", a keyword index with is_tenant on a server; every
    # query, update and reconcile is limited to it). Unset: the collection is this store's.
    qdrant_tenant: str | None = None
    # HS256 key for bearer tokens and the key of the pages' CSRF tokens and session cookie.
    jwt_secret: SecretStr | None = None
    # Development mode: the web page lets anyone sign in as anyone (demo users or typed
    # principals), and the built-in DEVELOPMENT_SECRET stands in for a missing jwt_secret. Off
    # unless set explicitly (`make demo` sets it); every page says when it is on.
    dev_sign_in: bool = False
    host: str = "127.0.0.1"
    port: int = 8000
    # API processes `casesearch serve` starts (uvicorn workers). Each loads the model and
    # follows the store by its generation counter; SQLite's write lock (BEGIN IMMEDIATE)
    # serialises their writes, the audit chain's included. More than one needs a shared
    # rate-limit store (limits.rate_limit_storage) unless the rate limit is off.
    workers: int = Field(default=1, ge=1, le=64)
    # Idle keep-alive connections stay open this long. Longer than the reverse proxy's and the
    # clients' reuse of an idle connection (nginx reuses upstream ones for 60 s): with
    # uvicorn's default of 5 s, a request sent as the server closed its connection was reset.
    keep_alive_s: int = Field(default=75, ge=1, le=3600)
    # The request line and headers together: a request with more is refused (uvicorn answers
    # 400 and closes), so a client cannot make the server buffer an endless header.
    max_header_bytes: int = Field(default=64 * 1024, ge=4096, le=1024 * 1024)
    # On shutdown, requests still running (a push being indexed) get this long, then are cut.
    shutdown_timeout_s: int = Field(default=30, ge=1, le=3600)
    progress: bool = True
    # Where `casesearch search` finds a running server (None: this host and port, 0.0.0.0 read
    # as 127.0.0.1); when one answers there the search goes to it over HTTP, with no model to
    # load. `--local` searches in-process instead.
    server_url: str | None = None
    # Origins (``https://cms.example.org``) whose pages may call the API from a browser (CORS),
    # and those that may frame the pages (CSP ``frame-ancestors``). JSON lists in the
    # environment: ``CASESEARCH_CORS_ORIGINS='["https://cms.example.org"]'``. None by default.
    cors_origins: list[str] = Field(default_factory=list)
    frame_ancestors: list[str] = Field(default_factory=list)
    # Document types a pushed record may have beyond the known ones (connectors/record.py);
    # a push with any other type is refused for that record, naming the allowed ones.
    extra_doc_types: list[str] = Field(default_factory=list)
    # Where the record page links each record in the case-management system: an http(s)
    # address with {source_uri} and/or {id} (both percent-encoded), e.g.
    # https://cms.example.org/open?uri={source_uri}. Unset: only http(s) source addresses link.
    source_link_pattern: str | None = None
    chunking: ChunkingSettings = ChunkingSettings()
    embedding: EmbeddingSettings = EmbeddingSettings()
    search: SearchSettings = SearchSettings()
    auth: AuthSettings = AuthSettings()
    limits: LimitSettings = LimitSettings()
    extraction: ExtractionSettings = ExtractionSettings()
    oidc: OidcSettings = OidcSettings()

    @field_validator("source_link_pattern")
    @classmethod
    def _http_pattern(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"https?://[^/{}\s]", value, re.IGNORECASE):
            raise ValueError(
                "CASESEARCH_SOURCE_LINK_PATTERN must be an http:// or https:// address with its "
                "host written out, e.g. https://cms.example.org/open?uri={source_uri}"
            )
        return value or None

    @field_validator("jwt_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().encode()) < 32:
            raise ValueError("CASESEARCH_JWT_SECRET must be at least 32 bytes (RFC 7518 §3.2)")
        return value

    def token_secret(self) -> str:
        """The HS256 and CSRF key.

        Raises ``ConfigurationError`` outside development mode when no secret is configured or
        the configured one is the built-in development secret (printed in this source file).
        """
        given = self.jwt_secret.get_secret_value() if self.jwt_secret is not None else None
        if self.dev_sign_in:
            return given or DEVELOPMENT_SECRET
        if given is None:
            raise ConfigurationError(
                "CASESEARCH_JWT_SECRET is not set: set it to 32 or more random bytes (for example"
                " `openssl rand -hex 32`), or set CASESEARCH_DEV_SIGN_IN=true for a development"
                " server that anyone can sign in to"
            )
        if given == DEVELOPMENT_SECRET:
            raise ConfigurationError(
                "CASESEARCH_JWT_SECRET is the built-in development secret, which anyone can read"
                " in the source: set a random one, or set CASESEARCH_DEV_SIGN_IN=true for a"
                " development server"
            )
        return given

    def check_can_serve(self) -> None:
        """Raise ``ConfigurationError`` when a server with these settings would not be safe."""
        self.token_secret()
        shared = not self.limits.rate_limit_storage.startswith("memory://")
        if self.workers > 1 and self.limits.rate_limit_per_minute > 0 and not shared:
            raise ConfigurationError(
                f"CASESEARCH_WORKERS={self.workers} would give each process its own rate limit:"
                " set CASESEARCH_LIMITS__RATE_LIMIT_STORAGE to a shared store such as"
                " redis://127.0.0.1:6379 (or CASESEARCH_LIMITS__RATE_LIMIT_PER_MINUTE=0)"
            )
        oidc = self.oidc
        if oidc.enabled:
            # after OIDC sign-in the server signs its own session token (HS256)
            if self.auth.algorithm != "HS256":
                raise ConfigurationError(
                    "OIDC sign-in needs CASESEARCH_AUTH__ALGORITHM=HS256: the server signs the"
                    " session it starts after sign-in with CASESEARCH_JWT_SECRET"
                )
            if oidc.client_secret is None:
                raise ConfigurationError("CASESEARCH_OIDC__CLIENT_SECRET is not set")
            if oidc.session_lifetime_s > self.auth.max_token_lifetime_s:
                raise ConfigurationError(
                    "CASESEARCH_OIDC__SESSION_LIFETIME_S is longer than"
                    " CASESEARCH_AUTH__MAX_TOKEN_LIFETIME_S, so sessions would be refused"
                )

    @field_validator("cors_origins", "frame_ancestors")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if not _ORIGIN.fullmatch(origin):
                raise ValueError(
                    f"{origin!r} is not an origin: give scheme and host (and port), such as"
                    " https://cms.example.org, with no path"
                )
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("postgresql://", "postgresql+psycopg://")):
            raise ValueError(
                "CASESEARCH_DATABASE_URL takes a PostgreSQL URL"
                " (postgresql+psycopg://user@host:5432/db); leave it unset for the embedded store"
            )
        return value.replace("postgresql://", "postgresql+psycopg://", 1) if value else None

    @field_validator("qdrant_url")
    @classmethod
    def _qdrant_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        if value.startswith("local:"):
            if not value.removeprefix("local:").strip():
                raise ValueError(
                    "CASESEARCH_QDRANT_URL=local: needs a directory after it"
                    " (local:/var/lib/casesearch/qdrant)"
                )
            return value
        if not re.fullmatch(r"https?://[^\s/?#]+(:[0-9]{1,5})?/?", value, re.IGNORECASE):
            raise ValueError(
                "CASESEARCH_QDRANT_URL takes a Qdrant server's http(s) address"
                " (https://qdrant.example.org:6333) or local:PATH for qdrant-client's local mode"
                " on disk; leave it unset for the in-memory dense index"
            )
        return value

    @field_validator("qdrant_collection")
    @classmethod
    def _qdrant_collection(cls, value: str) -> str:
        try:
            return check_collection_name(value)
        except ValueError as exc:
            raise ValueError(f"CASESEARCH_QDRANT_COLLECTION: {exc}") from None

    @field_validator("qdrant_tenant")
    @classmethod
    def _qdrant_tenant(cls, value: str | None) -> str | None:
        if not value:
            return None
        try:
            return check_tenant(value)
        except ValueError as exc:
            raise ValueError(f"CASESEARCH_QDRANT_TENANT: {exc}") from None

    @property
    def store_path(self) -> Path:
        """The embedded store's file (used when ``database_url`` is unset)."""
        return self.data_dir / "casesearch.sqlite3"

    @property
    def store_target(self) -> Path | str:
        """What the record store opens: the PostgreSQL URL, else the embedded file."""
        return self.database_url or self.store_path

    @property
    def embedding_cache_path(self) -> Path:
        return self.data_dir / "embedding-cache.sqlite3"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, built on first use (never at import)."""
    return Settings()
