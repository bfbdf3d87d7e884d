"""Fresh PostgreSQL databases for tests, on the server at ``VESALIUS_TEST_POSTGRES``.

Each database is copied from a template migrated once per test process, so
that a test starts on the newest schema in a fraction of a second, and is
dropped when the test ends.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

SERVER = os.environ.get("VESALIUS_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432")
ON_CI = os.environ.get("CI", "").lower() == "true"
_template: str | None = None


def _admin():  # type: ignore[no-untyped-def]
    import psycopg

    dsn = SERVER.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    return psycopg.connect(dsn, autocommit=True, connect_timeout=5)


def require_postgres() -> None:
    """Skip (fail under CI) when no PostgreSQL server answers."""
    try:
        with _admin():
            pass
    except Exception as exc:
        reason = f"no PostgreSQL server at {SERVER}: {exc}"
        if ON_CI:
            pytest.fail(reason)
        pytest.skip(reason)


def _template_database() -> str:
    """A database migrated to the newest schema, made once per process."""
    global _template
    if _template is None:
        from vesalius.index import migrate
        from vesalius.index.engine import make_engines

        name = f"vesalius_template_{os.getpid()}"
        with _admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}"')
        _, writer = make_engines(f"{SERVER}/{name}")
        try:
            migrate.upgrade(writer)
        finally:
            writer.dispose()
        _template = name
    return _template


@contextmanager
def fresh_database(*, migrated: bool = True) -> Iterator[str]:
    """The URL of a new database (on the newest schema unless not ``migrated``), dropped after."""
    require_postgres()
    name = f"vesalius_test_{uuid.uuid4().hex[:12]}"
    template = f' TEMPLATE "{_template_database()}"' if migrated else ""
    with _admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"{template}')
    try:
        yield f"{SERVER}/{name}"
    finally:
        with _admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def drop_template() -> None:
    """Drop this process's template database (end of the session)."""
    if _template is not None:
        try:
            with _admin() as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{_template}" WITH (FORCE)')
        except Exception:
            pass
