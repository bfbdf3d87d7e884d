"""``vesalius import``: files, folders (recursively), ZIP archives and DICOM media (a folder
or ISO image with a DICOMDIR) into the local archive."""

from __future__ import annotations

import os
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from vesalius.archive.archive import Archive, StoreResult
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
from vesalius.media import reading
from vesalius.model.errors import ArchiveError
from vesalius.model.origin import LOCAL

Source = tuple[str, Callable[[], bytes]]
IN_FLIGHT = 16
THREADS = 4


def _is_zip(path: Path) -> bool:
    if path.suffix.lower() == ".zip":
        return True
    with path.open("rb") as handle:
        return handle.read(4) == b"PK\x03\x04"


def _zip_members(path: Path) -> Iterator[Source]:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        yield str(path), _raiser(f"not a readable ZIP archive: {exc}")
        return
    for info in archive.infolist():
        if not info.is_dir():
            yield f"{path}!{info.filename}", (lambda info=info: archive.read(info))


def _raiser(message: str) -> Callable[[], bytes]:
    def load() -> bytes:
        raise ArchiveError(message)

    return load


def sources(paths: list[Path]) -> Iterator[Source]:
    """Every file to import under ``paths``, ZIP members included, in a stable order.

    A folder holding a DICOMDIR, a DICOMDIR file and an ISO image are media: the
    files their DICOMDIR references are imported (``vesalius.media.reading``), and a
    record whose file is missing is reported (``missing``) and makes the exit code 2.
    """
    for path in paths:
        try:
            medium = reading.open_medium(path)
        except ArchiveError as exc:
            yield str(path), _raiser(str(exc))
            continue
        if medium is not None:
            yield from _medium(medium)
        elif path.is_dir():
            for folder, dirs, files in os.walk(path):
                dirs.sort()
                inner = [Path(folder) / name for name in sorted(dirs)]
                media = [child for child in inner if reading.open_medium(child) is not None]
                dirs[:] = [child.name for child in inner if child not in media]
                for name in sorted(files):
                    yield from sources([Path(folder) / name])
                yield from sources(media)
        elif path.is_file():
            if _is_zip(path):
                yield from _zip_members(path)
            else:
                yield str(path), path.read_bytes
        else:
            yield str(path), _raiser("no such file or folder")


def _medium(medium: reading.Medium) -> Iterator[Source]:
    """The files a medium's DICOMDIR references; one rejected entry when it is unreadable."""
    try:
        yield from reading.sources(medium)
    except ArchiveError as exc:
        yield medium.name, _raiser(str(exc))


def _store(archive: Archive, load: Callable[[], bytes]) -> StoreResult:
    try:
        data = load()
    except OSError as exc:
        raise ArchiveError(f"cannot be read: {exc.strerror or exc}") from None
    return archive.store_file(data, LOCAL)


@app.command("import")
def import_(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Files, folders, ZIP archives, DICOMDIR media (folders or ISO images)."
        ),
    ],
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    log_level: LogLevelOption = None,
) -> None:
    """Import DICOM files into the local archive; list every file refused, and why."""
    settings = settings_from(config, data_dir, log_level or "WARNING")
    try:
        archive = Archive.open(settings)
        archive.recover()  # what an import or server killed earlier left half written
    except Exception as exc:
        fail(f"cannot open the archive in {settings.data_dir}: {exc}")
    counts: Counter[str] = Counter()
    rejected: list[tuple[str, str]] = []
    missing: list[tuple[str, str]] = []
    mended: list[tuple[str, str]] = []
    columns = (TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with (
        Progress(*columns, console=console, transient=True) as progress,
        ThreadPoolExecutor(THREADS) as pool,
    ):
        task = progress.add_task("import", total=None)
        pending: dict[Future[StoreResult], str] = {}

        def settle(done: set[Future[StoreResult]]) -> None:
            for future in done:
                label = pending.pop(future)
                try:
                    result = future.result()
                except reading.MissingFile as exc:
                    counts["missing"] += 1
                    missing.append((label, str(exc)))
                except ArchiveError as exc:
                    counts["rejected"] += 1
                    rejected.append((label, str(exc)))
                else:
                    counts[result.outcome] += 1
                    mended.extend((label, note) for note in result.mended)
                progress.advance(task)

        for label, load in sources(paths):
            pending[pool.submit(_store, archive, load)] = label
            if len(pending) >= IN_FLIGHT:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                settle(done)
        settle(set(pending))
    archive.close()
    console.print(
        f"stored {counts['stored'] + counts['replaced']}, duplicate {counts['duplicate']}, "
        f"rejected {counts['rejected']}" + (f", missing {counts['missing']}" if missing else ""),
        highlight=False,
    )
    for label, note in mended:
        console.print(f"  mended  {label}: {note}", highlight=False, markup=False)
    for label, reason in rejected:
        console.print(f"  rejected  {label}: {reason}", highlight=False, markup=False)
    for label, reason in missing:
        console.print(f"  missing  {label}: {reason}", highlight=False, markup=False)
    raise typer.Exit(EXIT_PARTIAL if rejected or missing else EXIT_OK)
