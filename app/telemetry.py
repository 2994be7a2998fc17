"""Time-to-find telemetry: seconds from a search to the opening of one of its results.

Each search stores its id, the searching subject, the time and the ids it returned
(``telemetry_searches``); each open of one of those results stores the seconds since the search
(``telemetry_opens``). A search's time-to-find is the time to its *first* opened result; the
daily summary counts searches with at least one open and gives the median and the 90th
percentile (linear interpolation) of their time-to-find, by the UTC day of the search.

Only the searching subject can record an open, and only of a record that search returned:
an unknown search, somebody else's search and a record the search did not return all answer
the same ``NotFound``, so the endpoint reveals neither other users' searches nor records.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Connection

from app.errors import NotFound
from retrieval.store import RecordStore

NO_SUCH_SEARCH = "no search with that id returned that record to you"


@dataclass(frozen=True, slots=True)
class OpenRecorded:
    """An open that was stored: seconds since the search and the result's 1-based rank."""

    search_id: str
    document_id: str
    seconds: float
    rank: int


@dataclass(frozen=True, slots=True)
class TimeToFindSummary:
    """Searches made, searches with an opened result (``count``) and their time-to-find."""

    searches: int
    count: int
    median_s: float | None
    p90_s: float | None


@dataclass(frozen=True, slots=True)
class DaySummary:
    day: dt.date
    summary: TimeToFindSummary


@dataclass(frozen=True, slots=True)
class TimeToFind:
    date_from: dt.date | None
    date_to: dt.date | None
    days: list[DaySummary]
    overall: TimeToFindSummary


class Telemetry:
    """Records searches and opens in one store and summarises them. Thread-safe.

    The tables come with the store (revision 0002 of ``retrieval/migrations``).
    """

    def __init__(self, store: RecordStore) -> None:
        self.store = store

    def record_search(
        self,
        conn: Connection,
        search_id: str,
        subject: str,
        result_ids: Sequence[str],
        *,
        first_rank: int = 1,
        at: float | None = None,
    ) -> None:
        """Store a search inside ``conn``'s write transaction. ``first_rank`` is the rank of the
        first result on this page (``offset + 1``)."""
        when = time.time() if at is None else at
        conn.exec_driver_sql(
            "INSERT INTO telemetry_searches VALUES (?, ?, ?, ?, ?, ?)",
            (search_id, subject, when, _day(when), json.dumps(list(result_ids)), first_rank),
        )

    def record_open(
        self, search_id: str, subject: str, document_id: str, *, at: float | None = None
    ) -> OpenRecorded:
        """Store that ``subject`` opened ``document_id`` from their search ``search_id``.

        Raises ``NotFound`` (one message for every case) when the search is unknown, was made
        by somebody else, or did not return ``document_id``.
        """
        when = time.time() if at is None else at
        with self.store.transaction() as conn:
            row = conn.exec_driver_sql(
                "SELECT subject, searched_at, result_ids, first_rank FROM telemetry_searches"
                " WHERE search_id = ?",
                (search_id,),
            ).first()
            if row is None or row[0] != subject:
                raise NotFound(NO_SUCH_SEARCH)
            result_ids = list(json.loads(row[2]))
            if document_id not in result_ids:
                raise NotFound(NO_SUCH_SEARCH)
            rank = int(row[3]) + result_ids.index(document_id)
            # A clock step backwards must not produce a negative time-to-find.
            seconds = max(0.0, when - float(row[1]))
            conn.exec_driver_sql(
                "INSERT INTO telemetry_opens (search_id, document_id, rank, opened_at, seconds)"
                " VALUES (?, ?, ?, ?, ?)",
                (search_id, document_id, rank, when, seconds),
            )
        return OpenRecorded(search_id, document_id, round(seconds, 3), rank)

    def time_to_find(
        self, date_from: dt.date | None = None, date_to: dt.date | None = None
    ) -> TimeToFind:
        """Per UTC day of the search (ascending) and overall, for days in the closed range."""
        where, params = _day_range("day", date_from, date_to)
        joined_where, _ = _day_range("s.day", date_from, date_to)
        with self.store.snapshot() as conn:
            searches = {
                str(day): int(n)
                for day, n in conn.exec_driver_sql(
                    f"SELECT day, count(*) FROM telemetry_searches{where} GROUP BY day", params
                )
            }
            firsts = conn.exec_driver_sql(
                "SELECT s.day, min(o.seconds) FROM telemetry_searches s"
                " JOIN telemetry_opens o ON o.search_id = s.search_id"
                f"{joined_where} GROUP BY s.search_id",
                params,
            ).all()
        by_day: dict[str, list[float]] = {}
        for day, seconds in firsts:
            by_day.setdefault(str(day), []).append(float(seconds))
        days = [
            DaySummary(
                day=dt.date.fromisoformat(day),
                summary=_summary(searches.get(day, 0), by_day.get(day, [])),
            )
            for day in sorted(searches.keys() | by_day.keys())
        ]
        every = [s for values in by_day.values() for s in values]
        overall = _summary(sum(searches.values()), every)
        return TimeToFind(date_from=date_from, date_to=date_to, days=days, overall=overall)


def _day(epoch_s: float) -> str:
    return dt.datetime.fromtimestamp(epoch_s, dt.UTC).date().isoformat()


def _day_range(
    column: str, date_from: dt.date | None, date_to: dt.date | None
) -> tuple[str, tuple[str, ...]]:
    parts: list[str] = []
    params: list[str] = []
    if date_from is not None:
        parts.append(f"{column} >= ?")
        params.append(date_from.isoformat())
    if date_to is not None:
        parts.append(f"{column} <= ?")
        params.append(date_to.isoformat())
    return (f" WHERE {' AND '.join(parts)}" if parts else ""), tuple(params)


def _summary(searches: int, seconds: list[float]) -> TimeToFindSummary:
    if not seconds:
        return TimeToFindSummary(searches=searches, count=0, median_s=None, p90_s=None)
    values = np.asarray(seconds, dtype=np.float64)
    return TimeToFindSummary(
        searches=searches,
        count=len(seconds),
        median_s=round(float(np.median(values)), 3),
        p90_s=round(float(np.percentile(values, 90)), 3),
    )
