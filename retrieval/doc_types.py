"""The document types the store holds (a store read: the only SQL for it)."""

from __future__ import annotations

from sqlalchemy import Engine


def stored_doc_types(engine: Engine) -> frozenset[str]:
    """Every ``doc_type`` some stored record has (one scan of the records table)."""
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT DISTINCT doc_type FROM records WHERE doc_type IS NOT NULL"
        ).all()
    return frozenset(str(row[0]) for row in rows)
