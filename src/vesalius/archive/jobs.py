"""Jobs: outbound work (C-MOVE and C-GET sub-operations, sends, exports, reports)
recorded durably in the index, with progress that the REST API can show.

A ``Job`` is the handle of one running job. Its counts change per instance,
but the row is written at most ``FLUSH_INTERVAL`` times a second (and at every
change of state), so that a fast move does not pay a durable commit per
instance.

Several nodes (``vesalius serve`` processes) share the queue. A job a process
works on is held under a lease: the row names the process (``NODE``, host and
PID) and until when it holds the job, and a heartbeat thread renews the leases
of the jobs held every third of ``lease_s``. When a node dies its leases run
out, and then:

- a job of the ``QUEUED`` kinds (send, retrieve, commitment report, HL7
  message) is claimed by the runner of any node and done again from the start:
  a send sends every instance again, a retrieve asks its C-MOVE again (what
  came already is a duplicate, kept once), a report or message is delivered
  again (the peer may see it twice);
- any other job (a C-MOVE or C-GET serving an association, an export, a
  commitment asked of a peer) is bound to the process that died and cannot go
  on elsewhere: a runner marks it failed (``ABANDONED``).

A node that lost a job this way (it stalled past its lease and another node
took over) learns it at its next renewal; its handle then writes nothing more.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
import threading
import time
from typing import Any

from vesalius.index.index import Index
from vesalius.index.jobs import JobRow, JobTable

LOG = logging.getLogger("vesalius.jobs")

FLUSH_INTERVAL = 0.25
LEASE_S = 30.0
"""How long a node holds a job without renewing its lease (``[jobs] lease_s``)."""
INTERRUPTED = "interrupted by a restart"
ABANDONED = "interrupted: its node stopped"
QUEUED = ("send", "retrieve", "commitment", "hl7")
"""Kinds of job that runners take from the queue, so that any node can take them up again
when the node holding them stops; other kinds are failed then."""


def node_id() -> str:
    """This process among the nodes sharing an index: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Leases:
    """The jobs this process holds, and the heartbeat thread that renews their leases.

    The thread runs while at least one job is held, waking every third of
    ``lease_s``; a job found no longer held (ended, or taken over) is dropped,
    and its handle marked ``lost`` unless it ended.
    """

    def __init__(self, table: JobTable, node: str, lease_s: float) -> None:
        self.table = table
        self.node = node
        self.lease_s = lease_s
        self._held: dict[int, Job] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def hold(self, job: Job) -> None:
        """Renew ``job``'s lease from now on, until it is released."""
        with self._lock:
            self._held[job.id] = job
            if self._thread is None:
                self._wake.clear()
                self._thread = threading.Thread(target=self._beat, name="leases", daemon=True)
                self._thread.start()

    def release(self, job: Job) -> None:
        """Stop renewing ``job``'s lease."""
        with self._lock:
            self._held.pop(job.id, None)
            if not self._held:
                self._wake.set()

    def close(self) -> None:
        """Renew nothing more (the index is closing); the leases held run out."""
        with self._lock:
            self._held.clear()
            self._wake.set()

    def held(self) -> list[int]:
        """The ids of the jobs held, oldest first."""
        with self._lock:
            return sorted(self._held)

    def renew(self) -> None:
        """Extend the lease of every job held now; drop those no longer ours."""
        ids = self.held()
        if not ids:
            return
        still = self.table.renew(self.node, ids, self.lease_s)
        with self._lock:
            for job_id in ids:
                job = self._held.get(job_id)
                if job_id in still or job is None:
                    continue
                del self._held[job_id]
                row = self.table.get(job_id)
                if row is not None and row.state in ("pending", "running"):
                    job.lost = True
                    LOG.warning("job %d: lease lost, %s took it over", job_id, row.node)

    def _beat(self) -> None:
        while True:
            self._wake.wait(self.lease_s / 3)
            with self._lock:
                self._wake.clear()
                if not self._held:
                    self._thread = None
                    return
            try:
                self.renew()
            except Exception as exc:  # the database away: try again at the next beat
                LOG.warning("could not renew the leases of jobs %s: %s", self.held(), exc)


