"""C-MOVE SCP (Query/Retrieve, PS3.4 C.4.2): resolve, then C-STORE to a known peer.

pynetdicom drives a retrieve: the handler yields the destination, then the
number of sub-operations, then one ``(0xFF00, dataset)`` per instance, and
pynetdicom sends each with ``send_c_store`` and answers a pending response
with the counts after each one, then the final status (0000, B000 with the
Failed SOP Instance UID List, or A702 when none succeeded).

pynetdicom 3 only passes a ``Dataset`` to ``send_c_store``, which would decode
and re-encode every file. So each instance is yielded as a small
``StoredItem`` data set that names the stored instance, and the association
that carries the sub-operations gets an instance-level ``send_c_store`` that
streams the stored file as it is when the receiver accepted its syntax, and
decompresses it to little endian otherwise. That same wrapper sees every
sub-operation's status, which is what keeps the job's counts.
"""

from __future__ import annotations

import io
import logging
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from pydicom import dcmread
from pydicom.dataset import Dataset
from pynetdicom import _config, evt
from pynetdicom.association import Association
from pynetdicom.events import Event
from pynetdicom.presentation import PresentationContext
from pynetdicom.status import STORAGE_SERVICE_CLASS_STATUS

from vesalius import sopclasses
from vesalius.archive.archive import Archive
from vesalius.archive.jobs import Job
from vesalius.dimse import tls
from vesalius.dimse.association import on_open, origin_of
from vesalius.dimse.scu import (
    LITTLE_ENDIAN,
    MAX_CONTEXTS,
    can_store,
    contexts_by_class,
    decompressed,
)
from vesalius.index.index import StoredInstance
from vesalius.model.errors import ArchiveError
from vesalius.settings import Settings

LOG = logging.getLogger("vesalius.dimse.retrieve")

MOVE_DESTINATION_UNKNOWN = 0xA801
PENDING = 0xFF00
CANCELLED = 0xFE00

# send_c_store of a path streams the file from disk instead of decoding it.
_config.STORE_SEND_CHUNKED_DATASET = True


class StoredItem(Dataset):
    """The data set yielded for one sub-operation: its UIDs, and the instance behind them."""

    def __init__(self, instance: StoredInstance) -> None:
        super().__init__()
        self.SOPClassUID = instance.sop_class_uid
        self.SOPInstanceUID = instance.sop_instance_uid
        object.__setattr__(self, "stored", instance)


def error_status(code: int, comment: str) -> Dataset:
    """A status data set with an Error Comment (at most 64 characters, PS3.7 C.4)."""
    status = Dataset()
    status.Status = code
    status.ErrorComment = comment[:64]
    return status


class _HeldCheckpoint:
    """Stands in for an association's reactor checkpoint while the reactor is held:
    the pause and resume of each ``send_c_store`` become no-ops."""

    def __init__(self, original: threading.Event) -> None:
        self.original = original

    def set(self) -> None:
        """The reactor stays paused."""

    def clear(self) -> None:
        """It is paused already."""

    def is_set(self) -> bool:
        return False

    def wait(self, timeout: float | None = None) -> bool:
        return self.original.wait(timeout)


class ReactorHold:
    """Keeps the reactor of an association we requested paused across sub-operations.

    pynetdicom pauses an association's reactor before each ``send_c_store``
    and resumes it after the response. Resumed, the reactor sleeps until an
    event or ``reactor.IDLE_WAKE`` passes, so the next pause waits for that
    timer: about 10 ms per instance, most of a 0.5 MB C-STORE. Held, the
    reactor is paused once; ``release`` and ``abort`` give the checkpoint back
    first, and so does any indication from the peer (an A-ABORT, say), so that
    the reactor handles it as usual.
    """

    def __init__(self, assoc: Association) -> None:
        self.assoc = assoc
        self.held: _HeldCheckpoint | None = None
        for name in ("release", "abort"):
            action = getattr(assoc, name)
            setattr(assoc, name, self._giving_back(action))

    def _giving_back(self, action: Callable[[], None]) -> Callable[[], None]:
        def wrapped() -> None:
            self.give_back()
            action()

        return wrapped

    def engage(self) -> None:
        """Pause the reactor (once), unless the peer has something for it."""
        assoc = self.assoc
        if not assoc.dul.to_user_queue.empty() or not assoc.dul.is_alive():
            self.give_back()
            return
        if self.held is not None:
            return
        checkpoint = assoc._reactor_checkpoint
        checkpoint.clear()
        deadline = time.monotonic() + 5
        while not assoc._is_paused and time.monotonic() < deadline:
            time.sleep(0.0001)
        self.held = _HeldCheckpoint(checkpoint)
        assoc._reactor_checkpoint = self.held  # type: ignore[assignment]

    def give_back(self) -> None:
        """Restore the real checkpoint and let the reactor run."""
        if self.held is None:
            return
        self.assoc._reactor_checkpoint = self.held.original
        self.held = None
        self.assoc._reactor_checkpoint.set()


