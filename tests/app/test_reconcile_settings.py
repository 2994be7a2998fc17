"""The Qdrant settings (``CASESEARCH_QDRANT_URL``, ``CASESEARCH_QDRANT_API_KEY``): unset keeps
the in-memory dense index; a server's address or ``local:PATH`` is taken; anything else is
refused with a message naming the variable."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.settings import Settings


def test_unset_means_no_qdrant() -> None:
    settings = Settings()
    assert settings.qdrant_url is None
    assert settings.qdrant_api_key is None
    assert Settings(qdrant_url="").qdrant_url is None


@pytest.mark.parametrize(
    "url",
    ["local:/var/lib/casesearch/qdrant", "http://127.0.0.1:6333", "https://qdrant.example.org"],
)
def test_server_addresses_and_local_mode_are_taken(url: str) -> None:
    assert Settings(qdrant_url=url).qdrant_url == url


@pytest.mark.parametrize("url", ["local:", "qdrant:6333", "ftp://qdrant", "http://a b", "/var/q"])
def test_other_values_are_refused_naming_the_variable(url: str) -> None:
    with pytest.raises(ValidationError, match="CASESEARCH_QDRANT_URL"):
        Settings(qdrant_url=url)


def test_the_api_key_is_a_secret() -> None:
    settings = Settings(qdrant_url="https://qdrant.example.org", qdrant_api_key="s3cret-key")
    assert "s3cret-key" not in repr(settings)
    assert settings.qdrant_api_key is not None
    assert settings.qdrant_api_key.get_secret_value() == "s3cret-key"
