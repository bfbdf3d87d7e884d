"""Wake pynetdicom's reactor threads on events instead of every millisecond.

pynetdicom runs two threads per association, each polling with 1 ms sleeps:
the DUL thread (socket in, primitives out) and the association reactor
(decoded DIMSE messages, release and abort). A C-STORE crosses three such
polls, which costs more than an archive's whole ingest of a small instance,
and idle associations burn CPU that busy ones need.

``install()`` gives each of those threads a waiter that replaces the poll: the
DUL thread blocks in ``select`` on its socket and on a wake-up pipe that is
written whenever a primitive is queued for it; the association reactor blocks
on an event set whenever a DIMSE message or a DUL indication is queued for
it. Both still wake every ``IDLE_WAKE`` seconds to look at their timers and
flags, as the original loops did every millisecond. Sleeps shorter than a
millisecond (pynetdicom's spin-waits for state changes) are left as they are.

It also makes the reactor's pause honest. Before each request it sends,
pynetdicom clears the reactor's checkpoint and spins until ``_is_paused``
is true; but that flag is set just *before* the reactor looks at the
checkpoint and stays true for a moment after it has passed it, so a request
could go out while the reactor was still running, and a quick response was
then taken by the reactor as an "unexpected service message" and lost (the
requester timed out). Here ``_is_paused``, asked from any other thread, is
true only while the reactor is actually blocked at its checkpoint.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import select
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import pynetdicom.association as _association_module
import pynetdicom.dul as _dul_module
from pynetdicom.association import Association
from pynetdicom.dul import DULServiceProvider
from pynetdicom.fsm import InvalidEventError

LOG = logging.getLogger("vesalius.dimse")
IDLE_WAKE = 0.01
REACTOR_POLL = 0.001

_local = threading.local()
_installed = False
_install_lock = threading.Lock()


class _Time:
    """The ``time`` module as pynetdicom's reactors see it: sleep asks this thread's waiter."""

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    @staticmethod
    def sleep(seconds: float) -> None:
        waiter: Callable[[float], None] | None = getattr(_local, "wait", None)
        if waiter is None or seconds < REACTOR_POLL:
            time.sleep(seconds)
        else:
            waiter(seconds)


def _signal_on_put(target: queue.Queue[Any], signal: Callable[[], None]) -> None:
    put = target.put

    def put_and_signal(item: Any, block: bool = True, timeout: float | None = None) -> None:
        put(item, block, timeout)
        signal()

    target.put = put_and_signal  # type: ignore[method-assign]


class _DulWaiter:
    """Blocks the DUL thread until its socket is readable or a primitive is queued."""

    def __init__(self, dul: DULServiceProvider) -> None:
        self.dul = dul
        self.wake_read, self.wake_write = socket.socketpair()
        self.wake_read.setblocking(False)
        self.wake_write.setblocking(False)
        self.waiting = False
        _signal_on_put(dul.to_provider_queue, self.signal)

    def signal(self) -> None:
        # Only a DUL thread that is (about to be) blocked needs the byte: while it is
        # busy it takes the queued primitives anyway, and a write per PDU adds up.
        if self.waiting:
            with contextlib.suppress(BlockingIOError, OSError):
                self.wake_write.send(b"\x00")

    def wait(self, _seconds: float) -> None:
        self.waiting = True
        try:
            self._wait()
        finally:
            self.waiting = False

    def _wait(self) -> None:
        dul = self.dul
        # Checked after ``waiting`` is set, so a primitive queued just before is seen here
        # and one queued just after sends the wake-up byte.
        if not dul.to_provider_queue.empty() or not dul.event_queue.empty():
            return
        sources: list[Any] = [self.wake_read]
        sock = getattr(dul.socket, "socket", None)
        if sock is not None and getattr(dul.socket, "_is_connected", False):
            pending = getattr(sock, "pending", None)
            if pending is not None and pending():
                return  # TLS holds decrypted bytes that select cannot see
            sources.append(sock)
        with contextlib.suppress(OSError, ValueError):
            ready, _, _ = select.select(sources, [], [], IDLE_WAKE)
            if self.wake_read in ready:
                with contextlib.suppress(BlockingIOError, OSError):
                    self.wake_read.recv(4096)

    def close(self) -> None:
        self.wake_read.close()
        self.wake_write.close()


class _AssociationWaiter:
    """Blocks the association reactor until a message or an indication is queued.

    It also wakes when another thread asks the reactor to pause (pynetdicom
    clears the reactor's checkpoint before each request it sends, then spins
    until the reactor has stopped at it).
    """

    def __init__(self, assoc: Association) -> None:
        self.assoc = assoc
        self.event = threading.Event()
        _signal_on_put(assoc.dimse.msg_queue, self.event.set)
        _signal_on_put(assoc.dul.to_user_queue, self.event.set)
        checkpoint = assoc._reactor_checkpoint
        self.checkpoint = checkpoint
        clear = checkpoint.clear

        def clear_and_wake() -> None:
            clear()
            self.event.set()

        checkpoint.clear = clear_and_wake  # type: ignore[method-assign]

    def wait(self, seconds: float) -> None:
        self.event.clear()
        if not self.checkpoint.is_set() or not self.assoc.dimse.msg_queue.empty():
            return  # a pause asked for before the clear above, or a message to serve
        if not self.assoc.dul.to_user_queue.empty():
            time.sleep(seconds)  # an indication the reactor may not consume: poll as before
            return
        self.event.wait(IDLE_WAKE)


class _Checkpoint(threading.Event):
    """An association's reactor checkpoint that knows whether the reactor is blocked at it."""

    def __init__(self) -> None:
        super().__init__()
        self.parked = False

    def wait(self, timeout: float | None = None) -> bool:
        with self._cond:
            if self._flag:
                return True
            self.parked = True
            try:
                return self._cond.wait(timeout)
            finally:
                self.parked = False

    def set(self) -> None:
        with self._cond:
            self.parked = False  # released from now on, though its thread has not yet run
            self._flag = True
            self._cond.notify_all()


