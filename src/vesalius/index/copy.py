"""Copy an index from one database to another: SQLite to PostgreSQL and back.

``copy_index`` moves every table of ``tables.metadata`` (new tables come along
by themselves) in foreign-key order, keeping primary keys, so that blob names
and every reference between rows stay as they were. The blob files are not
touched: the copy serves the same ``storage/`` folder.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, Table, func, inspect, make_url, select, text

from vesalius.index import migrate
from vesalius.index.engine import make_engines
from vesalius.index.tables import metadata

BATCH_ROWS = 5_000


class CopyError(Exception):
    """The copy was refused or did not check out (message: one line)."""


@dataclass(frozen=True, slots=True)
class TableCopy:
    """Rows of one table in the source and, after the copy, in the target."""

    table: str
    source_rows: int
    target_rows: int


def _sqlite_file(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    return Path(parsed.database)


def _same_database(first: str, second: str) -> bool:
    one, other = _sqlite_file(first), _sqlite_file(second)
    if one is not None and other is not None:
        return one.resolve() == other.resolve()
    return make_url(first) == make_url(second)


def _engine(url: str, *, create: bool) -> Engine:
    """The writer engine of ``url``; a SQLite file must exist unless ``create``."""
    path = _sqlite_file(url)
    if path is not None:
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        elif not path.is_file():
            raise CopyError(f"there is no index at {path}")
    reader, writer = make_engines(url)
    if reader is not writer:
        reader.dispose()
    return writer


def _row_counts(connection: Connection, tables: list[Table]) -> dict[str, int]:
    return {
        table.name: int(connection.execute(select(func.count()).select_from(table)).scalar_one())
        for table in tables
    }


def _present_tables(connection: Connection) -> list[Table]:
    present = set(inspect(connection).get_table_names())
    return [table for table in metadata.sorted_tables if table.name in present]


def _refuse_non_empty(connection: Connection, tables: list[Table]) -> None:
    counts = _row_counts(connection, tables)
    filled = {name: rows for name, rows in counts.items() if rows}
    if filled:
        listed = ", ".join(f"{name} {rows}" for name, rows in filled.items())
        raise CopyError(f"the target index is not empty ({listed}): copy into an empty database")


def reset_sequences(connection: Connection) -> None:
    """PostgreSQL: let each serial key continue after the highest copied one."""
    quote = connection.dialect.identifier_preparer.quote
    for table in metadata.sorted_tables:
        column = table.autoincrement_column
        if column is None:
            continue
        connection.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence(:table, :column), "
                f"COALESCE(MAX({quote(column.name)}), 0) + 1, false) FROM {quote(table.name)}"
            ),
            {"table": quote(table.name), "column": column.name},
        )


def copy_table(source: Connection, target: Connection, table: Table, batch_rows: int) -> int:
    """Copy every row of ``table`` (keys kept) in batches; how many rows were copied."""
    keys = [column.key for column in table.columns]
    ordered = select(table).order_by(*table.primary_key.columns)
    result = source.execution_options(yield_per=batch_rows).execute(ordered)
    copied = 0
    for batch in result.partitions(batch_rows):
        target.execute(table.insert(), [dict(zip(keys, row, strict=True)) for row in batch])
        copied += len(batch)
    return copied


def copy_index(
    source_url: str,
    target_url: str,
    *,
    target_lock: Path | None = None,
    batch_rows: int = BATCH_ROWS,
    on_table: Callable[[str, int], None] | None = None,
) -> list[TableCopy]:
    """Copy the index at ``source_url`` into the empty database at ``target_url``.

    Parameters
    ----------
    source_url, target_url
        SQLAlchemy URLs (``sqlite:///path/index.sqlite``,
        ``postgresql+psycopg://user@host/name``).
    target_lock
        File that concurrent schema changes of the target wait on.
    batch_rows
        Rows read and inserted (one ``executemany``) at a time.
    on_table
        Called with each table's name and row count once it is copied.

    Returns
    -------
    list of TableCopy
        Per table, in foreign-key order, the rows of both sides, checked equal.

    The source must be at the newest schema (``migrate.SchemaError`` else) and
    is read in one snapshot, so a server writing meanwhile does not tear it;
    what it writes after the snapshot is not copied. The target is created or
    migrated to the newest schema and must hold no rows (``CopyError``, with
    nothing written). The rows are written in one transaction: a failure
    leaves the target empty. On PostgreSQL each table's sequence is set past
    the highest key copied.
    """
    if _same_database(source_url, target_url):
        raise CopyError("the source and the target are the same database")
    source = _engine(source_url, create=False)
    target: Engine | None = None
    try:
        state = migrate.schema_state(source)
        if state.empty:
            raise CopyError("the source database holds no index")
        refusal = state.refusal() if not state.newest else None
        if refusal is not None:
            raise migrate.SchemaError(f"source: {refusal}")
        target = _engine(target_url, create=True)
        target_state = migrate.schema_state(target)
        if not target_state.known:
            raise migrate.SchemaError(f"target: {target_state.refusal()}")
        with target.connect() as looking:
            _refuse_non_empty(looking, _present_tables(looking))
        migrate.ensure_schema(target, target_lock, upgrade=True)
        tables = metadata.sorted_tables
        snapshot = source.connect()
        if source.dialect.name == "postgresql":
            snapshot = snapshot.execution_options(isolation_level="REPEATABLE READ")
        with snapshot, snapshot.begin():
            expected = _row_counts(snapshot, tables)
            with target.begin() as writing:
                _refuse_non_empty(writing, tables)  # nobody wrote since we looked
                for table in tables:
                    copied = copy_table(snapshot, writing, table, batch_rows)
                    if on_table is not None:
                        on_table(table.name, copied)
                if writing.dialect.name == "postgresql":
                    reset_sequences(writing)
        with target.connect() as reading:
            found = _row_counts(reading, tables)
    finally:
        source.dispose()
        if target is not None:
            target.dispose()
    report = [TableCopy(table.name, expected[table.name], found[table.name]) for table in tables]
    wrong = [entry for entry in report if entry.source_rows != entry.target_rows]
    if wrong:
        listed = ", ".join(f"{e.table} {e.source_rows} -> {e.target_rows}" for e in wrong)
        raise CopyError(f"the copy does not check out: {listed}")
    return report
