"""Print jobs of the virtual film printer: list, one job, its PDF and its film previews.

A print job shows as ``{"id", "SOPInstanceUID", "ExecutionStatus" (PENDING,
PRINTING, DONE, FAILURE), "ExecutionStatusInfo", "PrintPriority",
"NumberOfCopies", "FilmSessionLabel", "Originator" (the calling AE title),
"color", "created", "updated", "films": [{"number", "ImageDisplayFormat",
"FilmSizeID", "FilmOrientation", "images", "png"}], "pdf"}``, where ``png``
and ``pdf`` are URLs (``pdf`` is null until the job has printed).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import FileResponse

from vesalius.model.errors import NotFound
from vesalius.printing.jobs import PrintJob, PrintJobs, print_folder
from vesalius.web.deps import SettingsDep, public_base

router = APIRouter()

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


def _jobs(settings: Any) -> PrintJobs:
    return PrintJobs(print_folder(settings))


def job_json(job: PrintJob, base: str) -> dict[str, Any]:
    """The public shape of one print job, its files as URLs under ``base``."""
    path = f"{base}/api/print-jobs/{job.id}"
    return {
        "id": job.id,
        "SOPInstanceUID": job.uid,
        "ExecutionStatus": job.state,
        "ExecutionStatusInfo": job.info,
        "PrintPriority": job.priority,
        "NumberOfCopies": job.copies,
        "FilmSessionLabel": job.label,
        "Originator": job.originator,
        "color": job.color,
        "created": job.created,
        "updated": job.updated,
        "films": [
            {
                "number": film["number"],
                "ImageDisplayFormat": film.get("ImageDisplayFormat", ""),
                "FilmSizeID": film.get("FilmSizeID", ""),
                "FilmOrientation": film.get("FilmOrientation", ""),
                "images": film.get("images", 0),
                "png": f"{path}/films/{film['number']}/png" if job.pdf else None,
            }
            for film in job.films
        ],
        "pdf": f"{path}/pdf" if job.pdf else None,
    }


def _job(settings: Any, job_id: str) -> tuple[PrintJobs, PrintJob]:
    jobs = _jobs(settings)
    job = jobs.get(job_id)
    if job is None:
        raise NotFound(f"no print job {job_id}")
    return jobs, job


@router.get("/print-jobs")
def list_print_jobs(
    request: Request,
    response: Response,
    settings: SettingsDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[dict[str, Any]]:
    """Print jobs, newest first; the total in ``X-Total-Count``."""
    jobs, total = _jobs(settings).list(limit=limit, offset=offset)
    response.headers["X-Total-Count"] = str(total)
    base = public_base(request)
    return [job_json(job, base) for job in jobs]


@router.get("/print-jobs/{job_id}")
def read_print_job(job_id: str, request: Request, settings: SettingsDep) -> dict[str, Any]:
    """One print job."""
    _unused, job = _job(settings, job_id)
    return job_json(job, public_base(request))


@router.get("/print-jobs/{job_id}/pdf", response_class=FileResponse)
def print_job_pdf(job_id: str, settings: SettingsDep) -> FileResponse:
    """The job's films as one PDF, a page per film at its film size."""
    jobs, job = _job(settings, job_id)
    path = jobs.file(job, job.pdf or "")
    if path is None:
        raise NotFound(f"print job {job_id} has no PDF yet ({job.state})")
    return FileResponse(
        path,
        media_type="application/pdf",
        filename=f"print-{job.id}.pdf",
        content_disposition_type="inline",
    )


@router.get("/print-jobs/{job_id}/films/{number}/png", response_class=FileResponse)
def print_job_png(job_id: str, number: int, settings: SettingsDep) -> FileResponse:
    """A PNG preview of one film of the job (numbered from 1)."""
    jobs, job = _job(settings, job_id)
    path = jobs.file(job, f"film-{number}.png")
    if path is None:
        raise NotFound(f"print job {job_id} has no film {number} preview")
    return FileResponse(path, media_type="image/png")
