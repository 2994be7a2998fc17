"""Errors raised by connectors. None of them knows about HTTP."""


class ConnectorError(Exception):
    """Base of every connector error."""


class RecordError(ConnectorError):
    """One record (or file) could not be turned into a valid record.

    ``source_ref`` names the record id, file path or line so the operator can find it.
    The run goes on with the rest; the indexer quarantines the failure.
    """

    def __init__(self, source_ref: str, reason: str) -> None:
        super().__init__(f"{source_ref}: {reason}")
        self.source_ref = source_ref
        self.reason = reason


class ExtractionError(ConnectorError):
    """A file's text could not be extracted; ``reason`` says why (no path: the caller adds it)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class FatalConnectorError(ConnectorError):
    """The source itself is unusable (missing file, unreachable database): stop the run."""
