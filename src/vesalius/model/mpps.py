"""Modality Performed Procedure Step rules (PS3.4 F.7), as pure functions; no I/O.

A performed procedure step is created IN PROGRESS (N-CREATE), may be
changed while it is IN PROGRESS (N-SET), and ends COMPLETED or DISCONTINUED;
after that it may no longer be updated. Each refusal is an ``MppsError``
that carries the DIMSE status to answer, with the Error Comment (and Error ID)
PS3.4 F.7.2 names:

====  ==========================================================================
0106  Invalid attribute value: a status other than IN PROGRESS at creation, an
      unknown status, a change to an attribute N-SET may not touch
0110  Processing failure, "Performed Procedure Step Object may no longer be
      updated" (Error ID A710): an N-SET of a step that is COMPLETED or
      DISCONTINUED; also a final state without its end date and time
0111  Duplicate SOP Instance: an N-CREATE of a SOP Instance UID that exists
0112  No such SOP Instance: an N-SET of a step that does not exist
0120  Missing attribute: an N-CREATE without a Type 1 attribute
0121  Missing attribute value: a Type 1 attribute present but empty
====  ==========================================================================
"""

from __future__ import annotations

from pydicom.dataset import Dataset

IN_PROGRESS = "IN PROGRESS"
COMPLETED = "COMPLETED"
DISCONTINUED = "DISCONTINUED"
STATES = (IN_PROGRESS, COMPLETED, DISCONTINUED)
FINAL = (COMPLETED, DISCONTINUED)

INVALID_ATTRIBUTE_VALUE = 0x0106
PROCESSING_FAILURE = 0x0110
DUPLICATE_SOP_INSTANCE = 0x0111
NO_SUCH_SOP_INSTANCE = 0x0112
MISSING_ATTRIBUTE = 0x0120
MISSING_ATTRIBUTE_VALUE = 0x0121
MAY_NO_LONGER_BE_UPDATED = "Performed Procedure Step Object may no longer be updated"
MAY_NO_LONGER_BE_UPDATED_ID = 0xA710

CREATE_REQUIRED = (
    "ScheduledStepAttributesSequence",
    "PerformedProcedureStepID",
    "PerformedStationAETitle",
    "PerformedProcedureStepStartDate",
    "PerformedProcedureStepStartTime",
    "PerformedProcedureStepStatus",
    "Modality",
)
"""Type 1 attributes of an N-CREATE (PS3.4 Table F.7.2-1)."""
NOT_SETTABLE = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "PerformedProcedureStepID",
    "PerformedStationAETitle",
    "PerformedProcedureStepStartDate",
    "PerformedProcedureStepStartTime",
    "Modality",
    "StudyID",
)
"""Attributes an N-SET may not change ("Not allowed" in Table F.7.2-1); sent unchanged
they are accepted, as many modalities send the whole step again."""
FINAL_REQUIRED = ("PerformedProcedureStepEndDate", "PerformedProcedureStepEndTime")
"""What a step needs before it may become COMPLETED or DISCONTINUED (F.7.2.2.2)."""


class MppsError(Exception):
    """A request the MPPS rules refuse: ``status`` answers it, the message is the comment."""

    def __init__(self, status: int, comment: str, error_id: int | None = None) -> None:
        super().__init__(comment)
        self.status = status
        self.error_id = error_id


def _value(dataset: Dataset, keyword: str) -> str:
    element = dataset.get(keyword)
    return "" if element is None else str(element).strip()


def check_create(attributes: Dataset) -> None:
    """Refuse an N-CREATE attribute list that breaks the rules (see the module docstring)."""
    for keyword in CREATE_REQUIRED:
        if keyword not in attributes:
            raise MppsError(MISSING_ATTRIBUTE, f"{keyword} is missing")
        value = attributes[keyword].value
        if value is None or value == "" or (keyword.endswith("Sequence") and not value):
            raise MppsError(MISSING_ATTRIBUTE_VALUE, f"{keyword} is empty")
    for item in attributes.ScheduledStepAttributesSequence:
        if not str(item.get("StudyInstanceUID", "") or ""):
            raise MppsError(
                MISSING_ATTRIBUTE_VALUE, "a Scheduled Step Attributes item lacks StudyInstanceUID"
            )
    status = _value(attributes, "PerformedProcedureStepStatus")
    if status != IN_PROGRESS:
        raise MppsError(
            INVALID_ATTRIBUTE_VALUE, f"a step is created IN PROGRESS, not {status or 'empty'}"
        )


def apply_set(current: Dataset, modifications: Dataset) -> Dataset:
    """The step after an N-SET of ``modifications``; ``MppsError`` when refused.

    Only a step IN PROGRESS may change; its status may stay IN PROGRESS or
    become final, and a final status needs the end date and time.
    """
    status = _value(current, "PerformedProcedureStepStatus")
    if status in FINAL:
        raise MppsError(
            PROCESSING_FAILURE, MAY_NO_LONGER_BE_UPDATED, error_id=MAY_NO_LONGER_BE_UPDATED_ID
        )
    for keyword in NOT_SETTABLE:
        if keyword in modifications and _value(modifications, keyword) != _value(current, keyword):
            raise MppsError(INVALID_ATTRIBUTE_VALUE, f"{keyword} may not be changed by N-SET")
    new_status = _value(modifications, "PerformedProcedureStepStatus") or status
    if new_status not in STATES:
        raise MppsError(
            INVALID_ATTRIBUTE_VALUE, f"PerformedProcedureStepStatus {new_status!r} is unknown"
        )
    updated = Dataset()
    updated.update(current)
    for element in modifications:
        updated[element.tag] = element
    if new_status in FINAL:
        missing = [k for k in FINAL_REQUIRED if not _value(updated, k)]
        if missing:
            raise MppsError(PROCESSING_FAILURE, f"{new_status} needs {' and '.join(missing)}")
    return updated


def status_of(step: Dataset) -> str:
    """The Performed Procedure Step Status of a step."""
    return _value(step, "PerformedProcedureStepStatus")
