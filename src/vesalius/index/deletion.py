"""Removing a patient, study, series or instance from the index, in one write transaction.

The rows go first and the blobs after (``archive.deletion``): the index never
points at a missing file. Before its rows go, every blob they reference is
handed to ``retire`` inside the same transaction, so that the blob store
journals it for removal; if the process dies before the blobs are deleted,
recovery finds them journaled and no longer referenced, and removes them.

``delete_dependents`` is the one place that knows which other tables hold rows
keyed to instances or their files: a table added later (kept metadata,
annotations) is listed there and goes in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Column, ColumnElement, Connection, Table, delete, exists, select

from vesalius.index.index import Index
from vesalius.index.tables import instance_metadata, instances, patients, series, studies
from vesalius.model.errors import InvalidQuery, NotFound

KEYED_TO_INSTANCES: tuple[tuple[Table, Column[int]], ...] = ()
"""(table, column holding ``instances.pk``) of every table whose rows belong to an instance;
their rows are deleted with the instance's."""
KEYED_TO_BLOBS: tuple[tuple[Table, Column[str]], ...] = (
    (instance_metadata, instance_metadata.c.blob_name),
)
"""(table, column holding ``instances.blob_name``) of every table whose rows belong to a
stored file (kept metadata, renderings); their rows are deleted with the instance's."""
Retire = Callable[[list[str]], None]
"""Called with the blob names about to lose their index rows, inside the transaction."""


@dataclass(frozen=True, slots=True)
class Removed:
    """What one deletion took out of the index; ``blob_names`` are left to remove."""

    patients: int
    studies: int
    series: int
    instances: int
    blob_names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Scope:
    """Conditions selecting the rows a deletion may remove, level by level."""

    instances: ColumnElement[bool]
    series: ColumnElement[bool]
    studies: ColumnElement[bool]
    patients: ColumnElement[bool]


def _scope(connection: Connection, level: str, target: str | int) -> _Scope:
    """The rows below and the ancestors of the target; ``NotFound`` when it is not there."""
    if level == "PATIENT":
        patient = connection.execute(select(patients.c.pk).where(patients.c.pk == target)).first()
        if patient is None:
            raise NotFound(f"no patient {target}")
        study_pks = select(studies.c.pk).where(studies.c.patient_pk == patient.pk)
        series_pks = select(series.c.pk).where(series.c.study_pk.in_(study_pks))
        return _Scope(
            instances.c.series_pk.in_(series_pks),
            series.c.study_pk.in_(study_pks),
            studies.c.patient_pk == patient.pk,
            patients.c.pk == patient.pk,
        )
    lineage = select(patients.c.pk.label("patient"), studies.c.pk.label("study"))
    lineage = lineage.join_from(studies, patients, patients.c.pk == studies.c.patient_pk)
    if level == "STUDY":
        row = connection.execute(lineage.where(studies.c.study_instance_uid == target)).first()
        if row is None:
            raise NotFound(f"no study {target} stored")
        series_pks = select(series.c.pk).where(series.c.study_pk == row.study)
        return _Scope(
            instances.c.series_pk.in_(series_pks),
            series.c.study_pk == row.study,
            studies.c.pk == row.study,
            patients.c.pk == row.patient,
        )
    lineage = lineage.add_columns(series.c.pk.label("series")).join(
        series, series.c.study_pk == studies.c.pk
    )
    if level == "SERIES":
        row = connection.execute(lineage.where(series.c.series_instance_uid == target)).first()
        if row is None:
            raise NotFound(f"no series {target} stored")
        instance_condition = instances.c.series_pk == row.series
    elif level == "IMAGE":
        lineage = lineage.add_columns(instances.c.pk.label("instance")).join(
            instances, instances.c.series_pk == series.c.pk
        )
        row = connection.execute(lineage.where(instances.c.sop_instance_uid == target)).first()
        if row is None:
            raise NotFound(f"no instance {target} stored")
        instance_condition = instances.c.pk == row.instance
    else:
        raise InvalidQuery(f"cannot delete at level {level!r}")
    return _Scope(
        instance_condition,
        series.c.pk == row.series,
        studies.c.pk == row.study,
        patients.c.pk == row.patient,
    )


def delete_rows(connection: Connection, scope: _Scope, retire: Retire) -> Removed:
    """Delete the instances in scope, rows keyed to them, then the parents left empty.

    Parents are looked for only among the target's own ancestors and
    descendants, each removed only when nothing is left below it.
    """
    blob_names = list(
        connection.execute(select(instances.c.blob_name).where(scope.instances)).scalars()
    )
    retire(blob_names)
    delete_dependents(connection, scope.instances)
    removed_instances = connection.execute(delete(instances).where(scope.instances)).rowcount
    removed_series = connection.execute(
        delete(series).where(scope.series, ~exists().where(instances.c.series_pk == series.c.pk))
    ).rowcount
    removed_studies = connection.execute(
        delete(studies).where(scope.studies, ~exists().where(series.c.study_pk == studies.c.pk))
    ).rowcount
    removed_patients = connection.execute(
        delete(patients).where(
            scope.patients, ~exists().where(studies.c.patient_pk == patients.c.pk)
        )
    ).rowcount
    return Removed(
        int(removed_patients or 0),
        int(removed_studies or 0),
        int(removed_series or 0),
        int(removed_instances or 0),
        tuple(blob_names),
    )


def delete_dependents(connection: Connection, doomed: ColumnElement[bool]) -> None:
    """Delete the rows of other tables that belong to the instances ``doomed`` selects.

    The one place to extend when a table keyed to instances or their files is added
    (``KEYED_TO_INSTANCES``, ``KEYED_TO_BLOBS``); it runs before the instances go.
    """
    for table, instance_pk in KEYED_TO_INSTANCES:
        connection.execute(
            delete(table).where(instance_pk.in_(select(instances.c.pk).where(doomed)))
        )
    for table, blob_name in KEYED_TO_BLOBS:
        blobs = select(instances.c.blob_name).where(doomed)
        connection.execute(delete(table).where(blob_name.in_(blobs)))


def remove(index: Index, level: str, target: str | int, retire: Retire) -> Removed:
    """Remove a patient (by its key), study, series or instance (by UID) from the index.

    One write transaction through the index's committer: the target's
    instances, and its series, study and patient when they are left empty.
    ``NotFound`` when the target is not indexed.
    """

    def operation(connection: Connection) -> Removed:
        return delete_rows(connection, _scope(connection, level, target), retire)

    return index.committer.run(operation)
