"""Jobs: outbound work (C-MOVE and C-GET sub-operations, later sends and exports)
recorded durably in the index, with progress that the REST API can show.

A ``Job`` is the handle of one running job. Its counts change per instance,
but the row is written at most ``FLUSH_INTERVAL`` times a second (and at every
change of state), so that a fast move does not pay a durable commit per
instance.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from typing import Any

from vesalius.index.index import Index
from vesalius.index.jobs import JobRow, JobTable

FLUSH_INTERVAL = 0.25
INTERRUPTED = "interrupted by a restart"
RESUMABLE = ("commitment", "hl7")
"""Kinds of job taken up again after a restart instead of failed: reports and messages owed."""


class Job:
    """One job being worked on: counts in memory, written through now and then."""

    def __init__(self, table: JobTable, job_id: int) -> None:
        self._table = table
        self.id = job_id
        self.done = 0
        self.failed = 0
        self.warning = 0
        self.total = 0
        self.state = "pending"
        self._flushed = 0.0
        self._lock = threading.Lock()

    def start(self, total: int) -> None:
        """The work is known (``total`` instances) and begins."""
        self.total = total
        self.state = "running"
        self._table.update(self.id, state="running", total=total)
        self._flushed = time.monotonic()

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
        self._table.update(self.id, done=done, failed=failed, warning=warning, total=self.total)

    def finish(self, state: str, *, error: str = "", result: dict[str, Any] | None = None) -> None:
        """End the job: ``done``, ``failed`` or ``cancelled``, with its last counts."""
        self.state = state
        self._table.update(
            self.id,
            state=state,
            done=self.done,
            failed=self.failed,
            warning=self.warning,
            total=self.total,
            error=error,
            result=json.dumps(result or {}),
        )


class Jobs:
    """The archive's job queue: create jobs, read them, settle those a crash left."""

    def __init__(self, index: Index) -> None:
        self.table = JobTable(index)

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
        on it at once (no runner takes it).
        """
        encoded = json.dumps(params) if params is not None else ""
        state = "running" if running else "pending"
        job_id = self.table.create(
            kind, description, owner, state=state, params=encoded, reference=reference
        )
        job = Job(self.table, job_id)
        job.state = state
        return job

    def claim(self, kinds: tuple[str, ...]) -> tuple[Job, str, dict[str, Any]] | None:
        """Take the oldest ``pending`` job of these kinds to run it here: its handle (already
        ``running``), its kind and its params; None when no such job waits."""
        row = self.table.claim(kinds)
        if row is None:
            return None
        job = Job(self.table, row.id)
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

    def fail_interrupted(self, resumable: tuple[str, ...] = RESUMABLE) -> int:
        """At start-up: jobs a dead process left unfinished become ``failed``.

        A C-MOVE or C-GET cannot resume once its requester's association is
        gone, so they are not retried. Jobs of the ``resumable`` kinds (the
        storage commitment reports we owe) go back to ``pending`` instead.
        """
        return self.table.fail_running(INTERRUPTED, resumable)

    def defer(self, job: Job, delay_s: float, error: str, params: dict[str, Any]) -> None:
        """Put a running job back in the queue, to be taken again after ``delay_s``."""
        when = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(seconds=delay_s)
        self.table.defer(job.id, when, error, json.dumps(params))
        job.state = "pending"

    def find(self, kind: str, reference: str) -> JobRow | None:
        """The newest job of ``kind`` with this outside reference, or None."""
        return self.table.find(kind, reference)
