"""Rows of the ``worklist`` and ``mpps`` tables, and worklist matching in SQL.

A worklist query's conditions (``model.worklist.parse_worklist_query``) become
one WHERE clause through the same functions as the archive's C-FIND
(``index.query.match_value`` and ``match_name``), on the columns that hold the
matching keys. Each row keeps the whole item (and each performed procedure
step the whole step) as DICOM JSON; writes go through the group committer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydicom.dataset import Dataset
from sqlalchemy import ColumnElement, Connection, Row, func, or_, select

from vesalius.index.index import Index
from vesalius.index.query import match_name, match_value
from vesalius.index.tables import column_name, instances, mpps, series, studies, worklist
from vesalius.model.matching import Condition, normalize_name
from vesalius.model.worklist import START_DATETIME, item_dataset, item_fields

COLUMN_KEYS = (
    "PatientID",
    "IssuerOfPatientID",
    "PatientName",
    "AccessionNumber",
    "RequestedProcedureID",
    "StudyInstanceUID",
    "ScheduledStationAETitle",
    "Modality",
    "ScheduledProcedureStepStartDate",
    "ScheduledProcedureStepStartTime",
    "ScheduledPerformingPhysicianName",
    "ScheduledProcedureStepID",
    "ScheduledProcedureStepStatus",
    "PlacerOrderNumberImagingServiceRequest",
    "FillerOrderNumberImagingServiceRequest",
)
"""Fields that have a column of their own."""
STATUS = worklist.c.scheduled_procedure_step_status


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def to_json(dataset: Dataset) -> str:
    """A data set as DICOM JSON text, as rows keep it."""
    return dataset.to_json()


def from_json(text: str) -> Dataset:
    """The data set a row keeps."""
    return Dataset.from_json(text)


@dataclass(frozen=True, slots=True)
class WorklistRow:
    """One worklist item as stored: its id, flat fields, the step that reported on it,
    and how many instances of its study the archive holds."""

    id: int
    fields: dict[str, str]
    mpps_uid: str
    created_at: dt.datetime
    updated_at: dt.datetime
    dataset: str
    stored_instances: int = 0

    @property
    def status(self) -> str:
        """Its Scheduled Procedure Step Status."""
        return self.fields.get("ScheduledProcedureStepStatus", "")

    def item(self) -> Dataset:
        """The DICOM worklist item."""
        return from_json(self.dataset)


@dataclass(frozen=True, slots=True)
class MppsRow:
    """One performed procedure step as stored."""

    id: int
    sop_instance_uid: str
    status: str
    worklist_id: int | None
    dataset: str

    def step(self) -> Dataset:
        """The step's attributes."""
        return from_json(self.dataset)


