"""A consistent copy of the index while servers write, and the list of its files
(``vesalius backup DEST``).

DEST receives:

- the index, read in one snapshot: SQLite through its online backup API into
  ``index.sqlite``; PostgreSQL with ``pg_dump`` (custom format) into
  ``index.pgdump`` when it is on the PATH, else copied table by table
  (``index.copy``) into ``index.sqlite``;
- ``blobs.manifest``: one line per file that this copy of the index references,
  ``storage/<blob name>`` TAB size TAB sha256, paths relative to the data dir
  and sorted; taken from the copied index itself (for ``pg_dump``: from the
  same snapshot the dump reads), never from a walk of ``storage/``;
- ``README.txt``: how to restore.

The stored files themselves are not copied: ``cut -f1 blobs.manifest |
rsync -a --files-from=- DATA_DIR/ TARGET/`` does that. Files are only ever
added and deleted, never changed, so a file listed is the file the index
means; one deleted between the snapshot and its hashing is reported as gone.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, make_url, select, text

from vesalius.index.copy import copy_index
from vesalius.index.engine import database_url
from vesalius.index.tables import instances
from vesalius.settings import Settings

MANIFEST = "blobs.manifest"
README = "README.txt"
CHUNK = 1 << 20


class BackupError(Exception):
    """The backup was refused or failed (message: one line)."""


@dataclass(slots=True)
class BackupReport:
    """What a backup wrote."""

    dest: Path
    index_file: Path
    method: str
    blobs: int = 0
    bytes: int = 0
    gone: list[str] = field(default_factory=list)
    """Files the copied index references that were deleted before they could be hashed."""


def backup(settings: Settings, dest: Path, *, pg_dump: str | None = None) -> BackupReport:
    """Back up the index of ``settings`` into ``dest`` with the manifest of its files.

    ``pg_dump`` is the program to use for PostgreSQL (default: the one on the
    PATH, if any). ``BackupError`` when DEST already holds a backup.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    taken = [name for name in ("index.sqlite", "index.pgdump", MANIFEST) if (dest / name).exists()]
    if taken:
        raise BackupError(
            f"{dest} already holds a backup ({', '.join(taken)}): use an empty folder"
        )
    data_dir = Path(settings.data_dir)
    url = database_url(settings.database.url, data_dir)
    if url.startswith("sqlite"):
        source = Path(make_url(url).database or "")
        if not source.is_file():
            raise BackupError(f"there is no index at {source}")
        report = BackupReport(dest, dest / "index.sqlite", "sqlite backup API")
        _sqlite_backup(source, report.index_file)
        referenced = _sqlite_blobs(report.index_file)
    else:
        program = pg_dump or shutil.which("pg_dump")
        referenced = None
        if program:
            report = BackupReport(dest, dest / "index.pgdump", "pg_dump")
            referenced = _pg_dump(program, url, report.index_file)
        if referenced is None:
            report = BackupReport(dest, dest / "index.sqlite", "copy")
            copy_index(url, f"sqlite:///{report.index_file.resolve()}")
            referenced = _sqlite_blobs(report.index_file)
    _write_manifest(report, data_dir / "storage", referenced)
    (dest / README).write_text(_readme(report), encoding="utf-8")
    return report


def _sqlite_backup(source: Path, target: Path) -> None:
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    reading = sqlite3.connect(source, timeout=60)
    try:
        writing = sqlite3.connect(partial)
        try:
            reading.backup(writing)  # every page in one step: one read snapshot
            writing.execute("PRAGMA journal_mode=DELETE")
        finally:
            writing.close()
    finally:
        reading.close()
    os.replace(partial, target)


def _sqlite_blobs(path: Path) -> list[str]:
    connection = sqlite3.connect(path)
    try:
        return [name for (name,) in connection.execute("SELECT blob_name FROM instances")]
    finally:
        connection.close()


def _pg_dump(program: str, url: str, target: Path) -> list[str] | None:
    """Dump with ``pg_dump`` from a snapshot that also lists the blobs; None when it failed."""
    parsed = make_url(url)
    libpq = parsed.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    env = {**os.environ}
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    engine = create_engine(url)
    try:
        connection = engine.connect().execution_options(isolation_level="REPEATABLE READ")
        with connection, connection.begin():
            snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            names = list(connection.execute(select(instances.c.blob_name)).scalars())
            done = subprocess.run(
                [program, "--format=custom", f"--snapshot={snapshot}", f"--file={target}", libpq],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
    finally:
        engine.dispose()
    if done.returncode != 0:
        target.unlink(missing_ok=True)
        return None
    return names


def _write_manifest(report: BackupReport, storage: Path, names: Iterable[str]) -> None:
    partial = report.dest / (MANIFEST + ".partial")
    with partial.open("w", encoding="utf-8") as manifest:
        for name in sorted(names):
            digest = hashlib.sha256()
            size = 0
            try:
                with (storage / name).open("rb") as blob:
                    while chunk := blob.read(CHUNK):
                        digest.update(chunk)
                        size += len(chunk)
            except FileNotFoundError:
                report.gone.append(name)
                continue
            manifest.write(f"storage/{name}\t{size}\t{digest.hexdigest()}\n")
            report.blobs += 1
            report.bytes += size
    os.replace(partial, report.dest / MANIFEST)


def _readme(report: BackupReport) -> str:
    if report.index_file.name == "index.pgdump":
        restore_index = (
            "2. Restore the index into an empty PostgreSQL database:\n"
            "     createdb NEWDB\n"
            "     pg_restore --no-owner -d postgresql://USER@HOST/NEWDB index.pgdump\n"
            '   and set [database] url = "postgresql+psycopg://USER@HOST/NEWDB".\n'
        )
    else:
        restore_index = (
            "2. Restore the index: copy index.sqlite to NEW_DATA_DIR/index.sqlite\n"
            "   (or into PostgreSQL: vesalius migrate-index\n"
            "    --from sqlite:////ABSOLUTE/PATH/index.sqlite --to postgresql+psycopg://...).\n"
        )
    return (
        f"Vesalius backup ({report.method}): the index and the list of its {report.blobs} "
        f"stored files ({report.bytes} bytes).\n\n"
        "blobs.manifest: one line per file the index references:\n"
        "  path relative to the data dir <TAB> size in bytes <TAB> sha256\n\n"
        "To restore:\n"
        "1. Copy the files into the new data dir:\n"
        "     cut -f1 blobs.manifest | rsync -a --files-from=- DATA_DIR/ NEW_DATA_DIR/\n"
        "   and verify them:\n"
        "     awk -F'\\t' '{print $3\"  \"$1}' blobs.manifest | (cd NEW_DATA_DIR && sha256sum -c)\n"
        f"{restore_index}"
        "3. vesalius check --data-dir NEW_DATA_DIR  (exit code 0: index and files agree)\n"
        "   then vesalius serve --data-dir NEW_DATA_DIR.\n"
    )
