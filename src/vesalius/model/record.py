"""The attributes of one instance that the index keeps, level by level.

They are the C-FIND required and unique keys of PS3.4 C.6.1.1 (Patient Root and
Study Root information models) and the default QIDO-RS return attributes of
PS3.18 10.6.3, read from the header alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydicom.dataset import Dataset

from vesalius.model.errors import InvalidObject

PATIENT_KEYS = ("PatientID", "IssuerOfPatientID", "PatientName", "PatientBirthDate", "PatientSex")
STUDY_KEYS = (
    "StudyInstanceUID",
    "StudyDate",
    "StudyTime",
    "AccessionNumber",
    "StudyID",
    "StudyDescription",
    "ReferringPhysicianName",
    "TimezoneOffsetFromUTC",
)
SERIES_KEYS = (
    "SeriesInstanceUID",
    "Modality",
    "SeriesNumber",
    "SeriesDescription",
    "BodyPartExamined",
    "PerformedProcedureStepStartDate",
    "PerformedProcedureStepStartTime",
)
INSTANCE_KEYS = (
    "SOPInstanceUID",
    "SOPClassUID",
    "InstanceNumber",
    "Rows",
    "Columns",
    "BitsAllocated",
    "NumberOfFrames",
    "ContentDate",
    "ContentTime",
)
REQUIRED_UIDS = ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID")
UID_MAX_LENGTH = 64


def _text(ds: Dataset, keyword: str) -> str:
    """The value of an attribute as one string ('' when absent or empty)."""
    try:
        element = ds.data_element(keyword)
    except Exception:  # a value pydicom cannot convert: keep what can be kept
        return ""
    if element is None:
        return ""
    if element.VM > 1:
        return "\\".join(str(v) for v in element.value)
    value = element.value
    return "" if value is None else str(value).strip()


def _int(ds: Dataset, keyword: str) -> int | None:
    text = _text(ds, keyword).split("\\")[0]
    try:
        return int(float(text)) if text else None
    except ValueError:
        return None


@dataclass(slots=True)
class InstanceRecord:
    """One instance, with the patient, study and series it belongs to."""

    patient: dict[str, str]
    study: dict[str, str]
    series: dict[str, str | int | None]
    instance: dict[str, str | int | None] = field(default_factory=dict)

    @property
    def sop_instance_uid(self) -> str:
        return str(self.instance["SOPInstanceUID"])

    @property
    def sop_class_uid(self) -> str:
        return str(self.instance["SOPClassUID"])


def required_uid(ds: Dataset, keyword: str) -> str:
    """A UID the archive cannot do without; ``InvalidObject`` when absent or unusable."""
    value = _text(ds, keyword).rstrip("\x00").strip()
    if not value:
        raise InvalidObject(f"{keyword} is missing or empty")
    if len(value) > UID_MAX_LENGTH or not value.isprintable() or "\\" in value:
        raise InvalidObject(f"{keyword} is not a usable UID: {value[:80]!r}")
    return value


def record_from_dataset(ds: Dataset) -> InstanceRecord:
    """Read the index attributes of an instance from its (header-only) data set.

    Raises ``InvalidObject`` when one of the four UIDs an archive needs is
    missing. Other attributes are kept as found, empty when unreadable.
    """
    uids = {keyword: required_uid(ds, keyword) for keyword in REQUIRED_UIDS}
    patient = {keyword: _text(ds, keyword) for keyword in PATIENT_KEYS}
    study = {keyword: _text(ds, keyword) for keyword in STUDY_KEYS}
    study["StudyInstanceUID"] = uids["StudyInstanceUID"]
    series: dict[str, str | int | None] = {keyword: _text(ds, keyword) for keyword in SERIES_KEYS}
    series["SeriesInstanceUID"] = uids["SeriesInstanceUID"]
    series["SeriesNumber"] = _int(ds, "SeriesNumber")
    instance: dict[str, str | int | None] = {
        "SOPInstanceUID": uids["SOPInstanceUID"],
        "SOPClassUID": uids["SOPClassUID"],
        "InstanceNumber": _int(ds, "InstanceNumber"),
        "Rows": _int(ds, "Rows"),
        "Columns": _int(ds, "Columns"),
        "BitsAllocated": _int(ds, "BitsAllocated"),
        "NumberOfFrames": _int(ds, "NumberOfFrames"),
        "ContentDate": _text(ds, "ContentDate"),
        "ContentTime": _text(ds, "ContentTime"),
        "SpecificCharacterSet": _text(ds, "SpecificCharacterSet"),
    }
    return InstanceRecord(patient=patient, study=study, series=series, instance=instance)
