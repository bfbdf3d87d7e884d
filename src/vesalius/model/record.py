"""The attributes of one instance that the index keeps, level by level.

They are the C-FIND required and unique keys of PS3.4 C.6.1.1 (Patient Root and
Study Root information models) and the default QIDO-RS return attributes of
PS3.18 10.6.3, read from the header alone.
"""

from __future__ import annotations

from collections.abc import Mapping
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
INDEXED_KEYWORDS = (
    "SpecificCharacterSet",
    *PATIENT_KEYS,
    *STUDY_KEYS,
    *SERIES_KEYS,
    *INSTANCE_KEYS,
)
"""Every attribute ingest reads from a header."""
UID_MAX_LENGTH = 64


def _text(ds: Dataset, keyword: str) -> str:
    """The value of an attribute as one string ('' when absent or empty)."""
    try:
        element = ds.data_element(keyword)
    except Exception:  # a value pydicom cannot convert: keep what can be kept
        return ""
    if element is None or element.value is None:
        return ""
    if element.VM > 1:
        return "\\".join(str(v).strip() for v in element.value)
    return str(element.value).strip()


def text_values(ds: Dataset) -> dict[str, str]:
    """The indexed attributes of a pydicom data set, each as one string."""
    return {keyword: _text(ds, keyword) for keyword in INDEXED_KEYWORDS}


def _int(text: str) -> int | None:
    first = text.split("\\", maxsplit=1)[0]
    try:
        return int(float(first)) if first else None
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


def required_uid(values: Mapping[str, str], keyword: str) -> str:
    """A UID the archive cannot do without; ``InvalidObject`` when absent or unusable."""
    value = values.get(keyword, "").rstrip("\x00").strip()
    if not value:
        raise InvalidObject(f"{keyword} is missing or empty")
    if len(value) > UID_MAX_LENGTH or not value.isprintable() or "\\" in value:
        raise InvalidObject(f"{keyword} is not a usable UID: {value[:80]!r}")
    return value


INTEGER_KEYWORDS = frozenset(
    ("SeriesNumber", "InstanceNumber", "Rows", "Columns", "BitsAllocated", "NumberOfFrames")
)


def record_from_values(values: Mapping[str, str]) -> InstanceRecord:
    """Arrange the indexed attributes of an instance by level.

    Raises ``InvalidObject`` when one of the four UIDs an archive needs is
    missing. Other attributes are kept as found, empty when unreadable.
    """
    uids = {keyword: required_uid(values, keyword) for keyword in REQUIRED_UIDS}

    def level(keywords: tuple[str, ...]) -> dict[str, str | int | None]:
        return {
            keyword: uids.get(keyword)
            or (
                _int(values.get(keyword, ""))
                if keyword in INTEGER_KEYWORDS
                else values.get(keyword, "")
            )
            for keyword in keywords
        }

    instance = level(INSTANCE_KEYS)
    instance["SpecificCharacterSet"] = values.get("SpecificCharacterSet", "")
    return InstanceRecord(
        patient={k: values.get(k, "") for k in PATIENT_KEYS},
        study={k: uids.get(k) or values.get(k, "") for k in STUDY_KEYS},
        series=level(SERIES_KEYS),
        instance=instance,
    )


def record_from_dataset(ds: Dataset) -> InstanceRecord:
    """The record of an instance read from a pydicom (header-only) data set."""
    return record_from_values(text_values(ds))
