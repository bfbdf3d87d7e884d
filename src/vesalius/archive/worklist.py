"""The modality worklist: items the RIS orders (HL7), the API or the CLI add, and the
matching a Modality Worklist C-FIND asks for.

Errors::

    ArchiveError
    +-- InvalidObject        400 / C000: fields that do not make an item
    +-- NotFound             404: no item of that id, or no such order
    +-- InvalidQuery         400 / A900: an identifier that cannot be matched
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pydicom.dataset import Dataset
from sqlalchemy import ColumnElement

from vesalius.archive.archive import Archive
from vesalius.index.worklist import STATUS, WorklistRow, WorklistTable, condition_sql
from vesalius.model.errors import ArchiveError, NotFound
from vesalius.model.matching import condition_for
from vesalius.model.worklist import (
    COMPLETED,
    DISCONTINUED,
    IN_PROGRESS,
    SCHEDULED,
    answer,
    clean_fields,
    complete_fields,
    parse_worklist_query,
    vr_of,
)

DEFAULT_STATES = (SCHEDULED,)
"""What a worklist C-FIND answers when it does not ask for a status: the steps still to do."""
FOLLOWS = {IN_PROGRESS: IN_PROGRESS, COMPLETED: COMPLETED, DISCONTINUED: DISCONTINUED}
"""The item status that each performed procedure step status brings."""


class OrderConflict(ArchiveError):
    """An order change the item's state does not allow (a completed step cancelled)."""

    http_status = 409


def table(archive: Archive) -> WorklistTable:
    """The worklist rows of ``archive``'s index."""
    return WorklistTable(archive.index)


def add(archive: Archive, fields: Mapping[str, Any]) -> WorklistRow:
    """A new item from flat fields (``model.worklist``); ``InvalidObject`` when they do
    not make one."""
    rows = table(archive)
    item_id = rows.insert(complete_fields(fields))
    return _get(rows, item_id)


def get(archive: Archive, item_id: int) -> WorklistRow:
    """One item; ``NotFound`` when there is none of that id."""
    return _get(table(archive), item_id)


def _get(rows: WorklistTable, item_id: int) -> WorklistRow:
    found = rows.get(item_id)
    if found is None:
        raise NotFound(f"no worklist item {item_id}")
    return found


def change(archive: Archive, item_id: int, fields: Mapping[str, Any]) -> WorklistRow:
    """Change some fields of an item (the others stay); ``NotFound``, ``InvalidObject``."""
    rows = table(archive)
    current = _get(rows, item_id)
    merged = complete_fields({**current.fields, **clean_fields(fields)})
    rows.replace(item_id, merged)
    return _get(rows, item_id)


def remove(archive: Archive, item_id: int) -> None:
    """Delete an item; ``NotFound`` when there is none of that id."""
    if not table(archive).delete(item_id):
        raise NotFound(f"no worklist item {item_id}")


def listing(
    archive: Archive,
    *,
    filters: Mapping[str, str] | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[WorklistRow], int]:
    """A page of items and the total, filtered by field values with C-FIND matching
    (``PatientName=DOE*``, ``ScheduledProcedureStepStartDate=20240101-``)."""
    conditions = _filters(archive, filters or {})
    return table(archive).list(conditions, limit=limit, offset=offset)


def _filters(archive: Archive, filters: Mapping[str, str]) -> list[ColumnElement[bool]]:
    conditions = []
    dialect = table(archive).dialect
    for keyword, value in filters.items():
        condition = condition_for(keyword, vr_of(keyword), value)
        if condition is not None:
            conditions.append(
                condition_sql(
                    condition,
                    dialect,
                    case_insensitive_names=archive.settings.query.case_insensitive_names,
                )
            )
    return conditions


def find(archive: Archive, identifier: Dataset) -> Iterator[Dataset]:
    """The answers to a Modality Worklist C-FIND identifier (PS3.4 K.6.1.2), one per
    matching item; items not SCHEDULED only when the identifier asks for a status.
    ``InvalidQuery`` for an identifier that cannot be matched."""
    query = parse_worklist_query(identifier)
    rows = table(archive)
    folded = archive.settings.query.case_insensitive_names
    conditions = [
        condition_sql(c, rows.dialect, case_insensitive_names=folded) for c in query.conditions
    ]
    if query.condition("ScheduledProcedureStepStatus") is None:
        conditions.append(STATUS.in_(DEFAULT_STATES))
    for row in rows.match(conditions, limit=archive.settings.query.max_results):
        yield answer(row.item(), identifier)


# -- orders ---------------------------------------------------------------------
def place_order(archive: Archive, fields: Mapping[str, Any]) -> WorklistRow:
    """A new order: a new item, or, sent again, the same order's item updated."""
    placer = str(fields.get("PlacerOrderNumberImagingServiceRequest", "") or "")
    filler = str(fields.get("FillerOrderNumberImagingServiceRequest", "") or "")
    existing = table(archive).by_order(placer, filler)
    if existing is not None and existing.status == SCHEDULED:
        return change(archive, existing.id, fields)
    return add(archive, fields)


def change_order(
    archive: Archive, placer: str, filler: str, fields: Mapping[str, Any]
) -> WorklistRow:
    """Change the item of an order; ``NotFound`` when no item has that order number."""
    existing = _order(archive, placer, filler)
    return change(archive, existing.id, fields)


def cancel_order(archive: Archive, placer: str, filler: str, *, discontinue: bool) -> str:
    """Cancel an order: an item not started is removed (``removed``), unless
    ``discontinue`` (HL7 DC), which marks it DISCONTINUED, as an item that has started
    is (``discontinued``). ``OrderConflict`` for a completed item."""
    existing = _order(archive, placer, filler)
    if existing.status == COMPLETED:
        raise OrderConflict(f"the order's procedure step is already {COMPLETED}")
    if existing.status == SCHEDULED and not discontinue:
        remove(archive, existing.id)
        return "removed"
    set_status(archive, existing.id, DISCONTINUED)
    return "discontinued"


def _order(archive: Archive, placer: str, filler: str) -> WorklistRow:
    existing = table(archive).by_order(placer, filler)
    if existing is None:
        raise NotFound(f"no worklist item for order {placer or filler}")
    return existing


def set_status(archive: Archive, item_id: int, status: str, mpps_uid: str | None = None) -> None:
    """Give an item a new Scheduled Procedure Step Status (and the step that reported it)."""
    rows = table(archive)
    current = _get(rows, item_id)
    rows.replace(
        item_id, {**current.fields, "ScheduledProcedureStepStatus": status}, mpps_uid=mpps_uid
    )
