"""Storage commitment (PS3.4 Annex J): what the archive holds safely, and the durable
record of commitments asked of it and by it.

An instance is committed when its index row is there (written only after its
file and the file's name were fsynced, ``docs/storage.md``), its SOP class is
the one the requester names, and its file can be opened and starts as a
Part 10 file. Anything else fails with the reason of PS3.4 J.3.3.1.3:
0112 no such object instance, 0119 class/instance conflict, 0110 processing
failure.

Both directions are jobs of the index, found by their Transaction UID:

- ``commitment``: a report we owe a requester (we are the SCP). Recorded
  before the N-ACTION is answered, so it survives a restart; done when the
  N-EVENT-REPORT was accepted; retried with backoff until
  ``[commitment] report_retries`` attempts failed.
- ``commit-request``: a report we wait for (we asked, as SCU); done when the
  peer's N-EVENT-REPORT arrives, on the association of the request or later
  on our own DICOM port.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vesalius.archive.archive import Archive
from vesalius.archive.jobs import Job

COMMITMENT = "commitment"
COMMIT_REQUEST = "commit-request"
NO_SUCH_OBJECT = 0x0112
CLASS_INSTANCE_CONFLICT = 0x0119
PROCESSING_FAILURE = 0x0110
PART10_MAGIC = b"DICM"


@dataclass(frozen=True, slots=True)
class Reference:
    """One referenced instance: its SOP Class and SOP Instance UIDs."""

    sop_class_uid: str
    sop_instance_uid: str


@dataclass(slots=True)
class Verdict:
    """What a commitment covers: the committed references, the failed ones with a reason."""

    committed: list[Reference] = field(default_factory=list)
    failed: list[tuple[Reference, int]] = field(default_factory=list)

    def as_result(self) -> dict[str, Any]:
        """The verdict as a job result (JSON-able)."""
        return {
            "committed": [[r.sop_class_uid, r.sop_instance_uid] for r in self.committed],
            "failed": [[r.sop_class_uid, r.sop_instance_uid, reason] for r, reason in self.failed],
        }

    @classmethod
    def from_result(cls, result: dict[str, Any]) -> Verdict:
        """The verdict a job result holds."""
        return cls(
            [Reference(c, i) for c, i in result.get("committed", [])],
            [(Reference(c, i), int(reason)) for c, i, reason in result.get("failed", [])],
        )


def references_to_params(references: list[Reference]) -> list[list[str]]:
    """References as they are kept in a job's params."""
    return [[r.sop_class_uid, r.sop_instance_uid] for r in references]


def references_from_params(params: dict[str, Any]) -> list[Reference]:
    """The references a job's params hold."""
    return [Reference(c, i) for c, i in params.get("references", [])]


def check(archive: Archive, references: list[Reference]) -> Verdict:
    """Which of ``references`` the archive holds safely, and why the others fail."""
    uids = [r.sop_instance_uid for r in references]
    stored = {i.sop_instance_uid: i for i in archive.instances(sop_instance_uids=uids)}
    verdict = Verdict()
    for reference in references:
        instance = stored.get(reference.sop_instance_uid)
        if instance is None:
            verdict.failed.append((reference, NO_SUCH_OBJECT))
        elif instance.sop_class_uid != reference.sop_class_uid:
            verdict.failed.append((reference, CLASS_INSTANCE_CONFLICT))
        elif not _readable(archive, instance):
            verdict.failed.append((reference, PROCESSING_FAILURE))
        else:
            verdict.committed.append(reference)
    return verdict


def _readable(archive: Archive, instance: Any) -> bool:
    try:
        with archive.open_stored(instance) as stored:
            return stored.read(132)[128:132] == PART10_MAGIC
    except OSError:
        return False


def owe_report(
    archive: Archive, transaction_uid: str, requester: str, references: list[Reference]
) -> tuple[Job, dict[str, Any]]:
    """Record a request we must answer with a report (durably, before answering it).

    The job is ``running``: the process that received the request tries first
    on the same association; ``defer_report`` hands it to the runner.
    """
    params = {
        "transaction_uid": transaction_uid,
        "requester": requester,
        "references": references_to_params(references),
        "attempts": 0,
    }
    job = archive.jobs.create(
        COMMITMENT,
        f"storage commitment of {len(references)} instance(s) for {requester}",
        owner=requester,
        params=params,
        reference=transaction_uid,
        running=True,
    )
    job.start(len(references))
    return job, params


def report_sent(job: Job, verdict: Verdict, how: str) -> None:
    """The requester accepted our report: the job is done."""
    job.progress(done=len(verdict.committed), failed=len(verdict.failed), warning=0)
    job.finish("done", result={**verdict.as_result(), "delivered": how})


def defer_report(
    archive: Archive,
    job: Job,
    params: dict[str, Any],
    error: str,
    *,
    retries: int,
    interval_s: float,
) -> bool:
    """A report could not be delivered: queue it again with backoff (interval, doubled
    each time), or fail the job after ``retries`` attempts. True when queued again."""
    attempts = int(params.get("attempts", 0)) + 1
    params = {**params, "attempts": attempts}
    if attempts > retries:
        job.finish("failed", error=f"report not delivered after {attempts} attempt(s): {error}")
        return False
    archive.jobs.defer(
        job, interval_s * 2 ** (attempts - 1), f"attempt {attempts}: {error}", params
    )
    return True


def await_report(
    archive: Archive, transaction_uid: str, peer: str, references: list[Reference]
) -> Job:
    """Record a commitment we asked of ``peer``, to match its report when it comes."""
    job = archive.jobs.create(
        COMMIT_REQUEST,
        f"storage commitment of {len(references)} instance(s) asked of {peer}",
        owner=peer,
        params={"transaction_uid": transaction_uid, "references": references_to_params(references)},
        reference=transaction_uid,
        running=True,
    )
    job.start(len(references))
    return job


def report_received(archive: Archive, transaction_uid: str, verdict: Verdict) -> bool:
    """A peer's report for a commitment we asked: recorded in its job; False when we
    asked no such commitment."""
    row = archive.jobs.find(COMMIT_REQUEST, transaction_uid)
    if row is None:
        return False
    job = Job(archive.jobs.table, row.id)
    job.total = row.total
    job.progress(done=len(verdict.committed), failed=len(verdict.failed), warning=0)
    error = f"{len(verdict.failed)} instance(s) not committed" if verdict.failed else ""
    job.finish("done", error=error, result=verdict.as_result())
    return True
