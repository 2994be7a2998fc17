"""SQL connector: a CMS table or view read through SQLAlchemy Core.

Incremental by a watermark column (``updated_at``) with ties broken by the id column::

    WHERE (updated_at > :w) OR (updated_at = :w AND id > :last_id)
    ORDER BY updated_at, id LIMIT :batch

and a checkpoint ``(watermark, last_id)`` after every batch, so a crash resumes after the last
committed batch and rows sharing one timestamp across a batch boundary are neither skipped nor
repeated. Known limits: a row committed late with an ``updated_at`` older than the watermark
(a long transaction) is missed until a full re-read, and hard deletes are visible only through
``list_ids()``; a ``deleted`` column turns soft-deleted rows into tombstones. Rows whose
watermark is NULL cannot be read incrementally; a full read reports them as failures.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import Field

from connectors.base import Checkpoint, Connector, Failure, SourceItem
from connectors.errors import ConnectorError, FatalConnectorError, RecordError
from connectors.limits import MAX_TEXT_CHARS
from connectors.record import Record, Tombstone, parse_record

ValueKind = Literal["datetime", "date", "int", "float", "decimal", "uuid", "str"]

# Record fields a column can feed (id and updated_at have their own parameters).
MAPPABLE_FIELDS = (
    "case_id",
    "doc_type",
    "title",
    "text",
    "created_at",
    "author",
    "acl",
    "deny",
    "source_uri",
    "attachments",
    "deleted",
)
_LIST_FIELDS = frozenset({"acl", "deny", "attachments"})
_TRUE_STRINGS = frozenset({"1", "t", "true", "y", "yes"})
_NULL_REPORT_LIMIT = 1000


class SqlCheckpoint(Checkpoint):
    """The last row read, as (watermark, id), each stored as text plus its Python type."""

    watermark: str | None = None
    watermark_kind: ValueKind | None = None
    last_id: str | None = None
    last_id_kind: ValueKind | None = None
    null_watermarks_reported: bool = Field(
        default=False, description="rows with a NULL watermark were reported in this read"
    )


class SqlConnector(Connector):
    """Reads ``table`` (``name`` or ``schema.name``; a view works too) from ``url``.

    ``column_map`` maps record fields to column names where they differ (for example
    ``{"text": "body", "acl": "permissions"}``); other columns of the same name as a record
    field are used as they are, and remaining columns go to ``Record.extra``. ``acl``,
    ``deny`` and ``attachments`` columns may hold arrays, JSON arrays or comma/semicolon
    separated strings.
    """

    scheme = "sql"
    checkpoint_type = SqlCheckpoint

    def __init__(
        self,
        url: str,
        table: str,
        *,
        id_column: str = "id",
        updated_column: str = "updated_at",
        column_map: Mapping[str, str] | None = None,
        batch_size: int = 500,
        max_text_chars: int = MAX_TEXT_CHARS,
    ) -> None:
        try:
            self.url = sa.engine.make_url(url)
        except sa.exc.ArgumentError:
            raise ConnectorError("malformed database URL (expected dialect://…)") from None
        if not table.strip():
            raise ConnectorError("no table name given")
        if batch_size <= 0:
            raise ValueError("batch_size must be positive")
        unknown = sorted(set(column_map or {}) - set(MAPPABLE_FIELDS))
        if unknown:
            raise ConnectorError(f"column_map names unknown record fields: {', '.join(unknown)}")
        self.table_name = table.strip()
        self.id_column = id_column
        self.updated_column = updated_column
        self.column_map = dict(column_map or {})
        self.batch_size = batch_size
        self.max_text_chars = max_text_chars
        self._engine: sa.Engine | None = None
        self._table: sa.Table | None = None

    @property
    def source_id(self) -> str:
        return f"sql:{self.url.render_as_string(hide_password=True)}#{self.table_name}"

    def initial_checkpoint(self) -> SqlCheckpoint:
        return SqlCheckpoint()

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
        self._engine = None
        self._table = None

    def fetch(self, checkpoint: Checkpoint) -> Iterator[SourceItem]:
        """Yield rows changed after ``checkpoint`` in (watermark, id) order, batch by batch.

        Each batch is read on a connection returned to the pool before its items are yielded,
        so a slow consumer holds no transaction open. Raises ``FatalConnectorError`` when the
        database or table cannot be read.
        """
        if not isinstance(checkpoint, SqlCheckpoint):
            raise TypeError(f"expected SqlCheckpoint, got {type(checkpoint).__name__}")
        table = self._reflect()
        if checkpoint.watermark is None and not checkpoint.null_watermarks_reported:
            yield from self._null_watermark_failures(table)
            checkpoint = checkpoint.model_copy(update={"null_watermarks_reported": True})
        current = checkpoint
        yielded = False
        while True:
            query = self._batch_query(table, current)
            rows = self._run(lambda conn, q=query: conn.execute(q).all())
            for row in rows:
                yield self._item(row._mapping)
            if rows:
                last = rows[-1]._mapping
                watermark_kind, watermark = _encode(last[self.updated_column])
                id_kind, last_id = _encode(last[self.id_column])
                current = SqlCheckpoint(
                    watermark=watermark,
                    watermark_kind=watermark_kind,
                    last_id=last_id,
                    last_id_kind=id_kind,
                    null_watermarks_reported=True,
                )
            if rows or not yielded:
                yield current
                yielded = True
            if len(rows) < self.batch_size:
                return

    def estimate_items(self, checkpoint: Checkpoint) -> int | None:
        """How many items ``fetch(checkpoint)`` yields, for the progress bar's total and ETA:
        one ``COUNT(*)`` over the rows after the checkpoint (the condition ``fetch`` pages
        through), plus the NULL-watermark failures a full read reports first. The count is as
        cheap as the database makes it: an index on (watermark, id) keeps an incremental run's
        count to the changed rows, but a full read counts the whole table (a scan on
        PostgreSQL). Rows written during the read are not in it. ``None`` when the table
        cannot be read or counted (the bar then shows a count and a rate only)."""
        if not isinstance(checkpoint, SqlCheckpoint):
            return None
        try:
            table = self._reflect()
            rows = self._count(table, *self._after(table, checkpoint))
            nulls = 0
            if checkpoint.watermark is None and not checkpoint.null_watermarks_reported:
                nulls = self._count(table, table.c[self.updated_column].is_(None))
        except FatalConnectorError:
            return None
        return rows + min(nulls, _NULL_REPORT_LIMIT)

    def list_ids(self) -> Iterable[str]:
        """Every id whose row is not marked deleted, in id order (read in keyset batches)."""
        table = self._reflect()
        id_col = table.c[self.id_column]
        deleted_col = self._column(table, "deleted")
        columns = [id_col] if deleted_col is None else [id_col, deleted_col]
        ids: list[str] = []
        last: Any = None
        while True:
            query = sa.select(*columns).order_by(id_col).limit(self.batch_size)
            if last is not None:
                query = query.where(id_col > last)
            rows = self._run(lambda conn, q=query: conn.execute(q).all())
            for row in rows:
                values = tuple(row)
                if deleted_col is None or not _truthy(values[1]):
                    ids.append(str(values[0]))
            if len(rows) < self.batch_size:
                return ids
            last = rows[-1][0]

    # --- queries ----------------------------------------------------------------------------

    def _batch_query(self, table: sa.Table, checkpoint: SqlCheckpoint) -> sa.Select[Any]:
        query = sa.select(table).where(*self._after(table, checkpoint))
        order = (table.c[self.updated_column], table.c[self.id_column])
        return query.order_by(*order).limit(self.batch_size)

    def _after(self, table: sa.Table, checkpoint: SqlCheckpoint) -> list[sa.ColumnElement[bool]]:
        """The conditions (joined by AND) for the rows after ``checkpoint``."""
        updated = table.c[self.updated_column]
        conditions: list[sa.ColumnElement[bool]] = [updated.is_not(None)]
        if checkpoint.watermark is not None and checkpoint.watermark_kind is not None:
            watermark = _decode(checkpoint.watermark_kind, checkpoint.watermark)
            after = updated > watermark
            if checkpoint.last_id is not None and checkpoint.last_id_kind is not None:
                last_id = _decode(checkpoint.last_id_kind, checkpoint.last_id)
                same = sa.and_(updated == watermark, table.c[self.id_column] > last_id)
                after = sa.or_(after, same)
            conditions.append(after)
        return conditions

    def _count(self, table: sa.Table, *conditions: sa.ColumnElement[bool]) -> int:
        query = sa.select(sa.func.count()).select_from(table).where(*conditions)
        rows = self._run(lambda conn: conn.execute(query).all())
        return int(rows[0][0])

    def _null_watermark_failures(self, table: sa.Table) -> Iterator[Failure]:
        id_col = table.c[self.id_column]
        query = (
            sa.select(id_col)
            .where(table.c[self.updated_column].is_(None))
            .order_by(id_col)
            .limit(_NULL_REPORT_LIMIT)
        )
        for (row_id,) in self._run(lambda conn: conn.execute(query).all()):
            yield Failure(
                f"{self.table_name}#{row_id}",
                f"'{self.updated_column}' is NULL: the row cannot be read incrementally",
            )

    def _run(self, work: Any) -> Sequence[sa.Row[Any]]:
        try:
            with self._engine_or_create().connect() as conn:
                rows: Sequence[sa.Row[Any]] = work(conn)
                return rows
        except sa.exc.SQLAlchemyError as exc:
            raise FatalConnectorError(f"cannot read {self.source_id}: {_reason(exc)}") from None

    def _engine_or_create(self) -> sa.Engine:
        if self._engine is None:
            try:
                self._engine = sa.create_engine(self.url)
            except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as exc:
                raise FatalConnectorError(f"cannot use {self.source_id}: {exc}") from None
        return self._engine

    def _reflect(self) -> sa.Table:
        """The table (reflected once per connector); raises ``FatalConnectorError``."""
        if self._table is not None:
            return self._table
        schema, _, name = self.table_name.rpartition(".")
        try:
            table = sa.Table(
                name, sa.MetaData(), schema=schema or None, autoload_with=self._engine_or_create()
            )
        except sa.exc.NoSuchTableError:
            raise FatalConnectorError(f"{self.source_id}: no such table or view") from None
        except sa.exc.SQLAlchemyError as exc:
            raise FatalConnectorError(f"cannot read {self.source_id}: {_reason(exc)}") from None
        missing = [
            column
            for column in (self.id_column, self.updated_column, *self.column_map.values())
            if column not in table.c
        ]
        if missing:
            raise FatalConnectorError(f"{self.source_id}: no column(s) {', '.join(missing)}")
        self._table = table
        return table

    def _column(self, table: sa.Table, field: str) -> sa.Column[Any] | None:
        name = self.column_map.get(field, field)
        return table.c.get(name)

    # --- rows -------------------------------------------------------------------------------

    def _item(self, row: Mapping[Any, Any]) -> Record | Tombstone | Failure:
        row_id = str(row[self.id_column])
        ref = f"{self.table_name}#{row_id}"
        used = {self.id_column, self.updated_column}
        raw: dict[str, Any] = {"id": row_id}
        for field in MAPPABLE_FIELDS:
            column = self.column_map.get(field, field)
            if column in row:
                used.add(column)
                raw[field] = row[column]
        if _truthy(raw.pop("deleted", None)):
            return Tombstone(row_id)
        updated = row[self.updated_column]
        if isinstance(updated, dt.date | str):
            raw["updated_at"] = updated
        try:
            for field in _LIST_FIELDS & raw.keys():
                raw[field] = _string_list(raw[field], field, ref)
            raw["extra"] = {
                key: _jsonable(value)
                for key, value in row.items()
                if key not in used and not isinstance(value, bytes | memoryview)
            }
            return parse_record(raw, source_ref=ref, max_text_chars=self.max_text_chars)
        except RecordError as exc:
            return Failure.from_error(exc)


def _string_list(value: Any, field: str, ref: str) -> list[str] | None:
    """Arrays, JSON arrays and ``a;b`` / ``a,b`` strings all become a list of strings."""
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return [str(item) for item in value if item is not None]
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                parsed = json.loads(text)
            except ValueError:
                raise RecordError(ref, f"'{field}' is not a valid JSON array") from None
            if not isinstance(parsed, list):
                raise RecordError(ref, f"'{field}' must be a list")
            return [str(item) for item in parsed if item is not None]
        return [part.strip() for part in text.replace(",", ";").split(";") if part.strip()]
    raise RecordError(ref, f"'{field}' must be an array or a separated string")


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in _TRUE_STRINGS
    return bool(value)


def _encode(value: Any) -> tuple[ValueKind, str]:
    """A column value as (kind, text) for a JSON checkpoint; ``_decode`` inverts it exactly."""
    if isinstance(value, dt.datetime):
        return "datetime", value.isoformat()
    if isinstance(value, dt.date):
        return "date", value.isoformat()
    if isinstance(value, bool):
        return "int", str(int(value))
    if isinstance(value, int):
        return "int", str(value)
    if isinstance(value, float):
        return "float", repr(value)
    if isinstance(value, decimal.Decimal):
        return "decimal", str(value)
    if isinstance(value, uuid.UUID):
        return "uuid", str(value)
    return "str", str(value)


def _decode(kind: ValueKind, text: str) -> Any:
    if kind == "datetime":
        return dt.datetime.fromisoformat(text)
    if kind == "date":
        return dt.date.fromisoformat(text)
    if kind == "int":
        return int(text)
    if kind == "float":
        return float(text)
    if kind == "decimal":
        return decimal.Decimal(text)
    if kind == "uuid":
        return uuid.UUID(text)
    return text


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    return value


def _reason(exc: sa.exc.SQLAlchemyError) -> str:
    # The driver's message without SQLAlchemy's statement dump and background link.
    original = getattr(exc, "orig", None)
    text = str(original if original is not None else exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
