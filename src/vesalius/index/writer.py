"""Group commit: concurrent writers share one transaction and one durable commit.

Each caller hands in an operation and waits. Whoever finds no commit in
progress becomes the leader: it takes every operation queued so far, runs them
in one transaction, commits once and wakes their callers. A lone caller thus
commits on its own thread with no hand-off; many callers pay one fsync per
batch instead of one each. If a batch fails, its operations are retried one
by one so that one bad row cannot fail its neighbours.

On PostgreSQL, writers of several nodes may deadlock on each other's rows
(two batches creating the same studies in another order); the database
aborts one of them and its batch is simply run again.

Leaders of several processes queue on ``process_lock`` (for SQLite, a file
lock that wakes the next waiter at once) rather than on the database's own
lock, whose busy handler sleeps for milliseconds between attempts.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Engine

T = TypeVar("T")
Operation = Callable[[Connection], T]
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01"})  # serialization failure, deadlock
ATTEMPTS = 4


def _transient(error: BaseException) -> bool:
    """Whether the database aborted the transaction for a conflict that a retry resolves."""
    return getattr(getattr(error, "orig", None), "sqlstate", None) in TRANSIENT_SQLSTATES


class _Pending(Generic[T]):
    __slots__ = ("done", "error", "operation", "result")

    def __init__(self, operation: Operation[T]) -> None:
        self.operation = operation
        self.done = False
        self.result: T | None = None
        self.error: BaseException | None = None


class GroupCommitter:
    """Runs write operations on ``engine`` in shared, durable transactions."""

    def __init__(
        self,
        engine: Engine,
        max_batch: int = 256,
        process_lock: Callable[[], AbstractContextManager[object]] | None = None,
    ) -> None:
        self.engine = engine
        self.process_lock = process_lock or contextlib.nullcontext
        self.max_batch = max_batch
        self._condition = threading.Condition()
        self._queue: list[_Pending[Any]] = []
        self._leading = False
        self.commits = 0
        self.operations = 0
        self._connection: Connection | None = None

    def close(self) -> None:
        """Close the connection the leaders share."""
        with self._condition:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def _shared_connection(self) -> Connection:
        # Only the leader of the moment uses it, so one connection serves every batch.
        if self._connection is None or self._connection.closed or self._connection.invalidated:
            self._connection = self.engine.connect()
        return self._connection

    def run(self, operation: Operation[T]) -> T:
        """Run ``operation(connection)`` in a committed transaction and return its result."""
        pending = _Pending(operation)
        with self._condition:
            self._queue.append(pending)
            while not pending.done:
                if self._leading:
                    self._condition.wait()
                    continue
                self._leading = True
                batch = self._queue[: self.max_batch]
                del self._queue[: self.max_batch]
                self._condition.release()
                try:
                    self._commit(batch)
                finally:
                    self._condition.acquire()
                    self._leading = False
                    self._condition.notify_all()
        if pending.error is not None:
            raise pending.error
        return pending.result  # type: ignore[return-value]

    def _attempt(self, batch: list[_Pending[Any]]) -> list[Any]:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                with self.process_lock():
                    connection = self._shared_connection()
                    with connection.begin():
                        return [item.operation(connection) for item in batch]
            except Exception as error:
                if attempt == ATTEMPTS or not _transient(error):
                    raise
        raise AssertionError("unreachable")

    def _commit(self, batch: list[_Pending[Any]]) -> None:
        try:
            results = self._attempt(batch)
        except BaseException as error:
            if len(batch) == 1:
                batch[0].error = error
                batch[0].done = True
                return
            for item in batch:
                self._commit([item])
            return
        self.commits += 1
        self.operations += len(batch)
        for item, result in zip(batch, results, strict=True):
            item.result = result
            item.done = True
