"""A study or a series as a ZIP file, streamed: ``GET /api/studies/{uid}/archive`` and
``GET /api/series/{uid}/archive``.

Members are the stored Part 10 files, as stored (``ZIP_STORED``: DICOM pixel
data rarely shrinks, and storing costs no CPU), under readable folders::

    DOE^J1 (583295)/20170716 LEFT WRIST/001 MR t1_se/0001.dcm

The archive is written into a small buffer that the response drains after
every piece, so neither a study nor a file is ever held in memory whole.
Folder and file names come from the index (patient, study, series, instance
number); what cannot be in a path (slashes, control characters) becomes ``_``.
"""

from __future__ import annotations

import re
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from vesalius.archive.archive import Archive
from vesalius.index.index import StoredInstance
from vesalius.model.matching import Level
from vesalius.web.api import listing
from vesalius.web.deps import ArchiveDep, SettingsDep

router = APIRouter(tags=["downloads"])

CHUNK = 1 << 20
"""Bytes read from a stored file at a time (and, about, sent at a time)."""
PAGE = 1000
"""Rows asked of the index at a time when listing series and instances."""
_UNSAFE = re.compile(r"[^\w .,^()+=-]+")
_SPACES = re.compile(r"\s+")


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


def safe_name(text: str, fallback: str, limit: int = 64) -> str:
    """``text`` as one folder or file name: no separators or control characters."""
    cleaned = _SPACES.sub(" ", _UNSAFE.sub("_", text)).strip(" ._")
    return cleaned[:limit].rstrip(" ._") or fallback


def _unique(name: str, taken: set[str]) -> str:
    """``name``, or ``name-2``, ``name-3``... when it is already ``taken``."""
    candidate, number = name, 1
    while candidate in taken:
        number += 1
        candidate = f"{name}-{number}"
    taken.add(candidate)
    return candidate


def _rows(
    archive: Archive, level: Level, parents: dict[str, str], case_insensitive: bool
) -> Iterator[dict[str, Any]]:
    """Every listed object of ``level`` under ``parents``, page after page, in the
    listing's default order (series by number, instances by number)."""
    query = listing.build_query(level, parents=parents, case_insensitive_names=case_insensitive)
    offset = 0
    while True:
        found = archive.browse(query, sort=listing.DEFAULT_SORT[level], limit=PAGE, offset=offset)
        yield from (listing.to_json(item, level) for item in found)
        if len(found) < PAGE:
            return
        offset += PAGE


def _text(value: Any) -> str:
    """A listed value as text (``None`` as empty, several values joined)."""
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(str(item) for item in value)
    return str(value)


def _number(value: Any, width: int) -> str:
    """A number zero-padded to ``width`` digits; empty when there is none."""
    return f"{value:0{width}d}" if isinstance(value, int) and value >= 0 else ""


def members(
    archive: Archive, study_uid: str, series_uid: str | None, case_insensitive: bool
) -> list[Member]:
    """The files of a study (or of one series of it) with their names in the ZIP.

    ``NotFound`` (404) when the study or series is not stored.
    """
    stored = archive.instances_in(study_uid, series_uid)
    by_uid = {instance.sop_instance_uid: instance for instance in stored}
    study = next(_rows(archive, "STUDY", {"StudyInstanceUID": study_uid}, case_insensitive), {})
    patient = safe_name(_text(study.get("PatientName")), "unknown patient")
    if study.get("PatientID"):
        patient = safe_name(f"{patient} ({study['PatientID']})", "unknown patient")
    study_folder = safe_name(
        f"{_text(study.get('StudyDate'))} {_text(study.get('StudyDescription'))}", study_uid
    )
    series_keys = {"StudyInstanceUID": study_uid}
    if series_uid:
        series_keys["SeriesInstanceUID"] = series_uid
    series_rows = list(_rows(archive, "SERIES", series_keys, case_insensitive))
    found: list[Member] = []
    folders: set[str] = set()
    for series in series_rows:
        uid = str(series.get("SeriesInstanceUID", ""))
        label = " ".join(
            part
            for part in (
                _number(series.get("SeriesNumber"), 3),
                _text(series.get("Modality")),
                _text(series.get("SeriesDescription")),
            )
            if part
        )
        folder = _unique(safe_name(label, uid), folders)
        files: set[str] = set()
        parents = {"StudyInstanceUID": study_uid, "SeriesInstanceUID": uid}
        for row in _rows(archive, "IMAGE", parents, case_insensitive):
            instance = by_uid.pop(str(row.get("SOPInstanceUID", "")), None)
            if instance is None:
                continue
            stem = _number(row.get("InstanceNumber"), 4) or safe_name(
                instance.sop_instance_uid, "instance"
            )
            file = _unique(stem, files)
            found.append(Member(f"{patient}/{study_folder}/{folder}/{file}.dcm", instance))
    # Whatever the listing did not name (stored meanwhile) still goes in, by UID.
    taken = {member.name for member in found}
    for instance in by_uid.values():
        name = _unique(
            f"{patient}/{study_folder}/{safe_name(instance.sop_instance_uid, 'instance')}.dcm",
            taken,
        )
        found.append(Member(name, instance))
    return found


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
