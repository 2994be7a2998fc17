"""Connectors pull or receive case records and yield them in the one record format.

This package imports nothing else of ours: the indexer depends on it, never the reverse.
"""

from connectors.errors import ConnectorError, RecordError
from connectors.record import KNOWN_DOC_TYPES, Record, Tombstone, parse_record

__all__ = [
    "KNOWN_DOC_TYPES",
    "ConnectorError",
    "Record",
    "RecordError",
    "Tombstone",
    "parse_record",
]
