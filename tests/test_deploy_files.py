"""The Dockerfile and compose.yaml agree with the code they ship (no engine needed to check).

Docker is not available where the suite runs, so these read the files: every package is
copied into the image, the runtime system packages are installed, and compose publishes the
port, mounts the data folder and runs commands that the image really has.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from app import cli
from app.main import create_app

REPO = Path(__file__).resolve().parents[1]
DOCKERFILE = (REPO / "Dockerfile").read_text(encoding="utf-8")


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((REPO / "compose.yaml").read_text(encoding="utf-8"))
    return data


def _env(name: str) -> str:
    match = re.search(rf"\b{name}=(\S+)", DOCKERFILE)
    assert match, name
    return match.group(1)


def test_every_package_is_copied_into_the_image() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    included = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {pattern.rstrip("*") for pattern in included}
    copied = set(re.findall(r"^COPY (\w+) \./\1$", DOCKERFILE, flags=re.MULTILINE))
    assert packages == copied


def test_the_image_installs_the_programs_the_connectors_call() -> None:
    installed = set(
        re.findall(r"[\w.+-]+", " ".join(re.findall(r"apt-get install ([^\n]+)", DOCKERFILE)))
    )
    assert {"tesseract-ocr", "tesseract-ocr-eng", "antiword", "ffmpeg"} <= installed


def test_the_healthcheck_asks_a_route_the_app_serves() -> None:
    match = re.search(r"HEALTHCHECK[\s\S]+?http://127\.0\.0\.1:(\d+)(/\w+)", DOCKERFILE)
    assert match
    assert match.group(1) == _env("CASESEARCH_PORT")
    assert match.group(2) in create_app().openapi()["paths"]


@pytest.mark.parametrize("service", ["casesearch", "demo"])
def test_compose_services_match_the_image(service: str) -> None:
    spec = _compose()["services"][service]
    assert spec["build"] == "."
    port = _env("CASESEARCH_PORT")
    assert f"EXPOSE {port}" in DOCKERFILE
    assert spec["ports"] == [f"127.0.0.1:{port}:{port}"]  # loopback only: TLS proxy in front
    assert [v.split(":")[1] for v in spec["volumes"]] == [_env("CASESEARCH_DATA_DIR")]
    # the secret must be given: compose refuses to start without it
    assert re.fullmatch(
        r"\$\{CASESEARCH_JWT_SECRET:\?.+\}", spec["environment"]["CASESEARCH_JWT_SECRET"]
    )
    assert spec["read_only"] is True
    assert spec["tmpfs"] == ["/tmp"]
    assert spec["cap_drop"] == ["ALL"]


def test_compose_commands_are_commands_of_the_image() -> None:
    cmd = re.search(r"^CMD (\[.+\])$", DOCKERFILE, flags=re.MULTILINE)
    assert cmd
    commands = [yaml.safe_load(cmd.group(1))]
    commands += [s["command"] for s in _compose()["services"].values() if "command" in s]
    for command in commands:
        assert command[0] == "casesearch", shlex.join(command)
        cli._parser().parse_args(command[1:])  # exits (fails the test) on an unknown option


def test_the_store_migrations_are_packaged() -> None:
    """The image installs the project as a wheel: the revisions and Alembic's template must be
    in it, or a store could not be opened there."""
    from setuptools import find_packages

    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    found = find_packages(str(REPO), **pyproject["tool"]["setuptools"]["packages"]["find"])
    assert {"retrieval.migrations", "retrieval.migrations.versions"} <= set(found)
    data = pyproject["tool"]["setuptools"]["package-data"]["*"]
    assert {"*.mako", "*.ini"} <= set(data)


def test_the_scale_out_compose_shares_one_store_and_one_rate_limit() -> None:
    data: dict[str, Any] = yaml.safe_load(
        (REPO / "compose.scale-out.yaml").read_text(encoding="utf-8")
    )
    services = data["services"]
    db = services["postgres"]["environment"]
    for name in ("api", "indexer"):
        env = services[name]["environment"]
        url = env["CASESEARCH_DATABASE_URL"]
        assert url.startswith("postgresql+psycopg://")
        assert f"@postgres:5432/{db['POSTGRES_DB']}" in url
        assert url.split("//")[1].split(":")[0] == db["POSTGRES_USER"]
        assert re.fullmatch(r"\$\{CASESEARCH_JWT_SECRET:\?.+\}", env["CASESEARCH_JWT_SECRET"])
        assert services[name]["depends_on"]["postgres"] == {"condition": "service_healthy"}
        assert services[name]["depends_on"]["qdrant"] == {"condition": "service_healthy"}
        assert env["CASESEARCH_QDRANT_URL"] == "http://qdrant:6333"
        assert (
            env["CASESEARCH_QDRANT_API_KEY"]
            == services["qdrant"]["environment"]["QDRANT__SERVICE__API_KEY"]
        )
        assert services[name]["read_only"] is True
        cli._parser().parse_args(services[name].get("command", ["casesearch", "serve"])[1:])
    api = services["api"]
    assert api["environment"]["CASESEARCH_LIMITS__RATE_LIMIT_STORAGE"] == "redis://redis:6379"
    assert api["ports"] == [f"127.0.0.1:{_env('CASESEARCH_PORT')}:{_env('CASESEARCH_PORT')}"]
    assert all("healthcheck" in services[s] for s in ("postgres", "qdrant", "redis"))
