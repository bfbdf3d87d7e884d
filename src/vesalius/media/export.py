"""One export, whatever its format: ``export(archive, request, target, tracker)``.

=========  =====================================================================
format     what ``target`` becomes
=========  =====================================================================
dicomdir   a folder: a File-set with its DICOMDIR (``fileset``), profile USB by default
iso        an ISO 9660 image of that File-set (``iso``), profile CD by default
zip        a ZIP of that File-set (``layout="dicomdir"``), or of the stored files
           in ``Patient/Study/Series/0001.dcm`` folders (``layout="tree"``)
jpeg png   a folder of pictures, one per frame, in ``Patient/Study/Series/`` folders
tiff
mp4 gif    a folder of movies: one per multi-frame instance, and one per series
           made of its single-frame images (``series.mp4``)
=========  =====================================================================

With ``as_zip`` (the HTTP API, which hands out one file), the folder formats go
into a ZIP at ``target`` instead. A file is written beside its name and renamed
into place when complete; a folder that the export created is removed again
when the export fails or is cancelled.
"""

from __future__ import annotations

import io
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pydicom import dcmread
from pydicom.dataset import Dataset

from vesalius import imaging
from vesalius.archive.archive import Archive
from vesalius.imaging import Window
from vesalius.imaging.pixels import Array
from vesalius.media import fileset, iso, movies, naming, pictures, viewerpage
from vesalius.media.annotations import annotate
from vesalius.media.selection import Selection, StudyEntry, catalogue, instance_count
from vesalius.media.sinks import FolderSink, Sink, ZipSink
from vesalius.media.tracking import ExportCancelled, ExportError, Tracker

FORMATS = ("dicomdir", "iso", "zip", "jpeg", "png", "tiff", "mp4", "gif")
FILE_FORMATS = ("iso", "zip")
"""Formats whose target is one file; the others make a folder."""
LAYOUTS = ("dicomdir", "tree")
DEFAULT_PROFILE = {"iso": fileset.CD}
"""The profile of a format when none is asked for (otherwise STD-GEN-USB)."""


@dataclass(frozen=True, slots=True)
class ExportRequest:
    """What to export and how; ``from_params`` / ``params`` give its JSON form."""

    selection: Selection
    format: str
    profile: str | None = None
    layout: str = "dicomdir"
    with_viewer: bool = False
    window: tuple[float, float] | None = None
    annotate: bool = False
    bits: int = 8
    quality: int = 90
    fps: float | None = None
    label: str | None = None

    def checked(self) -> ExportRequest:
        """The request when every option makes sense for its format; ``ExportError`` if not."""
        if self.format not in FORMATS:
            raise ExportError(f"unknown format {self.format!r}: use one of {', '.join(FORMATS)}")
        if self.layout not in LAYOUTS:
            raise ExportError(f"unknown layout {self.layout!r}: use dicomdir or tree")
        if self.profile is not None:
            fileset.check_profile(self.profile)
        if self.window is not None and not self.window[1] > 0:
            raise ExportError("the window width must be above 0")
        if self.format in pictures.EXTENSIONS:
            self.picture_options()
        movies.check_fps(self.fps)
        if self.selection.is_empty():
            raise ExportError("nothing to export: name studies, series or patients")
        return self

    @property
    def profile_name(self) -> str:
        """The profile the File-set is written with."""
        chosen = self.profile or DEFAULT_PROFILE.get(self.format, fileset.USB)
        return fileset.check_profile(chosen)

    def picture_options(self) -> pictures.PictureOptions:
        """The options of a picture or movie export."""
        kind = self.format if self.format in pictures.EXTENSIONS else "png"
        window = Window(*self.window) if self.window is not None else None
        return pictures.PictureOptions(kind, window, self.annotate, self.bits, self.quality)

    def params(self) -> dict[str, Any]:
        """The request as JSON-able values (a job's params)."""
        values = asdict(self)
        values["selection"] = {key: list(value) for key, value in values["selection"].items()}
        return values

    @classmethod
    def from_params(cls, values: dict[str, Any]) -> ExportRequest:
        """The request back from ``params()``."""
        chosen = values.get("selection") or {}
        selection = Selection(
            *(tuple(chosen.get(key) or ()) for key in ("studies", "series", "patients"))
        )
        window = values.get("window")
        return cls(
            selection,
            **{key: value for key, value in values.items() if key not in ("selection", "window")},
            window=tuple(window) if window else None,  # type: ignore[arg-type]
        )


@dataclass(slots=True)
class ExportResult:
    """What an export made: the target, files written and counts of instances."""

    target: Path
    files: int = 0
    size: int = 0
    counts: dict[str, int] = field(default_factory=dict)


