"""Performed procedure steps (PS3.4 F.7): their state, the worklist item each reports on,
and the completion message each final one owes the RIS.

``create`` records a step IN PROGRESS and moves the worklist item it names
(by Study Instance UID and Scheduled Procedure Step ID of its Scheduled Step
Attributes Sequence) to IN PROGRESS; ``update`` applies an N-SET, and a step
that becomes COMPLETED or DISCONTINUED takes its item there too and queues the
completion message (``archive.completion``). The rules and their statuses are
``model.mpps``; refusals raise its ``MppsError``.
"""

from __future__ import annotations

import logging

from pydicom.dataset import Dataset

from vesalius.archive import completion, worklist
from vesalius.archive.archive import Archive
from vesalius.index.worklist import MppsRow, WorklistRow
from vesalius.model.errors import NotFound
from vesalius.model.mpps import (
    DUPLICATE_SOP_INSTANCE,
    FINAL,
    IN_PROGRESS,
    NO_SUCH_SOP_INSTANCE,
    MppsError,
    apply_set,
    check_create,
    status_of,
)

LOG = logging.getLogger("vesalius.mpps")
REFERENCE_KEYS = (
    "StudyInstanceUID",
    "AccessionNumber",
    "RequestedProcedureID",
    "ScheduledProcedureStepID",
    "PlacerOrderNumberImagingServiceRequest",
    "FillerOrderNumberImagingServiceRequest",
)


def _references(step: Dataset) -> list[dict[str, str]]:
    return [
        {key: str(item.get(key, "") or "") for key in REFERENCE_KEYS}
        for item in step.get("ScheduledStepAttributesSequence") or []
    ]


def create(archive: Archive, sop_instance_uid: str, attributes: Dataset) -> WorklistRow | None:
    """Record a new step IN PROGRESS; the worklist item it reports on, if any.

    ``MppsError`` for a refused request (missing attributes, a status other
    than IN PROGRESS, a SOP Instance UID that exists: 0111).
    """
    check_create(attributes)
    rows = worklist.table(archive)
    item = rows.for_step(_references(attributes))
    if not rows.add_step(sop_instance_uid, attributes, IN_PROGRESS, item.id if item else None):
        raise MppsError(DUPLICATE_SOP_INSTANCE, f"step {sop_instance_uid} exists already")
    if item is not None:
        worklist.set_status(archive, item.id, IN_PROGRESS, mpps_uid=sop_instance_uid)
    LOG.info("performed procedure step %s IN PROGRESS (worklist item %s)", sop_instance_uid,
             item.id if item else "none")  # fmt: skip
    return item


def update(archive: Archive, sop_instance_uid: str, modifications: Dataset) -> Dataset:
    """Apply an N-SET; the step as it now is. ``MppsError`` when refused (no such step:
    0112; a step already final: 0110; see ``model.mpps``)."""
    rows = worklist.table(archive)
    current = rows.step(sop_instance_uid)
    if current is None:
        raise MppsError(NO_SUCH_SOP_INSTANCE, f"no performed procedure step {sop_instance_uid}")
    step = apply_set(current.step(), modifications)
    status = status_of(step)
    rows.update_step(sop_instance_uid, step, status)
    if status in FINAL:
        _finished(archive, current, step, status)
    return step


def get(archive: Archive, sop_instance_uid: str) -> MppsRow | None:
    """One performed procedure step, or None."""
    return worklist.table(archive).step(sop_instance_uid)


def _finished(archive: Archive, row: MppsRow, step: Dataset, status: str) -> None:
    """A step ended: its item follows, and the RIS is to be told."""
    order: dict[str, str] = {}
    if row.worklist_id is not None:
        try:
            worklist.set_status(archive, row.worklist_id, status)
            order = worklist.get(archive, row.worklist_id).fields
        except NotFound:
            LOG.warning(
                "worklist item %d of step %s is gone", row.worklist_id, row.sop_instance_uid
            )
    if not order:
        order = _order_of(step)
    job = completion.queue_completion(
        archive, completion.completion_params(order, step, row.sop_instance_uid)
    )
    LOG.info("performed procedure step %s %s%s", row.sop_instance_uid, status,
             f"; completion message queued (job {job.id})" if job else "")  # fmt: skip


def _order_of(step: Dataset) -> dict[str, str]:
    """The order fields a step without a worklist item carries itself (unscheduled case)."""
    references = _references(step)
    order = dict(references[0]) if references else {}
    for keyword in ("PatientName", "PatientID", "PatientBirthDate", "PatientSex"):
        order[keyword] = str(step.get(keyword, "") or "")
    return order