class Job:
    """One job being worked on: counts in memory, written through now and then."""

    def __init__(
        self, table: JobTable, job_id: int, leases: Leases | None = None, *, held: bool = False
    ) -> None:
        self._table = table
        self.id = job_id
        self._leases = leases
        self.holder = leases.node if leases is not None and held else None
        """The node that holds the job, when this handle works on it under a lease."""
        self.lost = False
        """True once another node took the job over (this one's lease ran out)."""
        self.done = 0
        self.failed = 0
        self.warning = 0
        self.total = 0
        self.state = "pending"
        self._flushed = 0.0
        self._lock = threading.Lock()
        if leases is not None and held:
            leases.hold(self)

    def start(self, total: int) -> None:
        """The work is known (``total`` instances) and begins (here: this node holds the job
        from now on if it did not yet)."""
        self.total = total
        self.state = "running"
        self._flushed = time.monotonic()
        if self._leases is None or self.holder is not None:
            self._write(state="running", total=total)
            return
        self.holder = self._leases.node
        lease = dt.timedelta(seconds=self._leases.lease_s)
        until = dt.datetime.now(dt.UTC).replace(tzinfo=None) + lease
        self._table.update(
            self.id, state="running", total=total, node=self.holder, lease_until=until
        )
        self._leases.hold(self)

    def progress(self, *, done: int, failed: int, warning: int, total: int | None = None) -> None:
        """New counts (and ``total``, once it is known or grows); written to the index when
        the last write is old enough."""
        with self._lock:
            self.done, self.failed, self.warning = done, failed, warning
            if total is not None:
                self.total = total
            now = time.monotonic()
            if now - self._flushed < FLUSH_INTERVAL:
                return
            self._flushed = now
        self._write(done=done, failed=failed, warning=warning, total=self.total)

    def finish(self, state: str, *, error: str = "", result: dict[str, Any] | None = None) -> None:
        """End the job: ``done``, ``failed`` or ``cancelled``, with its last counts."""
        self.state = state
        self._write(
            state=state,
            done=self.done,
            failed=self.failed,
            warning=self.warning,
            total=self.total,
            error=error,
            result=json.dumps(result or {}),
            lease_until=None,
        )
        self.release()

    def release(self) -> None:
        """This process no longer holds the job (it ended, or waits in the queue again)."""
        if self._leases is not None:
            self._leases.release(self)

    def _write(self, **values: Any) -> None:
        """Write these columns, unless another node has taken the job over."""
        if self.lost:
            return
        if self._table.update(self.id, holder=self.holder, **values) or self.holder is None:
            return
        row = self._table.get(self.id)
        self.lost = row is not None and row.node != self.holder


class Jobs:
    """The archive's job queue: create, claim and read jobs, settle those a node left.

    ``node`` names this process in the rows it holds (``node_id()`` unless
    given); ``lease_s`` is how long it holds a job without renewing.
    """

    def __init__(self, index: Index, *, node: str | None = None, lease_s: float = LEASE_S) -> None:
        self.table = JobTable(index)
        self.leases = Leases(self.table, node or node_id(), lease_s)

    @property
    def node(self) -> str:
        """The id of this node in the rows it holds."""
        return self.leases.node

    @property
    def lease_s(self) -> float:
        """Seconds a job stays held without a renewal."""
        return self.leases.lease_s

    @lease_s.setter
    def lease_s(self, seconds: float) -> None:
        self.leases.lease_s = seconds

    def close(self) -> None:
        """Stop renewing leases: what this node still holds goes to others once they run out."""
        self.leases.close()

    def create(
        self,
        kind: str,
        description: str,
        owner: str = "",
        params: dict[str, Any] | None = None,
        *,
        reference: str = "",
        running: bool = False,
    ) -> Job:
        """A new ``pending`` job of ``kind`` (move, get, send, ...).

        ``params`` is the request a runner needs to do the job later (JSON-able);
        ``reference`` an outside key to find it by; ``running``: the caller works
        on it at once (no runner takes it). A job this process works on (one
        ``running``, or of a kind no runner takes) is held from the start.
        """
        encoded = json.dumps(params) if params is not None else ""
        state = "running" if running else "pending"
        held = running or kind not in QUEUED
        job_id = self.table.create(
            kind,
            description,
            owner,
            state=state,
            params=encoded,
            reference=reference,
            node=self.node if held else "",
            lease_s=self.lease_s if held else None,
        )
        job = Job(self.table, job_id, self.leases, held=held)
        job.state = state
        return job

    def claim(self, kinds: tuple[str, ...]) -> tuple[Job, str, dict[str, Any]] | None:
        """Take the oldest claimable job of these kinds to run it here (a ``pending`` one,
        or one whose node stopped renewing its lease): its handle (already ``running``,
        held by this node), its kind and its params; None when no such job waits."""
        row = self.table.claim(kinds, self.node, self.lease_s)
        if row is None:
            return None
        job = Job(self.table, row.id, self.leases, held=True)
        job.state = "running"
        return job, row.kind, json.loads(row.params) if row.params else {}

    def get(self, job_id: int) -> JobRow | None:
        """One job by id, or None."""
        return self.table.get(job_id)

    def list(
        self,
        *,
        kind: str | None = None,
        state: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[JobRow]:
        """Jobs, newest first."""
        return self.table.list(kind=kind, state=state, limit=limit, offset=offset)

    def release_own(self) -> int:
        """At start-up: settle the open jobs this node id held in an earlier life (a process
        started again with the same host and PID, as in a container).

        Their leases simply end: jobs of the ``QUEUED`` kinds may be claimed
        at once; the others (a C-MOVE or C-GET whose association is gone, an
        export) become ``failed``. How many failed. Other nodes' jobs are left
        alone: a node still alive renews them, a dead one's leases run out.
        """
        return self.table.release_node(self.node, INTERRUPTED, QUEUED)

    def fail_abandoned(self) -> list[int]:
        """Fail the open jobs, not of a ``QUEUED`` kind, whose node stopped renewing their
        lease; their ids."""
        failed = self.table.fail_abandoned(ABANDONED, QUEUED, self.node)
        if failed:
            LOG.warning("job(s) %s failed: their node stopped", failed)
        return failed

    def defer(self, job: Job, delay_s: float, error: str, params: dict[str, Any]) -> None:
        """Put a running job back in the queue, to be taken again after ``delay_s``."""
        when = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(seconds=delay_s)
        self.table.defer(job.id, when, error, json.dumps(params))
        job.state = "pending"
        job.release()

    def find(self, kind: str, reference: str) -> JobRow | None:
        """The newest job of ``kind`` with this outside reference, or None."""
        return self.table.find(kind, reference)
