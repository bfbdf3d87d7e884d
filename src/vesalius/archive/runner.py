"""The job runner: a thread that takes queued send, retrieve and commitment-report jobs.

Jobs are rows of the index (``archive.jobs``); the runner claims the oldest
``pending`` one of its kinds (a claim succeeds only while the row is still
pending, so a job cancelled before it starts is never run), hands it to the
``RemoteAEs`` implementation, and finishes it ``done``, ``failed`` or
``cancelled``. One job runs at a time: outbound associations are few and long,
and one at a time keeps a peer from being flooded by its own archive.

Between instances the work asks ``cancelled()``, which reads the job's row
(at most every ``CANCEL_CHECK_INTERVAL`` seconds); when someone has cancelled
it, the work stops and the job stays ``cancelled``.

Several nodes may run over one index: each claims under a lease that
``archive.jobs`` renews while the job runs (``vesalius.archive.jobs``). A job
left ``running`` by a node that stopped is claimed again once its lease runs
out and done again from the start: a send sends every instance again, a
retrieve asks its C-MOVE again, a commitment report or HL7 message is
delivered again. Jobs no runner can take up (a C-MOVE or C-GET serving an
association, an export) are failed instead: the runner looks for them every
third of the lease. A failed delivery of a report or message is queued again
with retries and backoff (``archive.commitment``, ``archive.completion``).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from vesalius.archive import commitment, completion
from vesalius.archive.archive import Archive
from vesalius.archive.completion import HL7, Outbox
from vesalius.archive.jobs import Job
from vesalius.archive.remote import COMMITMENT, KINDS, RETRIEVE, SEND, Outcome, RemoteAEs
from vesalius.model.errors import ArchiveError

LOG = logging.getLogger("vesalius.jobs")

POLL_INTERVAL = 0.25
"""Seconds between two looks for pending jobs while idle (one indexed read each)."""
CANCEL_CHECK_INTERVAL = 0.25
"""Seconds between two reads of a running job's state."""
MAX_ERRORS_SHOWN = 3


class CancelWatch:
    """``cancelled()`` for one job: True once its row says ``cancelled``.

    Reads the row at most every ``interval`` seconds, so that asking after each
    instance costs nothing on a fast send.
    """

    def __init__(
        self,
        archive: Archive,
        job_id: int,
        interval: float = CANCEL_CHECK_INTERVAL,
        *,
        job: Job | None = None,
    ) -> None:
        self.archive = archive
        self.job_id = job_id
        self.job = job
        self.interval = interval
        self._checked = 0.0
        self._cancelled = False

    def __call__(self) -> bool:
        """True when the job was cancelled (sticky once seen)."""
        now = time.monotonic()
        if not self._cancelled and now - self._checked >= self.interval:
            self._checked = now
            self._cancelled = self.read()
        return self._cancelled

    def read(self) -> bool:
        """Read the row now: True when it is ``cancelled`` (or another node took ``job``
        over, its lease having run out here)."""
        if self.job is not None and self.job.lost:
            return True
        row = self.archive.jobs.get(self.job_id)
        return row is not None and row.state == "cancelled"


