"""Helpers for API tests."""

from __future__ import annotations

import pytest

from app.auth import mint_token
from app.settings import Settings, get_settings


def bearer(
    settings: Settings, sub: str, *principals: str, ttl: int | None = None
) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(settings, sub, list(principals), ttl_s=ttl)}"}


def settings_for_cli(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point ``casesearch`` commands run in this process at ``settings``' store and secret."""
    monkeypatch.setenv("CASESEARCH_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CASESEARCH_JWT_SECRET", settings.token_secret())
    if settings.database_url is not None:
        monkeypatch.setenv("CASESEARCH_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
