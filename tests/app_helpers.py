"""Helpers for API tests."""

from __future__ import annotations

from app.auth import mint_token
from app.settings import Settings


def bearer(
    settings: Settings, sub: str, *principals: str, ttl: int | None = None
) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(settings, sub, list(principals), ttl_s=ttl)}"}