class JobRunner:
    """Runs queued ``send`` and ``retrieve`` jobs of ``archive`` through ``remote``, and
    ``hl7`` completion messages through ``outbox`` when there is one."""

    def __init__(
        self,
        archive: Archive,
        remote: RemoteAEs,
        poll_interval: float = POLL_INTERVAL,
        *,
        outbox: Outbox | None = None,
    ) -> None:
        self.archive = archive
        self.remote = remote
        self.outbox = outbox
        self.kinds = KINDS + ((HL7,) if outbox is not None else ())
        self.poll_interval = poll_interval
        self._reaped = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="jobs", daemon=True)

    def start(self) -> JobRunner:
        """Take jobs in the background."""
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Take no more jobs; wait a while for the one running (it is left ``running``
        if it does not end in time, for a node to take up when its lease runs out)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                ran = self.run_once()
            except Exception:
                LOG.exception("job runner: could not take a job")
                ran = False
            if not ran:
                self._stop.wait(self.poll_interval)

    def run_once(self) -> bool:
        """Claim one pending job and run it to its end; False when none was waiting.

        While idle, every third of the lease, it also fails the jobs no runner
        can take up whose node stopped (``Jobs.fail_abandoned``).
        """
        claimed = self.archive.jobs.claim(self.kinds)
        if claimed is None:
            now = time.monotonic()
            if now - self._reaped >= self.archive.jobs.lease_s / 3:
                self._reaped = now
                self.archive.jobs.fail_abandoned()
            return False
        job, kind, params = claimed
        self.run(job, kind, params)
        return True

    def run(self, job: Job, kind: str, params: dict[str, Any]) -> None:
        """Do one claimed job and finish it; never raises."""
        if kind == COMMITMENT:
            self._report(job, params)
            return
        if kind == HL7 and self.outbox is not None:
            self._deliver(self.outbox, job, params)
            return
        watch = CancelWatch(self.archive, job.id, job=job)
        peer = str(params.get("peer", ""))
        studies = [str(uid) for uid in params.get("studies") or []]
        try:
            if kind == SEND:
                outcome = self.remote.send(job, peer, studies, watch)
            elif kind == RETRIEVE:
                outcome = self.remote.retrieve(job, peer, studies, watch)
            else:
                raise ArchiveError(f"no runner for jobs of kind {kind!r}")
        except ArchiveError as exc:
            LOG.warning("job %d (%s) failed: %s", job.id, kind, exc)
            self._finish(job, watch, Outcome(errors=[str(exc)]))
            return
        except Exception as exc:
            LOG.exception("job %d (%s) failed", job.id, kind)
            self._finish(job, watch, Outcome(errors=[f"internal error: {exc}"]))
            return
        self._finish(job, watch, outcome)

    def _report(self, job: Job, params: dict[str, Any]) -> None:
        """Deliver a storage commitment report; on failure queue it again with backoff."""
        try:
            self.remote.report_commitment(job, params)
        except Exception as exc:
            settings = self.archive.settings.commitment
            queued = commitment.defer_report(
                self.archive, job, params, str(exc),
                retries=settings.report_retries, interval_s=settings.retry_interval_s,
            )  # fmt: skip
            LOG.warning(
                "job %d: storage commitment report not delivered (%s)%s",
                job.id, exc, "; will try again" if queued else "; giving up",
            )  # fmt: skip

    def _deliver(self, outbox: Outbox, job: Job, params: dict[str, Any]) -> None:
        """Send a completion message; until the RIS acknowledges it, queue it again."""
        try:
            control_id = outbox.deliver(params)
        except Exception as exc:
            queued = completion.defer_completion(self.archive, job, params, str(exc))
            LOG.warning(
                "job %d: completion message not acknowledged (%s)%s",
                job.id, exc, "; will try again" if queued else "; giving up",
            )  # fmt: skip
            return
        job.progress(done=1, failed=0, warning=0, total=1)
        job.finish(
            "done",
            result={"message_control_id": control_id, "attempts": params.get("attempts", 0) + 1},
        )

    def _finish(self, job: Job, watch: CancelWatch, outcome: Outcome) -> None:
        if job.lost:
            LOG.warning("job %d (%d done) given up: another node took it over", job.id, job.done)
            return
        if outcome.cancelled or watch.read():
            job.finish("cancelled", error="cancelled", result=outcome.result)
        elif outcome.errors or job.failed:
            job.finish("failed", error=_summary(outcome.errors, job), result=outcome.result)
        else:
            job.finish("done", result=outcome.result)
        LOG.info(
            "job %d %s: %d done, %d failed of %d",
            job.id,
            job.state,
            job.done,
            job.failed,
            job.total,
        )


def _summary(errors: list[str], job: Job) -> str:
    """One line: how many failed, and the first few reasons."""
    shown = "; ".join(errors[:MAX_ERRORS_SHOWN])
    if len(errors) > MAX_ERRORS_SHOWN:
        shown += f"; and {len(errors) - MAX_ERRORS_SHOWN} more"
    if job.failed:
        counts = f"{job.failed} of {job.total} instance(s) failed"
        return f"{counts}: {shown}" if shown else counts
    return shown
