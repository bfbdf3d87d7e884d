"""The DICOMDIR of a File-set: its directory records, and their encoding (PS3.10, PS3.3 F).

A DICOMDIR is a Part 10 file (Media Storage Directory Storage, Explicit VR
Little Endian) whose Directory Record Sequence holds a tree of records::

    PATIENT -> STUDY -> SERIES -> IMAGE (or SR DOCUMENT, PRESENTATION, RT DOSE...)

linked by byte offsets: each record names the offset of the next record at
its level and of its first child, counted from the start of the file.

Records carry the keys PS3.3 F.5 requires (Type 1 values must not be empty).
Where a file lacks one, a value is invented as DCMTK's ``dcmmkdir +I`` does, so
that a study with an empty Study ID still goes on a CD:

==============  ==========================================================
PatientID       ``UNKNOWN`` + the patient's number on the medium
StudyDate       the Series, Content or Acquisition Date, else ``19000101``
StudyTime       ``000000``
StudyID         the study's number on the medium
Modality        ``OT``
SeriesNumber    the series' number in its study
InstanceNumber  the instance's number in its series (ContentDate/Time too)
==============  ==========================================================

pydicom's ``FileSet`` writes the same structure, but adding an instance to it
costs time proportional to the instances already in it (42 s for 2,000) and
needs each file staged in a temporary folder; this module builds the records
in one pass and encodes the file with pydicom's writer.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.fileset import DIRECTORY_RECORDERS
from pydicom.filewriter import write_dataset, write_file_meta_info
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from vesalius import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME

MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"
"""Media Storage Directory Storage: the SOP class of a DICOMDIR."""

PREFIXES = {
    "PATIENT": "PT", "STUDY": "ST", "SERIES": "SE", "IMAGE": "IM", "RT DOSE": "RD",
    "RT STRUCTURE SET": "RS", "RT PLAN": "RP", "RT TREAT RECORD": "RX", "PRESENTATION": "PR",
    "WAVEFORM": "WV", "SR DOCUMENT": "SR", "KEY OBJECT DOC": "KY", "SPECTROSCOPY": "SP",
    "RAW DATA": "RW", "REGISTRATION": "RG", "FIDUCIAL": "FD", "ENCAP DOC": "ED",
    "VALUE MAP": "VM", "STEREOMETRIC": "SX", "PLAN": "PL", "MEASUREMENT": "MX",
    "SURFACE": "SF", "SURFACE SCAN": "SS", "TRACT": "TR", "ASSESSMENT": "AS",
    "RADIOTHERAPY": "RT",
}  # fmt: skip
"""Two letters that start the File ID component of each record type (as pydicom's)."""

SEQUENCE_HEADER = 12
"""Bytes before the first item of an explicit VR SQ element with an explicit length."""
ITEM_HEADER = 8


@dataclass(eq=False)
class Record:
    """One directory record and the records below it."""

    dataset: Dataset
    children: list[Record] = field(default_factory=list)
    offset: int = 0

    @property
    def kind(self) -> str:
        """The Directory Record Type."""
        return str(self.dataset.DirectoryRecordType)


def _leaf_type(header: Dataset) -> str:
    """The record type of an instance under a SERIES record (IMAGE for images)."""
    with contextlib.suppress(ImportError):
        # pydicom's own table of SOP class -> record type (PS3.3 F.4), not public.
        from pydicom.fileset import _four_level_record_type

        return str(_four_level_record_type(header))
    return "IMAGE"


def _new(kind: str, header: Dataset) -> Dataset:
    record = Dataset()
    record.OffsetOfTheNextDirectoryRecord = 0
    record.RecordInUseFlag = 0xFFFF
    record.OffsetOfReferencedLowerLevelDirectoryEntity = 0
    record.DirectoryRecordType = kind
    if header.get("SpecificCharacterSet"):
        record.SpecificCharacterSet = header.SpecificCharacterSet
    return record


def _value(header: Dataset, *keywords: str) -> str:
    """The first non-empty value among ``keywords`` as text, else empty."""
    for keyword in keywords:
        value = header.get(keyword)
        if value not in (None, ""):
            return str(value)
    return ""


def patient_record(header: Dataset, number: int) -> Dataset:
    """A PATIENT record (PS3.3 F.5.1) from an instance of the patient."""
    record = _new("PATIENT", header)
    record.PatientName = header.get("PatientName") or ""
    record.PatientID = _value(header, "PatientID") or f"UNKNOWN{number}"
    return record


def study_record(header: Dataset, number: int) -> Dataset:
    """A STUDY record (PS3.3 F.5.2)."""
    record = _new("STUDY", header)
    record.StudyDate = (
        _value(header, "StudyDate", "SeriesDate", "ContentDate", "AcquisitionDate") or "19000101"
    )
    record.StudyTime = _value(header, "StudyTime") or "000000"
    record.StudyDescription = header.get("StudyDescription") or ""
    record.StudyInstanceUID = header.StudyInstanceUID
    record.StudyID = _value(header, "StudyID") or str(number)
    record.AccessionNumber = header.get("AccessionNumber") or ""
    return record


def series_record(header: Dataset, number: int) -> Dataset:
    """A SERIES record (PS3.3 F.5.3)."""
    record = _new("SERIES", header)
    record.Modality = _value(header, "Modality") or "OT"
    record.SeriesInstanceUID = header.SeriesInstanceUID
    record.SeriesNumber = _value(header, "SeriesNumber") or str(number)
    return record


def _concept_modifiers(header: Dataset) -> list[Dataset]:
    """The root content items that modify the document title (HAS CONCEPT MOD)."""
    return [
        item
        for item in header.get("ContentSequence") or []
        if item.get("RelationshipType") == "HAS CONCEPT MOD"
    ]


def _document_record(header: Dataset, *, flags: bool) -> Dataset:
    """An SR DOCUMENT (``flags``) or KEY OBJECT DOC record (PS3.3 F.5.21, F.5.31).

    Unlike pydicom's, the record takes only the content items that modify the
    title, not the whole content tree, and the verification time of a verified
    report from its last Verifying Observer.
    """
    record = Dataset()
    record.InstanceNumber = header.InstanceNumber
    record.ContentDate = header.ContentDate
    record.ContentTime = header.ContentTime
    if flags:
        record.CompletionFlag = header.CompletionFlag
        record.VerificationFlag = header.VerificationFlag
        observers = header.get("VerifyingObserverSequence") or []
        if header.VerificationFlag == "VERIFIED" and observers:
            record.VerificationDateTime = observers[-1].VerificationDateTime
    record.ConceptNameCodeSequence = header.ConceptNameCodeSequence
    modifiers = _concept_modifiers(header)
    if modifiers:
        record.ContentSequence = modifiers
    return record


RECORDERS = {
    "SR DOCUMENT": lambda header: _document_record(header, flags=True),
    "KEY OBJECT DOC": lambda header: _document_record(header, flags=False),
}
"""Our own record makers where pydicom's do not fit PS3.3 (the rest are pydicom's)."""


def leaf_record(
    header: Dataset, number: int, file_id: list[str], transfer_syntax_uid: str
) -> Dataset:
    """The record of the instance itself (IMAGE, SR DOCUMENT, PRESENTATION...), which
    references its file. ``ValueError`` when the file lacks a key that cannot be invented."""
    kind = _leaf_type(header)
    if not _value(header, "InstanceNumber"):
        header.InstanceNumber = number
    record = _new(kind, header)
    if kind == "IMAGE":
        record.InstanceNumber = header.InstanceNumber
    else:
        if not _value(header, "ContentDate"):
            header.ContentDate = _value(header, "StudyDate") or "19000101"
        if not _value(header, "ContentTime"):
            header.ContentTime = _value(header, "StudyTime") or "000000"
        record.update(RECORDERS.get(kind, DIRECTORY_RECORDERS[kind])(header))
    record.ReferencedFileID = file_id
    record.ReferencedSOPClassUIDInFile = header.SOPClassUID
    record.ReferencedSOPInstanceUIDInFile = header.SOPInstanceUID
    record.ReferencedTransferSyntaxUIDInFile = transfer_syntax_uid
    return record


def component(kind: str, number: int) -> str:
    """The 8-character File ID component of the ``number``-th record of a kind:
    ``PT000000``, ``IM000012`` (upper case letters and digits, PS3.10 8.2)."""
    return f"{PREFIXES.get(kind, 'OB')}{number:06d}"


def _encoded_length(dataset: Dataset) -> int:
    buffer = DicomBytesIO()
    buffer.is_little_endian, buffer.is_implicit_VR = True, False
    write_dataset(buffer, dataset)
    return len(buffer.getvalue())


def _preorder(records: list[Record]) -> list[Record]:
    found: list[Record] = []
    for record in records:
        found.append(record)
        found.extend(_preorder(record.children))
    return found


def _link(records: list[Record]) -> None:
    """Point each record at the next one of its level and at its first child."""
    for position, record in enumerate(records):
        following = records[position + 1] if position + 1 < len(records) else None
        record.dataset.OffsetOfTheNextDirectoryRecord = following.offset if following else 0
        first = record.children[0].offset if record.children else 0
        record.dataset.OffsetOfReferencedLowerLevelDirectoryEntity = first
        _link(record.children)


def encode(roots: list[Record], fileset_id: str) -> bytes:
    """The DICOMDIR file of these patient records (and all below them)."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MEDIA_STORAGE_DIRECTORY
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = IMPLEMENTATION_CLASS_UID
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION_NAME
    out = DicomBytesIO()
    out.is_little_endian, out.is_implicit_VR = True, False
    out.write(b"\x00" * 128 + b"DICM")
    write_file_meta_info(out, meta, enforce_standard=True)

    directory = Dataset()
    directory.FileSetID = fileset_id
    directory.OffsetOfTheFirstDirectoryRecordOfTheRootDirectoryEntity = 0
    directory.OffsetOfTheLastDirectoryRecordOfTheRootDirectoryEntity = 0
    directory.FileSetConsistencyFlag = 0
    # Every offset is a 4-byte UL, so lengths measured with zeros hold once filled in.
    offset = out.tell() + _encoded_length(directory) + SEQUENCE_HEADER
    ordered = _preorder(roots)
    for record in ordered:
        record.offset = offset
        offset += ITEM_HEADER + _encoded_length(record.dataset)
    _link(roots)
    if roots:
        directory.OffsetOfTheFirstDirectoryRecordOfTheRootDirectoryEntity = roots[0].offset
        directory.OffsetOfTheLastDirectoryRecordOfTheRootDirectoryEntity = roots[-1].offset
    directory.DirectoryRecordSequence = [record.dataset for record in ordered]
    write_dataset(out, directory)
    data = out.getvalue()
    if ordered and data[ordered[0].offset : ordered[0].offset + 4] != b"\xfe\xff\x00\xe0":
        raise AssertionError("DICOMDIR record offsets do not point at their items")
    return data
