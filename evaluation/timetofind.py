"""Time-to-find: seconds until a user opens the first relevant record, searching vs browsing.

Search: the user types the query, waits for the results, reads snippets from the top down to the
first relevant hit and opens it::

    len(query text) × seconds_per_character + latency
        + seconds_per_snippet × (rank of first relevant hit − 1) + seconds_to_open

The user reads at most ``results_scanned`` results; with no relevant hit among them the query
is *not found*.

Browse (the baseline, no search box): the user lists the case's records newest first
(``created_at`` descending, undated records last, ties by ascending id), reads titles from the
top down to the first relevant record and opens it::

    seconds_per_title × (position of first relevant record − 1) + seconds_to_open

A query without ``case_id`` has no case to open, so its browse list is the whole (visible)
corpus, in the same order. Browsing has no page limit; it is *not found* only when no relevant
record is in the list at all.

Results as you type (the web page's search box refreshes the results each time a word is
completed): the user types the query word by word and glances at the first result after
each word; when it is an answer of the query's highest grade she stops typing, decides to
open it and opens it::

    characters typed (the last a space) × seconds_per_character + latency of that search
        + seconds_to_decide + seconds_to_open

otherwise she types the whole query and it is timed as a search above. The decision is the
mental operator M of the same keystroke-level model (1.35 s); the glance after each word is
free, as reading the first snippet is in the search formula.

Not-found queries: with ``not_found_penalty_s = None`` they are left out of the time statistics
and reported as a count and a fraction; with a number they count as that many seconds.

Where the numbers come from: 0.28 s per character is the keystroke time K of Card, Moran and
Newell's keystroke-level model for an average non-secretarial typist (about 40 words per minute;
Card, Moran & Newell, "The keystroke-level model for user performance time with interactive
systems", Communications of the ACM 23(7), 1980, pp. 396-410). The snippet, open and title times
are this project's assumptions, not measurements; change them here, and they are printed with
every report.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from evaluation.beir import BeirDocument, EvalQuery
from evaluation.metrics import first_relevant_rank, mean, percentile

KLM_SOURCE = (
    "0.28 s per character: keystroke time K for an average non-secretarial typist, and 1.35 s "
    "to decide to stop typing and open a result: mental operator M, keystroke-level model "
    "(Card, Moran & Newell, CACM 23(7), 1980, 396-410); "
    "snippet, open and title times are project assumptions"
)
"""Where the default parameters come from; printed with every report."""

NotFoundPolicy = Literal["exclude", "penalty"]
BrowseScope = Literal["case", "corpus"]


@dataclass(frozen=True, slots=True)
class TimeToFindModel:
    """Every parameter of the time-to-find model (seconds, except ``results_scanned``).

    Raises ``ValueError`` on a negative time or ``results_scanned < 1``.
    """

    seconds_per_character: float = 0.28
    seconds_per_snippet: float = 3.0
    seconds_to_open: float = 2.0
    seconds_per_title: float = 3.0
    seconds_to_decide: float = 1.35
    results_scanned: int = 10
    not_found_penalty_s: float | None = None

    def __post_init__(self) -> None:
        for name in (
            "seconds_per_character",
            "seconds_per_snippet",
            "seconds_to_open",
            "seconds_per_title",
            "seconds_to_decide",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        if self.not_found_penalty_s is not None and self.not_found_penalty_s < 0:
            raise ValueError("not_found_penalty_s must be >= 0 or None")
        if self.results_scanned < 1:
            raise ValueError("results_scanned must be >= 1")

    @property
    def not_found_policy(self) -> NotFoundPolicy:
        """``"exclude"`` without a penalty, else ``"penalty"``."""
        return "exclude" if self.not_found_penalty_s is None else "penalty"

    def search_seconds(self, query_text: str, latency_s: float, rank: int) -> float:
        """Seconds to find a hit at 1-based ``rank`` after a search that took ``latency_s``."""
        return (
            self.typing_seconds(query_text)
            + latency_s
            + self.reading_seconds(rank)
            + self.seconds_to_open
        )

    def typing_seconds(self, query_text: str) -> float:
        """Seconds to type ``query_text``."""
        return len(query_text) * self.seconds_per_character

    def reading_seconds(self, rank: int) -> float:
        """Seconds reading the snippets above a hit at 1-based ``rank``."""
        return self.seconds_per_snippet * (rank - 1)

    def early_stop_seconds(self, characters: int, latency_s: float) -> float:
        """Seconds to find an answer shown first after typing ``characters`` characters."""
        return (
            characters * self.seconds_per_character
            + latency_s
            + self.seconds_to_decide
            + self.seconds_to_open
        )

    def browse_seconds(self, position: int) -> float:
        """Seconds to find the record at 1-based ``position`` of the browse list."""
        return self.seconds_per_title * (position - 1) + self.seconds_to_open


DEFAULT_TTF_MODEL = TimeToFindModel()
_NEVER = dt.datetime.min


@dataclass(frozen=True, slots=True)
class BrowseResult:
    """Where browsing finds a query's first relevant record (``position`` None: never)."""

    scope: BrowseScope
    position: int | None
    listed: int


