"""``vesalius reindex``: rebuild the whole index from the stored files (disaster recovery)."""

from __future__ import annotations

import typer
from sqlalchemy.exc import SQLAlchemyError

from vesalius.archive.inuse import DataDirInUse
from vesalius.archive.reindex import reindex as rebuild
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


@app.command()
def reindex(config: ConfigOption = None, data_dir: DataDirOption = None) -> None:
    """Rebuild the index from every stored file; the old index is kept (docs/reliability.md).

    Refused while a vesalius serve uses the data dir. Exit code 0 when every
    file was indexed, 2 when some could not be (they are listed and left alone).
    """
    settings = settings_from(config, data_dir, "WARNING")
    try:
        report = rebuild(settings)
    except DataDirInUse as exc:
        fail(str(exc))
    except SQLAlchemyError as exc:
        fail(f"the index could not be rebuilt: {getattr(exc, 'orig', None) or exc}")
    counts = ", ".join(f"{count} {name}" for name, count in report.counts.items())
    console.print(
        f"read {report.files} file(s): indexed {report.indexed}, "
        f"{len(report.skipped)} not indexed, {len(report.superseded)} older copies; "
        f"the index holds {counts}",
        highlight=False,
    )
    if report.kept is None:
        console.print(
            f"the old index could not be read ({report.kept_error}): jobs, worklist, MPPS "
            "and users start empty",
            highlight=False,
            markup=False,
        )
    else:
        kept = ", ".join(f"{rows} {name}" for name, rows in report.kept.items() if rows)
        console.print(f"kept from the old index: {kept or 'nothing'}", highlight=False)
    if report.old_index is not None:
        console.print(f"the old index is kept as {report.old_index}", highlight=False, markup=False)
    for skipped in report.skipped:
        console.print(
            f"  not indexed {skipped.blob_name}: {skipped.reason}", highlight=False, markup=False
        )
    for older in report.superseded:
        console.print(
            f"  older copy  {older.blob_name}: {older.reason}", highlight=False, markup=False
        )
    raise typer.Exit(EXIT_PARTIAL if report.skipped else EXIT_OK)
