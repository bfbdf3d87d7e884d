"""Figures about the index for the system page and metrics: bytes stored, a liveness probe."""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from vesalius.index.tables import instances, patients


def stored_bytes(engine: Engine) -> int:
    """The total size of the stored files, as the index records them."""
    with engine.connect() as connection:
        total = connection.execute(select(func.coalesce(func.sum(instances.c.file_size), 0)))
        return int(total.scalar_one())


def ping(engine: Engine) -> None:
    """One cheap read of the index; raises when the database does not answer."""
    with engine.connect() as connection:
        connection.execute(select(patients.c.pk).limit(1)).all()
