"""``vesalius print``: print archive images or files on a DICOM printer (Print SCU)."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import numpy as np
import typer
from pydicom import dcmread
from pydicom.dataset import Dataset

from vesalius import imaging
from vesalius.archive.archive import Archive
from vesalius.cli.common import (
    EXIT_OK,
    EXIT_PARTIAL,
    AecOption,
    AetOption,
    ConfigOption,
    DataDirOption,
    LogLevelOption,
    PeerOption,
    TlsCaOption,
    TlsCertOption,
    TlsKeyOption,
    TlsOption,
    app,
    console,
    fail,
    files_under,
    settings_from,
    target_and_words,
    tls_client,
)
from vesalius.dimse import scu
from vesalius.dimse.printing_scu import FilmResult, PrintOptions, print_images
from vesalius.printing.formats import FILM_SIZES

LARGEST = (4096, 4096)
"""Images are scaled down to fit this many pixels before they are sent."""


Loader = Callable[[], Dataset]
"""Reads one object to print (a file, or an instance of the archive)."""


def _read(source: Path | BinaryIO) -> Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dcmread(source)


def _order(header: Dataset) -> tuple[int, int]:
    def number(keyword: str) -> int:
        try:
            return int(header.get(keyword) or 0)
        except (TypeError, ValueError):
            return 0

    return number("SeriesNumber"), number("InstanceNumber")


def _archive_sources(
    archive: Archive, study: list[str], series: list[str]
) -> list[tuple[str, Loader]]:
    """Stored instances of these studies and series, by series then instance number."""
    stored = archive.instances(study_uids=study, series_uids=series)
    keyed = []
    for instance in stored:
        with archive.open_stored(instance) as handle, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            header = dcmread(handle, stop_before_pixels=True)
        keyed.append((str(header.get("StudyInstanceUID", "")), *_order(header), instance))
    studies = {uid: n for n, uid in enumerate(study)}
    keyed.sort(key=lambda row: (studies.get(row[0], len(studies)), row[1], row[2]))
    return [(row[3].sop_instance_uid, partial(_read_stored, archive, row[3])) for row in keyed]


def _read_stored(archive: Archive, instance: Any) -> Dataset:
    with archive.open_stored(instance) as handle:
        return _read(handle)


def rendered(
    items: list[tuple[str, Loader]], failed: list[tuple[str, str]]
) -> Iterator[np.ndarray]:
    """Each frame of each object, rendered to 8 bits with its own window (``imaging``)."""
    for label, load in items:
        try:
            dataset = load()
            frames = imaging.frame_count(dataset)
            if frames == 0:
                failed.append((label, "no pixel data"))
                continue
            for index in range(frames):
                yield imaging.render_frame(dataset, index, viewport=LARGEST)
        except Exception as exc:
            failed.append((label, str(exc).splitlines()[0] if str(exc) else type(exc).__name__))


def _layout(text: str) -> tuple[int, int]:
    try:
        columns, rows = (int(part) for part in text.split(","))
    except ValueError:
        fail(f"--layout {text!r}: give COLUMNS,ROWS, e.g. 2,3")
    if not (1 <= columns <= 10 and 1 <= rows <= 10):
        fail("--layout: 1 to 10 columns and rows")
    return columns, rows


@app.command("print")
def print_(
    arguments: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[HOST PORT] [PATH]...",
            help="HOST PORT of the printer (unless --peer), then files and folders to print.",
            show_default=False,
        ),
    ] = None,
    series: Annotated[
        list[str] | None, typer.Option("--series", help="Print this local series, repeated.")
    ] = None,
    study: Annotated[
        list[str] | None, typer.Option("--study", help="Print this local study, repeated.")
    ] = None,
    layout: Annotated[str, typer.Option("--layout", help="COLUMNS,ROWS of each film.")] = "1,1",
    film_size: Annotated[
        str, typer.Option("--film-size", help=f"Film Size ID: {', '.join(FILM_SIZES)}.")
    ] = "14INX17IN",
    orientation: Annotated[
        str, typer.Option("--orientation", help="PORTRAIT or LANDSCAPE.")
    ] = "PORTRAIT",
    color: Annotated[
        bool, typer.Option("--color", help="Print in colour (Basic Color Print Management).")
    ] = False,
    copies: Annotated[
        int, typer.Option("--copies", min=1, max=99, help="Copies of each film.")
    ] = 1,
    annotation: Annotated[
        str, typer.Option("--annotation", help="A line of text on each film, if the printer can.")
    ] = "",
    wait: Annotated[
        float, typer.Option("--wait", help="Seconds to wait for each print job to finish.")
    ] = 60.0,
    aec: AecOption = None,
    peer: PeerOption = None,
    aet: AetOption = None,
    tls: TlsOption = False,
    tls_cert: TlsCertOption = None,
    tls_key: TlsKeyOption = None,
    tls_ca: TlsCaOption = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    log_level: LogLevelOption = None,
) -> None:
    """Print images on a DICOM printer: HOST PORT --aec AET, or --peer NAME.

    Each frame is rendered with its own window, the films are filled COLUMNS x
    ROWS in order (series, then instance number), printed one by one, and each
    print job's final status is reported.
    """
    settings = settings_from(config, data_dir, log_level or "WARNING")
    target, words = target_and_words(
        settings, arguments, aec, peer, aet, tls_options=tls_client(tls, tls_cert, tls_key, tls_ca)
    )
    orientation = orientation.upper()
    if orientation not in ("PORTRAIT", "LANDSCAPE"):
        fail("--orientation: PORTRAIT or LANDSCAPE")
    columns, rows = _layout(layout)
    options = PrintOptions(
        columns=columns,
        rows=rows,
        film_size=film_size.upper(),
        orientation=orientation,
        color=color,
        copies=copies,
        annotation=annotation,
        wait_s=wait,
    )
    items: list[tuple[str, Loader]] = [
        (str(path), partial(_read, path)) for path in files_under([Path(w) for w in words])
    ]
    archive = Archive.open(settings) if study or series else None
    failed: list[tuple[str, str]] = []
    try:
        if archive is not None:
            stored = _archive_sources(archive, list(study or []), list(series or []))
            if not stored:
                fail("no instance of those studies or series in the local archive")
            items += stored
        if not items:
            fail("nothing to print: give files, folders, --series UID or --study UID")
        try:
            outcome = print_images(target, rendered(items, failed), options, progress=_show)
        except scu.ScuError as exc:
            fail(str(exc))
    finally:
        if archive is not None:
            archive.close()
    printed = sum(film.images for film in outcome.films if film.ok)
    console.print(
        f"printed {printed} image(s) on {len(outcome.films)} film(s) at {target}, "
        f"{len(failed)} not printable",
        highlight=False,
    )
    for label, reason in failed:
        console.print(f"  not printed  {label}: {reason}", highlight=False, markup=False)
    all_ok = outcome.films and all(film.ok for film in outcome.films)
    raise typer.Exit(EXIT_OK if all_ok and not failed else EXIT_PARTIAL)


def _show(film: FilmResult) -> None:
    """One line per film as it is printed."""
    if film.job_uid:
        state = film.execution or "status unknown"
        job = f"job {film.job_uid}: {state}{f' ({film.info})' if film.info else ''}"
    else:
        job = "printed (the printer gives no job status)" if film.ok else film.info
    console.print(
        f"film {film.number}: {film.images} image(s), status {film.status:04X}, {job}",
        highlight=False,
        markup=False,
    )
