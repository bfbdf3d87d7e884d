"""Every indexed instance with the keys a consistency check compares to its file."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select

from vesalius.index.index import Index
from vesalius.index.tables import instances, patients, series, studies

CHUNK = 1000


@dataclass(frozen=True, slots=True)
class IndexedInstance:
    """One instance row and the UIDs above it."""

    sop_instance_uid: str
    sop_class_uid: str
    blob_name: str
    file_size: int
    series_instance_uid: str
    study_instance_uid: str
    patient_id: str


def indexed_instances(index: Index) -> Iterator[IndexedInstance]:
    """Stream every indexed instance (a read transaction, not a lock on writers)."""
    query = (
        select(
            instances.c.sop_instance_uid,
            instances.c.sop_class_uid,
            instances.c.blob_name,
            instances.c.file_size,
            series.c.series_instance_uid,
            studies.c.study_instance_uid,
            patients.c.patient_id,
        )
        .join(series, series.c.pk == instances.c.series_pk)
        .join(studies, studies.c.pk == series.c.study_pk)
        .join(patients, patients.c.pk == studies.c.patient_pk)
        .order_by(instances.c.pk)
    )
    with index.reader.connect() as connection:
        result = connection.execution_options(stream_results=True, yield_per=CHUNK).execute(query)
        for row in result:
            yield IndexedInstance(*(value if value is not None else "" for value in row))