def _reactor_is_paused(self: Association) -> bool:
    raw: bool = self.__dict__.get("_vesalius_paused", False)
    checkpoint: _Checkpoint | None = self.__dict__.get("_vesalius_checkpoint")
    started = self.__dict__.get("_started")
    if checkpoint is None or started is None or threading.current_thread() is self:
        return raw
    if self.__dict__.get("_kill") or (started.is_set() and not self.is_alive()):
        return True  # no reactor left to take a message
    return checkpoint.parked


def _set_reactor_paused(self: Association, value: bool) -> None:
    self.__dict__["_vesalius_paused"] = value


_original_association_init = Association.__init__


def _association_init(self: Association, *args: Any, **kwargs: Any) -> None:
    _original_association_init(self, *args, **kwargs)
    checkpoint = _Checkpoint()
    checkpoint.set()
    self.__dict__["_vesalius_checkpoint"] = checkpoint
    self._reactor_checkpoint = checkpoint


_original_dul_reactor = DULServiceProvider.run_reactor
_original_association_reactor = Association._run_reactor


def _dul_reactor(self: DULServiceProvider) -> None:
    waiter = _DulWaiter(self)
    _local.wait = waiter.wait
    try:
        _original_dul_reactor(self)
    except InvalidEventError as exc:
        # A peer that breaks the protocol (a PDU its state does not allow, say, while
        # the association is closing): drop the connection, do not crash the thread.
        LOG.warning("protocol error from %s: %s", _peer(self), exc)
        with contextlib.suppress(Exception):
            if self.socket is not None:
                self.socket.close()
        self._kill_thread = True
    finally:
        _local.wait = None
        waiter.close()


def _peer(dul: DULServiceProvider) -> str:
    address = getattr(getattr(dul, "socket", None), "address", None)
    return str(address) if address else "a peer"


def _association_reactor(self: Association) -> None:
    _local.wait = _AssociationWaiter(self).wait
    try:
        _original_association_reactor(self)
    finally:
        _local.wait = None


def install() -> None:
    """Switch every association created from now on to event wake-ups (idempotent)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        _dul_module.time = _Time()  # type: ignore[assignment]
        _association_module.time = _Time()  # type: ignore[assignment]
        DULServiceProvider.run_reactor = _dul_reactor  # type: ignore[method-assign]
        Association._run_reactor = _association_reactor  # type: ignore[method-assign]
        Association.__init__ = _association_init  # type: ignore[method-assign]
        Association._is_paused = property(_reactor_is_paused, _set_reactor_paused)  # type: ignore[assignment]
        _installed = True
