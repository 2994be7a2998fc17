"""The Qdrant collection's name (its default and the names taken) and the tenant ids taken.

Apart from ``retrieval.qdrant_index`` so that the settings can check a name without importing
qdrant-client (seconds at start-up on a busy machine).
"""

from __future__ import annotations

import re

DEFAULT_COLLECTION = "casesearch_chunks"
"""The collection's name unless ``CASESEARCH_QDRANT_COLLECTION`` names another."""

COLLECTION_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")
"""The names taken. Qdrant refuses ``<>:"/\\|?*``, control characters and names over 255
characters; keeping to letters, digits, ``_`` and ``-`` also keeps the name a safe folder name
in local mode and a safe segment of the server's URL paths."""


def check_collection_name(name: str) -> str:
    """``name`` if it is a collection name taken (``COLLECTION_NAME``), else ``ValueError``
    saying what is allowed."""
    if not COLLECTION_NAME.fullmatch(name):
        raise ValueError(
            f"{name!r} is not a Qdrant collection name this service takes: 1 to 255 letters,"
            " digits, '_' or '-'"
        )
    return name


TENANT_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
"""The tenant (council) ids taken: short, and safe in logs and payload filters."""


def check_tenant(tenant: str) -> str:
    """``tenant`` if it is a tenant id taken (``TENANT_NAME``), else ``ValueError``."""
    if not TENANT_NAME.fullmatch(tenant):
        raise ValueError(
            f"{tenant!r} is not a tenant id this service takes: 1 to 64 letters, digits, '_',"
            " '.' or '-'"
        )
    return tenant
