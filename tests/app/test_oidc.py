"""OpenID Connect: groups to principals, and the ID token checks that refuse a sign-in.

The ID tokens here are real JWTs signed with a freshly generated RSA key (joserfc), checked by
the same ``verify_id_token`` the callback uses; the end-to-end flow against a real provider is
in ``tests/web/test_web_oidc_browser.py``.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from joserfc import jwt
from joserfc.jwk import KeySet, OctKey, RSAKey
from pydantic import ValidationError

from app.oidc import SignInRefused, UnknownSigningKey, identity_for, principals_for, verify_id_token
from app.settings import ConfigurationError, OidcSettings, Settings

ISSUER = "https://login.example.org/tenant/v2.0"
CLIENT = "casesearch"
NONCE = "nonce-of-this-sign-in"
SECRET = "a-deployment-secret-of-at-least-32-bytes"

groups = st.text(st.characters(codec="utf-8"), min_size=1, max_size=12)
principals = st.lists(st.from_regex(r"(team|role):[a-z0-9-]{1,10}", fullmatch=True), max_size=3)


@given(
    table=st.dictionaries(groups, principals, max_size=6),
    held=st.lists(groups, max_size=8),
    unlisted=st.lists(groups, max_size=4),
)
def test_a_user_holds_exactly_the_principals_of_their_listed_groups(
    table: dict[str, list[str]], held: list[str], unlisted: list[str]
) -> None:
    settings = OidcSettings(group_principals=table)
    outsiders = [g for g in unlisted if g not in table]
    got = principals_for({"groups": held + outsiders}, settings)
    assert got == {p for g in held if g in table for p in table[g]}
    # groups the table does not list give nothing, whatever they are called
    assert principals_for({"groups": outsiders}, settings) == frozenset()


@given(table=st.dictionaries(groups, principals, min_size=1, max_size=6))
def test_no_groups_claim_or_one_of_the_wrong_shape_gives_no_principals(
    table: dict[str, list[str]],
) -> None:
    settings = OidcSettings(group_principals=table)
    some_group = next(iter(table))
    for claims in ({}, {"groups": None}, {"groups": 7}, {"groups": {some_group: True}}):
        assert principals_for(claims, settings) == frozenset()
    # Entra ID and others may send a lone group as a string
    assert principals_for({"groups": some_group}, settings) == frozenset(table[some_group])


def test_the_groups_and_user_id_claims_are_configurable() -> None:
    settings = OidcSettings(
        groups_claim="roles",
        user_id_claim="preferred_username",
        group_principals={"South-QA": ["team:south", "role:qa"]},
    )
    claims = {"sub": "opaque", "preferred_username": "sam@council.example", "roles": ["South-QA"]}
    identity = identity_for(claims, settings)
    assert identity.subject == "sam@council.example"
    assert identity.principals == {"team:south", "role:qa"}
    # matching is exact: Entra ID's object ids and group names are not case-folded
    assert principals_for({"roles": ["south-qa"]}, settings) == frozenset()


@pytest.mark.parametrize("subject", [None, "", "  ", 42, "x" * 257, "bad\nname"])
def test_a_missing_or_unusable_user_id_refuses_the_sign_in(subject: object) -> None:
    with pytest.raises(SignInRefused, match="'sub'"):
        identity_for({"sub": subject, "groups": []}, OidcSettings())


@pytest.mark.parametrize(
    "table",
    [
        {"admins": ["user:bob"]},  # members would act as one named user
        {"south": [""]},
        {"south": ["team:south\n"]},
    ],
)
def test_a_group_table_that_would_grant_the_wrong_thing_is_refused(
    table: dict[str, list[str]],
) -> None:
    with pytest.raises(ValidationError):
        OidcSettings(group_principals=table)


def test_settings_that_cannot_run_oidc_safely_are_refused() -> None:
    base: dict[str, Any] = {
        "jwt_secret": SECRET,
        "oidc": {"issuer": ISSUER, "client_id": CLIENT, "client_secret": "s"},
    }
    Settings.model_validate(base).check_can_serve()
    with pytest.raises(ConfigurationError, match="CLIENT_SECRET"):
        Settings.model_validate(
            {**base, "oidc": {"issuer": ISSUER, "client_id": CLIENT}}
        ).check_can_serve()
    with pytest.raises(ConfigurationError, match="HS256"):
        Settings.model_validate(
            {**base, "auth": {"algorithm": "RS256", "jwks_url": "https://x.example/jwks"}}
        ).check_can_serve()
    with pytest.raises(ConfigurationError, match="SESSION_LIFETIME"):
        Settings.model_validate(
            {**base, "oidc": {**base["oidc"], "session_lifetime_s": 13 * 3600}}
        ).check_can_serve()
    for issuer in ("http://login.example.org", "https://x.example/?a=1", "ftp://x.example"):
        with pytest.raises(ValidationError):
            OidcSettings(issuer=issuer)
    with pytest.raises(ValidationError, match="openid"):
        OidcSettings(scopes="profile groups")
    # an issuer ending in a slash (Auth0's do) is kept as given: its ID tokens name it so
    assert OidcSettings(issuer="https://tenant.example/").issuer == "https://tenant.example/"


# -- the ID token -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig", "alg": "RS256"})


def _claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "alice",
        "aud": CLIENT,
        "iat": now,
        "exp": now + 300,
        "nonce": NONCE,
        "groups": ["north"],
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _signed(key: RSAKey, claims: dict[str, Any], alg: str = "RS256") -> str:
    return jwt.encode({"alg": alg, "kid": key.kid}, claims, key)


def _verify(token: str, key: RSAKey) -> dict[str, Any]:
    keys = KeySet([RSAKey.import_key(key.as_dict(private=False))])
    return verify_id_token(
        token, keys, issuer=ISSUER, client_id=CLIENT, nonce=NONCE, algorithms=("RS256",)
    )


def test_a_good_id_token_is_accepted(key: RSAKey) -> None:
    claims = _verify(_signed(key, _claims()), key)
    assert claims["sub"] == "alice"
    assert claims["groups"] == ["north"]


@pytest.mark.parametrize(
    "changes",
    [
        {"nonce": "another-sign-in's-nonce"},
        {"nonce": None},
        {"aud": "another-application"},
        {"aud": ["another-application"], "azp": CLIENT},
        {"aud": [CLIENT, "other"], "azp": "other"},
        {"iss": "https://login.example.org/other-tenant/v2.0"},
        {"exp": int(time.time()) - 120},
        {"iat": None},
        {"sub": None},
    ],
    ids=[
        "wrong-nonce",
        "no-nonce",
        "other-audience",
        "other-audience-with-our-azp",
        "authorised-party-not-us",
        "other-issuer",
        "expired",
        "no-iat",
        "no-sub",
    ],
)
def test_an_id_token_failing_a_check_is_refused(key: RSAKey, changes: dict[str, Any]) -> None:
    with pytest.raises(SignInRefused):
        _verify(_signed(key, _claims(**changes)), key)


def test_an_id_token_signed_by_another_key_or_not_asymmetrically_is_refused(key: RSAKey) -> None:
    forger = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    with pytest.raises(SignInRefused):
        _verify(_signed(forger, _claims()), key)
    stranger = RSAKey.generate_key(2048, parameters={"kid": "k2"})
    with pytest.raises(UnknownSigningKey):
        _verify(_signed(stranger, _claims()), key)
    # HS256 with a key the attacker chose (or the client secret): never accepted
    secret = OctKey.generate_key(256, parameters={"kid": "k1"})
    with pytest.raises(SignInRefused):
        _verify(jwt.encode({"alg": "HS256", "kid": "k1"}, _claims(), secret), key)
    header, payload, _ = _signed(key, _claims()).split(".")
    with pytest.raises(SignInRefused):
        _verify(f"{header}.{payload}.", key)
