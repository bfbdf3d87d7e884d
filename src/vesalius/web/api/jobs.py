"""Jobs: the durable queue of outbound work (sends, retrieves, C-MOVE sub-operations...).

A job shows as ``{"id", "kind", "state", "progress": {"done", "failed", "total"},
"error", "result", "description", "created", "updated"}``. Cancelling a
``pending`` or ``running`` job makes it ``cancelled`` at once; its worker
stops at its next look. A job that has ended cannot be cancelled (409).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from vesalius.archive.jobs import JobRow
from vesalius.model.errors import NotFound
from vesalius.web.deps import ArchiveDep
from vesalius.web.errors import HttpError

router = APIRouter()

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
State = Literal["pending", "running", "done", "failed", "cancelled"]


class Conflict(HttpError):
    """The request contradicts the state of the resource (409)."""

    status = 409


def _timestamp(value: Any) -> str:
    """An index time (UTC, naive) as ISO 8601 with ``Z``."""
    return f"{value.isoformat(timespec='seconds')}Z"


def job_json(row: JobRow) -> dict[str, Any]:
    """The public shape of one job."""
    try:
        result = json.loads(row.result) if row.result else None
    except ValueError:
        result = row.result
    return {
        "id": row.id,
        "kind": row.kind,
        "state": row.state,
        "progress": {
            "done": row.done,
            "failed": row.failed,
            "warning": row.warning,
            "total": row.total,
        },
        "error": row.error or None,
        "result": result,
        "description": row.description,
        "created": _timestamp(row.created_at),
        "updated": _timestamp(row.updated_at),
    }


@router.get("/jobs")
def list_jobs(
    response: Response,
    archive: ArchiveDep,
    state: Annotated[State | None, Query(description="Only jobs in this state.")] = None,
    kind: Annotated[str | None, Query(description="send, move, get, retrieve, ...")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[dict[str, Any]]:
    """Jobs, newest first; the total in ``X-Total-Count``."""
    rows = archive.jobs.list(kind=kind, state=state, limit=limit, offset=offset)
    response.headers["X-Total-Count"] = str(archive.count_jobs(kind=kind, state=state))
    return [job_json(row) for row in rows]


@router.get("/jobs/{job_id}")
def read_job(job_id: int, archive: ArchiveDep) -> dict[str, Any]:
    """One job."""
    row = archive.jobs.get(job_id)
    if row is None:
        raise NotFound(f"no job {job_id}")
    return job_json(row)


@router.post("/jobs/{job_id}/cancel")
def cancel_job(job_id: int, archive: ArchiveDep) -> dict[str, Any]:
    """Cancel a pending or running job; 409 when it has already ended."""
    cancelled = archive.cancel_job(job_id)
    row = archive.jobs.get(job_id)
    if row is None:
        raise NotFound(f"no job {job_id}")
    if not cancelled:
        raise Conflict(f"job {job_id} has already ended ({row.state})")
    return job_json(row)
