"""Modality worklist items and queries (PS3.4 K.6), as pure functions; no I/O.

An item is one Scheduled Procedure Step of one Requested Procedure. Outside
DICOM (the REST API, the CLI, HL7 orders) it travels as flat ``fields``:
keyword -> text, where the keywords of ``STEP_KEYS`` belong inside the
item's one Scheduled Procedure Step Sequence item and all others at the top
level. ``item_dataset`` builds the DICOM item from them, ``item_fields``
reads them back.

A Modality Worklist C-FIND identifier becomes a ``WorklistQuery`` with the
same ``Condition`` objects as the archive's C-FIND (``model.matching``):
single values, wildcards, date/time ranges, UID lists, and the Scheduled
Procedure Step Start Date and Time combined into one range. The keys of
``MATCHED_KEYS`` constrain the match (the index holds them as columns);
other keys are returned but match universally.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.uid import generate_uid

from vesalius.model.errors import InvalidObject
from vesalius.model.matching import Condition, combine_date_time, condition_for

SCHEDULED = "SCHEDULED"
IN_PROGRESS = "IN PROGRESS"
COMPLETED = "COMPLETED"
DISCONTINUED = "DISCONTINUED"
STATES = (SCHEDULED, IN_PROGRESS, COMPLETED, DISCONTINUED)
"""Scheduled Procedure Step Status of an item, following its performed procedure step."""

STEP_SEQUENCE = "ScheduledProcedureStepSequence"
STEP_KEYS = (
    "ScheduledStationAETitle",
    "ScheduledStationName",
    "ScheduledProcedureStepStartDate",
    "ScheduledProcedureStepStartTime",
    "Modality",
    "ScheduledPerformingPhysicianName",
    "ScheduledProcedureStepDescription",
    "ScheduledProcedureStepID",
    "ScheduledProcedureStepLocation",
    "ScheduledProcedureStepStatus",
)
"""Attributes of the Scheduled Procedure Step Sequence item (PS3.4 Table K.6-1)."""
ITEM_KEYS = (
    "PatientName",
    "PatientID",
    "IssuerOfPatientID",
    "PatientBirthDate",
    "PatientSex",
    "AccessionNumber",
    "ReferringPhysicianName",
    "RequestingPhysician",
    "RequestedProcedureID",
    "RequestedProcedureDescription",
    "RequestedProcedurePriority",
    "ReasonForTheRequestedProcedure",
    "StudyInstanceUID",
    "PlacerOrderNumberImagingServiceRequest",
    "FillerOrderNumberImagingServiceRequest",
    "AdmissionID",
    "CurrentPatientLocation",
)
"""Top-level attributes of an item that fields may set."""
FIELDS = ITEM_KEYS + STEP_KEYS
REQUIRED_FIELDS = ("PatientID", "PatientName")
MATCHED_KEYS = frozenset(
    (
        "PatientName",
        "PatientID",
        "AccessionNumber",
        "RequestedProcedureID",
        "StudyInstanceUID",
        "ScheduledStationAETitle",
        "Modality",
        "ScheduledProcedureStepStartDate",
        "ScheduledProcedureStepStartTime",
        "ScheduledPerformingPhysicianName",
        "ScheduledProcedureStepID",
        "ScheduledProcedureStepStatus",
    )
)
"""Keys whose values constrain a worklist query (held as index columns)."""
START_DATETIME = "ScheduledProcedureStepStartDateTime"
"""The keyword of the combined start date-time condition (not a DICOM attribute)."""
NOT_MATCHED = frozenset(("SpecificCharacterSet", "QueryRetrieveLevel"))
UTF8 = "ISO_IR 192"


@dataclass(frozen=True, slots=True)
class WorklistQuery:
    """What a worklist C-FIND asks: conditions (all must hold) and the identifier to answer."""

    conditions: tuple[Condition, ...]
    identifier: Dataset

    def condition(self, keyword: str) -> Condition | None:
        """The condition on ``keyword``, if any."""
        return next((c for c in self.conditions if c.keyword == keyword), None)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple | MultiValue):
        return "\\".join(str(v) for v in value)
    return str(value)


def vr_of(keyword: str) -> str:
    """The dictionary VR of a keyword."""
    return str(dictionary_VR(tag_for_keyword(keyword)))


def clean_fields(fields: Mapping[str, Any]) -> dict[str, str]:
    """Fields as text, checked: ``InvalidObject`` for a keyword that is not a field or a
    status that is not one of ``STATES``."""
    cleaned: dict[str, str] = {}
    for keyword, value in fields.items():
        if keyword not in FIELDS:
            raise InvalidObject(f"{keyword} is not a worklist field")
        cleaned[keyword] = "" if value is None else str(value).strip()
    status = cleaned.get("ScheduledProcedureStepStatus")
    if status and status not in STATES:
        raise InvalidObject(f"ScheduledProcedureStepStatus {status!r} is not one of {STATES}")
    for keyword in ("ScheduledProcedureStepStartDate", "PatientBirthDate"):
        date = cleaned.get(keyword, "")
        if date and not (len(date) == 8 and date.isdigit()):
            raise InvalidObject(f"{keyword} {date!r} is not a date YYYYMMDD")
    return cleaned


def complete_fields(fields: Mapping[str, Any]) -> dict[str, str]:
    """The fields of a new item: checked, with the defaults an item needs.

    A Study Instance UID is assigned here, at order time, so that images and
    performed procedure steps link to it; the Requested Procedure ID and the
    Scheduled Procedure Step ID default to the accession number; the status
    to SCHEDULED. ``InvalidObject`` when a required field is missing.
    """
    cleaned = clean_fields(fields)
    for keyword in REQUIRED_FIELDS:
        if not cleaned.get(keyword):
            raise InvalidObject(f"{keyword} is required for a worklist item")
    if not cleaned.get("StudyInstanceUID"):
        cleaned["StudyInstanceUID"] = generate_uid()
    accession = cleaned.get("AccessionNumber", "")
    if not cleaned.get("RequestedProcedureID"):
        cleaned["RequestedProcedureID"] = accession or cleaned["StudyInstanceUID"][-16:]
    if not cleaned.get("ScheduledProcedureStepID"):
        cleaned["ScheduledProcedureStepID"] = cleaned["RequestedProcedureID"]
    if not cleaned.get("ScheduledProcedureStepStatus"):
        cleaned["ScheduledProcedureStepStatus"] = SCHEDULED
    return cleaned


def item_dataset(fields: Mapping[str, str]) -> Dataset:
    """The worklist item of complete fields (``complete_fields``), as the SCP answers it."""
    item = Dataset()
    step = Dataset()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if not all(value.isascii() for value in fields.values()):
            item.SpecificCharacterSet = UTF8
        for keyword in ITEM_KEYS:
            setattr(item, keyword, fields.get(keyword, ""))
        for keyword in STEP_KEYS:
            setattr(step, keyword, fields.get(keyword, ""))
    item.ScheduledProcedureStepSequence = [step]
    return item


def item_fields(item: Dataset) -> dict[str, str]:
    """The flat fields of a worklist item (empty text for absent attributes)."""
    fields = {keyword: _text(item.get(keyword)) for keyword in ITEM_KEYS}
    steps = item.get(STEP_SEQUENCE) or [Dataset()]
    fields.update({keyword: _text(steps[0].get(keyword)) for keyword in STEP_KEYS})
    return fields


def parse_worklist_query(identifier: Dataset) -> WorklistQuery:
    """The conditions of a Modality Worklist C-FIND identifier (PS3.4 K.6.1.2).

    Keys at the top level and inside the one Scheduled Procedure Step Sequence
    item are matched alike; start date and time combine into one date-time
    range when either is a range. ``InvalidQuery`` for a malformed date or time.
    """
    conditions: list[Condition] = []
    for element in identifier:
        if element.tag.is_private or element.keyword in NOT_MATCHED:
            continue
        if element.keyword == STEP_SEQUENCE:
            items = list(element.value or [])
            if len(items) == 1:
                conditions.extend(_conditions(items[0]))
            continue
        conditions.extend(_conditions_of([element]))
    by_keyword = {c.keyword: c for c in conditions}
    combined = combine_date_time(
        by_keyword.get("ScheduledProcedureStepStartDate"),
        by_keyword.get("ScheduledProcedureStepStartTime"),
    )
    if combined is not None:
        conditions = [
            c
            for c in conditions
            if c.keyword
            not in ("ScheduledProcedureStepStartDate", "ScheduledProcedureStepStartTime")
        ]
        conditions.append(replace(combined, keyword=START_DATETIME, kind="range"))
    return WorklistQuery(tuple(conditions), identifier)


def _conditions(item: Dataset) -> list[Condition]:
    return _conditions_of(list(item))


def _conditions_of(elements: list[Any]) -> list[Condition]:
    found = []
    for element in elements:
        if element.keyword not in MATCHED_KEYS or element.VR == "SQ":
            continue
        condition = condition_for(element.keyword, element.VR, _text(element.value))
        if condition is not None:
            found.append(condition)
    return found


def answer(item: Dataset, identifier: Dataset, *, top: bool = True) -> Dataset:
    """The response to ``identifier`` for a matching ``item`` (PS3.4 K.6.1.2.2 and C.2.2.1):
    every key asked, with the item's value or empty; a sequence asked with one item
    answers each of the item's sequence items with the keys of that one; a sequence
    asked empty answers the whole sequence."""
    response = Dataset()
    if top and "SpecificCharacterSet" in item:
        response.SpecificCharacterSet = item.SpecificCharacterSet
    for element in identifier:
        if element.tag.is_private or element.keyword in NOT_MATCHED:
            continue
        if element.VR == "SQ":
            stored = item.get(element.tag)
            asked = list(element.value or [])
            if stored is None:
                response.add_new(element.tag, "SQ", [])
            elif not asked:
                response.add(stored)
            else:
                response.add_new(
                    element.tag, "SQ", [answer(i, asked[0], top=False) for i in stored.value]
                )
            continue
        if element.tag in item:
            response.add(item[element.tag])
        else:
            response.add_new(element.tag, element.VR, None)
    return response
