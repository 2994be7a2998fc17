"""RS256 with a JWKS endpoint (production): only well-signed, current tokens for this audience
from this issuer pass; everything else is a 401, and an unreachable key server fails closed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from jwt.algorithms import RSAAlgorithm
from pydantic import SecretStr

from app.auth import mint_token, verify_token
from app.errors import AuthUnavailable, Unauthorized
from app.settings import AuthSettings, Settings

ISSUER = "https://idp.council.example"
AUDIENCE = "casesearch"
KID = "key-2024"

_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
_OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


class _JwksHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(_KEY.public_key()))
        body = json.dumps({"keys": [{**jwk, "kid": KID, "use": "sig", "alg": "RS256"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def jwks_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _JwksHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def settings(tmp_path: Path, jwks_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path,
        jwt_secret=SecretStr("test-secret-of-at-least-thirty-two-bytes"),
        progress=False,
        auth=AuthSettings(algorithm="RS256", jwks_url=jwks_url, issuer=ISSUER, audience=AUDIENCE),
    )


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": "alice",
        "principals": ["team:north"],
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 300,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _rs256(claims: dict[str, Any], key: rsa.RSAPrivateKey = _KEY, kid: str = KID) -> str:
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(claims: dict[str, Any]) -> str:
    """An ``alg: none`` token (no signature) naming the real key id."""
    header = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": KID}).encode())
    return f"{header}.{_b64(json.dumps(claims).encode())}."


def _hs256_with_public_key(claims: dict[str, Any]) -> str:
    """The algorithm-confusion attack: HMAC keyed with the (public) RSA key's PEM bytes.

    Built by hand because PyJWT itself refuses to sign like this.
    """
    pem = _KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": KID}).encode())
    payload = _b64(json.dumps(claims).encode())
    signature = hmac.new(pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def test_a_valid_token_is_accepted(settings: Settings) -> None:
    caller = verify_token(settings, _rs256(_claims(principals=["team:north", "role:qa"])))
    assert caller.subject == "alice"
    assert caller.principals == frozenset({"team:north", "role:qa"})


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("expired", lambda: _rs256(_claims(exp=int(time.time()) - 120))),
        ("wrong signature", lambda: _rs256(_claims(), key=_OTHER_KEY)),
        ("wrong audience", lambda: _rs256(_claims(aud="another-service"))),
        ("no audience", lambda: _rs256(_claims(aud=None))),
        ("wrong issuer", lambda: _rs256(_claims(iss="https://evil.example"))),
        ("no issuer", lambda: _rs256(_claims(iss=None))),
        ("no expiry", lambda: _rs256(_claims(exp=None))),
        ("unknown key id", lambda: _rs256(_claims(), kid="someone-elses-key")),
        ("alg none", lambda: _unsigned(_claims())),
        (
            "HS256 with the configured secret",
            lambda: jwt.encode(
                _claims(),
                "test-secret-of-at-least-thirty-two-bytes",
                algorithm="HS256",
                headers={"kid": KID},
            ),
        ),
        ("HS256 keyed with the public key", lambda: _hs256_with_public_key(_claims())),
        ("tampered payload", lambda: _swap_payload(_rs256(_claims()), _claims(sub="root"))),
        ("garbage", lambda: "not.a.jwt"),
    ],
)
def test_bad_tokens_are_rejected(settings: Settings, name: str, make: Any) -> None:
    with pytest.raises(Unauthorized):
        verify_token(settings, make())


def _swap_payload(token: str, claims: dict[str, Any]) -> str:
    header, _payload, signature = token.split(".")
    return f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"


def test_an_unreachable_key_server_fails_closed(settings: Settings) -> None:
    dead = settings.model_copy(
        update={"auth": settings.auth.model_copy(update={"jwks_url": "http://127.0.0.1:9/jwks"})}
    )
    with pytest.raises(AuthUnavailable):
        verify_token(dead, _rs256(_claims()))


def test_tokens_cannot_be_minted_locally_under_rs256(settings: Settings) -> None:
    with pytest.raises(Unauthorized):
        mint_token(settings, "alice", ["team:north"])


def test_the_api_answers_401_or_200_by_the_token(client: TestClient) -> None:
    body = {"query": "safety plan"}
    good = {"Authorization": f"Bearer {_rs256(_claims())}"}
    response = client.post("/v1/search", json=body, headers=good)
    assert response.status_code == 200
    assert {r["document_id"] for r in response.json()["results"]} == {"OPEN-1", "DENIED-1"}
    for token in (
        _rs256(_claims(aud="another-service")),
        _hs256_with_public_key(_claims()),
        _unsigned(_claims()),
    ):
        bad = client.post("/v1/search", json=body, headers={"Authorization": f"Bearer {token}"})
        assert bad.status_code == 401
        assert bad.json()["error"]["code"] == "unauthorized"
        assert bad.headers["WWW-Authenticate"] == "Bearer"
