"""The package layout shows the architecture: data flows one way (STYLE.md)."""

from __future__ import annotations

import ast
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
