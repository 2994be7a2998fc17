"""Evaluation: load test collections, run searches, score them and write reports.

The modules are pure (no store, no model): ``harness.evaluate`` takes any search callable, so the
CLI wires it to ``retrieval`` and the tests wire it to a stub. This file holds only the package's
base exception so that importing ``evaluation`` stays cheap.
"""


class EvaluationError(Exception):
    """Base of every evaluation error."""
