"""A PostgreSQL store for the tests: one fresh schema of the local database per store.

The database is the one this project's machines run (127.0.0.1:5432, trust auth, database
``test``); ``CASESEARCH_TEST_DATABASE_URL`` names another. Each store gets a schema of its own
(``search_path`` set on every connection), dropped when the test ends.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

from sqlalchemy import create_engine

DATABASE_URL = os.environ.get(
    "CASESEARCH_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@contextmanager
def postgresql_schema() -> Iterator[str]:
    """A store URL whose connections use a new, empty schema; the schema is dropped after."""
    schema = f"cs_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(DATABASE_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in DATABASE_URL else "?"
    try:
        yield f"{DATABASE_URL}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()
