"""``vesalius backup DEST``: a consistent copy of the index and the list of its files."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.exc import SQLAlchemyError

from vesalius.archive.backup import BackupError
from vesalius.archive.backup import backup as make_backup
from vesalius.cli.common import (
    EXIT_OK,
    EXIT_PARTIAL,
    ConfigOption,
    DataDirOption,
    app,
    console,
    fail,
    settings_from,
)
from vesalius.index.copy import CopyError
from vesalius.index.migrate import SchemaError


@app.command()
def backup(
    dest: Annotated[Path, typer.Argument(help="Empty folder for the backup.")],
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Back up the index (also while serving) and write the manifest of its stored files.

    DEST gets index.sqlite (or index.pgdump), blobs.manifest and README.txt on
    how to restore. Exit code 2 when files the index names were deleted meanwhile.
    """
    settings = settings_from(config, data_dir, "WARNING")
    try:
        report = make_backup(settings, dest)
    except (BackupError, CopyError, SchemaError) as exc:
        fail(str(exc))
    except (SQLAlchemyError, OSError, subprocess.SubprocessError) as exc:
        fail(f"the backup failed: {getattr(exc, 'orig', None) or exc}")
    console.print(
        f"backed up the index ({report.method}) to {report.index_file} and listed "
        f"{report.blobs} file(s), {report.bytes} bytes, in {dest / 'blobs.manifest'}",
        highlight=False,
        markup=False,
    )
    for name in report.gone:
        console.print(f"  gone meanwhile: storage/{name}", highlight=False, markup=False)
    raise typer.Exit(EXIT_PARTIAL if report.gone else EXIT_OK)
