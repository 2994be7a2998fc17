"""The development sign-in: demo accounts and the checks on a typed user id and principals.

Only offered in development mode (``CASESEARCH_DEV_SIGN_IN=true``, which ``make demo`` sets) with
HS256 tokens; otherwise the council's identity provider signs users in and this module is unused.

Demo accounts come from ``<data_dir>/users.json`` or, failing that, ``<data_dir>/demo/users.json``
(where ``casesearch demo`` writes the synthetic case file's accounts); the format is
``{"users": [{"sub", "name", "description", "principals"}]}``. Without either file the page
offers only the typed user id and principals.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.settings import Settings

USERS_FILES = ("users.json", "demo/users.json")
MAX_DEMO_USERS = 50
MAX_PRINCIPALS = 50
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@:/-]{0,127}")


@dataclass(frozen=True, slots=True)
class DemoUser:
    sub: str
    name: str
    description: str
    principals: tuple[str, ...]


def demo_users(settings: Settings) -> tuple[DemoUser, ...]:
    """The demo accounts on offer; an unreadable or malformed file gives none, never an error."""
    raw: Any = None
    for name in USERS_FILES:
        path: Path = settings.data_dir / name
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            break
        except (OSError, ValueError):
            continue
    entries = raw.get("users") if isinstance(raw, dict) else None
    if not isinstance(entries, list):
        return ()
    users: list[DemoUser] = []
    for entry in entries[:MAX_DEMO_USERS]:
        if not isinstance(entry, dict):
            continue
        sub, principals = entry.get("sub"), entry.get("principals")
        if not isinstance(sub, str) or not _NAME.fullmatch(sub) or not isinstance(principals, list):
            continue
        clean = tuple(p for p in principals if isinstance(p, str) and _NAME.fullmatch(p))
        users.append(
            DemoUser(
                sub=sub,
                name=str(entry.get("name") or sub),
                description=str(entry.get("description") or ""),
                principals=clean[:MAX_PRINCIPALS],
            )
        )
    return tuple(users)


def check_user_id(value: str) -> str | None:
    """An error message for a typed user id, or ``None`` when it is acceptable."""
    if not value:
        return "Enter a user id"
    if not _NAME.fullmatch(value):
        return (
            "User id must start with a letter or number and use only letters, numbers"
            " and . _ @ : / -"
        )
    return None


def parse_principals(value: str) -> tuple[tuple[str, ...], str | None]:
    """Principals typed one per line or separated by spaces or commas, and an error if any."""
    parts = [p for p in re.split(r"[\s,]+", value.strip()) if p]
    if len(parts) > MAX_PRINCIPALS:
        return (), f"Enter {MAX_PRINCIPALS} principals or fewer"
    bad = [p for p in parts if not _NAME.fullmatch(p)]
    if bad:
        return (), "Principals use only letters, numbers and . _ @ : / - (for example team:north-1)"
    return tuple(dict.fromkeys(parts)), None
