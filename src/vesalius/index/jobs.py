"""Rows of the ``jobs`` table: the durable record of outbound work.

Writes go through the index's group committer like every other write, so a
job row is as durable as an indexed instance; reads use short transactions.

Several nodes share one table. A job being worked on is *held*: ``node`` names
the process and ``lease_until`` says until when, renewed while it works. A
claim takes a ``pending`` job, or a ``running`` one whose lease has run out
(its node died), in one write that locks the row it picks: ``FOR UPDATE SKIP
LOCKED`` on PostgreSQL, so two nodes never pick the same one; on SQLite the
writer's ``BEGIN IMMEDIATE`` already lets one claim through at a time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, case, func, or_, select

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
    node: str = ""
    """The process that holds the job, or last held it (empty: none yet)."""
    lease_until: dt.datetime | None = None
    """Until when (UTC) ``node`` holds the job unless it renews the lease; None: not held."""


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
    jobs.c.node,
    jobs.c.lease_until,
)
OPEN = ("pending", "running")
"""States of a job not yet ended."""


def _lapsed(now: dt.datetime) -> ColumnElement[bool]:
    """The job's lease has run out, or it never had one."""
    return or_(jobs.c.lease_until.is_(None), jobs.c.lease_until < now)


def _claimable(kinds: tuple[str, ...], now: dt.datetime) -> ColumnElement[bool]:
    """A job of these kinds waiting its turn, or left running by a node that stopped."""
    waiting = and_(
        jobs.c.state == "pending",
        or_(jobs.c.not_before.is_(None), jobs.c.not_before <= now),
    )
    abandoned = and_(jobs.c.state == "running", _lapsed(now))
    return and_(jobs.c.kind.in_(kinds), or_(waiting, abandoned))


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
        *,
        node: str = "",
        lease_s: float | None = None,
    ) -> int:
        """Insert a new job and return its id; held by ``node`` for ``lease_s`` when given."""
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
            "node": node[:128],
            "lease_until": None if lease_s is None else now + dt.timedelta(seconds=lease_s),
        }

        def operation(connection: Connection) -> int:
            return int(connection.execute(jobs.insert(), values).inserted_primary_key[0])

        return self.index.committer.run(operation)

    def update(self, job_id: int, *, holder: str | None = None, **values: Any) -> bool:
        """Set some columns of one job (state, counts, error, result); False when no row
        changed.

        A ``cancelled`` job stays cancelled: a worker that finishes after the
        cancel still writes its counts, but not its state. With ``holder``, the
        row changes only while that node holds the job: a node whose lease ran
        out and was taken over writes nothing more.
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
        query = jobs.update().where(jobs.c.pk == job_id)
        if holder is not None:
            query = query.where(jobs.c.node == holder)

        def operation(connection: Connection) -> bool:
            return bool(connection.execute(query.values(values)).rowcount)

        return self.index.committer.run(operation)

    def release_node(self, node: str, error: str, queued: tuple[str, ...]) -> int:
        """Settle the open jobs ``node`` held in an earlier life (the same node id, started
        again): those of the ``queued`` kinds may be claimed at once, the others become
        ``failed`` with ``error``; how many failed."""

        def operation(connection: Connection) -> int:
            mine = and_(jobs.c.node == node, jobs.c.state.in_(OPEN))
            connection.execute(
                jobs.update()
                .where(mine, jobs.c.kind.in_(queued))
                .values(lease_until=None, updated_at=_now())
            )
            result = connection.execute(
                jobs.update()
                .where(mine, jobs.c.kind.not_in(queued))
                .values(state="failed", error=error[:1024], lease_until=None, updated_at=_now())
            )
            return int(result.rowcount or 0)

        return self.index.committer.run(operation)

    def fail_abandoned(self, error: str, queued: tuple[str, ...], node: str) -> list[int]:
        """Fail the open jobs of kinds other than ``queued`` whose lease ran out: work bound
        to a process (a C-MOVE's association, an export) that no other node can take up.
        They name ``node``, which settled them, so that a holder that only stalled writes
        nothing over it. Costs one read when there is none; the ids of the jobs failed."""
        query = (
            select(jobs.c.pk)
            .where(jobs.c.state.in_(OPEN), jobs.c.kind.not_in(queued), _lapsed(_now()))
            .limit(256)
        )
        with self.index.reader.connect() as connection:
            candidates = list(connection.execute(query).scalars())
        if not candidates:
            return []

        def operation(connection: Connection) -> list[int]:
            now = _now()
            lapsed = (
                select(jobs.c.pk)
                .where(jobs.c.pk.in_(candidates), jobs.c.state.in_(OPEN), _lapsed(now))
                .with_for_update(skip_locked=True)
            )
            failed = list(connection.execute(lapsed).scalars())
            if failed:
                connection.execute(
                    jobs.update()
                    .where(jobs.c.pk.in_(failed))
                    .values(
                        state="failed",
                        error=error[:1024],
                        node=node[:128],
                        lease_until=None,
                        updated_at=now,
                    )
                )
            return failed

        return self.index.committer.run(operation)

    def renew(self, node: str, job_ids: list[int], lease_s: float) -> set[int]:
        """Extend by ``lease_s`` the leases ``node`` holds on these open jobs; the ids still
        held (the others ended, or another node took them over)."""

        def operation(connection: Connection) -> set[int]:
            now = _now()
            held = jobs.c.pk.in_(job_ids), jobs.c.node == node, jobs.c.state.in_(OPEN)
            still = set(connection.execute(select(jobs.c.pk).where(*held)).scalars())
            if still:
                connection.execute(
                    jobs.update()
                    .where(jobs.c.pk.in_(still))
                    .values(lease_until=now + dt.timedelta(seconds=lease_s))
                )
            return still

        return self.index.committer.run(operation)

    def defer(self, job_id: int, not_before: dt.datetime, error: str, params: str) -> None:
        """Put a running job back to ``pending`` until ``not_before`` (UTC), to be tried again
        (a cancelled job stays cancelled); its lease ends."""
        self.update(
            job_id,
            state="pending",
            not_before=not_before,
            error=error,
            params=params,
            lease_until=None,
        )

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

    def claim(self, kinds: tuple[str, ...], node: str, lease_s: float) -> JobRow | None:
        """The oldest claimable job of these kinds (``pending`` and due, or ``running`` with
        its lease run out), now ``running`` and held by ``node`` for ``lease_s`` seconds;
        None when there is none.

        Looking costs one read; only when a job is found does the write begin,
        which picks again under a row lock (skipping rows another node is
        claiming), so that two nodes never take the same job and a job
        cancelled meanwhile stays cancelled.
        """
        probe = select(jobs.c.pk).where(_claimable(kinds, _now())).limit(1)
        with self.index.reader.connect() as connection:
            if connection.execute(probe).first() is None:
                return None

        def operation(connection: Connection) -> int | None:
            now = _now()
            pick = (
                select(jobs.c.pk)
                .where(_claimable(kinds, now))
                .order_by(jobs.c.pk)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            pk = connection.execute(pick).scalar()
            if pk is None:
                return None
            connection.execute(
                jobs.update()
                .where(jobs.c.pk == pk)
                .values(
                    state="running",
                    node=node[:128],
                    lease_until=now + dt.timedelta(seconds=lease_s),
                    updated_at=now,
                )
            )
            return int(pk)

        taken = self.index.committer.run(operation)
        return self.get(taken) if taken is not None else None

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
