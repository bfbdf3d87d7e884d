"""The Index: records instances and answers what the archive asks of its database.

Writes go through the group committer (one durable commit per batch of
concurrent callers); reads use their own short transactions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Insert,
    Table,
    and_,
    bindparam,
    func,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite

from vesalius.index import migrate
from vesalius.index.engine import ProcessLock, database_url, make_engines, write_lock_for
from vesalius.index.tables import column_name, instances, patients, series, studies
from vesalius.index.writer import GroupCommitter
from vesalius.model.matching import normalize_name
from vesalius.model.record import InstanceRecord

Outcome = Literal["stored", "duplicate", "replaced"]
BulkItem = tuple[InstanceRecord, str, int, str]
"""(record, blob name, file size, transfer syntax UID) of one instance to bulk-load."""


@dataclass(frozen=True, slots=True)
class AddResult:
    """What indexing one instance did; ``old_blob`` is the blob a replacement let go of."""

    outcome: Outcome
    old_blob: str | None = None


@dataclass(frozen=True, slots=True)
class StoredInstance:
    """Where an indexed instance lives and how it is encoded."""

    sop_instance_uid: str
    sop_class_uid: str
    transfer_syntax_uid: str
    blob_name: str
    file_size: int


_FIND_INSTANCE = select(instances.c.pk, instances.c.blob_name).where(
    instances.c.sop_instance_uid == bindparam("uid")
)
_FIND_SERIES = select(series.c.pk).where(series.c.series_instance_uid == bindparam("uid"))
_FIND_STUDY = select(studies.c.pk).where(studies.c.study_instance_uid == bindparam("uid"))
_FIND_PATIENT = select(patients.c.pk).where(
    patients.c.patient_id == bindparam("pid"),
    patients.c.issuer_of_patient_id == bindparam("issuer"),
)
_UNIQUE_KEYS = {
    "patients": ("patient_id", "issuer_of_patient_id"),
    "studies": ("study_instance_uid",),
    "series": ("series_instance_uid",),
    "instances": ("sop_instance_uid",),
}
_INSERTS_ONCE: dict[tuple[str, str], Insert] = {}


def _insert_once(connection: Connection, table: Table, values: dict[str, object]) -> int | None:
    """Insert a row unless its unique key is taken; its pk, or None when the key was taken.

    Another node (or process) may insert the same patient, study, series or
    instance at the same moment: the database settles the race instead of a
    unique-constraint failure, and the loser looks the winner's row up.
    """
    dialect = connection.dialect.name
    statement = _INSERTS_ONCE.get((table.name, dialect))
    if statement is None:
        insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}.get(dialect)
        if insert is None:
            statement = table.insert().returning(table.c.pk)
        else:
            statement = (
                insert(table)
                .on_conflict_do_nothing(index_elements=list(_UNIQUE_KEYS[table.name]))
                .returning(table.c.pk)
            )
        _INSERTS_ONCE[(table.name, dialect)] = statement
    found = connection.execute(statement, values).scalar()
    return None if found is None else int(found)


def _columns(values: dict[str, object]) -> dict[str, object]:
    return {column_name(keyword): value for keyword, value in values.items()}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Index:
    """The patient > study > series > instance index of one archive."""

    def __init__(
        self, reader: Engine, writer: Engine, write_lock: ProcessLock | None = None
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.committer = GroupCommitter(writer, process_lock=write_lock)

    @classmethod
    def open(cls, url: str, data_dir: Path, *, upgrade: bool = False) -> Index:
        """Open the index configured for ``data_dir``, creating an empty one at the newest schema.

        A schema behind this code's is migrated only with ``upgrade``; else, and
        for a schema this code does not know, ``migrate.SchemaError``.
        """
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        url = database_url(url, data_dir)
        reader, writer = make_engines(url)
        try:
            migrate.ensure_schema(writer, Path(data_dir) / ".index.lock", upgrade=upgrade)
        except BaseException:
            reader.dispose()
            writer.dispose()
            raise
        return cls(reader, writer, write_lock_for(url))

    def close(self) -> None:
        """Release the database connections."""
        self.committer.close()
        self.reader.dispose()
        if self.writer is not self.reader:
            self.writer.dispose()

    # -- writing -----------------------------------------------------------
    def add_instance(
        self,
        record: InstanceRecord,
        *,
        blob_name: str,
        file_size: int,
        transfer_syntax_uid: str,
        source_aet: str,
        overwrite: bool,
    ) -> AddResult:
        """Record one stored instance, creating its patient, study and series as needed.

        An instance already indexed stays as it is (``duplicate``) unless
        ``overwrite``, which points it at the new blob (``replaced``).
        """
        now = _now()
        instance_values = _columns(record.instance) | {
            "transfer_syntax_uid": transfer_syntax_uid,
            "file_size": file_size,
            "blob_name": blob_name,
            "source_aet": source_aet[:16],
            "received_at": now,
        }

        def operation(connection: Connection) -> AddResult:
            existing = connection.execute(_FIND_INSTANCE, {"uid": record.sop_instance_uid}).first()
            if existing is not None and not overwrite:
                return AddResult("duplicate")
            series_pk = self._series_pk(connection, record, now)
            if existing is None:
                values = {"series_pk": series_pk, **instance_values}
                if _insert_once(connection, instances, values) is not None:
                    return AddResult("stored")
                if not overwrite:
                    return AddResult("duplicate")  # stored elsewhere a moment ago
                existing = connection.execute(
                    _FIND_INSTANCE, {"uid": record.sop_instance_uid}
                ).one()
            connection.execute(
                instances.update().where(instances.c.pk == existing.pk),
                {"series_pk": series_pk, **instance_values},
            )
            return AddResult("replaced", existing.blob_name)

        return self.committer.run(operation)

    def _series_pk(self, connection: Connection, record: InstanceRecord, now: dt.datetime) -> int:
        found = connection.execute(
            _FIND_SERIES, {"uid": record.series["SeriesInstanceUID"]}
        ).scalar()
        if found is not None:
            return int(found)
        study_pk = self._study_pk(connection, record, now)
        values = {"study_pk": study_pk, "created_at": now, **_columns(record.series)}
        inserted = _insert_once(connection, series, values)
        if inserted is not None:
            return inserted
        return int(
            connection.execute(
                _FIND_SERIES, {"uid": record.series["SeriesInstanceUID"]}
            ).scalar_one()
        )

    def _study_pk(self, connection: Connection, record: InstanceRecord, now: dt.datetime) -> int:
        found = connection.execute(_FIND_STUDY, {"uid": record.study["StudyInstanceUID"]}).scalar()
        if found is not None:
            return int(found)
        patient_pk = self._patient_pk(connection, record, now)
        values = {"patient_pk": patient_pk, "created_at": now, **_columns(record.study)}
        values["study_datetime"] = f"{record.study['StudyDate']}{record.study['StudyTime']}"
        inserted = _insert_once(connection, studies, values)
        if inserted is not None:
            return inserted
        return int(
            connection.execute(_FIND_STUDY, {"uid": record.study["StudyInstanceUID"]}).scalar_one()
        )

    def _patient_pk(self, connection: Connection, record: InstanceRecord, now: dt.datetime) -> int:
        patient = record.patient
        found = connection.execute(
            _FIND_PATIENT, {"pid": patient["PatientID"], "issuer": patient["IssuerOfPatientID"]}
        ).scalar()
        if found is not None:
            return int(found)
        values = {"created_at": now, **_columns(patient)}
        values["patient_name_norm"] = normalize_name(patient["PatientName"])
        inserted = _insert_once(connection, patients, values)
        if inserted is not None:
            return inserted
        return int(
            connection.execute(
                _FIND_PATIENT, {"pid": patient["PatientID"], "issuer": patient["IssuerOfPatientID"]}
            ).scalar_one()
        )

    def add_instances_bulk(self, items: Iterable[BulkItem], *, source_aet: str = "") -> int:
        """Record many new instances in one transaction (benchmarks, bulk loads).

        Patients, studies and series are found or created by the same logic as
        ``add_instance``; instances are inserted with one ``executemany``.
        Instances already indexed are not looked for: the caller loads new ones.
        Returns how many instances were inserted.
        """
        now = _now()

        def operation(connection: Connection) -> int:
            known: dict[str, int] = {}
            rows: list[dict[str, object]] = []
            for record, blob_name, file_size, transfer_syntax_uid in items:
                series_uid = str(record.series["SeriesInstanceUID"])
                series_pk = known.get(series_uid)
                if series_pk is None:
                    series_pk = known[series_uid] = self._series_pk(connection, record, now)
                rows.append(
                    _columns(record.instance)
                    | {
                        "series_pk": series_pk,
                        "transfer_syntax_uid": transfer_syntax_uid,
                        "file_size": file_size,
                        "blob_name": blob_name,
                        "source_aet": source_aet[:16],
                        "received_at": now,
                    }
                )
            if rows:
                connection.execute(instances.insert(), rows)
            return len(rows)

        return self.committer.run(operation)

    # -- reading -----------------------------------------------------------
    def referenced_blobs(self, names: Sequence[str]) -> set[str]:
        """The subset of ``names`` that some indexed instance points at."""
        found: set[str] = set()
        with self.reader.connect() as connection:
            for start in range(0, len(names), 500):
                chunk = list(names[start : start + 500])
                found.update(
                    connection.execute(
                        select(instances.c.blob_name).where(instances.c.blob_name.in_(chunk))
                    ).scalars()
                )
        return found

    def all_blob_names(self) -> set[str]:
        """Every blob name the index references (for consistency checks)."""
        with self.reader.connect() as connection:
            return set(connection.execute(select(instances.c.blob_name)).scalars())

    def instance(self, sop_instance_uid: str) -> StoredInstance | None:
        """Where one instance lives, or None when it is not indexed."""
        found = self.instances_of(sop_instance_uids=[sop_instance_uid])
        return found[0] if found else None

    def instances_of(
        self,
        *,
        study_uids: Iterable[str] = (),
        series_uids: Iterable[str] = (),
        sop_instance_uids: Iterable[str] = (),
    ) -> list[StoredInstance]:
        """The instances of any of the given studies, series and instances, in a stable order."""
        conditions = []
        if study_uids := list(study_uids):
            conditions.append(studies.c.study_instance_uid.in_(study_uids))
        if series_uids := list(series_uids):
            conditions.append(series.c.series_instance_uid.in_(series_uids))
        if sop_instance_uids := list(sop_instance_uids):
            conditions.append(instances.c.sop_instance_uid.in_(sop_instance_uids))
        return self._stored_instances(or_(*conditions)) if conditions else []

    def instances_matching(
        self,
        *,
        patient_ids: Sequence[str] = (),
        study_uids: Sequence[str] = (),
        series_uids: Sequence[str] = (),
        sop_instance_uids: Sequence[str] = (),
    ) -> list[StoredInstance]:
        """The instances that satisfy every given list (hierarchical retrieve).

        Unlike ``instances_of`` the lists narrow each other: series UIDs are
        looked for inside the given studies, and so on. An empty list does not
        constrain; all empty finds nothing.
        """
        conditions = []
        if patient_ids:
            conditions.append(patients.c.patient_id.in_(list(patient_ids)))
        if study_uids:
            conditions.append(studies.c.study_instance_uid.in_(list(study_uids)))
        if series_uids:
            conditions.append(series.c.series_instance_uid.in_(list(series_uids)))
        if sop_instance_uids:
            conditions.append(instances.c.sop_instance_uid.in_(list(sop_instance_uids)))
        return self._stored_instances(and_(*conditions)) if conditions else []

    def _stored_instances(self, condition: ColumnElement[bool]) -> list[StoredInstance]:
        query = (
            select(
                instances.c.sop_instance_uid,
                instances.c.sop_class_uid,
                instances.c.transfer_syntax_uid,
                instances.c.blob_name,
                instances.c.file_size,
            )
            .join(series, series.c.pk == instances.c.series_pk)
            .join(studies, studies.c.pk == series.c.study_pk)
            .join(patients, patients.c.pk == studies.c.patient_pk)
            .where(condition)
            .order_by(
                studies.c.pk,
                series.c.series_number,
                series.c.pk,
                instances.c.instance_number,
                instances.c.pk,
            )
        )
        with self.reader.connect() as connection:
            return [StoredInstance(*row) for row in connection.execute(query)]

    def counts(self) -> dict[str, int]:
        """How many patients, studies, series and instances the index holds."""
        with self.reader.connect() as connection:
            return {
                name: int(connection.execute(select(func.count()).select_from(table)).scalar_one())
                for name, table in (
                    ("patients", patients),
                    ("studies", studies),
                    ("series", series),
                    ("instances", instances),
                )
            }

    def series_overview(
        self, *, patient: str | None = None, study_uid: str | None = None
    ) -> list[dict[str, object]]:
        """One row per series with its patient and study, for listings (``vesalius ls``)."""
        count = func.count(instances.c.pk).label("instances")
        size = func.coalesce(func.sum(instances.c.file_size), 0).label("bytes")
        query = (
            select(
                patients.c.patient_id,
                patients.c.patient_name,
                studies.c.study_instance_uid,
                studies.c.study_date,
                studies.c.study_description,
                series.c.series_instance_uid,
                series.c.modality,
                series.c.series_number,
                series.c.series_description,
                count,
                size,
            )
            .select_from(patients)
            .join(studies, studies.c.patient_pk == patients.c.pk)
            .join(series, series.c.study_pk == studies.c.pk)
            .join(instances, instances.c.series_pk == series.c.pk)
            .group_by(patients.c.pk, studies.c.pk, series.c.pk)
            .order_by(
                patients.c.patient_name,
                patients.c.patient_id,
                studies.c.study_date,
                studies.c.pk,
                series.c.series_number,
                series.c.pk,
            )
        )
        if patient:
            pattern = patient.replace("*", "%").replace("?", "_")
            query = query.where(
                (patients.c.patient_id.like(pattern)) | (patients.c.patient_name.like(pattern))
            )
        if study_uid:
            query = query.where(studies.c.study_instance_uid == study_uid)
        with self.reader.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(query)]
