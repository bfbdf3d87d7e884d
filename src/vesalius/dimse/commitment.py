"""Storage Commitment Push Model (PS3.4 J.3) on the DICOM port: as SCP and as SCU's listener.

As SCP: an N-ACTION (Action Type 1) names a Transaction UID and the
instances to commit. The request is recorded as a job before it is answered,
then checked against the archive (``archive.commitment.check``) and
reported by N-EVENT-REPORT: Event Type 1 when all are committed, 2 with a
Failed SOP Sequence otherwise. The report goes on the same association while
the requester keeps it open; else the job runner calls the requester back
(``deliver_report``) on a new association, proposing the SCP role, with
retries and backoff.

As the SCU's listener: a peer that answers one of our requests later opens an
association to us and sends the N-EVENT-REPORT; ``handle_n_event_report``
records it in the job of that request.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from pydicom.dataset import Dataset
from pynetdicom import build_context, build_role
from pynetdicom.association import Association
from pynetdicom.dimse_messages import N_ACTION_RSP
from pynetdicom.events import Event
from pynetdicom.pdu_primitives import A_ABORT, A_P_ABORT, A_RELEASE

from vesalius import sopclasses
from vesalius.archive import commitment
from vesalius.archive.archive import Archive
from vesalius.archive.commitment import Reference, Verdict
from vesalius.archive.jobs import Job
from vesalius.archive.remote import RemoteError
from vesalius.dimse import scu, tls
from vesalius.dimse.association import origin_of
from vesalius.settings import Settings

LOG = logging.getLogger("vesalius.dimse.commitment")

RELEASE_GRACE = 0.2
"""Seconds to watch for a release before reporting on the association of the request."""
RELEASE_POLL = 0.01
ANSWER_TIMEOUT = 10.0
"""Seconds to wait for our N-ACTION response to leave before reporting after it."""
SAME_ASSOCIATION_TIMEOUT = 10.0
"""Seconds to wait for the requester's answer to a report on that association."""

REQUEST_COMMITMENT = 1
ALL_COMMITTED, SOME_FAILED = 1, 2
SUCCESS = 0x0000
PROCESSING_FAILURE = 0x0110
NO_SUCH_ACTION = 0x0123
MISSING_ATTRIBUTE = 0x0120
MISSING_ATTRIBUTE_VALUE = 0x0121
INVALID_ATTRIBUTE_VALUE = 0x0106


class InvalidRequest(Exception):
    """An N-ACTION or N-EVENT-REPORT that cannot be understood; ``status`` answers it."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def _references(items: Any, *, attribute: str) -> list[Reference]:
    if items is None:
        raise InvalidRequest(MISSING_ATTRIBUTE, f"{attribute} is missing")
    references = []
    for item in items:
        sop_class = str(item.get("ReferencedSOPClassUID", "") or "")
        sop_instance = str(item.get("ReferencedSOPInstanceUID", "") or "")
        if not sop_class or not sop_instance:
            raise InvalidRequest(
                MISSING_ATTRIBUTE_VALUE, f"an item of {attribute} lacks its SOP class or instance"
            )
        references.append(Reference(sop_class, sop_instance))
    return references


def parse_request(information: Dataset | None) -> tuple[str, list[Reference]]:
    """Transaction UID and references of an N-ACTION's Action Information."""
    if information is None:
        raise InvalidRequest(MISSING_ATTRIBUTE, "the N-ACTION carries no Action Information")
    if "TransactionUID" not in information:
        raise InvalidRequest(MISSING_ATTRIBUTE, "Transaction UID (0008,1195) is missing")
    transaction_uid = str(information.TransactionUID or "").strip()
    if not transaction_uid:
        raise InvalidRequest(MISSING_ATTRIBUTE_VALUE, "Transaction UID (0008,1195) is empty")
    references = _references(
        information.get("ReferencedSOPSequence"), attribute="Referenced SOP Sequence"
    )
    if not references:
        raise InvalidRequest(MISSING_ATTRIBUTE_VALUE, "Referenced SOP Sequence is empty")
    return transaction_uid, references


def request_dataset(transaction_uid: str, references: list[Reference]) -> Dataset:
    """The Action Information of a commitment request (PS3.4 J.3.2.1.2)."""
    information = Dataset()
    information.TransactionUID = transaction_uid
    information.ReferencedSOPSequence = [_item(r) for r in references]
    return information


