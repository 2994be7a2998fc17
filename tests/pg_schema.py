"""A PostgreSQL store for the tests: one fresh schema of the local database per store.

The database is the one this project's machines run (127.0.0.1:5432, trust auth, database
``test``); ``CASESEARCH_TEST_DATABASE_URL`` names another. Each store gets a schema of its own
(``search_path`` set on every connection), dropped when the test ends.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from evaluation.bench import process

DATABASE_URL = os.environ.get("CASESEARCH_TEST_DATABASE_URL", process.LOCAL_DATABASE_URL)


@contextmanager
def postgresql_schema() -> Iterator[str]:
    """A store URL whose connections use a new, empty schema; the schema is dropped after."""
    with process.postgresql_schema(DATABASE_URL) as url:
        yield url
