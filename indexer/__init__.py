"""The incremental indexer: connector items in, one consistent store out."""

from indexer.pipeline import Indexer, IndexSummary

__all__ = ["IndexSummary", "Indexer"]
