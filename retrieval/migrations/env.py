"""Alembic's entry point for the store's schema (``retrieval/migrations``).

The store runs the migrations itself when it opens (``retrieval.store.migrate``), on the
connection it already holds, so this file only hands that connection to Alembic. Run by hand
(``alembic -c retrieval/migrations/alembic.ini upgrade head``) it opens
``CASESEARCH_DATABASE_URL``.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine

connection = context.config.attributes.get("connection")
if connection is not None:
    context.configure(connection=connection, transactional_ddl=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    url = os.environ.get("CASESEARCH_DATABASE_URL")
    if not url:
        raise SystemExit("set CASESEARCH_DATABASE_URL to the store to migrate")
    with create_engine(url).connect() as opened:
        context.configure(connection=opened, transactional_ddl=True)
        with context.begin_transaction():
            context.run_migrations()