def _item(reference: Reference, reason: int | None = None) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = reference.sop_class_uid
    item.ReferencedSOPInstanceUID = reference.sop_instance_uid
    if reason is not None:
        item.FailureReason = reason
    return item


def report_dataset(transaction_uid: str, verdict: Verdict) -> tuple[int, Dataset]:
    """Event Type and Event Information of the report of ``verdict`` (PS3.4 J.3.3.1.2)."""
    information = Dataset()
    information.TransactionUID = transaction_uid
    if verdict.committed:
        information.ReferencedSOPSequence = [_item(r) for r in verdict.committed]
    if verdict.failed:
        information.FailedSOPSequence = [_item(r, reason) for r, reason in verdict.failed]
        return SOME_FAILED, information
    return ALL_COMMITTED, information


def parse_report(information: Dataset | None) -> tuple[str, Verdict]:
    """Transaction UID and verdict of a report's Event Information."""
    if information is None or not str(information.get("TransactionUID", "") or ""):
        raise InvalidRequest(MISSING_ATTRIBUTE, "the report names no Transaction UID")
    verdict = Verdict()
    for item in information.get("ReferencedSOPSequence") or []:
        verdict.committed.append(
            Reference(str(item.ReferencedSOPClassUID), str(item.ReferencedSOPInstanceUID))
        )
    for item in information.get("FailedSOPSequence") or []:
        reference = Reference(str(item.ReferencedSOPClassUID), str(item.ReferencedSOPInstanceUID))
        verdict.failed.append((reference, int(item.get("FailureReason", PROCESSING_FAILURE))))
    return str(information.TransactionUID), verdict


def send_report(assoc: Association, transaction_uid: str, verdict: Verdict) -> int | None:
    """Send the N-EVENT-REPORT of ``verdict``; the requester's status, None without one."""
    event_type, information = report_dataset(transaction_uid, verdict)
    answer, _reply = assoc.send_n_event_report(
        information,
        event_type,
        sopclasses.STORAGE_COMMITMENT_PUSH,
        sopclasses.STORAGE_COMMITMENT_INSTANCE,
    )
    return int(answer.Status) if "Status" in answer else None


def handle_n_action(event: Event, archive: Archive, settings: Settings) -> tuple[int, Any]:
    """Record a commitment request, answer it, then report on this association if we can."""
    if event.action_type != REQUEST_COMMITMENT:
        return NO_SUCH_ACTION, None
    try:
        transaction_uid, references = parse_request(event.action_information)
    except InvalidRequest as refused:
        LOG.warning("storage commitment request refused: %s", refused)
        return refused.status, None
    except Exception as exc:
        LOG.warning("storage commitment request unreadable: %s", exc)
        return PROCESSING_FAILURE, None
    requester = origin_of(event.assoc).calling_aet
    answered = _answers(event.assoc).expect()
    job, params = commitment.owe_report(archive, transaction_uid, requester, references)
    LOG.info(
        "storage commitment %s of %d instance(s) for %s recorded (job %d)",
        transaction_uid, len(references), requester, job.id,
    )  # fmt: skip
    worker = threading.Thread(
        target=_report_here,
        args=(event.assoc, archive, job, params, answered),
        name=f"commitment-{job.id}",
        daemon=True,
    )
    worker.start()
    return SUCCESS, None


def _report_here(
    assoc: Association, archive: Archive, job: Job, params: dict[str, Any], answered: int
) -> None:
    """Check, then report on the association of the request; else leave it to the runner."""
    transaction_uid = str(params["transaction_uid"])
    error = "the requester closed the association before the report"
    try:
        verdict = commitment.check(archive, commitment.references_from_params(params))
        # pynetdicom lets a handler's thread send at once; the report must follow the answer.
        if _answers(assoc).wait(answered, ANSWER_TIMEOUT) and _staying(assoc):
            assoc.dimse_timeout = SAME_ASSOCIATION_TIMEOUT
            status = send_report(assoc, transaction_uid, verdict)
            if status == SUCCESS:
                commitment.report_sent(job, verdict, "same association")
                return
            error = f"the requester answered the report with status {status}"
    except Exception as exc:
        error = f"report on the same association failed: {exc}"
    LOG.info("storage commitment %s: %s; calling back", transaction_uid, error)
    archive.jobs.defer(job, 0, error, params)  # the runner's attempts start now


