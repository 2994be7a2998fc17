"""The document types a caller may name: on push, the vocabulary (the known types of DESIGN.md
and ``settings.extra_doc_types``); as a search filter, those and any type already stored (a
connector may have indexed a folder's own type).

An unknown type is the caller's mistake, said in a 422 that lists the allowed ones, rather
than a record filed under a misspelling or a search that quietly finds nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from app.errors import InvalidRequest
from app.services import Services
from app.settings import Settings
from connectors.record import KNOWN_DOC_TYPES


def vocabulary(settings: Settings) -> frozenset[str]:
    """The types a pushed record may have."""
    return KNOWN_DOC_TYPES | frozenset(settings.extra_doc_types)


def push_doc_type_problem(raw: Any, settings: Settings) -> str | None:
    """Why a pushed record's ``doc_type`` is refused, or None (absent, or in the vocabulary)."""
    value = raw.get("doc_type") if isinstance(raw, dict) else None
    if not isinstance(value, str):
        return None  # absent, or a wrong type that parse_record reports in its own words
    allowed = vocabulary(settings)
    if value.strip() in allowed:
        return None
    return (
        f"doc_type {value[:80]!r} is not in the vocabulary ({', '.join(sorted(allowed))}); a"
        " deployment may add types with CASESEARCH_EXTRA_DOC_TYPES"
    )


def check_filter_doc_types(services: Services, doc_types: Iterable[str]) -> None:
    """Raise ``InvalidRequest`` (422) naming a filter type that no record could have."""
    asked = set(doc_types)
    unknown = asked - vocabulary(services.settings)
    if not unknown:
        return
    unknown -= services.store.doc_types()
    if unknown:
        allowed = vocabulary(services.settings) | services.store.doc_types()
        names = ", ".join(repr(t[:80]) for t in sorted(unknown)[:5])
        raise InvalidRequest(
            f"doc_types: unknown document type {names}; known types: {', '.join(sorted(allowed))}"
        )


def document_vocabulary(spec: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """Name this deployment's vocabulary in ``spec``: the pushed record's ``doc_type`` and the
    ``doc_types`` filters take its values (a filter also takes a type a connector stored, which
    a deployment documents by adding it to ``extra_doc_types``)."""
    allowed = sorted(vocabulary(settings))
    schemas = spec.get("components", {}).get("schemas", {})
    record = schemas.get("PushedRecord")
    if record is not None:
        record["properties"]["doc_type"]["anyOf"] = [
            {"type": "string", "enum": allowed},
            {"type": "null"},
        ]
    for body in ("SearchBody", "PatternsBody"):
        doc_types = schemas.get(body, {}).get("properties", {}).get("doc_types")
        for option in doc_types.get("anyOf", []) if doc_types else []:
            if option.get("type") == "array":
                option["items"]["enum"] = allowed
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["name"] == "doc_type" and parameter["in"] == "query":
                    parameter["schema"]["items"]["enum"] = allowed
    return spec
