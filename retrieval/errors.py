"""Errors raised by retrieval. None of them knows about HTTP."""


class RetrievalError(Exception):
    """Base of every retrieval error."""


class InvalidQueryError(RetrievalError):
    """The query cannot be run as given (empty after analysis, bad filter)."""


class IndexMismatchError(RetrievalError):
    """The store was built with another embedding model or chunking: it must be rebuilt."""


class AccessCheckError(RetrievalError):
    """Permissions could not be evaluated; the request must fail closed."""


class IndexSyncError(RetrievalError):
    """The second index (Qdrant) could not take the store's changes; they stay in the store's
    log and the next sync (or ``casesearch reconcile``) replays them."""
