"""Helpers for the client tests: a small case file, settings, tokens, and a real server
(uvicorn on a local port with ``casesearch serve``'s options)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from factories import make_record
from pydantic import SecretStr

from app.auth import mint_token
from app.main import create_app, server_options
from app.services import Services
from app.settings import LimitSettings, Settings
from connectors.record import Record

SECRET = "client-test-secret-of-at-least-thirty-two-bytes"


def case_file() -> list[Record]:
    """Case CASE-1: five notes for team:north (one hidden from bob), one for managers."""
    notes = [
        ("N-1", "safety_plan", "2024-03-02", "Safety plan agreed. Mum will supervise contact."),
        ("N-2", "visit_note", "2024-03-09", "Home visit. The safety plan is working well."),
        ("N-3", "police_notification", "2024-03-12", "Police attended on 11 March 2024."),
        ("N-4", "case_note", "2024-03-15", "Safety plan reviewed with the school."),
        (
            "N-5",
            "visit_note",
            "2024-03-20",
            "Visit: the children were hungry and the home was dirty.",
        ),
    ]
    records = [
        make_record(
            id=i, case_id="CASE-1", doc_type=t, created_at=d, title=t, text=x, acl=["team:north"]
        )
        for i, t, d, x in notes
    ]
    records.append(
        make_record(
            id="M-1",
            case_id="CASE-1",
            doc_type="case_note",
            text="Safety plan concerns raised in confidence.",
            acl=["team:managers"],
        )
    )
    return records


def client_settings(data_dir: Path, *, rate_limit: int = 0) -> Settings:
    return Settings(
        data_dir=data_dir,
        jwt_secret=SecretStr(SECRET),
        progress=False,
        limits=LimitSettings(rate_limit_per_minute=rate_limit),
    )


def token(settings: Settings, subject: str, *principals: str) -> str:
    return mint_token(settings, subject, list(principals))


@contextmanager
def serving(services: Services) -> Iterator[str]:
    """Serve ``services`` over real HTTP until the block ends; the base URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    options = {**server_options(services.settings), "log_config": None}
    app = create_app(services=services)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, **options))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=60)
