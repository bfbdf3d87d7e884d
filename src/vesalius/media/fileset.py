"""Writing a DICOM File-set (PS3.10) from the archive: the files under 8-character IDs,
and the DICOMDIR that lists them, for a folder, a ZIP or an ISO image.

Layout (as pydicom and most burners lay it out)::

    DICOMDIR
    PT000000/ST000000/SE000000/IM000000     patient / study / series / instance
    PT000000/ST000000/SE000001/IM000000

Application profiles (PS3.11):

STD-GEN-CD
    General Purpose CD-R / DVD interchange: every file in Explicit VR Little
    Endian, so compressed, implicit and big-endian files are transcoded (their
    SOP Instance UIDs stay).
STD-GEN-USB
    General Purpose USB and flash media: the files as stored, compressed ones
    included (the STD-GEN-USB-JPEG / -J2K family allows those syntaxes).

Each file is read once: its header fills the directory records, its bytes go
to the sink. The records come from the file, not the index, so they say what
the file says.
"""

from __future__ import annotations

import contextlib
import io
import re
import warnings
from typing import BinaryIO

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import ExplicitVRLittleEndian

from vesalius.archive.archive import Archive
from vesalius.imaging.errors import RenderError
from vesalius.imaging.transcode import transcode
from vesalius.index.index import StoredInstance
from vesalius.media import dicomdir
from vesalius.media.dicomdir import Record
from vesalius.media.selection import StudyEntry
from vesalius.media.sinks import Sink
from vesalius.media.tracking import ExportError, Tracker
from vesalius.model.errors import ArchiveError

CD = "STD-GEN-CD"
USB = "STD-GEN-USB"
PROFILES: dict[str, str | None] = {CD: ExplicitVRLittleEndian, USB: None}
"""Profile -> the transfer syntax its files must have (None: any, as stored)."""

_NOT_D_CHARACTERS = re.compile(r"[^A-Z0-9_]+")


def check_profile(profile: str) -> str:
    """The profile's canonical name; ``ExportError`` for one we do not write."""
    name = profile.strip().upper()
    if name not in PROFILES:
        raise ExportError(f"unknown profile {profile!r}: use {' or '.join(PROFILES)}")
    return name


def label(studies: list[StudyEntry], limit: int) -> str:
    """A volume or File-set label from the first patient's name and study date:
    upper-case letters, digits and ``_`` (ISO 9660 d-characters), at most ``limit``."""
    first = studies[0].attributes if studies else {}
    parts = [str(first.get("PatientName") or first.get("PatientID") or ""),
             str(first.get("StudyDate") or "")]  # fmt: skip
    text = "_".join(_NOT_D_CHARACTERS.sub("_", part.upper()).strip("_") for part in parts if part)
    return text[:limit].rstrip("_") or "VESALIUS"


def _header(source: BinaryIO) -> Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dcmread(source, stop_before_pixels=True)


class FileSetWriter:
    """Adds instances to a File-set on ``sink``, then writes its DICOMDIR (``finish``)."""

    def __init__(self, archive: Archive, sink: Sink, profile: str, tracker: Tracker) -> None:
        self.archive = archive
        self.sink = sink
        self.wanted = PROFILES[check_profile(profile)]
        self.tracker = tracker
        self.roots: list[Record] = []
        self._patients: dict[str, Record] = {}
        self._studies: dict[str, Record] = {}
        self._series: dict[str, Record] = {}

    def add(self, instance: StoredInstance) -> None:
        """Put one stored instance on the medium (or count it failed, with the reason)."""
        self.tracker.check()
        label = instance.sop_instance_uid
        try:
            self._add(instance)
        except (
            OSError,
            ArchiveError,
            InvalidDicomError,
            RenderError,
            ValueError,
            AttributeError,
        ) as exc:
            self.tracker.fail(label, " ".join(str(exc).split()) or type(exc).__name__)
            return
        self.tracker.ok()

    def _add(self, instance: StoredInstance) -> None:
        with contextlib.ExitStack() as stack:
            stored_ts = instance.transfer_syntax_uid
            handle: BinaryIO | None = None
            if self.wanted is not None and stored_ts != self.wanted:
                data: bytes | None = transcode(self.archive.read_instance(instance), self.wanted)
                header, syntax = _header(io.BytesIO(data)), self.wanted
            else:
                handle = stack.enter_context(self.archive.open_stored(instance))
                data, header, syntax = None, _header(handle), stored_ts
            patient_key = str(header.get("PatientID") or "")
            patient = self._patients.get(patient_key)
            study = self._studies.get(str(header.StudyInstanceUID))
            series = self._series.get(str(header.SeriesInstanceUID))
            numbers = (
                self._position(patient, self.roots),
                self._position(study, patient.children if patient else []),
                self._position(series, study.children if study else []),
                len(series.children) if series else 0,
            )
            leaf = dicomdir.leaf_record(header, numbers[3] + 1, [], syntax)
            file_id = [
                dicomdir.component("PATIENT", numbers[0]),
                dicomdir.component("STUDY", numbers[1]),
                dicomdir.component("SERIES", numbers[2]),
                dicomdir.component(str(leaf.DirectoryRecordType), numbers[3]),
            ]
            leaf.ReferencedFileID = file_id
            name = "/".join(file_id)
            if handle is not None:
                handle.seek(0)
                self.sink.copy(name, handle, instance.file_size)
            else:
                assert data is not None
                self.sink.write(name, data)
        if patient is None:
            patient = Record(dicomdir.patient_record(header, numbers[0] + 1))
            self.roots.append(patient)
            self._patients[patient_key] = patient
        if study is None:
            study = Record(dicomdir.study_record(header, numbers[1] + 1))
            patient.children.append(study)
            self._studies[str(header.StudyInstanceUID)] = study
        if series is None:
            series = Record(dicomdir.series_record(header, numbers[2] + 1))
            study.children.append(series)
            self._series[str(header.SeriesInstanceUID)] = series
        series.children.append(Record(leaf))

    @staticmethod
    def _position(record: Record | None, siblings: list[Record]) -> int:
        """The index of ``record`` among its siblings, or the next one for a new record."""
        if record is None:
            return len(siblings)
        return next(i for i, sibling in enumerate(siblings) if sibling is record)

    def finish(self, fileset_id: str) -> bytes:
        """Write the DICOMDIR and return it. ``ExportError`` when no instance made it."""
        if not self.roots:
            raise ExportError("no instance could be written to the File-set")
        data = dicomdir.encode(self.roots, fileset_id)
        self.sink.write("DICOMDIR", data)
        return data


def write_fileset(
    archive: Archive, studies: list[StudyEntry], sink: Sink, profile: str, tracker: Tracker
) -> list[Record]:
    """Every instance of the catalogue as a File-set on ``sink``; the patient records."""
    writer = FileSetWriter(archive, sink, profile, tracker)
    for study in studies:
        for entry in study.instances():
            writer.add(entry.instance)
    writer.finish(label(studies, 16))
    return writer.roots