class ActionAnswers:
    """Counts the N-ACTION responses sent on one association, for threads that must
    send after a given one (``expect`` in the handler, ``wait`` in the thread)."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._expected = 0
        self._sent = 0

    def expect(self) -> int:
        """The number the response now being prepared will have."""
        with self._condition:
            self._expected += 1
            return self._expected

    def sent(self) -> None:
        """One more N-ACTION response has left."""
        with self._condition:
            self._sent += 1
            self._condition.notify_all()

    def wait(self, number: int, timeout: float) -> bool:
        """True once response ``number`` has left (False after ``timeout``)."""
        with self._condition:
            return self._condition.wait_for(lambda: self._sent >= number, timeout)


def _answers(assoc: Association) -> ActionAnswers:
    answers = getattr(assoc, "_vesalius_action_answers", None)
    if answers is None:
        answers = ActionAnswers()
        assoc._vesalius_action_answers = answers  # type: ignore[attr-defined]
    return answers


def on_dimse_sent(event: Event) -> None:
    """Note each N-ACTION response sent (the report of a commitment waits for it)."""
    if isinstance(event.message, N_ACTION_RSP):
        _answers(event.assoc).sent()


def _staying(assoc: Association) -> bool:
    """True when the requester keeps the association open for the report.

    A requester that releases right after our answer would otherwise meet our
    report while it waits for its release to be confirmed, and both sides
    would wait for each other until a timeout. The release request is looked
    at (not taken: the reactor answers it) for up to ``RELEASE_GRACE``.
    """
    deadline = time.monotonic() + RELEASE_GRACE
    while assoc.is_established:
        waiting = assoc.dul.peek_next_pdu()
        if isinstance(waiting, A_RELEASE | A_ABORT | A_P_ABORT):
            return False
        if time.monotonic() >= deadline:
            return True
        time.sleep(RELEASE_POLL)
    return False


def deliver_report(archive: Archive, settings: Settings, job: Job, params: dict[str, Any]) -> str:
    """Report a commitment on a new association to its requester's ``[[peers]]`` entry.

    Returns how it was delivered; ``RemoteError`` when it could not be.
    """
    requester = str(params.get("requester", ""))
    peer = next((p for p in settings.peers if p.ae_title == requester), None)
    if peer is None:
        raise RemoteError(f"no [[peers]] entry has the AE title {requester!r}: cannot call it")
    verdict = commitment.check(archive, commitment.references_from_params(params))
    target = scu.Target(
        peer.host, peer.port, peer.ae_title, settings.dicom.ae_title, tls.for_peer(settings, peer)
    )
    role = build_role(sopclasses.STORAGE_COMMITMENT_PUSH, scp_role=True, scu_role=False)
    try:
        assoc = scu.open_association(
            scu.client_ae(settings.dicom.ae_title),
            target,
            [build_context(sopclasses.STORAGE_COMMITMENT_PUSH)],
            ext_neg=[role],
        )
    except scu.ScuError as exc:
        raise RemoteError(str(exc)) from exc
    try:
        status = send_report(assoc, str(params["transaction_uid"]), verdict)
    finally:
        if assoc.is_established:
            assoc.release()
    if status != SUCCESS:
        raise RemoteError(f"{target} answered the report with status {status}")
    commitment.report_sent(job, verdict, "new association")
    return "new association"


def handle_n_event_report(event: Event, archive: Archive) -> tuple[int, Any]:
    """A peer reports on a commitment we asked of it: record it in the request's job."""
    if event.request.AffectedSOPClassUID != sopclasses.STORAGE_COMMITMENT_PUSH:
        return PROCESSING_FAILURE, None
    try:
        transaction_uid, verdict = parse_report(event.event_information)
    except InvalidRequest as refused:
        LOG.warning("storage commitment report refused: %s", refused)
        return refused.status, None
    except Exception as exc:
        LOG.warning("storage commitment report unreadable: %s", exc)
        return PROCESSING_FAILURE, None
    if not commitment.report_received(archive, transaction_uid, verdict):
        LOG.warning(
            "storage commitment report for a transaction we did not ask: %s", transaction_uid
        )
        return INVALID_ATTRIBUTE_VALUE, None
    LOG.info(
        "storage commitment %s reported: %d committed, %d failed",
        transaction_uid, len(verdict.committed), len(verdict.failed),
    )  # fmt: skip
    return SUCCESS, None