@dataclass(frozen=True, slots=True)
class QueryTimeToFind:
    """One query's time-to-find; a ``None`` time means not found that way.

    ``typing_seconds`` and ``latency_seconds`` are the parts of ``search_seconds`` that no
    ranking can shorten (the rest is reading snippets above the hit and opening it).
    """

    query_id: str
    search_rank: int | None
    search_seconds: float | None
    browse_scope: BrowseScope
    browse_position: int | None
    browse_seconds: float | None
    typing_seconds: float = 0.0
    latency_seconds: float = 0.0
    as_you_type_measured: bool = False
    as_you_type_seconds: float | None = None
    as_you_type_words: int | None = None


@dataclass(frozen=True, slots=True)
class EarlyStop:
    """Where a user watching the results as she types stops: after ``words`` words, with
    ``characters`` typed (the last the space that completed the word), whose search took
    ``latency_s``."""

    words: int
    characters: int
    latency_s: float


def typed_prefixes(text: str) -> list[EarlyStop]:
    """The searches the page runs while ``text`` is typed, before its last word.

    One per completed word that has more words after it: the text up to that word, with the
    whitespace that completed it counted as typed. ``latency_s`` is 0 here; the caller times
    each search.
    """
    stops: list[EarlyStop] = []
    words = 0
    for index, char in enumerate(text):
        if char.isspace() and index > 0 and not text[index - 1].isspace():
            words += 1
            if text[index:].strip():
                stops.append(EarlyStop(words=words, characters=index + 1, latency_s=0.0))
    return stops


def with_as_you_type(
    row: QueryTimeToFind, stop: EarlyStop | None, model: TimeToFindModel = DEFAULT_TTF_MODEL
) -> QueryTimeToFind:
    """``row`` with its as-you-type time: stopping at ``stop``, or (None) typing it all."""
    if stop is None:
        return replace(row, as_you_type_measured=True, as_you_type_seconds=row.search_seconds)
    return replace(
        row,
        as_you_type_measured=True,
        as_you_type_seconds=model.early_stop_seconds(stop.characters, stop.latency_s),
        as_you_type_words=stop.words,
    )


@dataclass(frozen=True, slots=True)
class TimeStats:
    """Statistics of one way of finding (search or browse) over a set of queries.

    ``counted`` is how many queries the times describe: the found ones under the ``"exclude"``
    policy, all of them under ``"penalty"``. Times are None when nothing was counted.
    """

    queries: int
    found: int
    not_found: int
    not_found_fraction: float
    counted: int
    median_s: float | None
    p90_s: float | None
    mean_s: float | None


@dataclass(frozen=True, slots=True)
class TimeToFindSummary:
    """Search vs browse over the same queries.

    ``median_ratio`` is search median / browse median (below 1: search is faster); None when
    either median is missing or the browse median is 0. Under ``"exclude"`` the two medians can
    describe different subsets of queries (see ``counted``).
    """

    policy: NotFoundPolicy
    search: TimeStats
    browse: TimeStats
    median_ratio: float | None
    browse_corpus_queries: int
    as_you_type: TimeStats | None = None
    stopped_early: int = 0


class BrowseLists:
    """The browse order of each case and of the whole corpus, built once per collection.

    Only documents whose id is in ``visible`` (all, when None) are listed. Documents without
    a ``case_id`` appear only in the corpus list.
    """

    def __init__(
        self, documents: Iterable[BeirDocument], visible: Collection[str] | None = None
    ) -> None:
        listed = [doc for doc in documents if visible is None or doc.id in visible]
        ordered = newest_first(listed)
        self._corpus = {doc.id: position for position, doc in enumerate(ordered, start=1)}
        self._cases: dict[str, dict[str, int]] = {}
        for doc in ordered:
            if doc.case_id is not None:
                case = self._cases.setdefault(doc.case_id, {})
                case[doc.id] = len(case) + 1

    def locate(self, query: EvalQuery, judged: Mapping[str, int]) -> BrowseResult:
        """Position of the first relevant record in the query's browse list."""
        scope: BrowseScope = "corpus" if query.case_id is None else "case"
        positions = self._corpus if query.case_id is None else self._cases.get(query.case_id, {})
        found = [positions.get(doc_id) for doc_id, grade in judged.items() if grade > 0]
        first = min((position for position in found if position is not None), default=None)
        return BrowseResult(scope=scope, position=first, listed=len(positions))


