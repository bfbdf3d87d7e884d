"""The kept DICOM JSON of stored files, by blob name (a replaced file gets a new one)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection

from vesalius.index.index import Index
from vesalius.index.tables import instance_metadata

BATCH = 500


def kept(index: Index, blob_names: Sequence[str]) -> dict[str, str]:
    """The kept bodies of those of ``blob_names`` that have one."""
    found: dict[str, str] = {}
    with index.reader.connect() as connection:
        for start in range(0, len(blob_names), BATCH):
            names = list(blob_names[start : start + BATCH])
            rows = connection.execute(
                select(instance_metadata.c.blob_name, instance_metadata.c.body).where(
                    instance_metadata.c.blob_name.in_(names)
                )
            )
            found.update({name: body for name, body in rows})
    return found


def keep(index: Index, bodies: Mapping[str, str]) -> None:
    """Keep (or replace) the bodies of these blob names, in one transaction."""
    names = list(bodies)

    def operation(connection: Connection) -> None:
        for start in range(0, len(names), BATCH):
            batch = names[start : start + BATCH]
            connection.execute(
                delete(instance_metadata).where(instance_metadata.c.blob_name.in_(batch))
            )
            connection.execute(
                insert(instance_metadata), [{"blob_name": n, "body": bodies[n]} for n in batch]
            )

    index.committer.run(operation)