def _outcome(code: int | None) -> str:
    """``success``, ``warning`` or ``failure`` of a C-STORE status, as pynetdicom counts it."""
    if code is None or code not in STORAGE_SERVICE_CLASS_STATUS:
        return "failure"
    category = STORAGE_SERVICE_CLASS_STATUS[code][0]
    return {"Success": "success", "Warning": "warning"}.get(category, "failure")


class SubOperations:
    """Sends stored instances over one association and keeps the job's counts."""

    def __init__(self, archive: Archive, job: Job) -> None:
        self.archive = archive
        self.job = job
        self.completed = 0
        self.failed = 0
        self.warning = 0
        self.failed_uids: list[str] = []
        self.transcoded = 0
        self.extra: dict[str, Any] = {}

    def install(self, assoc: Association, *, hold_reactor: bool = False) -> None:
        """Route this association's ``send_c_store`` of a ``StoredItem`` through us.

        ``hold_reactor`` (an association we requested): keep its reactor paused
        from the first sub-operation to the release, see ``ReactorHold``.
        """
        original = assoc.send_c_store
        hold = ReactorHold(assoc) if hold_reactor else None

        def send_c_store(dataset: Any, *args: Any, **kwargs: Any) -> Dataset:
            if not isinstance(dataset, StoredItem):
                return original(dataset, *args, **kwargs)
            if hold is not None:
                hold.engage()
            return self._send(assoc, original, dataset.stored, *args, **kwargs)

        assoc.send_c_store = send_c_store  # type: ignore[method-assign]

    @staticmethod
    def uninstall(assoc: Association) -> None:
        """Give the association its own ``send_c_store`` back."""
        assoc.__dict__.pop("send_c_store", None)

    def _send(
        self,
        assoc: Association,
        original: Callable[..., Dataset],
        instance: StoredInstance,
        *args: Any,
        **kwargs: Any,
    ) -> Dataset:
        code: int | None = None
        try:
            answer = original(self._payload(assoc, instance), *args, **kwargs)
            code = int(answer.Status) if "Status" in answer else None
            return answer
        finally:
            self._count(instance, _outcome(code))

    def _payload(self, assoc: Association, instance: StoredInstance) -> Any:
        """The stored file when its syntax was accepted, else a little-endian data set."""
        sop_class, syntax = instance.sop_class_uid, instance.transfer_syntax_uid
        if can_store(assoc, sop_class, syntax):
            path = self.archive.instance_path(instance)
            return path if path is not None else self._dataset(instance, decompress=False)
        if not any(can_store(assoc, sop_class, ts) for ts in LITTLE_ENDIAN):
            name = sopclasses.sop_class_name(sop_class)
            raise ArchiveError(f"the receiver accepted no transfer syntax for {name}")
        if sopclasses.is_compressed(syntax):
            self.transcoded += 1
        return self._dataset(instance, decompress=True)

    def _dataset(self, instance: StoredInstance, *, decompress: bool) -> Dataset:
        data = io.BytesIO(self.archive.read_instance(instance))
        if decompress:
            return decompressed(data, instance.transfer_syntax_uid)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return dcmread(data)

    def _count(self, instance: StoredInstance, outcome: str) -> None:
        if outcome == "success":
            self.completed += 1
        elif outcome == "warning":
            self.warning += 1
        else:
            self.failed += 1
            self.failed_uids.append(instance.sop_instance_uid)
        self.job.progress(done=self.completed, failed=self.failed, warning=self.warning)

    def finish(self, *, cancelled: bool = False, ended: str = "") -> None:
        """Record how the job ended, with the failed UIDs in its result."""
        result: dict[str, Any] = {
            "completed": self.completed,
            "failed": self.failed,
            "warning": self.warning,
            "transcoded": self.transcoded,
            "failed_sop_instance_uids": self.failed_uids,
        }
        if ended:
            result["remaining"] = self.job.total - self.completed - self.failed - self.warning
            self.job.finish("failed", error=ended, result=self._with_extra(result))
        elif cancelled:
            self.job.finish("cancelled", error="cancelled by the requester", result=result)
        elif self.failed and not (self.completed or self.warning):
            self.job.finish(
                "failed", error="no sub-operation succeeded", result=self._with_extra(result)
            )
        else:
            error = f"{self.failed} sub-operation(s) failed" if self.failed else ""
            self.job.finish("done", error=error, result=self._with_extra(result))

    def _with_extra(self, result: dict[str, Any]) -> dict[str, Any]:
        return {**self.extra, **result}


