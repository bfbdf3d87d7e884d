"""Engines for the index: SQLite (WAL, durable commits) by default, any SQLAlchemy URL else.

SQLite gets two engines: readers begin deferred transactions, the writer
begins ``IMMEDIATE`` so that concurrent writers (other processes) queue on the
database lock instead of failing on an upgrade from read to write.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event

SQLITE_BUSY_TIMEOUT_MS = 60_000


def database_url(url: str, data_dir: Path) -> str:
    """The configured URL, or the SQLite file in the data dir when none is set."""
    return url or f"sqlite:///{Path(data_dir).resolve() / 'index.sqlite'}"


def _sqlite_engine(url: str, begin: str) -> Engine:
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        pool_size=8,
        max_overflow=32,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)

    return engine


def make_engines(url: str) -> tuple[Engine, Engine]:
    """(reader, writer) engines for the index at ``url``."""
    if url.startswith("sqlite"):
        return _sqlite_engine(url, "BEGIN"), _sqlite_engine(url, "BEGIN IMMEDIATE")
    engine = create_engine(url, pool_size=8, max_overflow=32, pool_pre_ping=True)
    return engine, engine


class ProcessLock:
    """An exclusive lock shared by processes through a file (``flock``), reopened after fork."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None
        self._pid = 0

    @contextmanager
    def __call__(self) -> Iterator[None]:
        if self._fd is None or self._pid != os.getpid():
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            self._pid = os.getpid()
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)


def write_lock_for(url: str) -> ProcessLock | None:
    """For a SQLite file, the lock that its writers of every process queue on."""
    if not url.startswith("sqlite:///"):
        return None
    return ProcessLock(Path(url.removeprefix("sqlite:///") + ".write-lock"))
