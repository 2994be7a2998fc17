"""The package layout shows the architecture: data flows one way (STYLE.md)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
OURS = {"app", "indexer", "retrieval", "connectors", "evaluation"}
ALLOWED = {
    "connectors": set(),
    "retrieval": set(),
    "indexer": {"connectors", "retrieval"},
    # the evaluation harness indexes a collection into a scratch store before searching it
    "evaluation": {"retrieval", "indexer", "connectors"},
    "app": {"retrieval", "indexer", "connectors", "evaluation"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & OURS


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_what_lies_below_it(package: str) -> None:
    offenders = {
        str(path.relative_to(REPO)): sorted(_imports(path) - ALLOWED[package] - {package})
        for path in (REPO / package).rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_only_the_settings_module_reads_the_environment() -> None:
    readers = [
        str(path.relative_to(REPO))
        for package in OURS
        for path in (REPO / package).rglob("*.py")
        if "os.environ[" in path.read_text(encoding="utf-8")
        or "os.getenv(" in path.read_text(encoding="utf-8")
    ]
    assert readers == []


STORE_MODULES = {
    # the record store and the indexes it holds
    "retrieval/store.py",
    "retrieval/lexical.py",  # the lexical index's reads (FTS5, or token occurrences)
    "retrieval/access.py",  # the permission clause every read of records is narrowed by
    "retrieval/dense.py",  # the vectors' reads into the in-memory matrix
    "retrieval/changes.py",
    "app/audit.py",
    "app/telemetry.py",
    # its own database, the embedding cache (and every revision in retrieval/migrations)
    "retrieval/embedding.py",
    # benchmark harness: FTS5's own bm25() as the reference, and a schema per run
    "evaluation/bench/lexical.py",
    "evaluation/bench/process.py",
}
_SQL = re.compile(
    r"^\s*(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM|CREATE|DROP|ALTER|WITH \w+|PRAGMA"
    r"|VACUUM)\b"
)


def _sql_strings(path: Path) -> int:
    count = 0
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        first = node.values[0] if isinstance(node, ast.JoinedStr) and node.values else node
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            count += bool(_SQL.match(first.value))
    return count


def test_sql_lives_only_in_the_store_modules() -> None:
    """A newcomer finds every query of the store in the store modules (connectors may query
    the source systems they read, through SQLAlchemy)."""
    holders = {
        str(path.relative_to(REPO))
        for package in OURS - {"connectors"}
        for path in (REPO / package).rglob("*.py")
        if _sql_strings(path)
    }
    migrations = {h for h in holders if h.startswith("retrieval/migrations/versions/")}
    assert holders - STORE_MODULES - migrations == set()