def _values(fields: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {column_name(k): fields.get(k, "") for k in COLUMN_KEYS}
    values["patient_name_norm"] = normalize_name(fields.get("PatientName", ""))
    values["scheduled_procedure_step_start_datetime"] = fields.get(
        "ScheduledProcedureStepStartDate", ""
    ) + fields.get("ScheduledProcedureStepStartTime", "")
    values["dataset"] = to_json(item_dataset(fields))
    values["updated_at"] = _now()
    return values


def _stored_instances() -> Any:
    """How many instances of the item's study the archive holds (correlated subquery)."""
    return (
        select(func.count())
        .select_from(instances.join(series, series.c.pk == instances.c.series_pk))
        .join(studies, studies.c.pk == series.c.study_pk)
        .where(studies.c.study_instance_uid == worklist.c.study_instance_uid)
        .scalar_subquery()
    )


_ROW_COLUMNS = (
    worklist.c.pk,
    worklist.c.dataset,
    worklist.c.mpps_uid,
    worklist.c.created_at,
    worklist.c.updated_at,
)


def _row(row: Row[Any], counted: bool = False) -> WorklistRow:
    item = from_json(row.dataset)
    return WorklistRow(
        row.pk,
        item_fields(item),
        row.mpps_uid,
        row.created_at,
        row.updated_at,
        row.dataset,
        int(row.stored) if counted else 0,
    )


def condition_sql(
    condition: Condition, dialect: str, *, case_insensitive_names: bool
) -> ColumnElement[bool]:
    """The SQL of one worklist matching condition."""
    if condition.keyword == START_DATETIME:
        return match_value(condition, worklist.c.scheduled_procedure_step_start_datetime, dialect)
    column: Any = worklist.c[column_name(condition.keyword)]
    if condition.vr == "PN" and condition.kind in ("single", "wildcard"):
        folded = case_insensitive_names
        if folded and condition.keyword == "PatientName":
            column = worklist.c.patient_name_norm
        elif folded:
            column = func.upper(column)
        return match_name(column, condition.value, dialect, folded=folded)
    return match_value(condition, column, dialect)


class WorklistTable:
    """Create, change, match and read worklist items and performed procedure steps."""

    def __init__(self, index: Index) -> None:
        self.index = index

    @property
    def dialect(self) -> str:
        """The SQL dialect of the index."""
        return self.index.reader.dialect.name

    # -- worklist items --------------------------------------------------------
    def insert(self, fields: dict[str, str]) -> int:
        """A new item of complete fields; its id."""
        values = _values(fields) | {"created_at": _now(), "mpps_uid": ""}

        def operation(connection: Connection) -> int:
            return int(connection.execute(worklist.insert(), values).inserted_primary_key[0])

        return self.index.committer.run(operation)

    def replace(self, item_id: int, fields: dict[str, str], mpps_uid: str | None = None) -> bool:
        """Store new complete fields for an item; False when it does not exist."""
        values = _values(fields)
        if mpps_uid is not None:
            values["mpps_uid"] = mpps_uid

        def operation(connection: Connection) -> int:
            done = connection.execute(
                worklist.update().where(worklist.c.pk == item_id).values(values)
            )
            return int(done.rowcount or 0)

        return bool(self.index.committer.run(operation))

    def delete(self, item_id: int) -> bool:
        """Remove an item; False when it does not exist."""

        def operation(connection: Connection) -> int:
            connection.execute(
                mpps.update().where(mpps.c.worklist_pk == item_id).values(worklist_pk=None)
            )
            done = connection.execute(worklist.delete().where(worklist.c.pk == item_id))
            return int(done.rowcount or 0)

        return bool(self.index.committer.run(operation))

    def get(self, item_id: int) -> WorklistRow | None:
        """One item with its stored-instance count, or None."""
        found = self._select(worklist.c.pk == item_id, limit=1)
        return found[0] if found else None

    def by_order(self, placer: str, filler: str) -> WorklistRow | None:
        """The newest item of an order, by its placer or filler order number."""
        keys = []
        if placer:
            keys.append(worklist.c.placer_order_number_imaging_service_request == placer)
        if filler:
            keys.append(worklist.c.filler_order_number_imaging_service_request == filler)
        if not keys:
            return None
        found = self._select(or_(*keys), limit=1, newest_first=True)
        return found[0] if found else None

    def for_step(self, references: Iterable[dict[str, str]]) -> WorklistRow | None:
        """The item a performed procedure step reports on: for each Scheduled Step
        Attributes item, by Study Instance UID with the step ID when there is one."""
        for reference in references:
            study = reference.get("StudyInstanceUID", "")
            step_id = reference.get("ScheduledProcedureStepID", "")
            conditions = [worklist.c.study_instance_uid == study]
            if step_id:
                conditions.append(worklist.c.scheduled_procedure_step_id == step_id)
            found = self._select(*conditions, limit=1) if study else []
            if found:
                return found[0]
        return None

    def list(
        self,
        conditions: Sequence[ColumnElement[bool]] = (),
        *,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[WorklistRow], int]:
        """A page of items, by scheduled start then id, and how many match in all."""
        rows = self._select(*conditions, limit=limit, offset=offset)
        count = select(func.count()).select_from(worklist).where(*conditions)
        with self.index.reader.connect() as connection:
            total = int(connection.execute(count).scalar_one())
        return rows, total

    def match(self, conditions: Sequence[ColumnElement[bool]], limit: int = 0) -> list[WorklistRow]:
        """Every item that meets all ``conditions``, by scheduled start (``limit`` 0: all)."""
        return self._select(*conditions, limit=limit)

    def _select(
        self,
        *conditions: ColumnElement[bool],
        limit: int = 0,
        offset: int = 0,
        newest_first: bool = False,
    ) -> list[WorklistRow]:
        statement = select(*_ROW_COLUMNS, _stored_instances().label("stored")).where(*conditions)
        if newest_first:
            statement = statement.order_by(worklist.c.pk.desc())
        else:
            statement = statement.order_by(
                worklist.c.scheduled_procedure_step_start_datetime, worklist.c.pk
            )
        if limit:
            statement = statement.limit(limit)
        if offset:
            statement = statement.offset(offset)
        with self.index.reader.connect() as connection:
            return [_row(row, counted=True) for row in connection.execute(statement)]

    # -- performed procedure steps ------------------------------------------------
    def add_step(
        self, sop_instance_uid: str, step: Dataset, status: str, worklist_id: int | None
    ) -> bool:
        """Record a new performed procedure step; False when its UID exists already."""
        now = _now()
        references = step.get("ScheduledStepAttributesSequence") or []
        study = str(references[0].get("StudyInstanceUID", "")) if references else ""
        values = {
            "sop_instance_uid": sop_instance_uid,
            "status": status,
            "study_instance_uid": study,
            "worklist_pk": worklist_id,
            "performed_station_ae_title": str(step.get("PerformedStationAETitle", ""))[:16],
            "dataset": to_json(step),
            "created_at": now,
            "updated_at": now,
        }

        def operation(connection: Connection) -> bool:
            exists = connection.execute(
                select(mpps.c.pk).where(mpps.c.sop_instance_uid == sop_instance_uid)
            ).first()
            if exists is not None:
                return False
            connection.execute(mpps.insert(), values)
            return True

        return bool(self.index.committer.run(operation))

    def step(self, sop_instance_uid: str) -> MppsRow | None:
        """One performed procedure step, or None."""
        query = select(
            mpps.c.pk, mpps.c.sop_instance_uid, mpps.c.status, mpps.c.worklist_pk, mpps.c.dataset
        ).where(mpps.c.sop_instance_uid == sop_instance_uid)
        with self.index.reader.connect() as connection:
            row = connection.execute(query).first()
        return MppsRow(*row) if row is not None else None

    def update_step(self, sop_instance_uid: str, step: Dataset, status: str) -> None:
        """Store a performed procedure step's new attributes and status."""
        values = {"status": status, "dataset": to_json(step), "updated_at": _now()}

        def operation(connection: Connection) -> None:
            connection.execute(
                mpps.update().where(mpps.c.sop_instance_uid == sop_instance_uid).values(values)
            )

        self.index.committer.run(operation)
