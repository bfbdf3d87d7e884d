"""From query parameters to a ``matching.Query``, and from answers to plain JSON objects.

The management API filters with the archive's one matching implementation:
each filter becomes a key of a C-FIND identifier (``dataset_from_keys``), so
``PatientName=doe*`` and ``StudyDate=20200101-20201231`` mean what they mean
to C-FIND and QIDO-RS. Objects are keyed by DICOM keyword, with plain JSON
values: strings, numbers (IS, US...), arrays for attributes that may hold
several values, null for an empty one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydicom.datadict import dictionary_VM, tag_for_keyword
from starlette.datastructures import QueryParams

from vesalius.archive.listing import Listed
from vesalius.model.matching import Level, Query, dataset_from_keys, parse_identifier
from vesalius.web.errors import BadRequest

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
PAGING = ("limit", "offset", "sort")

RETURN_KEYS: dict[Level, tuple[str, ...]] = {
    "PATIENT": (
        "PatientID",
        "IssuerOfPatientID",
        "PatientName",
        "PatientBirthDate",
        "PatientSex",
        "NumberOfPatientRelatedStudies",
        "NumberOfPatientRelatedSeries",
        "NumberOfPatientRelatedInstances",
    ),
    "STUDY": (
        "PatientID",
        "PatientName",
        "PatientBirthDate",
        "PatientSex",
        "StudyInstanceUID",
        "StudyDate",
        "StudyTime",
        "StudyID",
        "AccessionNumber",
        "StudyDescription",
        "ReferringPhysicianName",
        "ModalitiesInStudy",
        "NumberOfStudyRelatedSeries",
        "NumberOfStudyRelatedInstances",
    ),
    "SERIES": (
        "StudyInstanceUID",
        "SeriesInstanceUID",
        "Modality",
        "SeriesNumber",
        "SeriesDescription",
        "BodyPartExamined",
        "PerformedProcedureStepStartDate",
        "PerformedProcedureStepStartTime",
        "NumberOfSeriesRelatedInstances",
    ),
    "IMAGE": (
        "StudyInstanceUID",
        "SeriesInstanceUID",
        "SOPInstanceUID",
        "SOPClassUID",
        "InstanceNumber",
        "Rows",
        "Columns",
        "NumberOfFrames",
        "ContentDate",
        "ContentTime",
    ),
}
"""What each level's objects show, in this order."""

FILTERS: dict[Level, tuple[str, ...]] = {
    "PATIENT": ("PatientID", "IssuerOfPatientID", "PatientName", "PatientBirthDate", "PatientSex"),
    "STUDY": (
        "PatientName",
        "PatientID",
        "PatientBirthDate",
        "PatientSex",
        "StudyInstanceUID",
        "StudyDate",
        "StudyTime",
        "StudyID",
        "AccessionNumber",
        "StudyDescription",
        "ReferringPhysicianName",
        "ModalitiesInStudy",
    ),
    "SERIES": (
        "SeriesInstanceUID",
        "Modality",
        "SeriesNumber",
        "SeriesDescription",
        "BodyPartExamined",
    ),
    "IMAGE": ("SOPInstanceUID", "SOPClassUID", "InstanceNumber"),
}
"""The query parameters each listing takes as filters."""

DEFAULT_SORT: dict[Level, tuple[str, ...]] = {
    "PATIENT": ("PatientName", "PatientID"),
    "STUDY": ("-StudyDate", "-StudyTime"),
    "SERIES": ("SeriesNumber",),
    "IMAGE": ("InstanceNumber",),
}
"""The order of a listing without ``sort``: newest studies first, series and images by number."""

_MODEL = {"PATIENT": "patient", "STUDY": "study", "SERIES": "study", "IMAGE": "study"}
_UNIQUE = {"STUDY": "StudyInstanceUID", "SERIES": "SeriesInstanceUID", "IMAGE": "SOPInstanceUID"}
_INTEGER_VRS = frozenset(("IS", "US", "UL", "SS", "SL", "UV", "SV"))


def filters_from(params: QueryParams, level: Level) -> dict[str, str]:
    """The filters among the query parameters; ``BadRequest`` for one the level lacks."""
    found: dict[str, str] = {}
    for name, value in params.multi_items():
        if name in PAGING:
            continue
        if name not in FILTERS[level]:
            allowed = ", ".join(FILTERS[level])
            raise BadRequest(f"unknown parameter {name!r}; filters here: {allowed}")
        found[name] = value
    return found


def sort_from(text: str | None, level: Level) -> tuple[str, ...]:
    """``"-StudyDate,PatientName"`` as sort keys; the level's default when absent."""
    if not text:
        return DEFAULT_SORT[level]
    return tuple(part.strip() for part in text.split(",") if part.strip())


def build_query(
    level: Level,
    *,
    filters: Mapping[str, str] = {},
    parents: Mapping[str, str] = {},
    case_insensitive_names: bool = True,
) -> Query:
    """The C-FIND query of a listing: the level's return keys, its filters, and the unique
    keys of its parents (as a hierarchical query needs them)."""
    keys = {keyword: "" for keyword in RETURN_KEYS[level]}
    keys |= {keyword: value for keyword, value in parents.items() if keyword in keys}
    keys |= dict(filters)
    identifier = dataset_from_keys(level, keys)
    return parse_identifier(
        identifier, _MODEL[level], case_insensitive_names=case_insensitive_names
    )


def unique_filter(level: Level, uid: str, lineage: Mapping[str, str]) -> dict[str, str]:
    """The keys that pick one study, series or instance: its lineage down to ``uid``."""
    return {**lineage, _UNIQUE[level]: uid}


def plain_value(keyword: str, vr: str, value: Any) -> Any:
    """A response value as plain JSON: null, a number, a string or an array of them."""
    if value is None or value == "":
        return [] if _multiple(keyword) else None
    values = value.split("\\") if isinstance(value, str) and vr != "PN" else value
    items = values if isinstance(values, list | tuple) else [values]
    converted = [_scalar(vr, item) for item in items]
    if _multiple(keyword):
        return converted
    return converted[0] if len(converted) == 1 else converted


def _scalar(vr: str, value: Any) -> Any:
    if vr in _INTEGER_VRS:
        try:
            return int(value)
        except (TypeError, ValueError):
            return str(value)
    if vr in ("DS", "FL", "FD"):
        try:
            return float(value)
        except (TypeError, ValueError):
            return str(value)
    return str(value)


def _multiple(keyword: str) -> bool:
    tag = tag_for_keyword(keyword)
    return tag is not None and dictionary_VM(tag) not in ("1", "")


def to_json(listed: Listed, level: Level) -> dict[str, Any]:
    """One listed object: ``id`` and its attributes by keyword (instances: file facts too)."""
    elements = listed.answer.elements
    shown: dict[str, Any] = {}
    for keyword in RETURN_KEYS[level]:
        tag = tag_for_keyword(keyword)
        if tag is None or tag not in elements:
            continue
        vr, value = elements[tag]
        shown[keyword] = plain_value(keyword, vr, value)
    shown |= listed.files
    opaque = str(listed.key) if level == "PATIENT" else str(shown.get(_UNIQUE[level], ""))
    return {"id": opaque, **shown}
