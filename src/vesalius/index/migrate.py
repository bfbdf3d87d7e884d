"""The index schema's revision, and bringing a database to the newest one with Alembic.

The opening rule (``ensure_schema``): an empty database is created at the
newest revision; a database at an older revision is refused unless the caller
asks to upgrade it (``vesalius db upgrade``); a database at a revision this
code does not know (made by a newer Vesalius) is always refused. Refusals are
``SchemaError``, whose message is one line that says what to do.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

from vesalius.index.tables import metadata

MIGRATIONS = Path(__file__).with_name("migrations")
UPGRADE_HINT = 'run "vesalius db upgrade"'


class SchemaError(Exception):
    """The index database is not at the schema this code needs (message: one line)."""


@dataclass(frozen=True, slots=True)
class SchemaState:
    """Where a database's schema stands against this code's migrations.

    ``current`` is None for a database without a revision; ``empty`` is true
    when it also holds none of the index's tables.
    """

    current: str | None
    head: str
    known: bool
    empty: bool

    @property
    def newest(self) -> bool:
        """At the newest revision this code knows."""
        return self.current == self.head

    @property
    def behind(self) -> bool:
        """At an older revision that ``vesalius db upgrade`` brings to the newest."""
        return self.current is not None and self.known and not self.newest

    def refusal(self) -> str | None:
        """Why this database cannot be opened as it is (None when it can)."""
        if self.newest or self.empty:
            return None
        if self.current is None:
            return (
                "the index database has tables but no schema revision (alembic_version): "
                "point [database] url at an empty database or at a Vesalius index"
            )
        if not self.known:
            return (
                f"the index schema is at {self.current}, which this Vesalius does not know "
                f"(it needs {self.head}): run a newer Vesalius"
            )
        return (
            f"the index schema is at {self.current}, this Vesalius needs {self.head}: "
            f"{UPGRADE_HINT}"
        )


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration bound to this package's migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def _scripts() -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config)


def head_revision() -> str:
    """The newest revision of the migrations shipped with this code."""
    head = _scripts().get_current_head()
    if head is None:
        raise RuntimeError("no migrations found")
    return head


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


def schema_state(engine: Engine) -> SchemaState:
    """The revision of the database at ``engine`` against this code's head; changes nothing."""
    scripts = _scripts()
    head = scripts.get_current_head() or ""
    known = {script.revision for script in scripts.walk_revisions()}
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
        ours = set(metadata.tables) & set(inspect(connection).get_table_names())
    return SchemaState(
        current=current,
        head=head,
        known=current is None or current in known,
        empty=current is None and not ours,
    )


def _upgrade_to_head(engine: Engine) -> None:
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def ensure_schema(
    engine: Engine, lock_file: Path | None = None, *, upgrade: bool = False
) -> SchemaState:
    """Apply the opening rule to the database at ``engine``; the state it was found in.

    An empty database is created at the newest revision. One at an older
    revision is migrated when ``upgrade``, else refused. ``SchemaError`` for
    a refusal; concurrent callers that change the schema wait on ``lock_file``.
    """
    found = schema_state(engine)
    if found.newest:
        return found
    if not (found.empty or (upgrade and found.behind)):
        raise SchemaError(found.refusal())
    with _lock(lock_file):
        again = schema_state(engine)  # another process may have done it meanwhile
        if again.newest:
            return found
        if not (again.empty or (upgrade and again.behind)):
            raise SchemaError(again.refusal())
        _upgrade_to_head(engine)
    return found


def upgrade(engine: Engine, lock_file: Path | None = None) -> None:
    """Apply every pending migration (creating an empty database); ``SchemaError`` when it
    cannot (unknown revision); concurrent callers wait on ``lock_file``."""
    ensure_schema(engine, lock_file, upgrade=True)
