"""A default deployment has no open door: no self-chosen sign-in, no secret from the source.

The development sign-in (pick any user, type any principals) exists for the demo only and is on
only when ``CASESEARCH_DEV_SIGN_IN=true`` is set. Before this was fixed it was on whenever tokens
were HS256, the default, and a server without ``CASESEARCH_JWT_SECRET`` signed tokens with the
secret printed in ``app/settings.py``.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
import yaml
from fastapi.testclient import TestClient
from pydantic import SecretStr

from app import cli
from app.auth import mint_token
from app.main import create_app
from app.services import Services
from app.settings import DEVELOPMENT_SECRET, ConfigurationError, Settings, get_settings
from app.web.session import SESSION_COOKIE, SIGN_IN_COOKIE, sign_in_csrf_token

REPO = Path(__file__).resolve().parents[2]
SECRET = "a-deployment-secret-of-at-least-32-bytes"
HTML = {"Accept": "text/html"}


@pytest.fixture
def no_casesearch_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process environment of a fresh deployment: no ``CASESEARCH_*`` variable set."""
    import os

    for name in list(os.environ):
        if name.startswith("CASESEARCH_"):
            monkeypatch.delenv(name)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _deployed(tmp_path: Path, **extra: object) -> Settings:
    """Settings as the Dockerfile and compose file deploy them, plus ``extra``."""
    fields: dict[str, object] = {"data_dir": tmp_path, "jwt_secret": SECRET, "progress": False}
    fields.update(extra)
    return Settings.model_validate(fields)


@pytest.fixture
def deployed(tmp_path: Path, services: Services) -> Iterator[TestClient]:
    """A server on a default deployment's settings over the API fixtures' three records."""
    settings = _deployed(tmp_path / "deployed")
    serving = dataclasses.replace(services, settings=settings)
    with TestClient(create_app(services=serving), follow_redirects=False) as client:
        yield client


def test_development_sign_in_is_off_unless_set(no_casesearch_env: None) -> None:
    assert Settings().dev_sign_in is False


def test_a_server_without_a_secret_refuses_to_start(no_casesearch_env: None) -> None:
    with pytest.raises(ConfigurationError, match="CASESEARCH_JWT_SECRET is not set"):
        Settings().check_can_serve()


def test_a_server_with_the_secret_from_the_source_refuses_to_start(tmp_path: Path) -> None:
    settings = _deployed(tmp_path, jwt_secret=DEVELOPMENT_SECRET)
    with pytest.raises(ConfigurationError, match="built-in development secret"):
        settings.check_can_serve()
    # the app's lifespan refuses too, so no server built some other way can answer
    with pytest.raises(ConfigurationError), TestClient(create_app(settings)):
        pass


def test_development_mode_may_use_the_secret_from_the_source(tmp_path: Path) -> None:
    settings = _deployed(tmp_path, jwt_secret=None, dev_sign_in=True)
    settings.check_can_serve()
    assert settings.token_secret() == DEVELOPMENT_SECRET


