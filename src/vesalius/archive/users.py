"""Users of the HTTP front door: passwords, bearer tokens and browser sessions.

Passwords are hashed with Argon2id (argon2-cffi). Tokens and session ids are
256 random bits; only their SHA-256 is stored, so a copy of the index lets no
one in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from vesalius.index.index import Index
from vesalius.index.users import UserTable
from vesalius.model.access import ROLES
from vesalius.model.errors import ArchiveError, NotFound

SESSION_LIFETIME = dt.timedelta(hours=12)
"""How long a browser session lasts after login."""

_HASHER = PasswordHasher()
_DUMMY_HASH = _HASHER.hash("an unused password, for constant-time refusals")


class BadUser(ArchiveError):
    """A user name, password or role that cannot be used (400)."""

    http_status = 400


@dataclass(frozen=True, slots=True)
class User:
    """Someone known: name and role."""

    name: str
    role: str


@dataclass(frozen=True, slots=True)
class Session:
    """A browser session just opened: the cookie value and its CSRF token."""

    user: User
    secret: str
    csrf_token: str


@dataclass(frozen=True, slots=True)
class Presented:
    """What a presented secret turned out to be."""

    user: User
    kind: str
    csrf_token: str


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Users:
    """The users of one archive's index."""

    def __init__(self, index: Index) -> None:
        self.table = UserTable(index)

    def exist(self) -> bool:
        """True as soon as one user exists (and HTTP then requires authentication)."""
        return self.table.count() > 0

    def list(self) -> list[User]:
        """Every user, by name."""
        return [User(row.name, row.role) for row in self.table.all()]

    def add(self, name: str, password: str, role: str) -> bool:
        """Add a user, or change its password and role (which ends its sessions and
        tokens); True when it is new."""
        name = name.strip()
        if not name or len(name) > 64 or not name.isprintable():
            raise BadUser("a user name is 1 to 64 printable characters")
        if len(password) < 8:
            raise BadUser("a password has at least 8 characters")
        if role not in ROLES:
            raise BadUser(f"role {role!r} is not one of {', '.join(ROLES)}")
        return self.table.put(name, _HASHER.hash(password), role, _now())

    def remove(self, name: str) -> None:
        """Remove a user with its sessions and tokens; ``NotFound`` if unknown."""
        if not self.table.remove(name):
            raise NotFound(f"no user named {name!r}")

    def authenticate(self, name: str, password: str) -> User | None:
        """The user when ``password`` is theirs, else None (in about the same time)."""
        row = self.table.get(name)
        try:
            _HASHER.verify(row.password_hash if row else _DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            return None
        return User(row.name, row.role) if row is not None else None

    def issue_token(self, name: str, label: str = "", days: int = 0) -> str:
        """A new bearer token of ``name`` (shown once); ``days`` 0 never expires."""
        row = self.table.get(name)
        if row is None:
            raise NotFound(f"no user named {name!r}")
        secret = secrets.token_urlsafe(32)
        now = _now()
        expires = now + dt.timedelta(days=days) if days else None
        self.table.add_credential(
            row.id, "token", _digest(secret), label=label, now=now, expires_at=expires
        )
        return secret

    def open_session(self, user: User) -> Session:
        """A browser session of an authenticated ``user``."""
        row = self.table.get(user.name)
        if row is None:
            raise NotFound(f"no user named {user.name!r}")
        secret = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        now = _now()
        self.table.add_credential(
            row.id,
            "session",
            _digest(secret),
            csrf_token=csrf,
            now=now,
            expires_at=now + SESSION_LIFETIME,
        )
        return Session(User(row.name, row.role), secret, csrf)

    def close_session(self, secret: str) -> None:
        """End a browser session."""
        self.table.remove_credential(_digest(secret))

    def resolve(self, secret: str, kind: str) -> Presented | None:
        """The user behind a bearer token (``kind`` "token") or session cookie
        ("session"), or None when it is unknown, of the other kind, or expired."""
        found = self.table.credential(_digest(secret))
        if found is None or found.kind != kind:
            return None
        if found.expires_at is not None and found.expires_at < _now():
            return None
        return Presented(User(found.user.name, found.user.role), found.kind, found.csrf_token)
