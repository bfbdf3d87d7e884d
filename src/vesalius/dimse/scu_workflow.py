"""The client side of scheduled workflow: Modality Worklist C-FIND, and MPPS N-CREATE / N-SET.

With these Vesalius acts as a modality toward a RIS: it pulls its worklist,
then reports a performed procedure step as it starts (N-CREATE, IN PROGRESS)
and ends (N-SET, COMPLETED or DISCONTINUED). ``step_attributes`` and
``final_attributes`` build the data sets PS3.4 F.7.2 asks for.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from pynetdicom import build_context

from vesalius import sopclasses
from vesalius.dimse.scu import LITTLE_ENDIAN, ScuError, Target, client_ae, open_association

PENDING = (0xFF00, 0xFF01)


@dataclass(frozen=True, slots=True)
class Answer:
    """A DIMSE-N answer: status, Error Comment, and the attributes it carried."""

    status: int
    comment: str = ""
    attributes: Dataset | None = None
    sop_instance_uid: str = ""

    @property
    def ok(self) -> bool:
        """True for success (0000) and warnings (0001, Bxxx)."""
        return self.status in (0x0000, 0x0001) or (self.status & 0xF000) == 0xB000

    def __str__(self) -> str:
        return f"{self.status:04X}" + (f" ({self.comment})" if self.comment else "")


def worklist_find(target: Target, identifier: Dataset) -> tuple[list[Dataset], int]:
    """C-FIND on the Modality Worklist model: the matches and the final status.
    ``ScuError`` when the association fails or the peer ends it without a final status."""
    ae = client_ae(target.calling_aet)
    context = build_context(sopclasses.MODALITY_WORKLIST_FIND, list(LITTLE_ENDIAN))
    assoc = open_association(ae, target, [context])
    matches: list[Dataset] = []
    final: int | None = None
    try:
        for status, found in assoc.send_c_find(identifier, sopclasses.MODALITY_WORKLIST_FIND):
            if "Status" not in status:
                break
            if int(status.Status) in PENDING:
                if found is not None:
                    matches.append(found)
                continue
            final = int(status.Status)
    finally:
        assoc.release()
    if final is None:
        raise ScuError(f"{target} ended the worklist query without a final status")
    return matches, final


def _answer(status: Dataset, attributes: Dataset | None, uid: str) -> Answer:
    if "Status" not in status:
        raise ScuError("the peer answered nothing (association aborted or timed out)")
    return Answer(int(status.Status), str(status.get("ErrorComment", "") or ""), attributes, uid)


def mpps_create(target: Target, attributes: Dataset, uid: str | None = None) -> Answer:
    """N-CREATE a performed procedure step (its UID made here unless given)."""
    uid = uid or generate_uid()
    ae = client_ae(target.calling_aet)
    assoc = open_association(ae, target, [build_context(sopclasses.MPPS, list(LITTLE_ENDIAN))])
    try:
        status, returned = assoc.send_n_create(attributes, sopclasses.MPPS, uid)
    finally:
        assoc.release()
    return _answer(status, returned, uid)


def mpps_set(target: Target, uid: str, modifications: Dataset) -> Answer:
    """N-SET attributes of a performed procedure step."""
    ae = client_ae(target.calling_aet)
    assoc = open_association(ae, target, [build_context(sopclasses.MPPS, list(LITTLE_ENDIAN))])
    try:
        status, returned = assoc.send_n_set(modifications, sopclasses.MPPS, uid)
    finally:
        assoc.release()
    return _answer(status, returned, uid)


def _now() -> tuple[str, str]:
    moment = dt.datetime.now()
    return moment.strftime("%Y%m%d"), moment.strftime("%H%M%S")


def step_attributes(
    item: dict[str, str], *, station_ae_title: str, modality: str = "", step_id: str = ""
) -> Dataset:
    """The N-CREATE attributes of a step IN PROGRESS for a worklist item's fields
    (PatientName, PatientID, StudyInstanceUID, AccessionNumber, ...; PS3.4 Table F.7.2-1)."""
    date, time = _now()
    step = Dataset()
    scheduled = Dataset()
    scheduled.StudyInstanceUID = item.get("StudyInstanceUID") or generate_uid()
    scheduled.AccessionNumber = item.get("AccessionNumber", "")
    scheduled.RequestedProcedureID = item.get("RequestedProcedureID", "")
    scheduled.RequestedProcedureDescription = item.get("RequestedProcedureDescription", "")
    scheduled.ScheduledProcedureStepID = item.get("ScheduledProcedureStepID", "")
    scheduled.ScheduledProcedureStepDescription = item.get("ScheduledProcedureStepDescription", "")
    scheduled.ReferencedStudySequence = []
    step.ScheduledStepAttributesSequence = [scheduled]
    step.PatientName = item.get("PatientName", "")
    step.PatientID = item.get("PatientID", "")
    step.PatientBirthDate = item.get("PatientBirthDate", "")
    step.PatientSex = item.get("PatientSex", "")
    step.ReferencedPatientSequence = []
    step.PerformedProcedureStepID = step_id or date + time
    step.PerformedStationAETitle = station_ae_title
    step.PerformedStationName = ""
    step.PerformedLocation = ""
    step.PerformedProcedureStepStartDate = date
    step.PerformedProcedureStepStartTime = time
    step.PerformedProcedureStepStatus = "IN PROGRESS"
    step.PerformedProcedureStepDescription = item.get("ScheduledProcedureStepDescription", "")
    step.PerformedProcedureTypeDescription = ""
    step.ProcedureCodeSequence = []
    step.PerformedProcedureStepEndDate = None
    step.PerformedProcedureStepEndTime = None
    step.Modality = modality or item.get("Modality", "") or "OT"
    step.StudyID = ""
    step.PerformedProtocolCodeSequence = []
    step.PerformedSeriesSequence = []
    return step


def final_attributes(status: str, series: list[Dataset] | None = None) -> Dataset:
    """The N-SET that ends a step: COMPLETED or DISCONTINUED, the end date and time now,
    and the performed series when given."""
    date, time = _now()
    modifications = Dataset()
    modifications.PerformedProcedureStepStatus = status
    modifications.PerformedProcedureStepEndDate = date
    modifications.PerformedProcedureStepEndTime = time
    if series is not None:
        modifications.PerformedSeriesSequence = series
    return modifications


def performed_series(series_uid: str, sop_class_uid: str, instance_uids: list[str]) -> Dataset:
    """One item of Performed Series Sequence: a series and its images."""
    item = Dataset()
    item.SeriesInstanceUID = series_uid
    item.SeriesDescription = ""
    item.PerformingPhysicianName = ""
    item.OperatorsName = ""
    item.ProtocolName = ""
    item.RetrieveAETitle = ""
    item.ReferencedNonImageCompositeSOPInstanceSequence = []
    images = []
    for uid in instance_uids:
        reference = Dataset()
        reference.ReferencedSOPClassUID = sop_class_uid
        reference.ReferencedSOPInstanceUID = uid
        images.append(reference)
    item.ReferencedImageSequence = images
    return item
