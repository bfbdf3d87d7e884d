"""Bring an index database to the newest schema with Alembic, once per database at a time."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration bound to this package's migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


@contextmanager
def _lock(lock_file: Path | None) -> Iterator[None]:
    if lock_file is None:
        yield
        return
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at (None when empty)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, lock_file: Path | None = None) -> None:
    """Apply every pending migration; concurrent callers wait on ``lock_file``."""
    config = alembic_config(engine)
    head = ScriptDirectory.from_config(config).get_current_head()
    with _lock(lock_file):
        if current_revision(engine) == head:
            return
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
