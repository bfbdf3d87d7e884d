"""Ask a peer to commit to keeping instances (Storage Commitment Push Model as SCU).

``request_commitment`` sends the N-ACTION and waits, for at most ``wait_s``,
for the peer's N-EVENT-REPORT on the same association. When an archive is
given, the request is recorded as a ``commit-request`` job first, so that a
report the peer sends later, on a new association to our own DICOM port, is
matched to it (``commitment.handle_n_event_report`` on the server side).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from pydicom.uid import generate_uid
from pynetdicom import build_context, evt
from pynetdicom.dimse_messages import N_EVENT_REPORT_RSP
from pynetdicom.events import Event

from vesalius import IMPLEMENTATION_CLASS_UID, sopclasses
from vesalius.archive import commitment
from vesalius.archive.archive import Archive
from vesalius.archive.commitment import Reference, Verdict
from vesalius.dimse.commitment import (
    REQUEST_COMMITMENT,
    SUCCESS,
    parse_report,
    request_dataset,
)
from vesalius.dimse.scu import ScuError, Target, client_ae, open_association

ANSWER_TIMEOUT = 10.0


@dataclass(slots=True)
class CommitOutcome:
    """A commitment asked: its Transaction UID, and the peer's verdict if it came in time."""

    transaction_uid: str
    verdict: Verdict | None
    job_id: int | None = None


def request_commitment(
    target: Target,
    references: list[Reference],
    *,
    wait_s: float,
    archive: Archive | None = None,
) -> CommitOutcome:
    """Ask ``target`` to commit ``references``; ``ScuError`` if it refuses the request."""
    transaction_uid = generate_uid(prefix=IMPLEMENTATION_CLASS_UID + ".")
    job = (
        commitment.await_report(archive, transaction_uid, str(target), references)
        if archive is not None
        else None
    )
    received: dict[str, Verdict] = {}
    arrived, answered = threading.Event(), threading.Event()

    def on_report(event: Event) -> tuple[int, Any]:
        uid, verdict = parse_report(event.event_information)
        if uid != transaction_uid:
            return 0x0106, None  # not the transaction of this association
        received["verdict"] = verdict
        if archive is not None:
            commitment.report_received(archive, transaction_uid, verdict)
        arrived.set()
        return SUCCESS, None

    def on_sent(event: Event) -> None:
        if isinstance(event.message, N_EVENT_REPORT_RSP):
            answered.set()

    assoc = open_association(
        client_ae(target.calling_aet),
        target,
        [build_context(sopclasses.STORAGE_COMMITMENT_PUSH)],
        handlers=[(evt.EVT_N_EVENT_REPORT, on_report), (evt.EVT_DIMSE_SENT, on_sent)],
    )
    try:
        status, _reply = assoc.send_n_action(
            request_dataset(transaction_uid, references),
            REQUEST_COMMITMENT,
            sopclasses.STORAGE_COMMITMENT_PUSH,
            sopclasses.STORAGE_COMMITMENT_INSTANCE,
        )
        code = int(status.Status) if "Status" in status else None
        if code != SUCCESS:
            if job is not None:
                job.finish("failed", error=f"the peer answered the request with {code}")
            raise ScuError(f"{target} refused the commitment request (status {code})")
        if arrived.wait(wait_s):
            answered.wait(ANSWER_TIMEOUT)  # release only after our answer to the report
    finally:
        if assoc.is_established:
            assoc.release()
    return CommitOutcome(transaction_uid, received.get("verdict"), job.id if job else None)
