"""Reading the rule files practitioners edit (TOML): one checked field at a time.

Each reader names the file, the entry and the field in the error it raises, so a mistake in a
data file stops start-up with a message a practitioner can act on.
"""

from __future__ import annotations

from typing import Any

from retrieval.errors import RetrievalError


def strings(
    entry: dict[str, Any],
    key: str,
    where: str,
    error: type[RetrievalError],
    *,
    required: bool = False,
) -> tuple[str, ...]:
    """``entry[key]`` as a tuple of stripped non-empty strings (``()`` when absent)."""
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise error(f"{where}: '{key}' must be a list of non-empty strings")
    if required and not value:
        raise error(f"{where}: '{key}' must not be empty")
    return tuple(v.strip() for v in value)


def text(entry: dict[str, Any], key: str, where: str, error: type[RetrievalError]) -> str:
    """``entry[key]`` as one non-empty string, its whitespace runs made single spaces."""
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise error(f"{where}: '{key}' must be a non-empty string")
    return " ".join(value.split())
