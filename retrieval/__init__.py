"""Retrieval: analysis, indexes, hybrid search, snippets."""
