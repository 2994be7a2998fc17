"""Typed Python client for the case-record search API (``casesearch``)."""

from casesearch_client.async_client import AsyncCaseSearch
from casesearch_client.client import CaseSearch
from casesearch_client.errors import (
    ApiError,
    CaseSearchError,
    Forbidden,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    PushRejected,
    RateLimited,
    ServerError,
    TransportError,
    Unauthorized,
    Unavailable,
)
from casesearch_client.models import (
    Change,
    ChangesPage,
    Chronology,
    Document,
    Patterns,
    PushResult,
    SearchPage,
    SearchResult,
    Timeline,
)

__all__ = [
    "ApiError",
    "AsyncCaseSearch",
    "CaseSearch",
    "CaseSearchError",
    "Change",
    "ChangesPage",
    "Chronology",
    "Document",
    "Forbidden",
    "InvalidRequest",
    "NotFound",
    "Patterns",
    "PayloadTooLarge",
    "PushRejected",
    "PushResult",
    "RateLimited",
    "SearchPage",
    "SearchResult",
    "ServerError",
    "Timeline",
    "TransportError",
    "Unauthorized",
    "Unavailable",
]