class _Counting:
    """A sink that counts the files it passes on."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.files = 0

    def write(self, name: str, data: bytes) -> None:
        self.sink.write(name, data)
        self.files += 1

    def copy(self, name: str, source: Any, size: int) -> None:
        self.sink.copy(name, source, size)
        self.files += 1

    def add_file(self, name: str, path: Path) -> None:
        self.sink.add_file(name, path)  # type: ignore[attr-defined]
        self.files += 1


def _read(archive: Archive, entry: naming.Named) -> Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dcmread(io.BytesIO(archive.read_instance(entry.entry.instance)))


@contextmanager
def _guarded(tracker: Tracker, label: str) -> Iterator[None]:
    """Count an instance failed (not the export) when it cannot be made; cancel goes on up."""
    try:
        yield
    except ExportCancelled:
        raise
    except Exception as exc:
        tracker.fail(label, " ".join(str(exc).split()) or type(exc).__name__)


def _pictures(archive: Archive, studies: list[StudyEntry], request: ExportRequest,
              sink: _Counting, tracker: Tracker) -> None:  # fmt: skip
    options = request.picture_options()
    extension = pictures.EXTENSIONS[options.kind]
    for series in naming.series_tree(studies):
        for member in series.members:
            tracker.check()
            with _guarded(tracker, member.entry.uid):
                dataset = _read(archive, member)
                frames = imaging.frame_count(dataset)
                if frames == 0:
                    tracker.skip(member.entry.uid, "no pixel data")
                    continue
                width = max(3, len(str(frames)))
                for index, data in pictures.pictures(dataset, options):
                    suffix = f"-{index + 1:0{width}d}" if frames > 1 else ""
                    sink.write(f"{member.folder}/{member.stem}{suffix}{extension}", data)
                tracker.ok()


def _movies(archive: Archive, studies: list[StudyEntry], request: ExportRequest,
            sink: _Counting, tracker: Tracker, scratch: Path) -> None:  # fmt: skip
    options = request.picture_options()
    extension = movies.EXTENSIONS[request.format]

    def render(dataset: Dataset, index: int, frames: int) -> Array:
        pixels = imaging.render_frame(dataset, index, window=options.window)
        if options.annotate:
            pixels = annotate(pixels, dataset, index, frames, options.window)
        return pixels

    for number, series in enumerate(naming.series_tree(studies)):
        loop: movies.MovieWriter | None = None
        for member in series.members:
            tracker.check()
            with _guarded(tracker, member.entry.uid):
                dataset = _read(archive, member)
                frames = imaging.frame_count(dataset)
                if frames == 0:
                    tracker.skip(member.entry.uid, "no pixel data")
                    continue
                fps = request.fps or movies.frame_rate(dataset) or movies.DEFAULT_FPS
                if frames > 1:
                    path = scratch / f"{member.entry.uid}{extension}"
                    with movies.MovieWriter(path, request.format, fps) as movie:
                        for index in range(frames):
                            movie.add(render(dataset, index, frames))
                    sink.add_file(member.path(extension), path)
                else:
                    if loop is None:
                        loop = movies.MovieWriter(scratch / f"series{number}{extension}",
                                                  request.format, fps)  # fmt: skip
                    frame = render(dataset, 0, 1)
                    if not loop.fits(frame):
                        raise ExportError("its size differs from the first image of the series")
                    loop.add(frame)
                tracker.ok()
        if loop is not None:
            loop.close()
            if loop.frames:
                sink.add_file(f"{series.folder}/series{extension}", loop.path)


def _tree(archive: Archive, studies: list[StudyEntry], sink: _Counting, tracker: Tracker) -> None:
    for series in naming.series_tree(studies):
        for member in series.members:
            tracker.check()
            with _guarded(tracker, member.entry.uid):
                instance = member.entry.instance
                with archive.open_stored(instance) as source:
                    sink.copy(member.path(".dcm"), source, instance.file_size)
                tracker.ok()


def _fileset(archive: Archive, studies: list[StudyEntry], request: ExportRequest,
             sink: _Counting, tracker: Tracker) -> None:  # fmt: skip
    roots = fileset.write_fileset(archive, studies, sink, request.profile_name, tracker)
    if request.with_viewer:
        title = request.label or fileset.label(studies, iso.VOLUME_LABEL_LENGTH)
        sink.write(viewerpage.PAGE_NAME, viewerpage.index_page(roots, title))


def export(
    archive: Archive,
    request: ExportRequest,
    target: Path,
    tracker: Tracker,
    *,
    as_zip: bool = False,
    case_insensitive: bool = True,
) -> ExportResult:
    """Make the export at ``target`` (a folder, or a file for iso, zip and ``as_zip``).

    ``NotFound`` when a study, series or patient is not stored, ``ExportError`` for
    options that do not fit, ``ExportCancelled`` when ``tracker`` says so; an
    instance that cannot be exported is counted failed in ``tracker`` instead.
    """
    request.checked()
    studies = catalogue(archive, request.selection, case_insensitive=case_insensitive)
    tracker.begin(instance_count(studies))
    one_file = as_zip or request.format in FILE_FORMATS
    target.parent.mkdir(parents=True, exist_ok=True)
    created = not target.exists()
    if not one_file and not created and any(target.iterdir()):
        raise ExportError(f"{target} is not empty: export into a new or empty folder")
    scratch = Path(tempfile.mkdtemp(prefix=".export-", dir=target.parent))
    partial = target.with_name(f".{target.name}.partial")
    zipped = ZipSink(partial) if one_file and request.format != "iso" else None
    sink = _Counting(
        zipped or FolderSink(scratch / "fileset" if request.format == "iso" else target)
    )
    try:
        if request.format in ("dicomdir", "iso") or (
            request.format == "zip" and request.layout == "dicomdir"
        ):
            _fileset(archive, studies, request, sink, tracker)
        elif request.format == "zip":
            _tree(archive, studies, sink, tracker)
        elif request.format in pictures.EXTENSIONS:
            _pictures(archive, studies, request, sink, tracker)
        else:
            _movies(archive, studies, request, sink, tracker, scratch)
        if zipped is not None:
            zipped.close()
            partial.replace(target)
        elif request.format == "iso":
            label = request.label or fileset.label(studies, iso.VOLUME_LABEL_LENGTH)
            iso.write_iso(scratch / "fileset", target, label)
    except BaseException:
        if zipped is not None:
            zipped.close()
            partial.unlink(missing_ok=True)
        elif created and not one_file:
            shutil.rmtree(target, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    size = target.stat().st_size if target.is_file() else 0
    counts = {"done": tracker.done, "failed": tracker.failed, "skipped": tracker.skipped}
    return ExportResult(target, sink.files, size, counts)