def test_cli_serve_and_token_refuse_without_a_secret(
    no_casesearch_env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import os

    os.environ["CASESEARCH_DATA_DIR"] = str(tmp_path)
    try:
        assert cli.main(["serve", "--port", "9"]) == 1
        assert "CASESEARCH_JWT_SECRET is not set" in capsys.readouterr().err
        get_settings.cache_clear()
        assert cli.main(["token", "--sub", "eve", "--principal", "role:qa"]) == 1
        assert "CASESEARCH_JWT_SECRET" in capsys.readouterr().err
    finally:
        del os.environ["CASESEARCH_DATA_DIR"]


def test_a_default_deployment_offers_no_sign_in_form(deployed: TestClient) -> None:
    page = deployed.get("/sign-in")
    assert page.status_code == 200
    assert "through your organisation" in page.text
    assert not re.search(r"<form[^>]+action=\"/sign-in\"", page.text)
    assert 'name="principals"' not in page.text
    assert "Development" not in page.text


def test_a_default_deployment_accepts_no_self_chosen_principals(deployed: TestClient) -> None:
    # Even a form post carrying a valid sign-in CSRF token gets nowhere.
    settings = _deployed(Path("/unused"))
    nonce = "n" * 32
    deployed.cookies.set(SIGN_IN_COOKIE, nonce, path="/sign-in")
    posted = deployed.post(
        "/sign-in",
        data={
            "user": "other",
            "user_id": "eve",
            "principals": "team:north role:qa team:managers",
            "csrf_token": sign_in_csrf_token(settings, nonce),
        },
    )
    assert posted.status_code == 404
    assert SESSION_COOKIE not in posted.headers.get("set-cookie", "")
    assert deployed.get("/cases/CASE-7", headers=HTML).status_code == 303


def test_a_default_deployment_rejects_tokens_signed_with_the_source_secret(
    deployed: TestClient,
) -> None:
    now = int(time.time())
    forged = jwt.encode(
        {"sub": "eve", "principals": ["team:north", "team:managers"], "iat": now, "exp": now + 600},
        DEVELOPMENT_SECRET,
        algorithm="HS256",
    )
    searched = deployed.post(
        "/v1/search",
        json={"query": "safety plan"},
        headers={"Authorization": f"Bearer {forged}"},
    )
    assert searched.status_code == 401
    assert "Safety plan" not in searched.text
    deployed.cookies.set(SESSION_COOKIE, forged)
    page = deployed.get("/cases/CASE-7", headers=HTML)
    assert page.status_code == 303
    assert "ended=1" in page.headers["location"]
    # a token signed with the deployment's own secret still works
    genuine = mint_token(_deployed(Path("/unused")), "amy", ["team:north"])
    ok = deployed.post(
        "/v1/search", json={"query": "safety plan"}, headers={"Authorization": f"Bearer {genuine}"}
    )
    assert ok.status_code == 200
    assert ok.json()["results"][0]["document_id"] == "OPEN-1"


def test_development_mode_says_so_on_every_page(tmp_path: Path, services: Services) -> None:
    settings = _deployed(tmp_path / "dev", dev_sign_in=True)
    serving = dataclasses.replace(services, settings=settings)
    token = mint_token(settings, "amy", ["team:north"])
    with TestClient(create_app(services=serving), follow_redirects=False) as client:
        pages = [client.get("/sign-in")]
        client.cookies.set(SESSION_COOKIE, token)
        pages += [
            client.get(path, headers=HTML)
            for path in ("/", "/?q=safety+plan", "/records/OPEN-1", "/records/MISSING")
        ]
    for page in pages:
        assert 'id="development-mode"' in page.text, page.url
        assert "anyone can sign in here as anyone" in page.text


def _dockerfile_env() -> dict[str, str]:
    text = (REPO / "Dockerfile").read_text(encoding="utf-8")
    return dict(re.findall(r"\b(CASESEARCH_\w+)=(\S+)", text))


def test_the_image_and_compose_default_deploy_no_development_sign_in(tmp_path: Path) -> None:
    compose = yaml.safe_load((REPO / "compose.yaml").read_text(encoding="utf-8"))
    service = compose["services"]["casesearch"]
    assert "profiles" not in service  # `docker compose up` starts this one
    env = {**_dockerfile_env(), **{k: str(v) for k, v in service["environment"].items()}}
    env["CASESEARCH_JWT_SECRET"] = SECRET  # compose refuses to start without one
    env["CASESEARCH_DATA_DIR"] = str(tmp_path)
    settings = Settings.model_validate(
        {k.removeprefix("CASESEARCH_").lower(): v for k, v in env.items()}
    )
    assert settings.dev_sign_in is False
    settings.check_can_serve()
    # only the opt-in demo profile (fictional records) turns it on, and says why
    assert compose["services"]["demo"]["profiles"] == ["demo"]


def test_explicitly_given_secrets_are_kept_secret(tmp_path: Path) -> None:
    settings = _deployed(tmp_path)
    assert isinstance(settings.jwt_secret, SecretStr)
    assert SECRET not in repr(settings)
