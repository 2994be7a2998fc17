"""The pages' small pure parts: highlighting, redirects, demo accounts, typed principals."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.settings import Settings
from app.web import present
from app.web.devlogin import check_user_id, demo_users, parse_principals
from app.web.session import safe_next


@given(
    st.text(max_size=60),
    st.lists(st.tuples(st.integers(-5, 70), st.integers(-5, 70)), max_size=6),
)
def test_highlight_pieces_always_give_back_the_text(
    text: str, spans: list[tuple[int, int]]
) -> None:
    pieces = present.pieces(text, spans)
    assert "".join(p.text for p in pieces) == text
    marked = [p for p in pieces if p.marked]
    assert all(p.text for p in marked)
    # Merged: two marked pieces are never adjacent.
    assert all(not (a.marked and b.marked) for a, b in itertools.pairwise(pieces))


def test_highlight_pieces_merge_overlaps() -> None:
    pieces = present.pieces("safety plan agreed", [(0, 6), (3, 11), (20, 30)])
    assert [(p.text, p.marked) for p in pieces] == [("safety plan", True), (" agreed", False)]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/cases/CASE-7?type=letter", "/cases/CASE-7?type=letter"),
        (None, "/"),
        ("", "/"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("/ok\r\nSet-Cookie: x=1", "/"),
        ("/sign-in?next=/", "/"),
        ("/" + "a" * 3000, "/"),
    ],
)
def test_safe_next_keeps_users_on_this_site(value: str | None, expected: str) -> None:
    assert safe_next(value) == expected


def test_long_dates_read_the_gov_uk_way() -> None:
    assert present.long_date(dt.date(2024, 3, 2)) == "2 March 2024"
    assert present.long_date(None) == ""
    assert present.doc_type_label("cp_plan") == "Child protection plan"
    assert present.doc_type_label("family_group_conference") == "Family group conference"


def _settings(tmp_path: Path) -> Settings:
    return Settings.model_validate(
        {"data_dir": tmp_path, "jwt_secret": "x" * 40, "progress": False}
    )


def test_demo_users_come_from_the_demo_folder_when_there_is_no_users_file(
    tmp_path: Path,
) -> None:
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "users.json").write_text(
        json.dumps(
            {
                "users": [
                    {"sub": "sw-1", "name": "Sam", "principals": ["team:a", "bad principal"]},
                    {"sub": "<script>", "principals": ["team:a"]},
                    "not an object",
                ]
            }
        ),
        encoding="utf-8",
    )
    users = demo_users(_settings(tmp_path))
    assert [(u.sub, u.principals) for u in users] == [("sw-1", ("team:a",))]
    (tmp_path / "users.json").write_text("{not json", encoding="utf-8")
    assert [u.sub for u in demo_users(_settings(tmp_path))] == ["sw-1"]
    (tmp_path / "users.json").write_text('{"users": []}', encoding="utf-8")
    assert demo_users(_settings(tmp_path)) == ()


def test_typed_user_ids_and_principals_are_checked() -> None:
    assert check_user_id("sw-north-1-2") is None
    assert check_user_id("") == "Enter a user id"
    assert check_user_id("a b") is not None
    assert parse_principals("team:a, role:qa\nteam:a") == (("team:a", "role:qa"), None)
    assert parse_principals("")[0] == ()
    assert parse_principals("team:a <b>")[1] is not None
    assert parse_principals(" ".join(f"team:{n}" for n in range(51)))[1] is not None


def test_why_a_hit_moved_says_up_or_down_in_words() -> None:
    facts = present.why_facts(
        {
            "matched_terms": ["neglect"],
            "boosts": {"doc_type": 0.05, "not_asserted": -0.1, "case_evidence": 0.01},
        }
    )
    rows = {f.label: f.value for f in facts}
    assert rows["Moved up for"] == (
        "how strongly the rest of its case shows the concern, record type asked for"
    )
    assert rows["Moved down for"].startswith("the concern only mentioned as negated")
