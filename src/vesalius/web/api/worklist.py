"""The modality worklist through the management API: list, read, add, change, delete.

An item is ``{"id", <fields>, "mpps", "NumberOfStudyRelatedInstances", "created",
"updated"}``: its fields keyed by DICOM keyword (``model.worklist.FIELDS``:
PatientName, PatientID, AccessionNumber, Modality, ScheduledStationAETitle,
ScheduledProcedureStepStartDate, ...) with its state in
``ScheduledProcedureStepStatus`` (SCHEDULED, IN PROGRESS, COMPLETED,
DISCONTINUED); ``mpps`` the SOP Instance UID of the performed procedure step
that reported on it; ``NumberOfStudyRelatedInstances`` how many instances of
its study the archive holds. POST and PUT take fields; PUT changes only those
it names.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response

from vesalius.archive import worklist
from vesalius.index.worklist import WorklistRow
from vesalius.web.deps import ArchiveDep

router = APIRouter(tags=["worklist"])

MAX_LIMIT = 1000
Fields = Annotated[
    dict[str, str | int | None],
    Body(
        description="Worklist fields by keyword, e.g. "
        '{"PatientName": "DOE^JOHN", "PatientID": "123", "Modality": "CT"}.'
    ),
]
FILTERS = {
    "status": "ScheduledProcedureStepStatus",
    "modality": "Modality",
    "station": "ScheduledStationAETitle",
    "date": "ScheduledProcedureStepStartDate",
}


def _timestamp(value: Any) -> str:
    return f"{value.isoformat(timespec='seconds')}Z"


def item_json(row: WorklistRow) -> dict[str, Any]:
    """The public shape of one worklist item."""
    return {
        "id": row.id,
        **row.fields,
        "mpps": row.mpps_uid or None,
        "NumberOfStudyRelatedInstances": row.stored_instances,
        "created": _timestamp(row.created_at),
        "updated": _timestamp(row.updated_at),
    }


@router.get("/worklist")
def list_worklist(
    response: Response,
    archive: ArchiveDep,
    status: Annotated[str | None, Query(description="SCHEDULED, IN PROGRESS, ...")] = None,
    modality: Annotated[str | None, Query(description="Modality, e.g. CT.")] = None,
    station: Annotated[str | None, Query(description="Scheduled Station AE Title.")] = None,
    date: Annotated[
        str | None, Query(description="Scheduled start date or range: 20240101-20240131.")
    ] = None,
    patient_name: Annotated[
        str | None, Query(alias="PatientName", description="Wildcards allowed: DOE*.")
    ] = None,
    patient_id: Annotated[str | None, Query(alias="PatientID")] = None,
    accession: Annotated[str | None, Query(alias="AccessionNumber")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[dict[str, Any]]:
    """Worklist items by scheduled start, filtered with C-FIND matching; the total in
    ``X-Total-Count``."""
    given = {"status": status, "modality": modality, "station": station, "date": date}
    filters = {FILTERS[name]: value for name, value in given.items() if value}
    for keyword, value in (
        ("PatientName", patient_name),
        ("PatientID", patient_id),
        ("AccessionNumber", accession),
    ):
        if value:
            filters[keyword] = value
    rows, total = worklist.listing(archive, filters=filters, limit=limit, offset=offset)
    response.headers["X-Total-Count"] = str(total)
    return [item_json(row) for row in rows]


@router.post("/worklist", status_code=201)
def add_worklist_item(fields: Fields, archive: ArchiveDep) -> dict[str, Any]:
    """Add an item (PatientName and PatientID required; a Study Instance UID is assigned
    unless given)."""
    return item_json(worklist.add(archive, fields))


@router.get("/worklist/{item_id}")
def read_worklist_item(item_id: int, archive: ArchiveDep) -> dict[str, Any]:
    """One item."""
    return item_json(worklist.get(archive, item_id))


@router.put("/worklist/{item_id}")
def change_worklist_item(item_id: int, fields: Fields, archive: ArchiveDep) -> dict[str, Any]:
    """Change the fields named in the body; the others stay."""
    return item_json(worklist.change(archive, item_id, fields))


@router.delete("/worklist/{item_id}", status_code=204)
def delete_worklist_item(item_id: int, archive: ArchiveDep) -> Response:
    """Delete an item."""
    worklist.remove(archive, item_id)
    return Response(status_code=204)
