"""The audit trail: every audit message appended to a local log, and maybe sent to syslog.

``<data_dir>/audit/audit.log`` holds one message (the XML of PS3.15 A.5) per
line. It is opened with O_APPEND, so the receiving processes that share a data
folder append whole lines side by side, and each line is on disk (fsync)
before ``record`` returns. With ``[audit] syslog_host`` set, each message also
goes to that collector from a background thread (``audit.syslog``): a
collector that is slow or down never holds up or fails what is audited.

The composition root ``attach``es a trail to each archive it opens; front
doors reach it with ``trail_of(archive)`` (a trail that writes nothing when
none is attached or ``[audit] enabled`` is false).
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import logging
import os
import socket
import threading
import weakref
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from vesalius.audit import messages
from vesalius.audit.messages import AuditMessage, Source, Study
from vesalius.audit.syslog import SyslogSender, frame
from vesalius.model.events import InstanceStored
from vesalius.model.origin import Origin
from vesalius.settings import Settings

LOG = logging.getLogger("vesalius.audit")


class AuditTrail:
    """Where audit messages go: the local log (and a syslog collector when configured)."""

    def __init__(
        self,
        path: Path | None,
        source: Source,
        *,
        syslog: SyslogSender | None = None,
    ) -> None:
        self.path = path
        self.source = source
        self.syslog = syslog
        self.hostname = socket.gethostname()
        self.failed_writes = 0
        self._lock = threading.Lock()
        self._fd: int | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    @classmethod
    def open(cls, settings: Settings) -> AuditTrail:
        """The trail of ``settings``: ``[audit]`` decides the log and the collector."""
        audit = settings.audit
        source = Source(settings.dicom.ae_title, settings.dicom.host, audit.site)
        if not audit.enabled:
            return cls(None, source)
        syslog = None
        if audit.syslog_host:
            syslog = SyslogSender(
                audit.syslog_host,
                audit.syslog_port,
                transport=audit.syslog_transport,
                ca=audit.syslog_ca,
                cert=audit.syslog_cert,
                key=audit.syslog_key,
            )
        return cls(log_path(settings), source, syslog=syslog)

    @property
    def enabled(self) -> bool:
        """False for a trail that writes nothing."""
        return self._fd is not None or self.syslog is not None

    def record(self, message: AuditMessage) -> None:
        """Append ``message`` to the log (durably) and queue it for the collector.

        A failing log write is logged and counted, never raised: the audited
        operation has happened already.
        """
        if self._fd is not None:
            line = (message.xml + "\n").encode("utf-8")
            with self._lock:
                try:
                    os.write(self._fd, line)
                    os.fsync(self._fd)
                except OSError as exc:
                    self.failed_writes += 1
                    LOG.error("audit log %s: %s", self.path, exc)
        if self.syslog is not None:
            self.syslog.offer(frame(message.xml, hostname=self.hostname, when=message.when))

    def close(self) -> None:
        """Flush the collector's queue briefly and close the log."""
        if self.syslog is not None:
            self.syslog.close()
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


class MemoryTrail(AuditTrail):
    """A trail that keeps its messages in a list (for tests)."""

    def __init__(self, source: Source | None = None) -> None:
        super().__init__(None, source or Source("VESALIUS", "127.0.0.1"))
        self.messages: list[AuditMessage] = []

    @property
    def enabled(self) -> bool:
        return True

    def record(self, message: AuditMessage) -> None:
        self.messages.append(message)


def log_path(settings: Settings) -> Path:
    """``<data_dir>/audit/audit.log``."""
    return Path(settings.data_dir) / "audit" / "audit.log"


# -- which trail an archive has ----------------------------------------------

_TRAILS: weakref.WeakKeyDictionary[Any, AuditTrail] = weakref.WeakKeyDictionary()
_NOWHERE = AuditTrail(None, Source("VESALIUS"))


def attach(archive: Any, trail: AuditTrail) -> AuditTrail:
    """Make ``trail`` the one ``trail_of(archive)`` answers; count its stored instances."""
    _TRAILS[archive] = trail
    archive.subscribe(Tally.of(trail).note)
    return trail


def trail_of(archive: Any) -> AuditTrail:
    """The trail attached to ``archive``; one that writes nothing when there is none."""
    return _TRAILS.get(archive, _NOWHERE)


# -- stored instances, counted per study until the front door says "done" -------


_COLLECTING: contextvars.ContextVar[dict[str, Study] | None] = contextvars.ContextVar(
    "vesalius_audit_collecting", default=None
)


@contextlib.contextmanager
def collecting() -> Iterator[dict[str, Study]]:
    """Count the instances stored in this context (and threads it runs work in) here,
    by study, instead of under their origin: for a front door that handles a request
    in one task, such as STOW-RS."""
    studies: dict[str, Study] = {}
    token = _COLLECTING.set(studies)
    try:
        yield studies
    finally:
        _COLLECTING.reset(token)


