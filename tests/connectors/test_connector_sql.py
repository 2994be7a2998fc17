"""SQL connector: the shared contract on SQLite and PostgreSQL, plus watermark behaviour."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from connector_contract import (
    ACL,
    ConnectorContract,
    SourceHarness,
    changes,
    checkpoints,
    failures,
    fetch_all,
    final_checkpoint,
    merge,
    records,
    roundtrip,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql

from connectors.base import Checkpoint
from connectors.errors import ConnectorError, FatalConnectorError
from connectors.record import Record, Tombstone
from connectors.sql import SqlCheckpoint, SqlConnector
from indexer.pipeline import Estimating

BASE_TIME = dt.datetime(2024, 3, 2, 10, 15, tzinfo=dt.UTC)
PG_USERS = ("postgres", "root")


class SqlHarness(SourceHarness):
    """A CMS table. Until a connector is made, every three writes share one ``updated_at`` so
    ties straddle batch boundaries; after that each write is strictly later (as a clock is)."""

    def __init__(self, url: str, *, postgres: bool) -> None:
        self.url = url
        self.postgres = postgres
        self.name = f"cs_records_{uuid.uuid4().hex[:10]}"
        self.engine = sa.create_engine(url)
        metadata = sa.MetaData()
        self.table = sa.Table(
            self.name,
            metadata,
            sa.Column("id", sa.String(64), primary_key=True),
            sa.Column("case_id", sa.String(64)),
            sa.Column("doc_type", sa.String(64)),
            sa.Column("title", sa.Text),
            sa.Column("text", sa.Text),
            sa.Column("created_at", sa.Date),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
            # PostgreSQL: a JSONB array and a text[]; SQLite: a ';' string and a JSON string
            sa.Column("acl", postgresql.JSONB if postgres else sa.Text),
            sa.Column("deny", postgresql.ARRAY(sa.Text) if postgres else sa.Text),
            sa.Column("deleted", sa.Boolean, nullable=False),
            sa.Column("priority", sa.Integer),
        )
        metadata.create_all(self.engine)
        self.connectors: list[SqlConnector] = []
        self.writes = 0
        self.step = 0

    def close(self) -> None:
        for connector in self.connectors:
            connector.close()
        self.table.drop(self.engine)
        self.engine.dispose()

    def connector(self) -> SqlConnector:
        connector = SqlConnector(self.url, self.name, batch_size=2)
        self.connectors.append(connector)
        return connector

    def _updated_at(self) -> dt.datetime:
        self.writes += 1
        if self.connectors or self.writes % 3 == 1:
            self.step += 1
        return BASE_TIME + dt.timedelta(seconds=self.step)

    def _upsert(self, key: str, **values: Any) -> None:
        values["updated_at"] = self._updated_at()
        with self.engine.begin() as conn:
            found = conn.execute(sa.select(self.table.c.id).where(self.table.c.id == key)).first()
            if found:
                conn.execute(self.table.update().where(self.table.c.id == key).values(**values))
            else:
                conn.execute(self.table.insert().values(id=key, **values))

    def put(self, key: str, text: str) -> None:
        self._upsert(
            key,
            case_id="CASE-1042",
            doc_type="case_note",
            title=f"Note {key}",
            text=text,
            created_at=dt.date(2024, 3, 1),
            acl=ACL if self.postgres else ";".join(ACL),
            deny=[] if self.postgres else "[]",
            deleted=False,
            priority=3,
        )

    def delete(self, key: str) -> None:
        self._upsert(key, deleted=True)

    def put_bad(self, key: str) -> str:
        self._upsert(key, text="", acl=ACL if self.postgres else ACL[0], deleted=False)
        return f"{self.name}#{key}"

    def record_id(self, key: str) -> str:
        return key


def _postgres_url() -> str | None:
    for user in PG_USERS:
        url = f"postgresql+psycopg://{user}@127.0.0.1:5432/test"
        engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
        try:
            with engine.connect():
                return url
        except sa.exc.SQLAlchemyError:
            continue
        finally:
            engine.dispose()
    return None


@pytest.fixture(scope="session")
def postgres_url() -> str:
    url = _postgres_url()
    if url is None:
        pytest.skip(
            "PostgreSQL is not reachable at 127.0.0.1:5432 (database 'test', user postgres "
            "or root, trust auth)"
        )
    return url


class TestSqliteContract(ConnectorContract):
    @pytest.fixture
    def harness(self, tmp_path: Path) -> Iterator[SourceHarness]:
        harness = SqlHarness(f"sqlite:///{tmp_path / 'cms.db'}", postgres=False)
        yield harness
        harness.close()


@pytest.mark.integration
class TestPostgresContract(ConnectorContract):
    @pytest.fixture
    def harness(self, postgres_url: str) -> Iterator[SourceHarness]:
        harness = SqlHarness(postgres_url, postgres=True)
        yield harness
        harness.close()


# --- SQLite: behaviour specific to SQL ---------------------------------------------------------


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cms.db'}"


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(sqlite_url)
    yield engine
    engine.dispose()


def make_table(engine: sa.Engine, name: str = "records", **columns: Any) -> sa.Table:
    """A table with ``id`` and ``updated_at`` (types overridable) plus the given columns."""
    table = sa.Table(
        name,
        sa.MetaData(),
        sa.Column("id", columns.pop("id", sa.String(64)), primary_key=True),
        sa.Column("updated_at", columns.pop("updated_at", sa.DateTime), nullable=True),
        *(sa.Column(column, type_) for column, type_ in columns.items()),
    )
    table.create(engine)
    return table


def insert(engine: sa.Engine, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    with engine.begin() as conn:
        conn.execute(table.insert(), rows)


def read(connector: SqlConnector, checkpoint: Checkpoint | None = None) -> list[Any]:
    try:
        return fetch_all(connector, checkpoint)
    finally:
        connector.close()


def test_rows_sharing_a_timestamp_across_batches_are_read_once_in_id_order(
    engine: sa.Engine, sqlite_url: str
) -> None:
    table = make_table(engine, text=sa.Text, acl=sa.Text)
    stamp = dt.datetime(2024, 1, 1, 9, 0)
    insert(
        engine,
        table,
        [{"id": f"r{i}", "updated_at": stamp, "text": "t", "acl": "team:a"} for i in range(7)],
    )
    items = read(SqlConnector(sqlite_url, "records", batch_size=2))
    assert [r.id for r in records(items)] == [f"r{i}" for i in range(7)]
    kinds = "".join("C" if isinstance(item, Checkpoint) else "R" for item in items)
    assert kinds == "RRCRRCRRCRC"
    last = final_checkpoint(items)
    assert isinstance(last, SqlCheckpoint)
    assert (last.watermark, last.last_id) == (stamp.isoformat(), "r6")


def test_integer_ids_break_ties_numerically(engine: sa.Engine, sqlite_url: str) -> None:
    table = make_table(engine, id=sa.Integer, text=sa.Text, acl=sa.Text)
    stamp = dt.datetime(2024, 1, 1)
    insert(
        engine,
        table,
        [{"id": i, "updated_at": stamp, "text": "t", "acl": "team:a"} for i in range(1, 13)],
    )
    items = read(SqlConnector(sqlite_url, "records", batch_size=5))
    assert [r.id for r in records(items)] == [str(i) for i in range(1, 13)]
    _, middle = next(iter(checkpoints(items)))
    assert isinstance(middle, SqlCheckpoint)
    assert middle.last_id_kind == "int"
    rest = read(SqlConnector(sqlite_url, "records", batch_size=5), middle)
    assert [r.id for r in records(rest)] == [str(i) for i in range(6, 13)]


def test_columns_are_mapped_and_the_rest_kept_as_extra(engine: sa.Engine, sqlite_url: str) -> None:
    table = make_table(
        engine,
        body=sa.Text,
        permissions=sa.Text,
        blocked=sa.Text,
        case_ref=sa.String(32),
        created_at=sa.Date,
        risk_level=sa.Integer,
        reviewed_on=sa.Date,
        photo=sa.LargeBinary,
    )
    insert(
        engine,
        table,
        [
            {
                "id": "n1",
                "updated_at": dt.datetime(2024, 3, 2, 10, 15),
                "body": "Mia seen alone at school.",
                "permissions": '["team:north-1", "role:qa"]',
                "blocked": "user:a, user:b",
                "case_ref": "CASE-1042",
                "created_at": dt.date(2024, 3, 1),
                "risk_level": 2,
                "reviewed_on": dt.date(2024, 3, 9),
                "photo": b"\x89PNG",
            }
        ],
    )
    connector = SqlConnector(
        sqlite_url,
        "records",
        column_map={"text": "body", "acl": "permissions", "deny": "blocked", "case_id": "case_ref"},
    )
    [record] = records(read(connector))
    assert record.text == "Mia seen alone at school."
    assert record.acl == ("role:qa", "team:north-1")
    assert record.deny == ("user:a", "user:b")
    assert record.case_id == "CASE-1042"
    assert record.created_at == dt.date(2024, 3, 1)
    assert record.updated_at == dt.datetime(2024, 3, 2, 10, 15, tzinfo=dt.UTC)
    assert dict(record.extra) == {"risk_level": 2, "reviewed_on": "2024-03-09"}


def test_soft_deleted_rows_are_tombstones_and_not_listed(
    engine: sa.Engine, sqlite_url: str
) -> None:
    table = make_table(engine, text=sa.Text, acl=sa.Text, deleted=sa.Boolean)
    stamp = dt.datetime(2024, 1, 1)
    insert(
        engine,
        table,
        [
            {"id": "keep", "updated_at": stamp, "text": "t", "acl": "team:a", "deleted": False},
            {"id": "gone", "updated_at": stamp, "text": "t", "acl": "team:a", "deleted": True},
            {"id": "null", "updated_at": stamp, "text": "t", "acl": "team:a", "deleted": None},
        ],
    )
    items = read(SqlConnector(sqlite_url, "records"))
    assert Tombstone("gone") in changes(items)
    assert sorted(merge(items)) == ["keep", "null"]
    connector = SqlConnector(sqlite_url, "records", batch_size=1)
    assert list(connector.list_ids()) == ["keep", "null"]
    connector.close()


def test_rows_without_a_watermark_are_reported_once_per_full_read(
    engine: sa.Engine, sqlite_url: str
) -> None:
    table = make_table(engine, text=sa.Text, acl=sa.Text)
    insert(
        engine,
        table,
        [
            {"id": "dated", "updated_at": dt.datetime(2024, 1, 1), "text": "t", "acl": "team:a"},
            {"id": "undated", "updated_at": None, "text": "t", "acl": "team:a"},
        ],
    )
    items = read(SqlConnector(sqlite_url, "records"))
    assert [f.source_ref for f in failures(items)] == ["records#undated"]
    assert "NULL" in failures(items)[0].reason
    again = read(SqlConnector(sqlite_url, "records"), final_checkpoint(items))
    assert failures(again) == []
    assert changes(again) == []
    # the progress bar's total counts the failure on a full read only
    connector = SqlConnector(sqlite_url, "records")
    start = connector.initial_checkpoint()
    assert connector.estimate_items(start) == len(failures(items)) + len(changes(items)) == 2
    assert connector.estimate_items(final_checkpoint(items)) == 0
    connector.close()


def test_a_bad_row_names_table_and_id(engine: sa.Engine, sqlite_url: str) -> None:
    table = make_table(engine, text=sa.Text, acl=sa.Text)
    insert(
        engine,
        table,
        [
            {"id": "no-acl", "updated_at": dt.datetime(2024, 1, 1), "text": "t", "acl": None},
            {"id": "bad-json", "updated_at": dt.datetime(2024, 1, 2), "text": "t", "acl": "[oops"},
            {"id": "ok", "updated_at": dt.datetime(2024, 1, 3), "text": "t", "acl": "team:a"},
        ],
    )
    items = read(SqlConnector(sqlite_url, "records"))
    assert {f.source_ref for f in failures(items)} == {"records#no-acl", "records#bad-json"}
    assert [r.id for r in records(items)] == ["ok"]


def test_a_view_can_be_read(engine: sa.Engine, sqlite_url: str) -> None:
    table = make_table(engine, text=sa.Text, acl=sa.Text, secret=sa.Boolean)
    insert(
        engine,
        table,
        [
            {
                "id": "a",
                "updated_at": dt.datetime(2024, 1, 1),
                "text": "t",
                "acl": "team:a",
                "secret": False,
            },
            {
                "id": "b",
                "updated_at": dt.datetime(2024, 1, 1),
                "text": "t",
                "acl": "team:a",
                "secret": True,
            },
        ],
    )
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "CREATE VIEW open_records AS "
                "SELECT id, updated_at, text, acl FROM records WHERE NOT secret"
            )
        )
    assert [r.id for r in records(read(SqlConnector(sqlite_url, "open_records")))] == ["a"]


def test_string_timestamps_work_as_a_watermark(engine: sa.Engine, sqlite_url: str) -> None:
    table = make_table(engine, updated_at=sa.Text, text=sa.Text, acl=sa.Text)
    insert(
        engine,
        table,
        [
            {"id": f"r{i}", "updated_at": f"2024-03-0{i}T10:00:00Z", "text": "t", "acl": "team:a"}
            for i in range(1, 4)
        ],
    )
    items = read(SqlConnector(sqlite_url, "records", batch_size=2))
    assert [r.id for r in records(items)] == ["r1", "r2", "r3"]
    assert records(items)[0].updated_at == dt.datetime(2024, 3, 1, 10, tzinfo=dt.UTC)
    insert(
        engine,
        table,
        [{"id": "r4", "updated_at": "2024-03-04T10:00:00Z", "text": "t", "acl": "team:a"}],
    )
    later = read(SqlConnector(sqlite_url, "records"), final_checkpoint(items))
    assert [r.id for r in records(later)] == ["r4"]


def test_the_source_id_hides_the_password() -> None:
    connector = SqlConnector("postgresql+psycopg://cms:s3cret@db.internal:5432/cms", "records")
    assert connector.source_id == "sql:postgresql+psycopg://cms:***@db.internal:5432/cms#records"
    assert "s3cret" not in connector.source_id


def test_configuration_mistakes_are_clear(engine: sa.Engine, sqlite_url: str) -> None:
    with pytest.raises(ConnectorError, match="malformed database URL"):
        SqlConnector("not a url", "records")
    with pytest.raises(ConnectorError, match="unknown record fields"):
        SqlConnector(sqlite_url, "records", column_map={"body": "text"})
    with pytest.raises(FatalConnectorError, match="no such table"):
        read(SqlConnector(sqlite_url, "missing"))
    make_table(engine, text=sa.Text)
    with pytest.raises(FatalConnectorError, match="no column"):
        read(SqlConnector(sqlite_url, "records", updated_column="modified"))


def test_an_unreachable_database_is_fatal(tmp_path: Path) -> None:
    connector = SqlConnector(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}", "records")
    with pytest.raises(FatalConnectorError, match="cannot read"):
        read(connector)


_timestamps = st.lists(st.integers(min_value=0, max_value=3), min_size=0, max_size=14)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stamps=_timestamps, batch_size=st.integers(min_value=1, max_value=4))
def test_property_any_ties_any_batch_size_resume_anywhere(
    stamps: list[int], batch_size: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    url = f"sqlite:///{tmp_path_factory.mktemp('sql') / 'cms.db'}"
    engine = sa.create_engine(url)
    try:
        table = make_table(engine, text=sa.Text, acl=sa.Text)
        rows: list[dict[str, Any]] = [
            {
                "id": f"r{i:02d}",
                "updated_at": dt.datetime(2024, 1, 1, 0, 0, s),
                "text": f"t{i}",
                "acl": "team:a",
            }
            for i, s in enumerate(stamps)
        ]
        if rows:
            insert(engine, table, rows)
    finally:
        engine.dispose()
    full = read(SqlConnector(url, "records", batch_size=batch_size))
    ids = [r.id for r in records(full)]
    assert sorted(ids) == sorted(row["id"] for row in rows)  # each row exactly once
    expected = merge(full)
    for index, checkpoint in checkpoints(full):
        resumed = read(SqlConnector(url, "records", batch_size=batch_size), checkpoint)
        assert merge(resumed, into=merge(full[:index])) == expected


# --- PostgreSQL-only types ---------------------------------------------------------------------


@pytest.mark.integration
def test_postgres_uuid_ids_arrays_and_a_schema_qualified_name(postgres_url: str) -> None:
    name = f"cs_uuid_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(postgres_url)
    table = sa.Table(
        name,
        sa.MetaData(),
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text", sa.Text),
        sa.Column("acl", postgresql.ARRAY(sa.Text)),
        sa.Column("meta", postgresql.JSONB),
        schema="public",
    )
    table.create(engine)
    try:
        stamp = dt.datetime(2024, 3, 2, 10, 15, 0, 123456, tzinfo=dt.UTC)
        ids = sorted(uuid.uuid4() for _ in range(5))
        insert(
            engine,
            table,
            [
                {"id": i, "updated_at": stamp, "text": "t", "acl": ["team:a"], "meta": {"k": 1}}
                for i in ids
            ],
        )
        items = read(SqlConnector(postgres_url, f"public.{name}", batch_size=2))
        assert [r.id for r in records(items)] == [str(i) for i in ids]
        assert records(items)[0].extra == {"meta": {"k": 1}}
        index, middle = list(checkpoints(items))[1]
        assert isinstance(middle, SqlCheckpoint)
        assert middle.last_id_kind == "uuid"
        rest = read(SqlConnector(postgres_url, f"public.{name}", batch_size=2), middle)
        assert merge(rest, into=merge(items[:index])) == merge(items)
        connector = SqlConnector(postgres_url, f"public.{name}")
        assert list(connector.list_ids()) == [str(i) for i in ids]
        connector.close()
    finally:
        table.drop(engine)
        engine.dispose()


def test_records_carry_json_ready_extra(engine: sa.Engine, sqlite_url: str) -> None:
    table = make_table(engine, text=sa.Text, acl=sa.Text, score=sa.Numeric(5, 2))
    insert(
        engine,
        table,
        [
            {
                "id": "a",
                "updated_at": dt.datetime(2024, 1, 1),
                "text": "t",
                "acl": "team:a",
                "score": 1.5,
            }
        ],
    )
    [record] = records(read(SqlConnector(sqlite_url, "records")))
    assert isinstance(record, Record)
    json.dumps(record.to_json())


# --- the progress bar's total ------------------------------------------------------------------


def yielded(connector: SqlConnector, checkpoint: Checkpoint) -> int:
    """Items (records, tombstones, failures) a fetch from ``checkpoint`` yields."""
    return sum(1 for item in connector.fetch(checkpoint) if not isinstance(item, Checkpoint))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def cms(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlHarness]:
    """A CMS table (its own name, dropped after) in SQLite and in the real PostgreSQL."""
    postgres = request.param == "postgresql"
    url = request.getfixturevalue("postgres_url") if postgres else f"sqlite:///{tmp_path}/c.db"
    harness = SqlHarness(url, postgres=postgres)
    yield harness
    harness.close()


def test_the_indexer_gets_a_total_of_what_a_fetch_will_read(cms: SqlHarness) -> None:
    for n in range(5):
        cms.put(f"r{n}", f"Note {n}.")  # three rows share each updated_at, across batches
    cms.put_bad("bad")  # a row that fails counts too: the bar moves for it
    connector = cms.connector()
    assert isinstance(connector, Estimating)  # what the indexer asks for its total
    start = connector.initial_checkpoint()
    assert connector.estimate_items(start) == yielded(connector, start) == 6

    items = fetch_all(connector)
    for index, checkpoint in checkpoints(items):  # a run resumed after a crash at any batch
        after = sum(1 for item in items[index:] if not isinstance(item, Checkpoint))
        assert connector.estimate_items(roundtrip(connector, checkpoint)) == after
    done = final_checkpoint(items)
    assert connector.estimate_items(done) == 0

    cms.put("r1", "Note 1, changed.")
    cms.put("r9", "A new note.")
    cms.delete("r2")
    assert connector.estimate_items(done) == yielded(connector, done) == 3


def test_no_total_when_the_table_cannot_be_read(sqlite_url: str) -> None:
    connector = SqlConnector(sqlite_url, "no_such_table")
    assert connector.estimate_items(connector.initial_checkpoint()) is None
    with pytest.raises(FatalConnectorError, match="no such table"):
        read(connector)  # the run itself says why
