"""Children by name: resolution rules, visibility, search scoping, and the hidden-name property."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from factories import make_record
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.record import Record
from indexer import Indexer
from retrieval.chunking import ChunkingConfig
from retrieval.embedding import Embedder
from retrieval.models import AccessScope, SearchFilters, SearchRequest, SearchResult
from retrieval.people import PeopleDirectory, Person, resolve_names
from retrieval.search import HybridSearcher
from retrieval.store import RecordStore, SubjectRow

PEOPLE = [
    Person("P-1", "Ruth Walker", ("Ruthie",), ("CASE-1",)),
    Person("P-2", "Kai Campbell", (), ("CASE-2",)),
    Person("P-3", "Lily-Mae Carter", (), ("CASE-3",)),
    Person("P-4", "Alfie Hughes", (), ("CASE-4",)),
]


@pytest.mark.parametrize(
    ("query", "name", "rest"),
    [
        ("Ruth's safety plan", "Ruth Walker", "safety plan"),
        ("Ruth safety plan", "Ruth Walker", "safety plan"),
        ("when did Kai last see the GP", "Kai Campbell", "when did last see the GP"),
        ("when did kai last see the GP", "Kai Campbell", "when did last see the GP"),
        ("Ruht's safety plan", "Ruth Walker", "safety plan"),  # transposed letters
        ("alfei school", "Alfie Hughes", "school"),  # not an English word: fuzzy
        ("Ruthie", "Ruth Walker", ""),  # another name
        ("Lily's plan", "Lily-Mae Carter", "plan"),  # part of a hyphenated name
        ("Ruth Walker", "Ruth Walker", ""),
    ],
)
def test_a_name_in_the_query_finds_the_child(query: str, name: str, rest: str) -> None:
    found = resolve_names(query, PEOPLE)
    assert found.person is not None
    assert found.person.name == name
    assert found.text == rest


@pytest.mark.parametrize(
    "query",
    [
        "current safety plan",
        "summer holidays",  # a name is also a word: lower case is the word
        "Plan for the family",  # an English word matches exactly only ("Plan" is not a name)
        "Kia GP",  # names under four letters match exactly only
        "Zara's plan",  # nobody of that name is visible
    ],
)
def test_words_that_are_not_a_visible_childs_name_find_nobody(query: str) -> None:
    found = resolve_names(query, PEOPLE)
    assert found.people == ()
    assert found.text == query


def test_a_lower_case_word_that_is_a_childs_name_is_offered_never_applied() -> None:
    people = [*PEOPLE, Person("P-7", "Ruby Hill", (), ("CASE-7",))]
    found = resolve_names("any merlins for ruby", people)
    assert [p.name for p in found.people] == ["Ruby Hill"]
    assert found.offered
    assert found.person is None  # nothing is scoped: the user chooses
    assert found.text == "any merlins for ruby"
    # a name written as one wins, and nothing is offered beside it
    found = resolve_names("Kai's ruby bracelet", people)
    assert (found.person, found.offered) == (PEOPLE[1], False)
    # a lower-case word that no visible child is called, or a stop word, offers nobody
    assert resolve_names("ruby wedding", PEOPLE).people == ()
    will = [*PEOPLE, Person("P-8", "Will Owen", (), ("CASE-8",))]
    assert resolve_names("when will mum visit", will).people == ()


def test_a_common_word_written_as_a_name_inside_the_query_may_be_a_typo_of_one() -> None:
    people = [*PEOPLE, Person("P-5", "Tommy Reid", (), ("CASE-5",))]
    found = resolve_names("is Tummy attending school", people)
    assert found.person is not None
    assert found.person.name == "Tommy Reid"
    assert found.text == "is attending school"
    # lower case, or capitalised only because it starts the query, it is the word
    assert resolve_names("tummy ache at school", people).people == ()
    assert resolve_names("Tummy ache at school", people).people == ()
    # and a short common word stays a word even when capitalised ("Plan" is not Alan)
    with_alan = [*people, Person("P-6", "Alan Fox", (), ("CASE-6",))]
    assert resolve_names("the Safety Plan", with_alan).people == ()


def test_two_children_of_one_name_ask_the_user_and_a_surname_decides() -> None:
    people = [*PEOPLE, Person("P-9", "Ruth Okafor", (), ("CASE-9",))]
    found = resolve_names("Ruth's safety plan", people)
    assert [p.name for p in found.people] == ["Ruth Okafor", "Ruth Walker"]
    assert found.person is None
    assert found.text == "Ruth's safety plan"
    decided = resolve_names("Ruth Okafor safety plan", people)
    assert decided.person is not None
    assert decided.person.case_ids == ("CASE-9",)


def test_only_visible_records_supply_names_and_cases() -> None:
    rows = [
        SubjectRow(1, "CASE-1", "P-1", "Ruth Walker", ("Ruthie",), None),
        SubjectRow(2, "CASE-7", "P-1", "Ruth Hidden-Name", (), None),  # hidden record
        SubjectRow(3, "CASE-1", "P-1", "Ruth Walker", (), None),
        SubjectRow(4, "CASE-8", "P-8", "Zara Secret", (), None),  # hidden record
    ]
    mask = np.array([False, True, False, True, False])
    people = PeopleDirectory(rows).visible(mask)
    assert people == [Person("P-1", "Ruth Walker", ("Ruthie",), ("CASE-1",))]
    assert resolve_names("Zara's plan", people).people == ()


# -- search ---------------------------------------------------------------------------------


def _child(pid: str, name: str, **extra: Any) -> list[dict[str, Any]]:
    return [{"id": pid, "name": name, "role": "child", **extra}]


def _corpus() -> list[Record]:
    ruth = _child("P-1", "Ruth Walker", other_names=["Ruthie"])
    kai = _child("P-2", "Kai Campbell")
    okafor = _child("P-3", "Ruth Okafor")
    return [
        make_record(
            id="C1-1",
            case_id="CASE-1",
            doc_type="safety_plan",
            title="Safety plan",
            text="Safety plan: Ruth will stay with her grandmother at weekends.",
            subjects=ruth,
        ),
        make_record(
            id="C1-2",
            case_id="CASE-1",
            doc_type="health_contact",
            title="GP letter",
            text="Ruth was seen by the GP for a chest infection.",
            subjects=ruth,
        ),
        make_record(
            id="C2-1",
            case_id="CASE-2",
            doc_type="safety_plan",
            title="Safety plan",
            text="Safety plan agreed: Kai will not be left alone with the ex-partner.",
            subjects=kai,
            created_at="2024-05-01",
        ),
        make_record(
            id="C2-2",
            case_id="CASE-2",
            doc_type="health_contact",
            title="GP letter",
            text="Kai was seen by the GP; he is well.",
            subjects=kai,
        ),
        make_record(
            id="C3-1",
            case_id="CASE-3",
            doc_type="safety_plan",
            title="Safety plan",
            text="Safety plan for Ruth: no contact with the neighbour.",
            subjects=okafor,
            acl=["team:b"],
        ),
    ]


@pytest.fixture(scope="module")
def named(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> HybridSearcher:
    store = RecordStore(tmp_path_factory.mktemp("people") / "s.db")
    Indexer(store, embedder, ChunkingConfig(max_words=60)).apply(_corpus(), source="t")
    return HybridSearcher(store, embedder)


def _search(searcher: HybridSearcher, text: str, *principals: str) -> SearchResult:
    return searcher.search(SearchRequest(text=text, scope=AccessScope.of(*principals)))


def test_a_childs_name_scopes_the_search_to_her_case(named: HybridSearcher) -> None:
    result = _search(named, "Ruth's safety plan", "team:a")
    assert result.hits[0].document_id == "C1-1"
    assert {h.case_id for h in result.hits} == {"CASE-1"}
    assert result.understanding["scoped_to"] == "scoped to Ruth Walker, CASE-1"
    assert result.understanding["people"] == [
        {"id": "P-1", "name": "Ruth Walker", "case_ids": ["CASE-1"]}
    ]
    assert result.hits[0].why["scoped_to"] == "scoped to Ruth Walker, CASE-1"
    assert [s.name for s in result.hits[0].subjects] == ["Ruth Walker"]


def test_a_misspelt_name_scopes_too(named: HybridSearcher) -> None:
    result = _search(named, "when did Kia last see the GP", "team:a")  # too short: no
    assert "scoped_to" not in result.understanding
    result = _search(named, "Ruhts safety plan", "team:a")
    assert {h.case_id for h in result.hits} == {"CASE-1"}


def test_several_children_of_that_name_are_offered_not_guessed(named: HybridSearcher) -> None:
    result = _search(named, "Ruth's safety plan", "team:a", "team:b")
    assert [p["case_ids"] for p in result.understanding["people"]] == [["CASE-3"], ["CASE-1"]]
    assert "scoped_to" not in result.understanding
    assert {h.case_id for h in result.hits} >= {"CASE-1", "CASE-3"}


def test_a_case_filter_wins_over_a_name(named: HybridSearcher) -> None:
    result = named.search(
        SearchRequest(
            text="Kai safety plan",
            scope=AccessScope.of("team:a"),
            filters=SearchFilters(case_id="CASE-1"),
        )
    )
    assert {h.case_id for h in result.hits} == {"CASE-1"}
    assert "people" not in result.understanding


# -- the property: a name the caller may not see never changes what she gets back ------------

VISIBLE_NAMES = ["Ruth Walker", "Kai Campbell", "Amara Osei"]
HIDDEN_NAMES = ["Ruth Hidden", "Zara Secret", "Kai Campbell", "Amara Osei-Boateng", "Tobi Adeyemi"]
TOPICS = [
    "Safety plan agreed with mum; no contact with the ex-partner.",
    "Seen by the GP for asthma; inhaler reviewed.",
    "School reports poor attendance and hunger in the mornings.",
    "Police attended after a domestic incident at the home.",
]
QUERY_FORMS = ["{}'s safety plan", "when did {} last see the GP", "{} school", "{}", "police {}"]


def _base_records() -> list[Record]:
    records = []
    for c, name in enumerate(VISIBLE_NAMES):
        first = name.split()[0]
        for t, topic in enumerate(TOPICS):
            records.append(
                make_record(
                    id=f"V{c}-{t}",
                    title=f"Note {c}-{t}",  # the factory's default title differs per call
                    case_id=f"CASE-V{c}",
                    text=f"{first}: {topic}",
                    created_at=f"2024-0{t + 1}-1{c}",
                    subjects=_child(f"P-V{c}", name),
                    acl=["team:a"],
                )
            )
    return records


def _hidden_records() -> list[Record]:
    """Records the caller may not see (another team, or denied to her), each naming a child:
    new children, children of visible names in new cases, and a visible child renamed."""
    records = []
    for h, name in enumerate(HIDDEN_NAMES):
        first = name.split()[0]
        records.append(
            make_record(
                id=f"H{h}",
                title=f"Note H{h}",
                case_id=f"CASE-V{h % 2}" if h % 3 == 0 else f"CASE-H{h}",
                text=f"{first}: {TOPICS[h % len(TOPICS)]}",
                subjects=_child(f"P-H{h}", name, other_names=["Ruthie"]),
                acl=["team:b"] if h % 2 else ["team:a"],
                deny=[] if h % 2 else ["user:alice"],
            )
        )
    records.append(
        make_record(
            id="H-renamed",
            title="Note H-renamed",
            case_id="CASE-V0",
            text=f"Ruth: {TOPICS[0]}",
            subjects=_child("P-V0", "Ruth Walker-Secret", other_names=["Zara"]),
            acl=["team:b"],
        )
    )
    return records


@pytest.fixture(scope="module")
def twins(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> tuple[HybridSearcher, HybridSearcher]:
    """The same visible records, without and with hidden records naming children."""
    searchers = []
    for with_hidden in (False, True):
        path: Path = tmp_path_factory.mktemp("twin") / "s.db"
        store = RecordStore(path)
        indexer = Indexer(store, embedder, ChunkingConfig(max_words=60))
        indexer.apply(_base_records(), source="t")
        if with_hidden:  # added after, so visible records keep their pks
            indexer.apply(_hidden_records(), source="t")
        searchers.append(HybridSearcher(store, embedder))
    return searchers[0], searchers[1]


def _typo(name: str, at: int) -> str:
    if len(name) < 4:
        return name
    i = 1 + at % (len(name) - 2)
    return name[:i] + name[i + 1] + name[i] + name[i + 2 :]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=st.sampled_from([*VISIBLE_NAMES, *HIDDEN_NAMES, "Ruthie", "Zara", "Ruth Walker-Secret"]),
    first_only=st.booleans(),
    typo=st.one_of(st.none(), st.integers(min_value=0, max_value=10)),
    form=st.sampled_from(QUERY_FORMS),
    mode=st.sampled_from(["bm25", "dense", "hybrid"]),
)
def test_a_hidden_childs_name_never_changes_what_the_caller_gets(
    twins: tuple[HybridSearcher, HybridSearcher],
    name: str,
    first_only: bool,
    typo: int | None,
    form: str,
    mode: str,
) -> None:
    words = name.split()[0] if first_only else name
    if typo is not None:
        words = _typo(words, typo)
    request = SearchRequest(
        text=form.format(words),
        scope=AccessScope.of("team:a", "user:alice"),
        mode=mode,  # type: ignore[arg-type]
    )
    without, with_hidden = (s.search(request) for s in twins)
    assert [(h.document_id, h.score, h.snippet, h.subjects, h.why) for h in with_hidden.hits] == [
        (h.document_id, h.score, h.snippet, h.subjects, h.why) for h in without.hits
    ]
    assert with_hidden.understanding == without.understanding
    assert with_hidden.total == without.total


def test_kept_people_follow_a_revocation(tmp_path: Path, embedder: Embedder) -> None:
    """The children of a visible set are kept between searches; a permission change makes
    a child unknown at the next search, however many searches asked before."""
    store = RecordStore(tmp_path / "s.db")
    indexer = Indexer(store, embedder, ChunkingConfig(max_words=60))
    indexer.apply(_corpus(), source="t")
    searcher = HybridSearcher(store, embedder)
    scope = AccessScope.of("team:a")
    for _ in range(3):
        assert "Kai Campbell" in [p.name for p in searcher.visible_people(scope)]
    revoked = [
        make_record(**{**r.to_json(), "acl": ["team:b"]})
        for r in _corpus()
        if r.case_id == "CASE-2"
    ]
    indexer.apply(revoked, source="t")
    assert "Kai Campbell" not in [p.name for p in searcher.visible_people(scope)]
    assert _search(searcher, "Kai's safety plan", "team:a").understanding.get("people") is None
    store.close()


def _people_by_rows(rows: list[SubjectRow], mask: np.ndarray) -> list[Person]:
    """The directory's rule written plainly over row objects: each child from the rows the
    mask shows (newest record's name first, every other name, cases sorted)."""
    shown = sorted(
        (r for r in rows if r.record_pk < mask.size and mask[r.record_pk]),
        key=lambda r: (r.person_id, r.record_pk),
    )
    grouped: dict[str, list[SubjectRow]] = {}
    for row in shown:
        grouped.setdefault(row.person_id, []).append(row)
    out = []
    for person_id, mine in grouped.items():
        newest = mine[-1].name
        others = dict.fromkeys(n for r in reversed(mine) for n in (*r.other_names, r.name))
        others.pop(newest, None)
        cases = tuple(sorted({r.case_id for r in mine if r.case_id}))
        out.append(Person(person_id, newest, tuple(others), cases))
    return out


_row = st.builds(
    SubjectRow,
    record_pk=st.integers(1, 30),
    case_id=st.sampled_from([None, "CASE-1", "CASE-2"]),
    person_id=st.sampled_from(["P1", "P2", "P3"]),
    name=st.sampled_from(["Kai Campbell", "Kai Cambell", "Ruby Okafor", "Zoë Lane"]),
    other_names=st.sampled_from([(), ("Kai",), ("Ruby", "Rubes")]),
    dob=st.none(),
)


@given(
    rows=st.lists(_row, max_size=25, unique_by=lambda r: (r.person_id, r.record_pk)),
    shown=st.lists(st.booleans(), min_size=0, max_size=32),
)
def test_the_directory_names_each_child_from_the_rows_the_caller_may_see(
    rows: list[SubjectRow], shown: list[bool]
) -> None:
    """Kept as columns of shared values, the directory gives what the plain rule gives, for
    any visible set: no name from a record the caller may not see."""
    mask = np.array(shown, dtype=np.bool_)
    directory = PeopleDirectory(rows)
    assert list(directory.visible(mask)) == _people_by_rows(rows, mask)
    assert directory.everyone() == _people_by_rows(rows, np.ones(32, dtype=np.bool_))
