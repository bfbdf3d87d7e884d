"""A study or a series as a ZIP file, streamed: ``GET /api/studies/{uid}/archive`` and
``GET /api/series/{uid}/archive``.

Members are the stored Part 10 files, as stored (``ZIP_STORED``: DICOM pixel
data rarely shrinks, and storing costs no CPU), under readable folders (the
same tree as ``vesalius export --format zip --layout tree``)::

    DOE^J1 (583295)/20170716 LEFT WRIST/001 MR t1_se/0001.dcm

The archive is written into a small buffer that the response drains after
every piece, so neither a study nor a file is ever held in memory whole.
Folder and file names come from the index (patient, study, series, instance
number); what cannot be in a path (slashes, control characters) becomes ``_``.
"""

from __future__ import annotations

import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from vesalius.archive.archive import Archive
from vesalius.index.index import StoredInstance
from vesalius.media.naming import safe_name, series_tree
from vesalius.media.selection import Selection, catalogue
from vesalius.web.deps import ArchiveDep, SettingsDep

router = APIRouter(tags=["downloads"])

CHUNK = 1 << 20
"""Bytes read from a stored file at a time (and, about, sent at a time)."""

__all__ = ["CHUNK", "Member", "members", "router", "safe_name", "zip_stream"]


@dataclass(frozen=True)
class Member:
    """One file of the ZIP: where it goes and which stored instance it is."""

    name: str
    instance: StoredInstance


class _Drain:
    """A write-only, unseekable file for ``zipfile``: what it receives waits in ``parts``
    until ``take`` hands it on."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.position = 0

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        """Nothing to flush: ``take`` hands the bytes on."""

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data


def members(
    archive: Archive, study_uid: str, series_uid: str | None, case_insensitive: bool
) -> list[Member]:
    """The files of a study (or of one series of it) with their names in the ZIP: the
    ``Patient/Study/Series/`` tree of ``vesalius.media.naming``, shared with exports.

    ``NotFound`` (404) when the study or series is not stored.
    """
    archive.instances_in(study_uid, series_uid)  # NotFound when none is stored
    selection = Selection(series=(series_uid,)) if series_uid else Selection(studies=(study_uid,))
    studies = catalogue(archive, selection, case_insensitive=case_insensitive)
    return [
        Member(member.path(".dcm"), member.entry.instance)
        for series in series_tree(studies)
        for member in series.members
    ]


def zip_stream(archive: Archive, files: list[Member]) -> Iterator[bytes]:
    """The ZIP of ``files`` in pieces of about ``CHUNK`` bytes, each file read as it goes."""
    sink = _Drain()
    now = time.localtime()[:6]
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as writer:  # type: ignore[arg-type]
        for member in files:
            info = zipfile.ZipInfo(member.name, date_time=now)
            info.compress_type = zipfile.ZIP_STORED
            info.file_size = member.instance.file_size  # large files get ZIP64 headers
            with archive.open_stored(member.instance) as source, writer.open(info, "w") as target:
                while chunk := source.read(CHUNK):
                    target.write(chunk)
                    yield sink.take()
            yield sink.take()
    yield sink.take()


def _attachment(files: list[Member], filename: str, archive: Archive) -> StreamingResponse:
    """The streamed ZIP response, offered as a file named ``filename``."""
    return StreamingResponse(
        (piece for piece in zip_stream(archive, files) if piece),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/studies/{study_uid}/archive",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/zip": {}}}},
)
def download_study(study_uid: str, archive: ArchiveDep, settings: SettingsDep) -> StreamingResponse:
    """Every stored file of the study as a ZIP, in patient/study/series folders."""
    files = members(archive, study_uid, None, settings.query.case_insensitive_names)
    return _attachment(files, f"{safe_name(study_uid, 'study')}.zip", archive)


@router.get(
    "/series/{series_uid}/archive",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/zip": {}}}},
)
def download_series(
    series_uid: str, archive: ArchiveDep, settings: SettingsDep
) -> StreamingResponse:
    """Every stored file of the series as a ZIP, in patient/study/series folders."""
    study_uid = archive.lineage("SERIES", series_uid)["StudyInstanceUID"]
    files = members(archive, study_uid, series_uid, settings.query.case_insensitive_names)
    return _attachment(files, f"{safe_name(series_uid, 'series')}.zip", archive)
