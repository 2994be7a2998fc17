"""Build a connector from a source spec: ``jsonl:PATH``, ``files:DIR`` or ``sql:URL#table``.

The caps on what one input may cost (``ExtractionLimits``) come from the caller, which builds
them from its settings: this package reads no settings of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from connectors.base import Connector
from connectors.errors import ConnectorError
from connectors.files import FilesConnector
from connectors.jsonl import JsonlConnector
from connectors.limits import ExtractionLimits
from connectors.sql import SqlConnector


def _jsonl(rest: str, limits: ExtractionLimits, media_dir: Path | None) -> Connector:
    return JsonlConnector(rest, max_text_chars=limits.max_text_chars)


def _files(rest: str, limits: ExtractionLimits, media_dir: Path | None) -> Connector:
    return FilesConnector(rest, limits=limits, media_dir=media_dir)


def _sql(rest: str, limits: ExtractionLimits, media_dir: Path | None) -> Connector:
    url, hash_sign, table = rest.rpartition("#")
    if not hash_sign or not url.strip() or not table.strip():
        raise ConnectorError(
            "a SQL source is 'sql:URL#table', e.g. sql:postgresql+psycopg://user@host/db#records"
        )
    return SqlConnector(url.strip(), table.strip(), max_text_chars=limits.max_text_chars)


SCHEMES: dict[str, Callable[[str, ExtractionLimits, Path | None], Connector]] = {
    "jsonl": _jsonl,
    "files": _files,
    "sql": _sql,
}


def connector_from_source(
    spec: str, *, limits: ExtractionLimits | None = None, media_dir: Path | None = None
) -> Connector:
    """The connector a ``--source`` spec names. Nothing is opened or read yet.

    ``limits`` (default: ``ExtractionLimits()``, see ``connectors/README.md``) caps the text
    of a record and, for ``files:``, the XML, MIME nesting, memory and time of reading one
    file; ``media_dir`` is where ``files:`` keeps copies of the recordings it transcribes
    (none kept without it). Raises ``ConnectorError`` for an unknown scheme or a spec without
    a location.
    """
    scheme, colon, rest = spec.strip().partition(":")
    if not colon:
        raise ConnectorError(
            f"source {spec!r} has no scheme: use one of {_known()} (e.g. jsonl:records.jsonl)"
        )
    factory = SCHEMES.get(scheme.strip().lower())
    if factory is None:
        raise ConnectorError(f"unknown source scheme {scheme!r}: use one of {_known()}")
    if not rest.strip():
        raise ConnectorError(f"source {spec!r} names no location after '{scheme}:'")
    return factory(rest.strip(), limits or ExtractionLimits(), media_dir)


def _known() -> str:
    return ", ".join(f"{name}:" for name in SCHEMES)
