"""Seed inputs of the fuzz targets: a few small real files, a few encoded identifiers."""

from __future__ import annotations

import io
from pathlib import Path

from pydicom.dataset import Dataset
from pydicom.filereader import _read_file_meta_info, read_preamble
from pynetdicom.dsutils import encode

INGEST_FILES = (
    "pydicom/test_files/ExplVR_BigEndNoMeta.dcm",
    "pydicom/test_files/ExplVR_LitEndNoMeta.dcm",
    "pydicom/test_files/meta_missing_tsyntax.dcm",
    "pydicom/test_files/priv_SQ.dcm",
    "pydicom/test_files/nested_priv_SQ.dcm",
    "pydicom/test_files/JPEGLSNearLossless_16.dcm",
    "pydicom/charset_files/chrH31.dcm",
    "fo-dicom/Issue1097_FailToOpenDeflatedFileWithSQ.dcm",
    "dcmtk/wlistqry-dcm/wlistqry3.dcm",
    "orthanc-tests/Issue140.dcm",
)
"""Small corpus files (< 4 KB): no meta, big endian, sequences, deflated, encapsulated."""
WORKLIST_QUERIES = ("dcmtk/wlistqry-dcm/wlistqry3.dcm", "dcmtk/wlistqry-dcm/wlistqry4.dcm")


def _data_set_of(data: bytes) -> tuple[bytes, str]:
    """The encoded data set of a Part 10 file and its stated transfer syntax."""
    stream = io.BytesIO(data)
    read_preamble(stream, True)
    meta = _read_file_meta_info(stream)
    return data[stream.tell() :], str(meta.get("TransferSyntaxUID", "") or "")


def ingest_seeds(corpus: Path, syntaxes: tuple[str, ...]) -> list[bytes]:
    """Each file through the file door, and its data set through the DIMSE door."""
    file_door = bytes([len(syntaxes)])
    seeds = []
    for relative in INGEST_FILES:
        data = (corpus / relative).read_bytes()
        seeds.append(file_door + data)
        body, syntax = _data_set_of(data)
        if syntax in syntaxes:
            seeds.append(bytes([syntaxes.index(syntax)]) + body)
    return seeds


def _identifier(level: str, **keys: object) -> Dataset:
    identifier = Dataset()
    identifier.QueryRetrieveLevel = level
    for keyword, value in keys.items():
        setattr(identifier, keyword, value)
    return identifier


def identifier_seeds(corpus: Path) -> list[bytes]:
    """C-FIND identifiers of each level and encoding, and QIDO-style key lines."""
    nested = Dataset()
    nested.CodeValue = "T-A0100"
    identifiers = [
        (1, _identifier("PATIENT", PatientID="P1*", PatientName="DOE^J?", PatientBirthDate="")),
        (
            1,
            _identifier(
                "STUDY", StudyInstanceUID="", StudyDate="20200101-20201231", StudyTime="0800-"
            ),
        ),
        (0, _identifier("SERIES", StudyInstanceUID="1.2.3", Modality="CT", SeriesNumber="")),
        (1, _identifier("IMAGE", PatientID="P1", StudyInstanceUID="1.2", SeriesInstanceUID="1.3")),
        (0, _identifier("STUDY", SpecificCharacterSet="ISO_IR 192", PatientName="Müller*")),
        (0, _identifier("STUDY", ProcedureCodeSequence=[nested], AccessionNumber="A1")),
    ]
    seeds = []
    for model, identifier in identifiers:
        for encoding, (implicit, little) in enumerate(
            ((True, True), (False, True), (False, False))
        ):
            encoded = encode(identifier, implicit, little)
            if encoded is not None:
                seeds.append(bytes([(encoding << 1) | model]) + encoded)
    for relative in WORKLIST_QUERIES:
        body, _ = _data_set_of((corpus / relative).read_bytes())
        seeds.append(bytes([0x2]) + body)
    seeds.append(bytes([0x80 | 0x40 | 0x1 | (1 << 1)]) + b"PatientName=DOE*\nModality=CT\n")
    seeds.append(bytes([0x80 | 0x1 | (1 << 1)]) + b"StudyDate=20200101-\nStudyInstanceUID=1.2\n")
    seeds.append(bytes([0x80 | (3 << 1)]) + b"PatientID=P1\nSOPInstanceUID=1.2\\1.3\n")
    return seeds
