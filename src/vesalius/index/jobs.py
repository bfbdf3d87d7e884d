"""Rows of the ``jobs`` table: the durable record of outbound work.

Writes go through the index's group committer like every other write, so a
job row is as durable as an indexed instance; reads use short transactions.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, case, func, or_, select

from vesalius.index.index import Index
from vesalius.index.tables import jobs

STATES = ("pending", "running", "done", "failed", "cancelled")


@dataclass(frozen=True, slots=True)
class JobRow:
    """One job as stored; ``result`` is JSON text (empty until there is one)."""

    id: int
    kind: str
    state: str
    description: str
    done: int
    failed: int
    warning: int
    total: int
    error: str
    result: str
    owner: str
    created_at: dt.datetime
    updated_at: dt.datetime
    params: str = ""
    """The JSON request of a queued job (empty for jobs that need none)."""
    reference: str = ""
    """An outside key the job is found by (a storage commitment's Transaction UID)."""
    not_before: dt.datetime | None = None
    """When a job waiting to be tried again may be taken (UTC), or None."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


_COLUMNS = (
    jobs.c.pk,
    jobs.c.kind,
    jobs.c.state,
    jobs.c.description,
    jobs.c.done,
    jobs.c.failed,
    jobs.c.warning,
    jobs.c.total,
    jobs.c.error,
    jobs.c.result,
    jobs.c.owner,
    jobs.c.created_at,
    jobs.c.updated_at,
    jobs.c.params,
    jobs.c.reference,
    jobs.c.not_before,
)


class JobTable:
    """Create, update and read job rows of one index."""

    def __init__(self, index: Index) -> None:
        self.index = index

    def create(
        self,
        kind: str,
        description: str,
        owner: str,
        state: str = "pending",
        params: str = "",
        reference: str = "",
    ) -> int:
        """Insert a new job and return its id."""
        now = _now()
        values = {
            "kind": kind,
            "state": state,
            "description": description[:256],
            "owner": owner[:64],
            "done": 0,
            "failed": 0,
            "warning": 0,
            "total": 0,
            "error": "",
            "result": "",
            "created_at": now,
            "updated_at": now,
            "params": params,
            "reference": reference[:64],
        }

        def operation(connection: Connection) -> int:
            return int(connection.execute(jobs.insert(), values).inserted_primary_key[0])

        return self.index.committer.run(operation)

    def update(self, job_id: int, **values: Any) -> None:
        """Set some columns of one job (state, counts, error, result).

        A ``cancelled`` job stays cancelled: a worker that finishes after the
        cancel still writes its counts, but not its state.
        """
        if "state" in values:
            values["state"] = case(
                (jobs.c.state == "cancelled", "cancelled"), else_=values["state"]
            )
        if "error" in values:
            values["error"] = str(values["error"])[:1024]
        if "result" in values:
            values["result"] = str(values["result"])[:4096]
        values["updated_at"] = _now()

        def operation(connection: Connection) -> None:
            connection.execute(jobs.update().where(jobs.c.pk == job_id).values(values))

        self.index.committer.run(operation)

    def fail_running(self, error: str, resumable: tuple[str, ...] = ()) -> int:
        """Mark every ``running`` or ``pending`` job failed with ``error``, except jobs of
        the ``resumable`` kinds, which become (or stay) ``pending``; how many failed."""

        def operation(connection: Connection) -> int:
            connection.execute(
                jobs.update()
                .where(jobs.c.state == "running", jobs.c.kind.in_(resumable))
                .values(state="pending", updated_at=_now())
            )
            result = connection.execute(
                jobs.update()
                .where(jobs.c.state.in_(("running", "pending")), jobs.c.kind.not_in(resumable))
                .values(state="failed", error=error[:1024], updated_at=_now())
            )
            return int(result.rowcount or 0)

        return self.index.committer.run(operation)

    def defer(self, job_id: int, not_before: dt.datetime, error: str, params: str) -> None:
        """Put a running job back to ``pending`` until ``not_before`` (UTC), to be tried again
        (a cancelled job stays cancelled)."""
        self.update(job_id, state="pending", not_before=not_before, error=error, params=params)

    def find(self, kind: str, reference: str) -> JobRow | None:
        """The newest job of ``kind`` with this outside reference, or None."""
        query = (
            select(*_COLUMNS)
            .where(jobs.c.kind == kind, jobs.c.reference == reference)
            .order_by(jobs.c.pk.desc())
            .limit(1)
        )
        with self.index.reader.connect() as connection:
            row = connection.execute(query).first()
        return JobRow(*row) if row is not None else None

    def claim(self, kinds: tuple[str, ...]) -> JobRow | None:
        """The oldest ``pending`` job of these kinds, now ``running``; None when there is none.

        Looking costs one read; only a job found is taken, in a write that
        changes the state only if it is still ``pending``, so that two runners
        never take the same job and a job cancelled meanwhile stays cancelled.
        """
        query = (
            select(jobs.c.pk)
            .where(
                jobs.c.state == "pending",
                jobs.c.kind.in_(kinds),
                or_(jobs.c.not_before.is_(None), jobs.c.not_before <= _now()),
            )
            .order_by(jobs.c.pk)
            .limit(8)
        )
        with self.index.reader.connect() as connection:
            candidates = list(connection.execute(query).scalars())
        for pk in candidates:

            def operation(connection: Connection, pk: int = pk) -> int:
                taken = connection.execute(
                    jobs.update()
                    .where(jobs.c.pk == pk, jobs.c.state == "pending")
                    .values(state="running", updated_at=_now())
                )
                return int(taken.rowcount or 0)

            if self.index.committer.run(operation):
                return self.get(pk)
        return None

    def cancel(self, job_id: int) -> bool:
        """A ``pending`` or ``running`` job becomes ``cancelled``; False when it was not one.

        The state is the flag a worker watches: it stops at its next look.
        """

        def operation(connection: Connection) -> int:
            changed = connection.execute(
                jobs.update()
                .where(jobs.c.pk == job_id, jobs.c.state.in_(("pending", "running")))
                .values(state="cancelled", updated_at=_now())
            )
            return int(changed.rowcount or 0)

        return bool(self.index.committer.run(operation))

    def count(self, *, kind: str | None = None, state: str | None = None) -> int:
        """How many jobs there are, optionally of one kind and state."""
        query = select(func.count()).select_from(jobs)
        if kind is not None:
            query = query.where(jobs.c.kind == kind)
        if state is not None:
            query = query.where(jobs.c.state == state)
        with self.index.reader.connect() as connection:
            return int(connection.execute(query).scalar_one())

    def get(self, job_id: int) -> JobRow | None:
        """One job, or None."""
        with self.index.reader.connect() as connection:
            row = connection.execute(select(*_COLUMNS).where(jobs.c.pk == job_id)).first()
        return JobRow(*row) if row is not None else None

    def list(
        self,
        *,
        kind: str | None = None,
        state: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[JobRow]:
        """Jobs, newest first, optionally of one kind and state."""
        query = select(*_COLUMNS).order_by(jobs.c.pk.desc()).limit(limit).offset(offset)
        if kind is not None:
            query = query.where(jobs.c.kind == kind)
        if state is not None:
            query = query.where(jobs.c.state == state)
        with self.index.reader.connect() as connection:
            return [JobRow(*row) for row in connection.execute(query)]
