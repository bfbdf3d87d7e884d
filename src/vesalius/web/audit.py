"""The HTTP front door's audit hooks: one ASGI middleware sees every request once it is answered.

- ``POST /api/session``: User Authentication (Login), success or failure; a failed
  login is also a Security Alert. ``DELETE /api/session``: Logout.
- A request refused with 403 (a role that may not, a missing CSRF token) or with
  401 after credentials were presented: Security Alert (Use of Restricted Function).
- QIDO-RS searches: a Query message, the path and query string base64.
- WADO-RS and WADO-URI reads: DICOM Instances Accessed (R), once per user, client
  and study in ``ACCESS_WINDOW_S`` (a viewer reads a study frame by frame).
- STOW-RS: DICOM Instances Transferred (C), per request, with every study stored.
- ``DELETE /api/patients|studies|series|instances/...``: Instances Accessed (D).

Messages are recorded from a worker thread as the answer's status line leaves;
an audit failure is logged and never changes an answer.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from typing import Any
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vesalius.archive.archive import Archive
from vesalius.audit import messages
from vesalius.audit.messages import Participant, Study
from vesalius.audit.trail import AuditTrail, collecting, trail_of, with_patients

LOG = logging.getLogger("vesalius.web.audit")
ACCESS_WINDOW_S = 300.0
"""Reads of one study by one user from one client within this many seconds are one access."""
STUDY_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.2.1"
_QIDO = re.compile(
    r"^/dicomweb/(?:series|instances|studies"
    r"(?:/[^/]+/(?:series(?:/[^/]+/instances)?|instances))?)$"
)
_WADO = re.compile(r"^/dicomweb/studies/([^/]+)(?:/.*)?$")
_STOW = re.compile(r"^/dicomweb/studies(?:/[^/]+)?$")
_DELETE = re.compile(r"^/api/(patients|studies|series|instances)/([^/]+)$")
_PROTECTED = ("/api", "/dicomweb", "/wado")


class AuditRequests:
    """The middleware: watch the answer's status, then record what the request did."""

    def __init__(self, app: ASGIApp, archive: Archive) -> None:
        self.app = app
        self.archive = archive
        self._accessed: dict[tuple[str, str, str], float] = {}
        self._accessed_lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(_PROTECTED):
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        path = scope["path"].rstrip("/") or "/"
        status = 0
        body = bytearray()
        recorded = False
        login = method == "POST" and path == "/api/session"
        before: dict[str, str] = {}
        deleted = _DELETE.match(path) if method == "DELETE" else None
        if deleted is not None and deleted.group(1) in ("series", "instances"):
            before = await run_in_threadpool(self._lineage, deleted.group(1), deleted.group(2))

        async def record() -> None:
            nonlocal recorded
            if not recorded and _audited(method, path, status):
                recorded = True
                await run_in_threadpool(
                    self._guarded, scope, method, path, status, bytes(body), stored, before
                )

        async def watch_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                await record()  # before the answer leaves: a client that has it, has it audited
            await send(message)

        async def watch_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request" and len(body) < 4096:
                body.extend(message.get("body", b""))
            return message

        with collecting() as stored:
            await self.app(scope, watch_receive if login else receive, watch_send)
        await record()

    def _guarded(self, *args: Any) -> None:
        if not trail_of(self.archive).enabled:
            return
        try:
            self._record(*args)
        except Exception:
            LOG.exception("audit message not recorded")

    def _lineage(self, level: str, uid: str) -> dict[str, str]:
        try:
            return self.archive.lineage("SERIES" if level == "series" else "IMAGE", uid)
        except Exception:
            return {}

    def _record(
        self,
        scope: Scope,
        method: str,
        path: str,
        status: int,
        body: bytes,
        stored: dict[str, Study],
        before: dict[str, str],
    ) -> None:
        trail = trail_of(self.archive)
        address = scope["client"][0] if scope.get("client") else ""
        user = scope.get("state", {}).get("user")
        who = Participant(user.name if user is not None else "anonymous", True, address)
        ok = 200 <= status < 300
        if path == "/api/session" and method in ("POST", "DELETE"):
            self._session(trail, method, status, body, who)
        elif status == 403 or (status == 401 and _presented(scope)):
            trail.record(
                messages.security_alert(
                    trail.source,
                    messages.USE_OF_RESTRICTED_FUNCTION,
                    path,
                    f"{method} {path} refused with {status}",
                    who=who,
                )
            )
        elif method == "GET" and ok and _QIDO.match(path):
            query = path + (
                "?" + scope["query_string"].decode("latin-1") if scope["query_string"] else ""
            )
            trail.record(messages.query(trail.source, who, self._us(), STUDY_ROOT_FIND, query))
        elif method == "POST" and _STOW.match(path) and stored:
            outcome = messages.SUCCESS if ok else messages.MINOR_FAILURE
            trail.record(
                messages.instances_transferred(
                    trail.source,
                    who,
                    self._us(),
                    with_patients(self.archive, list(stored.values())),
                    action="C",
                    outcome=outcome,
                )
            )
        elif method == "GET" and ok and (study := _read_study(path, scope)):
            if self._first_access(who, study):
                trail.record(
                    messages.instances_accessed(
                        trail.source, who, with_patients(self.archive, [Study(study)])
                    )
                )
        elif method == "DELETE" and ok and (deleted := _DELETE.match(path)):
            level, uid = deleted.groups()
            if level == "patients":
                studies = [Study("", patient_id=uid)]
            elif level == "studies":
                studies = [Study(uid)]
            else:
                studies = [Study(before.get("StudyInstanceUID", ""), before.get("PatientID", ""))]
            studies = [s for s in studies if s.uid or s.patient_id]
            trail.record(messages.instances_accessed(trail.source, who, studies, action="D"))

    def _session(
        self, trail: AuditTrail, method: str, status: int, body: bytes, who: Participant
    ) -> None:
        if method == "DELETE":
            if who.user_id != "anonymous" and 200 <= status < 300:
                trail.record(
                    messages.user_authentication(
                        trail.source, who.user_id, who.address, login=False
                    )
                )
            return
        try:
            name = str(json.loads(body or b"{}").get("name", ""))
        except (ValueError, AttributeError):
            name = ""
        success = 200 <= status < 300
        trail.record(
            messages.user_authentication(
                trail.source, name or "unknown", who.address, login=True, success=success
            )
        )
        if not success:
            trail.record(
                messages.security_alert(
                    trail.source,
                    messages.USE_OF_RESTRICTED_FUNCTION,
                    "/api/session",
                    f"failed login as {name!r} from {who.address}",
                    who=Participant(name or "unknown", True, who.address),
                )
            )

    def _us(self) -> Participant:
        settings = self.archive.settings
        return Participant(settings.dicom.ae_title, False, settings.http.host)

    def _first_access(self, who: Participant, study: str) -> bool:
        key = (who.user_id, who.address, study)
        now = time.monotonic()
        with self._accessed_lock:
            last = self._accessed.get(key)
            if last is not None and now - last < ACCESS_WINDOW_S:
                return False
            if len(self._accessed) > 10000:
                self._accessed = {
                    k: t for k, t in self._accessed.items() if now - t < ACCESS_WINDOW_S
                }
            self._accessed[key] = now
            return True


def _audited(method: str, path: str, status: int) -> bool:
    """True for a request that may make an audit message (the rest skip the thread hop)."""
    if status in (401, 403) or path == "/api/session" or method == "DELETE":
        return True
    if method == "POST":
        return _STOW.match(path) is not None
    return method == "GET" and (path == "/wado" or path.startswith("/dicomweb/"))


def _presented(scope: Scope) -> bool:
    """True when the request carried credentials (a bearer token or a cookie)."""
    names = {key for key, _value in scope.get("headers", ())}
    return b"authorization" in names or b"cookie" in names


def _read_study(path: str, scope: Scope) -> str:
    """The study a WADO-RS or WADO-URI read is of, or ''."""
    if path == "/wado":
        values = parse_qs(scope["query_string"].decode("latin-1")).get("studyUID", [""])
        return values[0].strip()
    match = _WADO.match(path)
    return match.group(1) if match is not None else ""


def install(app: Any, archive: Archive) -> None:
    """Put the audit middleware outside the authentication one: it sees its refusals."""
    app.add_middleware(AuditRequests, archive=archive)
