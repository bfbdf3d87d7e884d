"""Rows of the ``jobs`` table: the durable record of outbound work.

Writes go through the index's group committer like every other write, so a
job row is as durable as an indexed instance; reads use short transactions.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, case, func, select

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
)


class JobTable:
    """Create, update and read job rows of one index."""

    def __init__(self, index: Index) -> None:
        self.index = index

    def create(
        self, kind: str, description: str, owner: str, state: str = "pending", params: str = ""
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

    def fail_running(self, error: str) -> int:
        """Mark every ``running`` or ``pending`` job failed with ``error``; how many were."""

        def operation(connection: Connection) -> int:
            result = connection.execute(
                jobs.update()
                .where(jobs.c.state.in_(("running", "pending")))
                .values(state="failed", error=error[:1024], updated_at=_now())
            )
            return int(result.rowcount or 0)

        return self.index.committer.run(operation)

    def claim(self, kinds: tuple[str, ...]) -> JobRow | None:
        """The oldest ``pending`` job of these kinds, now ``running``; None when there is none.

        Looking costs one read; only a job found is taken, in a write that
        changes the state only if it is still ``pending``, so that two runners
        never take the same job and a job cancelled meanwhile stays cancelled.
        """
        query = (
            select(jobs.c.pk)
            .where(jobs.c.state == "pending", jobs.c.kind.in_(kinds))
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
