"""Test data factories."""

from __future__ import annotations

import itertools
from typing import Any

from connectors.record import Record, parse_record

_ids = itertools.count(1)


def make_record(**fields: Any) -> Record:
    """A valid record; any field can be overridden (``acl`` defaults to ``team:a``)."""
    number = next(_ids)
    raw: dict[str, Any] = {
        "id": f"REC-{number:05d}",
        "case_id": "CASE-1",
        "doc_type": "case_note",
        "title": f"Case note {number}",
        "text": "The social worker visited the family home and spoke with the child.",
        "created_at": "2024-03-02",
        "acl": ["team:a"],
    }
    raw.update(fields)
    return parse_record(raw)
