"""Exports over HTTP: ``POST /api/export`` starts a job, ``GET /api/export/{id}/download``
hands out its file.

The body names what to export and how (the options of ``vesalius export``)::

    {"studies": ["1.2.3"], "series": [], "patients": [], "format": "png",
     "profile": null, "layout": "dicomdir", "with_viewer": false, "window": "40,400",
     "annotate": false, "bits": 8, "quality": 90, "fps": null, "label": null}

The answer (201) is the job; poll ``/api/jobs/{id}``. Once it is ``done`` its
``result`` holds ``{"download": URL, "file", "size", "done", "failed",
"skipped"}``: an ISO image, a ZIP, or a ZIP of the folder formats (DICOMDIR
File-set, pictures, movies). The file is kept for a day.
"""

from __future__ import annotations

import threading
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from vesalius.imaging import parse_window
from vesalius.media import ExportRequest, Selection
from vesalius.media.jobs import KIND, ExportJobs, export_file
from vesalius.media.selection import check
from vesalius.model.errors import NotFound
from vesalius.web.api.jobs import Conflict, job_json
from vesalius.web.deps import ArchiveDep, SettingsDep, public_base

router = APIRouter(tags=["export"])

MEDIA_TYPES = {".zip": "application/zip", ".iso": "application/x-iso9660-image"}
_STARTING = threading.Lock()


class ExportBody(BaseModel):
    """What to export (at least one of studies, series, patients) and how."""

    studies: list[str] = []
    series: list[str] = []
    patients: list[str] = []
    format: Literal["dicomdir", "iso", "zip", "jpeg", "png", "tiff", "mp4", "gif"]
    profile: Literal["STD-GEN-CD", "STD-GEN-USB"] | None = None
    layout: Literal["dicomdir", "tree"] = "dicomdir"
    with_viewer: bool = False
    window: Annotated[str | None, Field(description="center,width")] = None
    annotate: bool = False
    bits: Literal[8, 16] = 8
    quality: Annotated[int, Field(ge=1, le=100)] = 90
    fps: Annotated[float | None, Field(gt=0, le=240)] = None
    label: Annotated[str | None, Field(max_length=32)] = None


def _exports(request: Request) -> ExportJobs:
    """The app's export runner, made on first use."""
    with _STARTING:
        runner = getattr(request.app.state, "exports", None)
        if runner is None:
            runner = ExportJobs(request.app.state.archive)
            request.app.state.exports = runner
        return runner


def _owner(request: Request) -> str:
    return f"http:{request.client.host}" if request.client else "http"


@router.post("/export", status_code=201)
def create_export(
    body: ExportBody,
    request: Request,
    response: Response,
    archive: ArchiveDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    """Start an export job; its result links the file to download when it is done."""
    window = None
    if body.window:
        parsed = parse_window(body.window)  # RenderError: 400
        window = (parsed.center, parsed.width)
    selection = Selection(tuple(body.studies), tuple(body.series), tuple(body.patients))
    wanted = ExportRequest(
        selection, body.format, body.profile, body.layout, body.with_viewer, window,
        body.annotate, body.bits, body.quality, body.fps, body.label,
    ).checked()  # fmt: skip
    check(archive, selection, case_insensitive=settings.query.case_insensitive_names)
    base = public_base(request)
    job = _exports(request).submit(
        wanted, lambda job_id: f"{base}/api/export/{job_id}/download", owner=_owner(request)
    )
    row = archive.jobs.get(job.id)
    if row is None:  # pragma: no cover - a row just written is there
        raise NotFound(f"no job {job.id}")
    response.headers["Location"] = f"/api/jobs/{job.id}"
    return job_json(row)


@router.get(
    "/export/{job_id}/download",
    response_class=FileResponse,
    responses={200: {"content": {"application/zip": {}, "application/x-iso9660-image": {}}}},
)
def download_export(job_id: int, archive: ArchiveDep) -> FileResponse:
    """The file an export job made (404 for no such export, 409 while it runs)."""
    row = archive.jobs.get(job_id)
    if row is None or row.kind != KIND:
        raise NotFound(f"no export {job_id}")
    if row.state in ("pending", "running"):
        raise Conflict(f"export {job_id} is {row.state}: wait until it is done")
    path = export_file(archive, job_id)
    if path is None:
        raise NotFound(f"export {job_id} has no file ({row.state}, or older than a day)")
    return FileResponse(path, media_type=MEDIA_TYPES.get(path.suffix), filename=path.name)
