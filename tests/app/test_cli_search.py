"""``casesearch search`` is the same audited action as ``POST /v1/search``, asked of a running
server when one answers at ``CASESEARCH_SERVER_URL``, else run in this process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from app import cli
from app.audit import AuditQuery
from app.main import create_app
from app.services import Services
from app.settings import Settings


def _nothing_listening() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def shell(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, services: Services
) -> pytest.MonkeyPatch:
    """The CLI over the fixture's services (three CASE-7 records, a test embedder), with no
    server at its address."""
    here = settings.model_copy(update={"server_url": _nothing_listening()})
    monkeypatch.setattr(cli, "get_settings", lambda: here)
    monkeypatch.setattr(cli, "_services", lambda _settings: services)
    return monkeypatch


def _no_model_here(_settings: Settings) -> Services:
    raise AssertionError("the search loaded the model in the shell's process")


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
    assert "in this process" in out
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


# --- with a server running ---------------------------------------------------------------------


def test_a_running_server_answers_without_loading_the_model_here(
    monkeypatch: pytest.MonkeyPatch,
    settings: Settings,
    services: Services,
    serve_live: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(cli, "_services", _no_model_here)
    with serve_live(create_app(services=services), settings) as server:
        shell_settings = settings.model_copy(update={"server_url": server.url})
        monkeypatch.setattr(cli, "get_settings", lambda: shell_settings)
        code = cli.main(["search", "safety plan", "--principal", "team:north", "--as", "alice"])
    out = capsys.readouterr().out
    assert code == 0
    assert "OPEN-1" in out
    assert "DENIED-1" in out
    assert "SECRET-1" not in out
    assert f"by {server.url}" in out
    # audited by the server under the subject the shell named
    assert _search_events(services) == [("alice", "safety plan", ["DENIED-1", "OPEN-1"])]


def test_the_servers_refusal_is_shown_and_nothing_else(
    monkeypatch: pytest.MonkeyPatch,
    settings: Settings,
    services: Services,
    serve_live: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(cli, "_services", _no_model_here)
    with serve_live(create_app(services=services), settings) as server:
        monkeypatch.setattr(
            cli, "get_settings", lambda: settings.model_copy(update={"server_url": server.url})
        )
        code = cli.main(["search", "safety plan", "--principal", "team:north", "--top-k", "500"])
    captured = capsys.readouterr()
    assert code == 1
    assert "top_k" in captured.err
    assert "OPEN-1" not in captured.out
    assert _search_events(services) == []


def test_a_server_with_another_secret_says_so(
    monkeypatch: pytest.MonkeyPatch,
    settings: Settings,
    services: Services,
    serve_live: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(cli, "_services", _no_model_here)
    other = SecretStr("a-different-secret-also-thirty-two-bytes-long")
    with serve_live(create_app(services=services), settings) as server:
        mine = settings.model_copy(update={"server_url": server.url, "jwt_secret": other})
        monkeypatch.setattr(cli, "get_settings", lambda: mine)
        code = cli.main(["search", "safety plan", "--principal", "team:north"])
    captured = capsys.readouterr()
    assert code == 1
    assert "401" in captured.err
    assert "CASESEARCH_JWT_SECRET" in captured.err


def test_local_searches_in_this_process_even_with_a_server(
    monkeypatch: pytest.MonkeyPatch,
    settings: Settings,
    services: Services,
    serve_live: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(cli, "_services", lambda _settings: services)
    with serve_live(create_app(services=services), settings) as server:
        monkeypatch.setattr(
            cli, "get_settings", lambda: settings.model_copy(update={"server_url": server.url})
        )
        code = cli.main(["search", "safety plan", "--principal", "team:north", "--local"])
    out = capsys.readouterr().out
    assert code == 0
    assert "OPEN-1" in out
    assert "in this process" in out


def test_a_search_through_the_server_loads_neither_torch_nor_the_api(
    settings: Settings, services: Services, serve_live: Any, tmp_path: Path
) -> None:
    """What makes the shell fast: a fresh ``casesearch search`` process imports no model
    library, no FastAPI and no store."""
    probe = (
        "import sys\n"
        "from app.cli import main\n"
        "code = main(['search', 'safety plan', '--principal', 'team:north'])\n"
        "heavy = [m for m in ('torch', 'sentence_transformers', 'fastapi', 'sqlalchemy')"
        " if m in sys.modules]\n"
        "print('heavy:', heavy)\n"
        "raise SystemExit(code)\n"
    )
    with serve_live(create_app(services=services), settings) as server:
        env = {
            **os.environ,
            "CASESEARCH_SERVER_URL": server.url,
            "CASESEARCH_JWT_SECRET": settings.token_secret(),
            "CASESEARCH_DATA_DIR": str(tmp_path),
        }
        done = subprocess.run(
            [sys.executable, "-c", probe],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=Path(__file__).resolve().parents[2],
        )
    assert done.returncode == 0, done.stderr
    assert "OPEN-1" in done.stdout
    assert "heavy: []" in done.stdout
