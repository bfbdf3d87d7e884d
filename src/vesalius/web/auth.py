"""Authentication and authorization of HTTP requests, as one ASGI middleware.

While no user exists, every request passes, as before users were introduced.
Once one exists, each request to ``/api``, ``/dicomweb`` or ``/wado`` needs a
bearer token (``Authorization: Bearer ...``, for scripts and DICOMweb
clients) or the session cookie the login of ``POST /api/session`` sets (for
the web UI). A state-changing request made with the cookie must repeat the
session's CSRF token in the ``X-CSRF-Token`` header. Missing or unknown
credentials answer 401; a role that may not make the request answers 403.
The viewer's static files and ``/api/health`` stay open.
"""

from __future__ import annotations

import ipaddress
import secrets
from http.cookies import SimpleCookie

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from vesalius.archive.users import Presented, Users
from vesalius.model.access import Kind, allows
from vesalius.settings import Settings
from vesalius.web.errors import error_response

SESSION_COOKIE = "vesalius_session"
CSRF_HEADER = "x-csrf-token"
PROTECTED = ("/api", "/dicomweb", "/wado")
OPEN = {("GET", "/api/health"), ("POST", "/api/session")}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="vesalius"'}


def request_kind(method: str, path: str) -> Kind | None:
    """The kind of request (read, write, delete, admin); None for one anybody may make."""
    path = path.rstrip("/") or "/"
    if not any(path == prefix or path.startswith(prefix + "/") for prefix in PROTECTED):
        return None
    if (method, path) in OPEN:
        return None
    if path == "/api/users" or path.startswith("/api/users/") or path == "/api/audit":
        return "admin"
    if method in SAFE_METHODS or path in ("/api/query", "/api/session"):
        return "read"
    if method == "DELETE":
        return "delete"
    return "write"


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return ""


def session_secret(scope: Scope) -> str:
    """The session cookie's value in a request, or ''."""
    cookie = SimpleCookie()
    try:
        cookie.load(_header(scope, b"cookie"))
    except Exception:  # a malformed Cookie header counts as none
        return ""
    morsel = cookie.get(SESSION_COOKIE)
    return morsel.value if morsel is not None else ""


class Authenticate:
    """The middleware: let a request through, or answer 401 / 403 for it."""

    def __init__(self, app: ASGIApp, users: Users) -> None:
        self.app = app
        self.users = users

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        kind = request_kind(method, scope["path"])
        if kind is None or method == "OPTIONS":
            await self.app(scope, receive, send)
            return
        refusal, presented = await run_in_threadpool(self._check, scope, method, kind)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        if presented is not None:
            scope.setdefault("state", {})["user"] = presented.user
            scope["state"]["credential"] = presented
        await self.app(scope, receive, send)

    def _check(
        self, scope: Scope, method: str, kind: Kind
    ) -> tuple[Response | None, Presented | None]:
        if not self.users.exist():
            return None, None
        authorization = _header(scope, b"authorization")
        presented: Presented | None = None
        if authorization:
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                return error_response(401, "only bearer tokens are accepted", CHALLENGE), None
            presented = self.users.resolve(token.strip(), "token")
        elif secret := session_secret(scope):
            presented = self.users.resolve(secret, "session")
        else:
            return error_response(401, "authentication required", CHALLENGE), None
        if presented is None:
            return error_response(401, "unknown or expired credentials", CHALLENGE), None
        if presented.kind == "session" and method not in SAFE_METHODS:
            offered = _header(scope, CSRF_HEADER.encode())
            if not offered or not secrets.compare_digest(offered, presented.csrf_token):
                return error_response(403, "missing or wrong CSRF token"), None
        if not allows(presented.user.role, kind):
            return (
                error_response(403, f"role {presented.user.role} may not make {kind} requests"),
                None,
            )
        return None, presented


def is_loopback(host: str) -> bool:
    """True for an address only this machine reaches (127.0.0.0/8, ::1, localhost)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def exposure_refusal(settings: Settings, users_exist: bool) -> str | None:
    """Why ``serve`` must not bind its HTTP address, or None: a non-loopback address
    without users is refused unless ``[http] allow_anonymous`` is true."""
    if users_exist or settings.http.allow_anonymous or is_loopback(settings.http.host):
        return None
    return (
        f"http.host {settings.http.host} is reachable from other machines and no user "
        "exists: add one (vesalius user add NAME --role admin) or set "
        "[http] allow_anonymous = true"
    )
