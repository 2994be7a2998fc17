"""The page tests' tiny case file, its users and settings, and a quick sign-in."""

from __future__ import annotations

import json
from pathlib import Path

from factories import make_record
from fastapi.testclient import TestClient

from app.auth import mint_token
from app.settings import Settings
from app.web.session import SESSION_COOKIE
from connectors.record import Record

SECRET = "web-test-secret-of-at-least-thirty-two-bytes"

# Who sees what: alice and bob work in team north (bob is denied one record); mo manages north
# and also sees the managers' restricted note; sam works in team south, whose case CASE-9 is
# hidden from everyone in north. The record with an awkward id and markup in its title and text
# is in CASE-9 too (so the README's screenshots, taken as alice, stay readable).
USERS: dict[str, tuple[str, ...]] = {
    "alice": ("team:north",),
    "bob": ("team:north",),
    "mo": ("team:north", "team:north-managers"),
    "sam": ("team:south",),
    "wendy": ("team:west",),
    "nobody": (),
}

# Who may see what: (query finding the record, record id, whether the user sees it). SECRET-1
# is the managers' note (mo, not alice), DENIED-1 denies bob, HIDDEN-1 is south's (sam only).
ACCESS_CASES: dict[str, tuple[str, str, bool]] = {
    "alice": ("Zanzibar allegation relative", "SECRET-1", False),
    "mo": ("Zanzibar allegation relative", "SECRET-1", True),
    "bob": ("Quetzal relative present at the visit", "DENIED-1", False),
    "sam": ("Ocelot visit cold home", "HIDDEN-1", True),
    "nobody": ("Ocelot visit cold home", "HIDDEN-1", False),
}

AWKWARD_ID = "files:letters/GP letter #2 ?.txt"

# A full page of long results (only wendy sees them) for the page-weight budget: each text
# repeats the words of WEIGHT_QUERY so every snippet is as long and as highlighted as it gets.
WEIGHT_QUERY = "children left home alone cold little food no adult present"
_LONG_VISIT = (
    "The children were left home alone again, the home was cold and there was little food "
    "in the cupboards, and no adult was present when the social worker arrived late in the "
    "evening to check that the children were safe and warm. "
)


def case_file() -> list[Record]:
    north = ["team:north"]
    return [
        make_record(
            id="SP-OLD",
            case_id="CASE-7",
            doc_type="safety_plan",
            title="Safety plan (version 1)",
            created_at="2024-01-10",
            text=(
                "Safety plan agreed at the family home.\n\n"
                "Mum will supervise all contact with dad at the family centre."
            ),
            acl=north,
        ),
        make_record(
            id="SP-NEW",
            case_id="CASE-7",
            doc_type="safety_plan",
            title="Safety plan (version 2)",
            created_at="2024-05-02",
            text=(
                "Safety plan reviewed with the family.\n\n"
                "Dad must not have unsupervised contact with Amy. "
                "Maternal grandmother will collect Amy from school every day."
            ),
            acl=north,
        ),
        make_record(
            id="GP-1",
            case_id="CASE-7",
            doc_type="health_contact",
            title="GP contact",
            created_at="2024-04-11",
            text=(
                "Amy was seen by the GP for a chest infection. The GP had no safeguarding concerns."
            ),
            acl=north,
        ),
        make_record(
            id="STRAT-1",
            case_id="CASE-7",
            doc_type="strategy_discussion",
            title="Strategy discussion",
            created_at="2024-02-01",
            text="Strategy discussion held with police and health. Section 47 enquiries agreed.",
            acl=north,
        ),
        make_record(
            id="SECRET-1",
            case_id="CASE-7",
            doc_type="case_note",
            title="Restricted manager note",
            created_at="2024-03-03",
            text="Zanzibar allegation about a relative, recorded by the manager in confidence.",
            acl=["team:north-managers"],
        ),
        make_record(
            id="DENIED-1",
            case_id="CASE-7",
            doc_type="case_note",
            title="Conflict of interest note",
            created_at="2024-03-04",
            text="Quetzal note: the worker's relative was present at the visit.",
            acl=north,
            deny=["user:bob"],
        ),
        make_record(
            id=AWKWARD_ID,
            case_id="CASE-9",
            doc_type="letter",
            title="<script>alert('title')</script> GP letter",
            created_at="2023-12-01",
            text="Letter from the GP practice <b>about</b> Ben's asthma & inhaler.",
            acl=["team:south"],
        ),
        make_record(
            id="HIDDEN-1",
            case_id="CASE-9",
            doc_type="visit_note",
            title="Home visit",
            created_at="2024-02-20",
            text="Ocelot visit: the home was cold and there was little food in the cupboards.",
            acl=["team:south"],
        ),
        *[
            make_record(
                id=f"WEST-{n:02d}",
                case_id="CASE-W",
                doc_type="visit_note",
                title=f"Unannounced home visit number {n} to the family home, evening",
                created_at=f"2024-06-{n:02d}",
                text=_LONG_VISIT * 4,
                acl=["team:west"],
            )
            for n in range(1, 13)
        ],
    ]


def web_settings(data_dir: Path, **overrides: object) -> Settings:
    users = {
        "users": [
            {
                "sub": sub,
                "name": sub.title(),
                "description": f"Demo user {sub}",
                "principals": [f"user:{sub}", *principals],
            }
            for sub, principals in USERS.items()
            if principals
        ]
    }
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "users.json").write_text(json.dumps(users), encoding="utf-8")
    fields: dict[str, object] = {
        "data_dir": data_dir,
        "jwt_secret": SECRET,
        # the pages' tests sign in through the development form; tests of a real deployment's
        # settings pass dev_sign_in=False
        "dev_sign_in": True,
        "progress": False,
        "limits": {"rate_limit_per_minute": 0},
    }
    fields.update(overrides)
    return Settings.model_validate(fields)


def sign_in_as(client: TestClient, settings: Settings, sub: str) -> str:
    """Put a session cookie for ``sub`` in ``client`` (what the sign-in form does); the token."""
    token = mint_token(settings, sub, list(USERS[sub]))
    client.cookies.set(SESSION_COOKIE, token)
    return token
