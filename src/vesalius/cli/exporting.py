"""``vesalius export``: studies, series or patients as DICOM media, ZIP, pictures or movies."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from vesalius.archive.archive import Archive
from vesalius.audit.export import record_export
from vesalius.cli.common import (
    EXIT_OK,
    EXIT_PARTIAL,
    ConfigOption,
    DataDirOption,
    LogLevelOption,
    app,
    console,
    fail,
    settings_from,
)
from vesalius.imaging import RenderError, parse_window
from vesalius.media import ExportRequest, Selection, Tracker, export
from vesalius.model.errors import ArchiveError

FORMAT_HELP = (
    "dicomdir (a folder with a DICOMDIR), iso (an ISO 9660 image), zip, "
    "jpeg, png, tiff (one picture per frame), mp4, gif (movies)."
)


def _window(text: str | None) -> tuple[float, float] | None:
    if not text:
        return None
    try:
        window = parse_window(text)
    except RenderError as exc:
        fail(f"--window: {exc}")
    return window.center, window.width


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


@app.command("export")
def export_(
    out: Annotated[
        Path, typer.Option("--out", help="Folder to create; the file to write for zip and iso.")
    ],
    file_format: Annotated[str, typer.Option("--format", help=FORMAT_HELP)],
    study: Annotated[list[str] | None, typer.Option("--study", help="Study Instance UID.")] = None,
    series: Annotated[
        list[str] | None, typer.Option("--series", help="Series Instance UID.")
    ] = None,
    patient: Annotated[list[str] | None, typer.Option("--patient", help="Patient ID.")] = None,
    profile: Annotated[
        str | None,
        typer.Option(
            help="STD-GEN-CD (Explicit VR Little Endian, transcoded) or STD-GEN-USB "
            "(files as stored) [default: CD for iso, USB otherwise]."
        ),
    ] = None,
    layout: Annotated[
        str, typer.Option(help="zip: dicomdir (a File-set) or tree (Patient/Study/Series/).")
    ] = "dicomdir",
    with_viewer: Annotated[
        bool, typer.Option("--with-viewer", help="Add INDEX.HTM listing the content.")
    ] = False,
    label: Annotated[
        str | None, typer.Option(help="Volume label (iso) [default: patient name and date].")
    ] = None,
    window: Annotated[
        str | None, typer.Option(help="Pictures and movies: C,W window [default: the image's].")
    ] = None,
    annotate: Annotated[
        bool, typer.Option("--annotate", help="Burn patient, study and image text in the corners.")
    ] = False,
    bits: Annotated[
        int, typer.Option(help="tiff: 16 keeps the stored grayscale values, unwindowed.")
    ] = 8,
    quality: Annotated[int, typer.Option(help="jpeg quality, 1 to 100.")] = 90,
    fps: Annotated[
        float | None, typer.Option(help="Movies: frames per second [default: the image's].")
    ] = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    log_level: LogLevelOption = None,
) -> None:
    """Export studies, series or patients as a DICOMDIR folder, ISO image, ZIP, pictures or
    movies; list every instance that could not be exported, and why."""
    request = ExportRequest(
        Selection(tuple(study or ()), tuple(series or ()), tuple(patient or ())),
        file_format.lower(), profile, layout, with_viewer, _window(window), annotate, bits,
        quality, fps, label,
    )  # fmt: skip
    try:
        request.checked()
    except ArchiveError as exc:
        fail(str(exc))
    settings = settings_from(config, data_dir, log_level or "WARNING")
    try:
        archive = Archive.open(settings)
    except Exception as exc:
        fail(f"cannot open the archive in {settings.data_dir}: {exc}")
    columns = (TextColumn("exporting"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    started = time.monotonic()
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("export", total=None)

        def changed(tracker: Tracker) -> None:
            progress.update(task, total=tracker.total, completed=tracker.done + tracker.failed)

        tracker = Tracker(on_change=changed)
        try:
            result = export(
                archive, request, out, tracker,
                case_insensitive=settings.query.case_insensitive_names,
            )  # fmt: skip
        except (ArchiveError, OSError) as exc:
            archive.close()
            fail(str(exc))
        except KeyboardInterrupt:
            archive.close()
            fail("interrupted")
    selection = request.selection
    record_export(settings, archive, out, studies=selection.studies, series=selection.series,
                  patients=selection.patients, failed=bool(tracker.failed))  # fmt: skip
    archive.close()
    seconds = time.monotonic() - started
    size = f", {_megabytes(result.size)}" if result.size else ""
    console.print(
        f"exported {tracker.done - tracker.skipped} of {tracker.total} instance(s) to {out} "
        f"({result.files} file(s){size}) in {seconds:.1f} s; failed {tracker.failed}, "
        f"skipped {tracker.skipped}",
        highlight=False,
        markup=False,
    )
    for line in tracker.skips:
        console.print(f"  skipped  {line}", highlight=False, markup=False)
    for line in tracker.failures:
        console.print(f"  failed  {line}", highlight=False, markup=False)
    raise typer.Exit(EXIT_PARTIAL if tracker.failed else EXIT_OK)
