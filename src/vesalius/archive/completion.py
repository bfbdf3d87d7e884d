"""Completion messages: telling the RIS that a procedure step ended, through the job queue.

When a performed procedure step becomes COMPLETED or DISCONTINUED, the core
records an ``hl7`` job (``queue_completion``) holding what the message needs:
the order (placer and filler numbers, accession, patient) and the step (its
status, UID, end date and time, series). The job runner hands it to an
``Outbox`` (the HL7 side door builds the message and sends it over MLLP),
and, until the RIS acknowledges it, puts it back with a growing delay
(``defer_completion``). The jobs survive restarts and show in ``/api/jobs``.

The core knows no HL7: the ``Outbox`` protocol is all it asks of the side door.
"""

from __future__ import annotations

from typing import Any, Protocol

from pydicom.dataset import Dataset

from vesalius.archive.archive import Archive
from vesalius.archive.jobs import Job
from vesalius.settings import Hl7Settings

HL7 = "hl7"
"""The kind of a completion message job."""


class Outbox(Protocol):
    """Delivers completion messages to the RIS (implemented by ``vesalius.hl7.sender``)."""

    def deliver(self, params: dict[str, Any]) -> str:
        """Send the message of a job's ``params`` and wait for its acknowledgement; the
        message control ID. ``RemoteError`` when it was not acknowledged (AA or CA)."""
        ...


def _text(dataset: Dataset, keyword: str) -> str:
    value = dataset.get(keyword)
    return "" if value is None else str(value)


def completion_params(
    order: dict[str, str], step: Dataset, sop_instance_uid: str
) -> dict[str, Any]:
    """What a completion message says, as a job's params: the order's fields and the step's."""
    series = [
        {
            "SeriesInstanceUID": _text(item, "SeriesInstanceUID"),
            "SeriesDescription": _text(item, "SeriesDescription"),
            "Images": len(item.get("ReferencedImageSequence") or []),
        }
        for item in step.get("PerformedSeriesSequence") or []
    ]
    return {
        "order": order,
        "step": {
            "SOPInstanceUID": sop_instance_uid,
            "PerformedProcedureStepStatus": _text(step, "PerformedProcedureStepStatus"),
            "PerformedProcedureStepID": _text(step, "PerformedProcedureStepID"),
            "PerformedStationAETitle": _text(step, "PerformedStationAETitle"),
            "PerformedProcedureStepStartDate": _text(step, "PerformedProcedureStepStartDate"),
            "PerformedProcedureStepStartTime": _text(step, "PerformedProcedureStepStartTime"),
            "PerformedProcedureStepEndDate": _text(step, "PerformedProcedureStepEndDate"),
            "PerformedProcedureStepEndTime": _text(step, "PerformedProcedureStepEndTime"),
            "PerformedProcedureStepDescription": _text(step, "PerformedProcedureStepDescription"),
            "Modality": _text(step, "Modality"),
            "series": series,
        },
        "attempts": 0,
    }


def queue_completion(archive: Archive, params: dict[str, Any]) -> Job | None:
    """A pending ``hl7`` job for the runner, or None when no RIS is configured."""
    settings = archive.settings.hl7
    if not settings.ris_host or not settings.ris_port:
        return None
    order = params["order"]
    status = params["step"]["PerformedProcedureStepStatus"].lower()
    number = (
        order.get("AccessionNumber")
        or order.get("PlacerOrderNumberImagingServiceRequest")
        or params["step"]["SOPInstanceUID"]
    )
    return archive.jobs.create(
        HL7,
        f"tell {settings.ris_host}:{settings.ris_port} that order {number} is {status}",
        owner=settings.ris_application,
        params=params,
        reference=params["step"]["SOPInstanceUID"][:64],
    )


def retry_delay(settings: Hl7Settings, attempts: int) -> float:
    """Seconds before attempt ``attempts + 1``: the interval, doubled per failure, capped."""
    return min(settings.retry_interval_s * 2 ** max(attempts - 1, 0), settings.retry_max_interval_s)


def defer_completion(archive: Archive, job: Job, params: dict[str, Any], error: str) -> bool:
    """A message was not acknowledged: queue it again with backoff, or fail the job after
    ``[hl7] max_attempts`` (0: never). True when queued again."""
    settings = archive.settings.hl7
    attempts = int(params.get("attempts", 0)) + 1
    params = {**params, "attempts": attempts}
    if settings.max_attempts and attempts >= settings.max_attempts:
        job.finish("failed", error=f"not acknowledged after {attempts} attempt(s): {error}")
        return False
    archive.jobs.defer(job, retry_delay(settings, attempts), f"attempt {attempts}: {error}", params)
    return True
