"""Login and logout of the web UI (``/api/session``), and the users (``/api/users``, admins)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from vesalius.archive.users import User, Users
from vesalius.web.auth import SESSION_COOKIE, session_secret
from vesalius.web.errors import HttpError

router = APIRouter(tags=["users"])


class Login(BaseModel):
    """A user name and password."""

    name: str
    password: str


class NewUser(BaseModel):
    """A user to add (or change)."""

    name: str
    password: str
    role: str = Field("viewer", description="viewer, operator or admin")


class Unauthorized(HttpError):
    """Credentials that let no one in (401)."""

    status = 401


def _users(request: Request) -> Users:
    users: Users = request.app.state.users
    return users


@router.post("/session")
def log_in(login: Login, request: Request, response: Response) -> dict[str, Any]:
    """Log in: set the session cookie; answer the user, role and the CSRF token that
    state-changing requests must send in ``X-CSRF-Token``."""
    users = _users(request)
    user = users.authenticate(login.name, login.password)
    if user is None:
        raise Unauthorized("wrong user name or password")
    session = users.open_session(user)
    response.set_cookie(
        SESSION_COOKIE,
        session.secret,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return {"name": user.name, "role": user.role, "csrf_token": session.csrf_token}


@router.get("/session")
def read_session(request: Request) -> dict[str, Any]:
    """Who is asking: name, role and (for a browser session) its CSRF token; all null
    while no user exists."""
    user: User | None = getattr(request.state, "user", None)
    credential = getattr(request.state, "credential", None)
    if user is None:
        return {"name": None, "role": None, "csrf_token": None}
    csrf = (
        credential.csrf_token if credential is not None and credential.kind == "session" else None
    )
    return {"name": user.name, "role": user.role, "csrf_token": csrf}


@router.delete("/session", status_code=204)
def log_out(request: Request, response: Response) -> None:
    """Log out: end the session and clear its cookie."""
    secret = session_secret(request.scope)
    if secret:
        _users(request).close_session(secret)
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.get("/users")
def list_users(request: Request) -> list[dict[str, str]]:
    """Every user and role (admins only)."""
    return [{"name": user.name, "role": user.role} for user in _users(request).list()]


@router.post("/users", status_code=201)
def add_user(new: NewUser, request: Request) -> dict[str, str]:
    """Add a user, or change one's password and role (admins only)."""
    _users(request).add(new.name, new.password, new.role)
    return {"name": new.name.strip(), "role": new.role}


@router.delete("/users/{name}", status_code=204)
def remove_user(name: str, request: Request) -> None:
    """Remove a user with its sessions and tokens (admins only)."""
    _users(request).remove(name)