def storage_contexts(instances: list[StoredInstance]) -> list[PresentationContext]:
    """The contexts of ``scu.contexts_by_class``, on one association of at most 128.

    The little-endian context of every class comes first, so that every class
    can be sent (decompressed if need be) before any is sent as stored.
    """
    by_class = contexts_by_class((i.sop_class_uid, i.transfer_syntax_uid) for i in instances)
    basic = [contexts[0] for contexts in by_class.values()]
    extra = [context for contexts in by_class.values() for context in contexts[1:]]
    return (basic + extra)[:MAX_CONTEXTS]


def sub_operations(
    event: Event, runner: SubOperations, instances: list[StoredInstance]
) -> Iterator[tuple[int, Dataset | None]]:
    """Yield one pending item per instance; stop with FE00 when the requester cancels.

    The job is settled however this ends: finished, cancelled, or abandoned
    by pynetdicom when the requester's association goes away.
    """
    runner.job.start(len(instances))
    settled = False
    try:
        for instance in instances:
            if event.is_cancelled:
                runner.finish(cancelled=True)
                settled = True
                yield CANCELLED, None
                return
            yield PENDING, StoredItem(instance)
        runner.finish()
        settled = True
    finally:
        if not settled:
            runner.finish(ended="the requester's association ended before the retrieve did")


def resolve(event: Event, archive: Archive) -> list[StoredInstance] | Dataset:
    """The instances the request names, or the failure status data set to answer."""
    try:
        identifier = event.identifier
    except Exception as exc:
        return error_status(0xC000, f"identifier cannot be decoded: {exc}")
    try:
        return archive.resolve_retrieve(identifier, str(event.request.AffectedSOPClassUID))
    except ArchiveError as exc:
        LOG.warning("retrieve refused: %s", exc)
        return error_status(exc.dimse_status, str(exc))


def handle_move(event: Event, archive: Archive, settings: Settings) -> Iterator[Any]:
    """Resolve the identifier and C-STORE its instances to the destination peer."""
    destination = (event.move_destination or "").strip()
    peer = next((p for p in settings.peers if p.ae_title == destination), None)
    if peer is None:
        LOG.warning("C-MOVE to unknown destination %r refused", destination)
        yield None, None  # pynetdicom answers A801
        return
    found = resolve(event, archive)
    caller = origin_of(event.assoc).calling_aet
    if isinstance(found, Dataset):
        yield peer.host, peer.port
        yield 1
        yield found, None
        return
    job = archive.jobs.create("move", f"C-MOVE to {destination} for {caller}", owner=caller)
    runner = SubOperations(archive, job)
    runner.extra = {"destination": destination}

    def opened(open_event: Event) -> None:
        on_open(open_event)
        runner.install(open_event.assoc, hold_reactor=True)

    options: dict[str, Any] = {
        "contexts": storage_contexts(found),
        "evt_handlers": [(evt.EVT_CONN_OPEN, opened)],
    }
    if credentials := tls.for_peer(settings, peer):
        options["tls_args"] = (credentials.context(), None)
    if not found:
        runner.finish()
    try:
        yield peer.host, peer.port, options
        yield len(found)
        if found:
            yield from sub_operations(event, runner, found)
    finally:
        if job.state == "pending":  # pynetdicom gave up before the first sub-operation
            runner.finish(ended=f"no association with the destination {destination}")
