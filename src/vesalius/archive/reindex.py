"""Rebuild the whole index from the blob store (``vesalius reindex``): disaster recovery.

The new index is built beside the old one, as a SQLite file in the data dir,
from every file under ``storage/``: each file's header is read as ingest reads
it and indexed where it lies (no copy; the row names the existing blob).
Files are taken oldest first, so rows keep the order of arrival; when two
files hold the same instance, the newest is indexed and the older one is
reported and left alone, like a file that cannot be read.

The tables a blob cannot tell (jobs, worklist, MPPS, users and their
credentials) are copied from the old index when it can be read, column by
column as far as both schemas have the column; when it cannot be read they
start empty. The DICOM JSON cache (``instance_metadata``) starts empty.

Swap, SQLite: the old file is kept as ``index.sqlite.before-reindex-<stamp>``
(a hard link, with its ``-wal`` when one is left), then the new file is
renamed over ``index.sqlite`` (one atomic rename). PostgreSQL: the old index
is first copied into ``index.before-reindex-<stamp>.sqlite`` in the data dir
(``vesalius migrate-index`` can bring it back), then one transaction empties
every table and fills it from the new index: readers see the old index or the
new one, never half of each.

It runs alone: ``inuse.exclusive`` refuses while a ``vesalius serve`` holds
the data dir.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sqlite3
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pydicom.filereader import _read_file_meta_info, read_preamble
from sqlalchemy import Engine, create_engine, inspect, make_url, select
from sqlalchemy.exc import SQLAlchemyError

from vesalius import sopclasses
from vesalius.archive import inuse
from vesalius.archive.parse import parse_file
from vesalius.index import migrate
from vesalius.index.copy import BATCH_ROWS, CopyError, copy_index, copy_table, reset_sequences
from vesalius.index.engine import database_url, make_engines
from vesalius.index.index import Index
from vesalius.index.tables import metadata
from vesalius.model.errors import InvalidObject, UnsupportedSopClass
from vesalius.model.record import record_from_values
from vesalius.settings import Settings
from vesalius.storage.filesystem import FilesystemBlobStore

LOG = logging.getLogger("vesalius.reindex")
DERIVED = frozenset({"patients", "studies", "series", "instances", "instance_metadata"})
"""Tables made from the blobs; every other table is carried over from the old index."""
BUILDING = "index.reindex-partial.sqlite"


@dataclass(frozen=True, slots=True)
class Skipped:
    """A file that was not indexed, and why; it stays where it is."""

    blob_name: str
    reason: str


@dataclass(slots=True)
class ReindexReport:
    """What a rebuild read, indexed and kept."""

    files: int = 0
    indexed: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    superseded: list[Skipped] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    kept: dict[str, int] | None = None
    """Rows carried over per table; None when the old index could not be read."""
    kept_error: str = ""
    old_index: Path | None = None
    """Where the old index was kept (None when there was none or it could not be copied)."""


def reindex(settings: Settings, *, on_file: Callable[[str], None] | None = None) -> ReindexReport:
    """Rebuild the index of ``settings`` from its blob store and swap it in.

    ``inuse.DataDirInUse`` while a server holds the data dir; ``migrate.SchemaError``
    when a PostgreSQL index is at a schema this code does not know.
    """
    data_dir = Path(settings.data_dir)
    url = database_url(settings.database.url, data_dir)
    with inuse.exclusive(data_dir):
        postgres = not url.startswith("sqlite")
        if postgres:
            _, engine = make_engines(url)
            try:
                migrate.ensure_schema(engine, data_dir / ".index.lock", upgrade=True)
            finally:
                engine.dispose()
        building = data_dir / BUILDING
        _remove_sqlite(building)
        new_url = f"sqlite:///{building.resolve()}"
        report = ReindexReport()
        index = Index.open(new_url, data_dir)
        try:
            _index_blobs(index, FilesystemBlobStore(data_dir / "storage"), report, on_file)
            report.counts = index.counts()
            report.kept, report.kept_error = _carry_over(url, index.writer)
        finally:
            index.close()
        stamp = time.strftime("%Y%m%dT%H%M%S")
        if postgres:
            report.old_index = _replace_postgres(url, new_url, data_dir, stamp)
            _remove_sqlite(building)
        else:
            report.old_index = _replace_sqlite(Path(make_url(url).database or ""), building, stamp)
    return report


def _index_blobs(
    index: Index,
    blobs: FilesystemBlobStore,
    report: ReindexReport,
    on_file: Callable[[str], None] | None,
) -> None:
    names = list(blobs.names())
    report.files = len(names)
    by_age = sorted(names, key=lambda name: (_mtime(blobs.path(name)), name))
    for name in by_age:
        if on_file is not None:
            on_file(name)
        try:
            outcome, old = index_blob(index, blobs, name)
        except Exception as exc:
            report.skipped.append(Skipped(name, _one_line(exc)))
            LOG.warning("reindex: %s not indexed: %s", name, _one_line(exc))
            continue
        report.indexed += 1
        if outcome == "replaced" and old:
            report.indexed -= 1
            report.superseded.append(Skipped(old, f"an older copy of the instance in {name}"))


def index_blob(index: Index, blobs: FilesystemBlobStore, name: str) -> tuple[str, str | None]:
    """Index the file ``name`` of the blob store where it lies, as ingest reads a file.

    A newer file of an instance already indexed takes its place. Returns the
    outcome (``stored`` or ``replaced``) and the blob name replaced, if any.
    """
    data = blobs.read(name)
    parsed = parse_file(data)
    if any("re-encoded" in note for note in parsed.mended):
        raise InvalidObject("its data set is not in the transfer syntax its meta names")
    record = record_from_values(parsed.values)
    if not sopclasses.is_storage_sop_class(record.sop_class_uid):
        raise UnsupportedSopClass(
            f"SOP class {record.sop_class_uid} is not one this archive stores"
        )
    added = index.add_instance(
        record,
        blob_name=name,
        file_size=len(data),
        transfer_syntax_uid=parsed.transfer_syntax_uid,
        source_aet=_source_aet(data),
        overwrite=True,
    )
    return added.outcome, added.old_blob


def _source_aet(data: bytes) -> str:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            stream = io.BytesIO(data)
            read_preamble(stream, True)
            meta = _read_file_meta_info(stream)
        return str(meta.get("SourceApplicationEntityTitle", "") or "").strip()
    except Exception:
        return ""


def _carry_over(old_url: str, target: Engine) -> tuple[dict[str, int] | None, str]:
    """Copy the tables a blob cannot tell from the old index; (rows per table, error)."""
    path = Path(make_url(old_url).database or "") if old_url.startswith("sqlite") else None
    if path is not None and not path.is_file():
        return None, f"there is no index at {path}"
    source = create_engine(old_url)
    kept: dict[str, int] = {}
    try:
        with source.connect() as reading, reading.begin(), target.begin() as writing:
            looking = inspect(reading)
            present = set(looking.get_table_names())
            for table in metadata.sorted_tables:
                if table.name in DERIVED or table.name not in present:
                    continue
                there = {column["name"] for column in looking.get_columns(table.name)}
                columns = [column for column in table.columns if column.name in there]
                rows = reading.execute(select(*columns).order_by(*table.primary_key.columns))
                values = [dict(zip([c.key for c in columns], row, strict=True)) for row in rows]
                if values:
                    writing.execute(table.insert(), values)
                kept[table.name] = len(values)
    except (SQLAlchemyError, sqlite3.Error) as exc:
        LOG.warning("reindex: the old index cannot be read, its other tables start empty: %s", exc)
        return None, _one_line(getattr(exc, "orig", None) or exc)
    finally:
        source.dispose()
    return kept, ""


def _replace_sqlite(current: Path, built: Path, stamp: str) -> Path | None:
    """Keep the old SQLite file under a dated name, then rename the new one over it."""
    kept: Path | None = None
    if current.exists():
        with contextlib.suppress(sqlite3.Error):  # fold the WAL in, when the file allows
            _checkpoint(current)
        kept = _free_name(current.with_name(f"{current.name}.before-reindex-{stamp}"))
        os.link(current, kept)
        wal = Path(f"{current}-wal")
        if wal.exists() and wal.stat().st_size:
            os.link(wal, f"{kept}-wal")
    for leftover in (f"{current}-wal", f"{current}-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(leftover)  # they belong to the old file
    _checkpoint(built)
    os.replace(built, current)
    _remove_sqlite(built)
    _fsync_dir(current.parent)
    return kept


def _replace_postgres(url: str, built_url: str, data_dir: Path, stamp: str) -> Path | None:
    """Keep a SQLite copy of the old index, then replace every table in one transaction."""
    kept: Path | None = _free_name(data_dir / f"index.before-reindex-{stamp}.sqlite")
    try:
        copy_index(url, f"sqlite:///{kept.resolve()}")
    except (CopyError, migrate.SchemaError, SQLAlchemyError) as exc:
        LOG.warning("reindex: the old index could not be copied aside: %s", _one_line(exc))
        _remove_sqlite(kept)
        kept = None
    _, target = make_engines(url)
    source = create_engine(built_url)
    try:
        with source.connect() as reading, reading.begin(), target.begin() as writing:
            for table in reversed(metadata.sorted_tables):
                writing.execute(table.delete())
            for table in metadata.sorted_tables:
                copy_table(reading, writing, table, BATCH_ROWS)
            reset_sequences(writing)
    finally:
        source.dispose()
        target.dispose()
    return kept


def _checkpoint(path: Path) -> None:
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()


def _free_name(path: Path) -> Path:
    candidate, number = path, 1
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.name}.{number}")
    return candidate


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal", ".write-lock"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{path}{suffix}")


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _one_line(error: object) -> str:
    return " ".join(str(error).split())[:200] or type(error).__name__