def newest_first(documents: Iterable[BeirDocument]) -> list[BeirDocument]:
    """Documents by ``created_at`` descending, undated last, ties by ascending id."""
    by_id = sorted(documents, key=lambda doc: doc.id)
    dated = [doc for doc in by_id if doc.created_at is not None]
    undated = [doc for doc in by_id if doc.created_at is None]
    dated.sort(key=lambda doc: doc.created_at or _NEVER, reverse=True)  # stable: ties keep id order
    return dated + undated


def query_time_to_find(
    query: EvalQuery,
    ranking: Sequence[str],
    judged: Mapping[str, int],
    latency_s: float,
    browse: BrowseResult,
    model: TimeToFindModel = DEFAULT_TTF_MODEL,
) -> QueryTimeToFind:
    """One query's search and browse times under ``model`` (``ranking``: ids, best first)."""
    rank = first_relevant_rank(ranking, judged, model.results_scanned)
    return QueryTimeToFind(
        query_id=query.id,
        search_rank=rank,
        search_seconds=None if rank is None else model.search_seconds(query.text, latency_s, rank),
        browse_scope=browse.scope,
        browse_position=browse.position,
        browse_seconds=None if browse.position is None else model.browse_seconds(browse.position),
        typing_seconds=model.typing_seconds(query.text),
        latency_seconds=latency_s,
    )


@dataclass(frozen=True, slots=True)
class SearchTimeParts:
    """Medians, over the queries search found, of where their search time went (seconds)."""

    found: int
    typing_s: float
    waiting_s: float
    reading_s: float
    opening_s: float
    total_s: float


def search_time_parts(
    rows: Sequence[QueryTimeToFind], model: TimeToFindModel = DEFAULT_TTF_MODEL
) -> SearchTimeParts | None:
    """Typing, waiting for results, reading snippets above the hit and opening it; None when
    search found none of ``rows``. Each part is its own median, so they need not add up to
    ``total_s``."""
    found = [
        (r, r.search_rank, r.search_seconds)
        for r in rows
        if r.search_rank is not None and r.search_seconds is not None
    ]
    if not found:
        return None
    return SearchTimeParts(
        found=len(found),
        typing_s=percentile([r.typing_seconds for r, _, _ in found], 50),
        waiting_s=percentile([r.latency_seconds for r, _, _ in found], 50),
        reading_s=percentile([model.reading_seconds(rank) for _, rank, _ in found], 50),
        opening_s=model.seconds_to_open,
        total_s=percentile([seconds for _, _, seconds in found], 50),
    )


def summarise_time_to_find(
    rows: Sequence[QueryTimeToFind], model: TimeToFindModel = DEFAULT_TTF_MODEL
) -> TimeToFindSummary:
    """Median, p90 and mean of search and browse times, with the not-found policy applied."""
    search = _stats([row.search_seconds for row in rows], model.not_found_penalty_s)
    browse = _stats([row.browse_seconds for row in rows], model.not_found_penalty_s)
    ratio = None
    if search.median_s is not None and browse.median_s:
        ratio = search.median_s / browse.median_s
    measured = [row for row in rows if row.as_you_type_measured]
    return TimeToFindSummary(
        policy=model.not_found_policy,
        search=search,
        browse=browse,
        median_ratio=ratio,
        browse_corpus_queries=sum(1 for row in rows if row.browse_scope == "corpus"),
        as_you_type=(
            _stats([row.as_you_type_seconds for row in measured], model.not_found_penalty_s)
            if measured and len(measured) == len(rows)
            else None
        ),
        stopped_early=sum(1 for row in measured if row.as_you_type_words is not None),
    )


def _stats(times: Sequence[float | None], penalty: float | None) -> TimeStats:
    found = [value for value in times if value is not None]
    counted = found if penalty is None else [penalty if t is None else t for t in times]
    not_found = len(times) - len(found)
    return TimeStats(
        queries=len(times),
        found=len(found),
        not_found=not_found,
        not_found_fraction=not_found / len(times) if times else 0.0,
        counted=len(counted),
        median_s=percentile(counted, 50) if counted else None,
        p90_s=percentile(counted, 90) if counted else None,
        mean_s=mean(counted) if counted else None,
    )