def _count(studies: dict[str, Study], event: InstanceStored) -> None:
    study = studies.setdefault(event.study_instance_uid, Study(event.study_instance_uid))
    study.sop_classes[event.sop_class_uid] = study.sop_classes.get(event.sop_class_uid, 0) + 1


class Tally:
    """Instances stored per origin, per study and SOP class, until ``take``n.

    The archive announces each stored instance with its ``Origin``; a front door
    creates one ``Origin`` object per association or request, so the object's
    identity says which transfer an instance belongs to (unless ``collecting``).
    """

    _by_trail: ClassVar[weakref.WeakKeyDictionary[AuditTrail, Tally]] = weakref.WeakKeyDictionary()
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self) -> None:
        self._pending: dict[int, tuple[Origin, dict[str, Study]]] = {}
        self._pending_lock = threading.Lock()

    @classmethod
    def of(cls, trail: AuditTrail) -> Tally:
        """The one tally of ``trail``."""
        with cls._lock:
            tally = cls._by_trail.get(trail)
            if tally is None:
                tally = cls._by_trail[trail] = cls()
            return tally

    def note(self, event: InstanceStored) -> None:
        """Archive listener: count one stored instance where its front door will look:
        the context's ``collecting`` dict, else under its DIMSE association's origin."""
        collected = _COLLECTING.get()
        if collected is not None:
            _count(collected, event)
            return
        if event.origin.kind != "dimse":
            return
        with self._pending_lock:
            _origin, studies = self._pending.setdefault(id(event.origin), (event.origin, {}))
            _count(studies, event)

    def take(self, origin: Origin) -> list[Study]:
        """The studies stored under ``origin`` (this very object) since the last take."""
        with self._pending_lock:
            found = self._pending.pop(id(origin), None)
        if found is None or found[0] is not origin:
            return []
        return list(found[1].values())


def tally_of(archive: Any) -> Tally:
    """The tally of stored instances of ``archive``'s trail."""
    return Tally.of(trail_of(archive))


def with_patients(archive: Any, studies: list[Study]) -> list[Study]:
    """Fill in each study's patient ID from the index (studies not stored keep none)."""
    for study in studies:
        if not study.patient_id:
            try:
                study.patient_id = archive.lineage("STUDY", study.uid).get("PatientID", "")
            except Exception:  # a study deleted meanwhile, or a bad UID: no patient
                study.patient_id = ""
    return studies


# -- reading the log back --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Entry:
    """One logged message, summarised for ``GET /api/audit``."""

    time: str
    event: str
    event_id: str
    event_type: str
    action: str
    outcome: int
    user: str
    address: str
    objects: list[str]
    xml: str

    def as_json(self) -> dict[str, Any]:
        """The summary and the XML, as JSON."""
        return {
            "time": self.time,
            "event": self.event,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "action": self.action,
            "outcome": self.outcome,
            "user": self.user,
            "address": self.address,
            "objects": self.objects,
            "xml": self.xml,
        }


def summarise(xml: str) -> Entry | None:
    """The summary of one logged line; None when it is not an audit message."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        return None
    identification = root.find("EventIdentification")
    if root.tag != "AuditMessage" or identification is None:
        return None
    event_id = identification.find("EventID")
    event_type = identification.find("EventTypeCode")
    code = event_id.get("csd-code", "") if event_id is not None else ""
    requestors = [
        p for p in root.findall("ActiveParticipant") if p.get("UserIsRequestor") == "true"
    ]
    first = requestors[0] if requestors else root.find("ActiveParticipant")
    return Entry(
        time=identification.get("EventDateTime", ""),
        event=messages.EVENT_NAMES.get(code, code),
        event_id=code,
        event_type=event_type.get("originalText", "") if event_type is not None else "",
        action=identification.get("EventActionCode", ""),
        outcome=int(identification.get("EventOutcomeIndicator", "0")),
        user=first.get("UserID", "") if first is not None else "",
        address=first.get("NetworkAccessPointID", "") if first is not None else "",
        objects=[
            o.get("ParticipantObjectID", "")
            for o in root.findall("ParticipantObjectIdentification")
        ],
        xml=xml,
    )


def _newest_first(path: Path) -> Iterator[str]:
    try:
        data = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return
    for line in reversed(data.splitlines()):
        if line.strip():
            yield line


def read_log(
    path: Path,
    *,
    limit: int = 100,
    offset: int = 0,
    event: str | None = None,
    since: dt.datetime | None = None,
) -> list[Entry]:
    """Logged messages, newest first; ``event`` is a short name or an EventID code."""
    found: list[Entry] = []
    skipped = 0
    for line in _newest_first(path):
        entry = summarise(line)
        if entry is None:
            continue
        if event and event not in (entry.event, entry.event_id):
            continue
        if since is not None and _parsed(entry.time) < since:
            continue
        if skipped < offset:
            skipped += 1
            continue
        found.append(entry)
        if len(found) >= limit:
            break
    return found


def _parsed(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        return dt.datetime.min.replace(tzinfo=dt.UTC)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
