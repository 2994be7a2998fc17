"""Where the Qdrant tests put their collections: qdrant-client's local mode by default, or a
Qdrant server when ``CASESEARCH_TEST_QDRANT_URL`` names one (``CASESEARCH_TEST_QDRANT_API_KEY``
for its key), so a council's IT team can run the same tests against its own server:

    CASESEARCH_TEST_QDRANT_URL=https://qdrant.example.org:6333 \\
    CASESEARCH_TEST_QDRANT_API_KEY=... \\
    .venv/bin/pytest tests/retrieval/test_qdrant_index.py tests/retrieval/test_qdrant_search.py \\
      tests/indexer/test_qdrant_sync.py

On a server each test gets a collection of its own, deleted after it, named after
``CASESEARCH_QDRANT_COLLECTION`` (``<collection>_test_<random>``; ``casesearch_chunks`` by
default), so an API key limited to the service's collection names can run them.
The reconcile, push and settings tests keep to local mode: they test the command line and the
API's plumbing around the index, which open the collection by its configured name.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from retrieval.qdrant_collection import DEFAULT_COLLECTION
from retrieval.qdrant_index import QdrantIndex, client_for

SERVER = os.environ.get("CASESEARCH_TEST_QDRANT_URL")
PREFIX = os.environ.get("CASESEARCH_QDRANT_COLLECTION") or DEFAULT_COLLECTION


@contextmanager
def qdrant_index(folder: Path | None, name: str, dimension: int) -> Iterator[QdrantIndex]:
    """A fresh, empty index: collection ``name`` in local mode under ``folder`` (in memory
    without one), or a uniquely named collection on the server, deleted afterwards."""
    if SERVER:
        client = client_for(SERVER, os.environ.get("CASESEARCH_TEST_QDRANT_API_KEY"))
        unique = f"{PREFIX[:230]}_test_{uuid.uuid4().hex[:12]}"  # 255 at most
        index = QdrantIndex(client, unique, dimension)
    else:
        where = f"local:{folder}" if folder is not None else "local::memory:"
        index = QdrantIndex(client_for(where), name, dimension)
    index.ensure_collection()
    try:
        yield index
    finally:
        if SERVER:
            index.client.delete_collection(index.name)
        index.client.close()
