"""``vesalius db current|upgrade`` and ``vesalius migrate-index``: the index database itself.

Every other verb refuses an index whose schema is behind this Vesalius (see
docs/database.md); ``db upgrade`` is the one that migrates it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import make_url
from sqlalchemy.exc import SQLAlchemyError

from vesalius.cli.common import (
    ConfigOption,
    DataDirOption,
    app,
    console,
    fail,
    settings_from,
    setup_logging,
)
from vesalius.index import migrate
from vesalius.index.copy import CopyError, copy_index
from vesalius.index.engine import database_url, make_engines
from vesalius.settings import Settings

db_app = typer.Typer(
    help="The index database: its schema revision (current) and migrations (upgrade).",
    no_args_is_help=True,
)
app.add_typer(db_app, name="db")


def _index_url(settings: Settings) -> str:
    return database_url(settings.database.url, Path(settings.data_dir))


def _shown(url: str) -> str:
    """The URL without its password, for messages."""
    return make_url(url).render_as_string(hide_password=True)


@db_app.command("current")
def current(config: ConfigOption = None, data_dir: DataDirOption = None) -> None:
    """Print the index's schema revision and whether it is the newest this Vesalius knows."""
    settings = settings_from(config, data_dir, "WARNING")
    url = _index_url(settings)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        console.print(f"no index yet at {_shown(url)}", highlight=False)
        return
    _, engine = make_engines(url)
    try:
        state = migrate.schema_state(engine)
    except SQLAlchemyError as exc:
        fail(f"cannot read the index at {_shown(url)}: {exc.__class__.__name__}")
    finally:
        engine.dispose()
    if state.empty:
        line = f"empty (created at {state.head} when first opened)"
    elif state.newest:
        line = f"{state.current} (the newest)"
    else:
        line = str(state.refusal())
    console.print(line, highlight=False)


@db_app.command("upgrade")
def upgrade(config: ConfigOption = None, data_dir: DataDirOption = None) -> None:
    """Migrate the index to the newest schema (stop every server on it first)."""
    settings = settings_from(config, data_dir, "WARNING")
    folder = Path(settings.data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    url = _index_url(settings)
    _, engine = make_engines(url)
    try:
        before = migrate.ensure_schema(engine, folder / ".index.lock", upgrade=True)
    except migrate.SchemaError as exc:
        fail(str(exc))
    except SQLAlchemyError as exc:
        fail(f"cannot migrate the index at {_shown(url)}: {exc}")
    finally:
        engine.dispose()
    if before.newest:
        console.print(f"the index schema is at {before.head}, the newest", highlight=False)
    else:
        console.print(
            f"the index schema was at {before.current or 'nothing'}, now at {before.head}",
            highlight=False,
        )


def _source_url(
    url: str | None, folder: Path | None, config: Path | None, data_dir: Path | None
) -> str:
    if url and folder:
        fail("give either --from URL or --from-data-dir DIR, not both")
    if url:
        return url
    if folder:
        return database_url("", folder)
    return _index_url(settings_from(config, data_dir, "WARNING"))


@app.command("migrate-index")
def migrate_index(
    source: Annotated[
        str | None,
        typer.Option(
            "--from", help="Source index, a SQLAlchemy URL (sqlite:////.../index.sqlite)."
        ),
    ] = None,
    target: Annotated[
        str | None,
        typer.Option("--to", help="Target database URL (postgresql+psycopg://user@host/name)."),
    ] = None,
    source_dir: Annotated[
        Path | None,
        typer.Option("--from-data-dir", help="Source: the SQLite index of this data dir."),
    ] = None,
    target_dir: Annotated[
        Path | None,
        typer.Option("--to-data-dir", help="Target: the SQLite index of this data dir."),
    ] = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Copy the whole index into another, empty database; the stored files stay where they are.

    The source is --from, --from-data-dir, or else the archive's own index (--config, --data-dir).
    """
    setup_logging("WARNING")
    if bool(target) == bool(target_dir):
        fail("give either --to URL or --to-data-dir DIR")
    source_url = _source_url(source, source_dir, config, data_dir)
    target_url = target or database_url("", target_dir)  # type: ignore[arg-type]
    lock = target_dir / ".index.lock" if target_dir else None
    try:
        report = copy_index(source_url, target_url, target_lock=lock)
    except (CopyError, migrate.SchemaError) as exc:
        fail(str(exc))
    except SQLAlchemyError as exc:
        fail(f"the copy failed, nothing was kept: {getattr(exc, 'orig', None) or exc}")
    table = Table("table", "source rows", "target rows")
    for entry in report:
        table.add_row(entry.table, str(entry.source_rows), str(entry.target_rows))
    console.print(table)
    console.print(
        f"copied {sum(e.target_rows for e in report)} rows from {_shown(source_url)} "
        f"to {_shown(target_url)}; point [database] url at the target",
        highlight=False,
        markup=False,
    )
