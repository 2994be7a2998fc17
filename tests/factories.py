"""Test data factories."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from connectors.record import Record, parse_record


def record_factory(prefix: str = "REC") -> Callable[..., Record]:
    """A record maker with numbering of its own: ids ``PREFIX-00001``… and titles ``Case note
    N``. Titles are indexed, so a module that makes many records with its own maker leaves the
    numbers, and so the rankings, of every other module's records as they were."""
    numbers = itertools.count(1)

    def make(**fields: Any) -> Record:
        """A valid record; any field can be overridden (``acl`` defaults to ``team:a``)."""
        number = next(numbers)
        raw: dict[str, Any] = {
            "id": f"{prefix}-{number:05d}",
            "case_id": "CASE-1",
            "doc_type": "case_note",
            "title": f"Case note {number}",
            "text": "The social worker visited the family home and spoke with the child.",
            "created_at": "2024-03-02",
            "acl": ["team:a"],
        }
        raw.update(fields)
        return parse_record(raw)

    return make


make_record = record_factory()


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
