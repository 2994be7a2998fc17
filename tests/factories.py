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


CASE_NOTE_PHRASES = (
    "Home visit completed; the children were seen together and then alone.",
    "Mum reported that the ex-partner had been calling from a withheld number.",
    "School said attendance dropped to 82% this half term.",
    "Health visitor noted the baby's weight had fallen below the 9th centile.",
    "Police shared a notification after a verbal argument at the address.",
    "The safety plan was reviewed and signed by both parents.",
    "Grandmother offered to look after the children at weekends.",
    "The child said she felt safe at home but worried about her brother.",
)
"""Sentences of the kind case notes hold, for tests that make many records of random text."""
