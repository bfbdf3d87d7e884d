"""Rows of the ``users`` and ``credentials`` tables."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, delete, func, select

from vesalius.index.index import Index
from vesalius.index.tables import credentials, users


@dataclass(frozen=True, slots=True)
class UserRow:
    """One user as stored."""

    id: int
    name: str
    role: str
    password_hash: str
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class CredentialRow:
    """A bearer token or browser session, resolved to its user."""

    id: int
    kind: str
    user: UserRow
    csrf_token: str
    expires_at: dt.datetime | None


def _user(row: object) -> UserRow:
    return UserRow(
        row.pk,  # type: ignore[attr-defined]
        row.name,  # type: ignore[attr-defined]
        row.role,  # type: ignore[attr-defined]
        row.password_hash,  # type: ignore[attr-defined]
        row.created_at,  # type: ignore[attr-defined]
    )


class UserTable:
    """Create, read and remove users and their credentials in one index."""

    def __init__(self, index: Index) -> None:
        self.index = index

    def count(self) -> int:
        """How many users exist."""
        with self.index.reader.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(users)).scalar_one())

    def get(self, name: str) -> UserRow | None:
        """The user called ``name``, or None."""
        with self.index.reader.connect() as connection:
            row = connection.execute(select(users).where(users.c.name == name)).first()
        return _user(row) if row is not None else None

    def all(self) -> list[UserRow]:
        """Every user, by name."""
        with self.index.reader.connect() as connection:
            rows = connection.execute(select(users).order_by(users.c.name)).all()
        return [_user(row) for row in rows]

    def put(self, name: str, password_hash: str, role: str, now: dt.datetime) -> bool:
        """Add the user, or change its password and role; True when it was new."""

        def operation(connection: Connection) -> bool:
            found = connection.execute(select(users.c.pk).where(users.c.name == name)).first()
            if found is None:
                connection.execute(
                    users.insert(),
                    {"name": name, "password_hash": password_hash, "role": role, "created_at": now},
                )
                return True
            connection.execute(
                users.update()
                .where(users.c.pk == found.pk)
                .values(password_hash=password_hash, role=role)
            )
            connection.execute(delete(credentials).where(credentials.c.user_pk == found.pk))
            return False

        return self.index.committer.run(operation)

    def remove(self, name: str) -> bool:
        """Remove the user and its credentials; False when there was none."""

        def operation(connection: Connection) -> bool:
            found = connection.execute(select(users.c.pk).where(users.c.name == name)).first()
            if found is None:
                return False
            connection.execute(delete(credentials).where(credentials.c.user_pk == found.pk))
            connection.execute(delete(users).where(users.c.pk == found.pk))
            return True

        return self.index.committer.run(operation)

    def add_credential(
        self,
        user_id: int,
        kind: str,
        secret_hash: str,
        *,
        csrf_token: str = "",
        label: str = "",
        now: dt.datetime,
        expires_at: dt.datetime | None,
    ) -> int:
        """Keep a new credential of ``user_id``; return its id."""
        values = {
            "user_pk": user_id,
            "kind": kind,
            "secret_hash": secret_hash,
            "csrf_token": csrf_token,
            "label": label[:64],
            "created_at": now,
            "expires_at": expires_at,
        }

        def operation(connection: Connection) -> int:
            result = connection.execute(credentials.insert(), values)
            return int(result.inserted_primary_key[0])

        return self.index.committer.run(operation)

    def credential(self, secret_hash: str) -> CredentialRow | None:
        """The credential whose secret hashes to ``secret_hash``, with its user."""
        query = (
            select(credentials, users.c.name, users.c.role, users.c.password_hash)
            .add_columns(users.c.created_at.label("user_created_at"))
            .join(users, users.c.pk == credentials.c.user_pk)
            .where(credentials.c.secret_hash == secret_hash)
        )
        with self.index.reader.connect() as connection:
            row = connection.execute(query).first()
        if row is None:
            return None
        user = UserRow(row.user_pk, row.name, row.role, row.password_hash, row.user_created_at)
        return CredentialRow(row.pk, row.kind, user, row.csrf_token, row.expires_at)

    def remove_credential(self, secret_hash: str) -> None:
        """Forget one credential (a session that logs out)."""

        def operation(connection: Connection) -> None:
            connection.execute(delete(credentials).where(credentials.c.secret_hash == secret_hash))

        self.index.committer.run(operation)
