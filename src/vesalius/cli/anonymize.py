"""``vesalius anonymize (PATH... | --study UID) --out DIR``: de-identified copies (PS3.15 E)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vesalius.archive.archive import Archive
from vesalius.archive.deidentification import anonymize_files, anonymize_study
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
from vesalius.model.deidentify import Options
from vesalius.model.errors import ArchiveError


@app.command()
def anonymize(
    paths: Annotated[list[Path] | None, typer.Argument(help="Files or folders to copy.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Folder to write into.")] = None,
    study: Annotated[
        str | None, typer.Option("--study", help="A stored study instead of files.")
    ] = None,
    retain_dates: Annotated[
        bool,
        typer.Option("--retain-dates", help="Retain Longitudinal Temporal Information option."),
    ] = False,
    clean_descriptors: Annotated[
        bool, typer.Option("--clean-descriptors", help="Clean Descriptors option.")
    ] = False,
    retain_uids: Annotated[bool, typer.Option("--retain-uids", help="Retain UIDs option.")] = False,
    include_burned_in: Annotated[
        bool,
        typer.Option("--include-burned-in", help="Also copy objects with burned-in annotation."),
    ] = False,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """De-identify files or a stored study into a folder (PS3.15 Annex E Basic Profile).

    UIDs are remapped consistently within the run; the mapping is kept under the
    data folder for re-identification. Exit code 2 when some inputs were skipped or failed.
    """
    if out is None:
        fail("--out DIR is needed")
    if bool(paths) == bool(study):
        fail("give either PATH... or --study UID")
    settings = settings_from(config, data_dir, "WARNING")
    options = Options(
        retain_longitudinal_temporal=retain_dates,
        clean_descriptors=clean_descriptors,
        retain_uids=retain_uids,
    )
    if study:
        archive = Archive.open(settings)
        try:
            outcome = anonymize_study(
                archive, study, options, include_burned_in=include_burned_in, out_dir=out
            )
        except ArchiveError as exc:
            fail(str(exc))
        finally:
            archive.close()
    else:
        outcome = anonymize_files(
            paths or [], out, settings.data_dir, options, include_burned_in=include_burned_in
        )
    console.print(
        f"wrote {len(outcome.written)} de-identified file(s) to {out}; "
        f"mapping kept in {outcome.mapping}",
        highlight=False,
        markup=False,
    )
    for name, reason in outcome.skipped + outcome.failed:
        console.print(f"  skipped {name}: {reason}", highlight=False, markup=False)
    raise typer.Exit(EXIT_PARTIAL if outcome.skipped or outcome.failed else EXIT_OK)
