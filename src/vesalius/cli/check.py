"""``vesalius check``: do the index and the stored files agree? ``--repair`` fixes what not."""

from __future__ import annotations

from typing import Annotated

import typer

from vesalius.archive.archive import Archive
from vesalius.archive.check import check_archive
from vesalius.cli.common import (
    EXIT_OK,
    EXIT_PARTIAL,
    ConfigOption,
    DataDirOption,
    app,
    console,
    settings_from,
)


@app.command()
def check(
    repair: Annotated[
        bool, typer.Option("--repair", help="Fix what is found (see docs/reliability.md).")
    ] = False,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Check that every index row has its file and every file its row; also on a live archive.

    Exit code 0 when all agree (or all was repaired), 2 when something is left.
    """
    settings = settings_from(config, data_dir, "WARNING")
    archive = Archive.open(settings)
    try:
        report = check_archive(archive, repair=repair)
    finally:
        archive.close()
    console.print(
        f"checked {report.instances} indexed instance(s) and {report.files} file(s): "
        f"{len(report.findings)} finding(s), {len(report.unrepaired)} left",
        highlight=False,
    )
    for finding in report.findings:
        state = "repaired" if finding.repaired else "found"
        subject = finding.sop_instance_uid or finding.blob_name
        console.print(
            f"  {state:8s} {finding.kind:10s} {subject}: {finding.detail}",
            highlight=False,
            markup=False,
        )
    raise typer.Exit(EXIT_PARTIAL if report.unrepaired else EXIT_OK)
