"""``vesalius ls``: the local archive as a table, patients > studies > series."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from vesalius.archive.archive import Archive
from vesalius.cli.common import ConfigOption, DataDirOption, app, console, fail, settings_from


@app.command("ls")
def list_archive(
    patient: Annotated[
        str | None, typer.Option(help="Patient ID or name; * and ? are wildcards.")
    ] = None,
    study: Annotated[str | None, typer.Option(help="Only this Study Instance UID.")] = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """List what the local archive holds: one row per series, with instance counts."""
    settings = settings_from(config, data_dir, "WARNING")
    try:
        archive = Archive.open(settings)
    except Exception as exc:
        fail(f"cannot open the archive in {settings.data_dir}: {exc}")
    rows = archive.index.series_overview(patient=patient, study_uid=study)
    counts = archive.index.counts()
    archive.close()
    table = Table(title=f"{settings.data_dir}", title_justify="left")
    for header in (
        "Patient",
        "Name",
        "Study date",
        "Study",
        "Study UID",
        "#",
        "Mod",
        "Series",
        "Instances",
    ):
        table.add_column(header, overflow="fold")
    last_patient = last_study = None
    for row in rows:
        patient_key = (row["patient_id"], row["patient_name"])
        same_patient = patient_key == last_patient
        same_study = same_patient and row["study_instance_uid"] == last_study
        table.add_row(
            "" if same_patient else row["patient_id"],
            "" if same_patient else row["patient_name"],
            "" if same_study else row["study_date"],
            "" if same_study else row["study_description"],
            "" if same_study else row["study_instance_uid"],
            "" if row["series_number"] is None else str(row["series_number"]),
            row["modality"],
            row["series_description"],
            str(row["instances"]),
        )
        last_patient, last_study = patient_key, row["study_instance_uid"]
    console.print(table)
    console.print(
        f"{counts['patients']} patients, {counts['studies']} studies, {counts['series']} series, "
        f"{counts['instances']} instances",
        highlight=False,
    )
