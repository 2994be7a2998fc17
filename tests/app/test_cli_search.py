"""``casesearch search`` is the same audited action as ``POST /v1/search``."""

from __future__ import annotations

import pytest

from app import cli
from app.audit import AuditQuery
from app.services import Services
from app.settings import Settings


@pytest.fixture
def shell(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, services: Services
) -> pytest.MonkeyPatch:
    """The CLI over the fixture's services (three CASE-7 records, a test embedder)."""
    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    monkeypatch.setattr(cli, "_services", lambda _settings: services)
    return monkeypatch


def _search_events(services: Services) -> list[tuple[str, str | None, list[str]]]:
    """(subject, query, sorted record ids) of each audited search."""
    page = services.audit.query(AuditQuery(action="search"))
    return [(e.subject, e.query, sorted(e.record_ids)) for e in page.events]


def test_a_shell_search_is_audited_under_the_named_subject(
    shell: pytest.MonkeyPatch, services: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["search", "safety plan", "--principal", "team:north", "--as", "alice"])
    out = capsys.readouterr().out
    assert code == 0
    assert "OPEN-1" in out
    assert "DENIED-1" in out
    assert "SECRET-1" not in out  # team:managers only
    assert _search_events(services) == [("alice", "safety plan", ["DENIED-1", "OPEN-1"])]


def test_the_default_subject_names_the_login(
    shell: pytest.MonkeyPatch, services: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    shell.setattr("getpass.getuser", lambda: "operator")
    assert cli.main(["search", "safety plan", "--principal", "team:north", "--json"]) == 0
    assert '"search_id"' in capsys.readouterr().out
    assert [subject for subject, _, _ in _search_events(services)] == ["cli:operator"]


def test_over_the_limits_is_refused_and_nothing_is_shown(
    shell: pytest.MonkeyPatch, services: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["search", "safety plan", "--principal", "team:north", "--top-k", "500"])
    captured = capsys.readouterr()
    assert code == 1
    assert "top_k" in captured.err
    assert "OPEN-1" not in captured.out
    assert _search_events(services) == []
