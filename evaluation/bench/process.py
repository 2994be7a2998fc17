"""The ``casesearch`` command line and server, run as subprocesses with default settings."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import create_engine

from evaluation.bench.common import BenchError, Json

LOCAL_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
"""The PostgreSQL this project's machines run (trust auth); benchmarks and tests make their
stores in schemas of it."""


@contextmanager
def postgresql_schema(database_url: str = LOCAL_DATABASE_URL) -> Iterator[str]:
    """A store URL whose connections use a new, empty schema of ``database_url`` (its
    ``search_path``); the schema is dropped afterwards. ``BenchError`` when none can be made."""
    schema = f"cs_{uuid.uuid4().hex[:12]}"
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    except Exception as exc:
        admin.dispose()
        raise BenchError(f"cannot create a schema in {database_url}: {exc}") from exc
    separator = "&" if "?" in database_url else "?"
    try:
        yield f"{database_url}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


def casesearch_command() -> list[str]:
    """The ``casesearch`` console script of this interpreter (``python -m app.cli`` without it)."""
    script = Path(sys.executable).parent / "casesearch"
    return [str(script)] if script.exists() else [sys.executable, "-m", "app.cli"]


MODEL_DIR_VARIABLE = "CASESEARCH_EMBEDDING__MODEL_DIR"


def cli_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a ``casesearch`` subprocess: default settings except ``extra``.

    Inherited ``CASESEARCH_*`` variables are dropped, so that the server and the CLI use the
    same settings as the in-process side of each comparison; except ``MODEL_DIR``, where ONNX
    exports are kept, which changes no answer and spares each process an export of its own.
    """
    inherited = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("CASESEARCH_") or k == MODEL_DIR_VARIABLE
    }
    return {
        **inherited,
        "CASESEARCH_DATA_DIR": str(data_dir),
        "CASESEARCH_PROGRESS": "false",
        "TOKENIZERS_PARALLELISM": "false",
        **extra,
    }


def cli(args: Sequence[str], env: dict[str, str], timeout: float = 900) -> str:
    done = subprocess.run(  # noqa: S603 - our own console script, arguments built here
        [*casesearch_command(), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"casesearch {args[0]} failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout


def bearer_token(env: dict[str, str], sub: str, principals: Sequence[str]) -> str:
    """A signed bearer token for ``sub`` holding ``principals`` (``casesearch token``; the
    server adds ``user:<sub>`` itself)."""
    held = [a for p in principals for a in ("--principal", p)]
    return cli(["token", "--sub", sub, *held], env).strip()


def _cli_status(env: dict[str, str]) -> Json:
    status: Json = json.loads(cli(["status", "--json"], env))
    return status


def cli_store_path(env: dict[str, str]) -> Path:
    """The store file the settings name for this data dir (created empty if missing)."""
    return Path(_cli_status(env)["store"])


def cli_index(env: dict[str, str], source: Path) -> tuple[float, Json]:
    started = time.perf_counter()
    cli(["index", "--source", f"jsonl:{source}"], env)
    wall = time.perf_counter() - started
    sources = {s["source"]: s for s in _cli_status(env)["sources"]}
    last_run: Json = sources[f"jsonl:{source.resolve()}"]["last_run"]
    return wall, last_run


def cli_rerun(data_dir: Path, source: Path) -> Json:
    wall, last = cli_index(cli_env(data_dir), source)
    return {
        "command": "casesearch index --source jsonl:PATH (unchanged file)",
        "process_wall_s": round(wall, 3),
        "indexer_elapsed_s": last["elapsed_s"],
        "chunks_embedded": last["chunks_embedded"],
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def server(env: dict[str, str], log_path: Path) -> Iterator[tuple[str, int]]:
    """``casesearch serve`` on a free local port until the block ends: (base url, pid)."""
    import httpx

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own console script
            [*casesearch_command(), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 300
            while True:
                if process.poll() is not None or time.monotonic() > deadline:
                    tail = log_path.read_text(errors="replace")[-2000:]
                    raise BenchError(f"the server did not become ready:\n{tail}")
                try:
                    if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.5)
            yield url, process.pid
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)
