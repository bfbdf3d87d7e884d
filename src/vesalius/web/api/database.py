"""The local database: patients > studies > series > instances, listed, shown, deleted.

Lists are pages (``limit``, ``offset``) with the total count of matches in
``X-Total-Count``; filters match as C-FIND does (wildcards, ranges,
case-insensitive names), ``sort`` orders by indexed attributes. A patient's
``id`` is its index key (Patient IDs repeat across issuers); the other
levels' ``id`` is their UID. The stored file of an instance streams as
``application/dicom``; its tags come as readable JSON.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Annotated, Any, BinaryIO

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse

from vesalius.archive.archive import Archive
from vesalius.model.errors import NotFound
from vesalius.model.matching import Level
from vesalius.settings import Settings
from vesalius.web.api import listing
from vesalius.web.api.tags import header_json
from vesalius.web.deps import ArchiveDep, SettingsDep

router = APIRouter()

Limit = Annotated[
    int, Query(ge=1, le=listing.MAX_LIMIT, description="Objects per page (at most 1000).")
]
Offset = Annotated[int, Query(ge=0, description="Objects skipped before the page.")]
Sort = Annotated[
    str | None,
    Query(description="Comma-separated keywords, '-' for descending, e.g. -StudyDate,PatientName."),
]
CHUNK = 1 << 16


def _page(
    archive: Archive,
    response: Response,
    level: Level,
    *,
    filters: dict[str, str],
    parents: dict[str, str],
    sort: str | None,
    limit: int,
    offset: int,
    case_insensitive_names: bool,
) -> list[dict[str, Any]]:
    """One page of a level, with the total count of matches in ``X-Total-Count``."""
    query = listing.build_query(
        level, filters=filters, parents=parents, case_insensitive_names=case_insensitive_names
    )
    found = archive.browse(query, sort=listing.sort_from(sort, level), limit=limit, offset=offset)
    response.headers["X-Total-Count"] = str(archive.count(query))
    return [listing.to_json(item, level) for item in found]


def _one(archive: Archive, level: Level, uid: str, case_insensitive_names: bool) -> dict[str, Any]:
    """The object of a study, series or instance by UID; ``NotFound`` when not stored."""
    lineage = archive.lineage(level, uid)
    query = listing.build_query(
        level, parents=lineage, case_insensitive_names=case_insensitive_names
    )
    found = archive.browse(query, limit=1)
    if not found:
        raise NotFound(f"no {level.lower()} {uid} stored")
    return listing.to_json(found[0], level)


def _patient_key(patient_id: str) -> int:
    """The index key an opaque patient ``id`` stands for; ``NotFound`` when it is none."""
    if not patient_id.isdigit():
        raise NotFound(f"no patient {patient_id}")
    return int(patient_id)


# -- patients ---------------------------------------------------------------
@router.get("/patients")
def list_patients(
    request: Request,
    response: Response,
    archive: ArchiveDep,
    settings: SettingsDep,
    limit: Limit = listing.DEFAULT_LIMIT,
    offset: Offset = 0,
    sort: Sort = None,
) -> list[dict[str, Any]]:
    """Patients, by name unless sorted otherwise; filters: PatientID, PatientName, ..."""
    return _page(
        archive,
        response,
        "PATIENT",
        filters=listing.filters_from(request.query_params, "PATIENT"),
        parents={},
        sort=sort,
        limit=limit,
        offset=offset,
        case_insensitive_names=settings.query.case_insensitive_names,
    )


@router.get("/patients/{patient_id}")
def read_patient(patient_id: str, archive: ArchiveDep, settings: SettingsDep) -> dict[str, Any]:
    """One patient by its ``id``."""
    key = _patient_key(patient_id)
    query = listing.build_query(
        "PATIENT", case_insensitive_names=settings.query.case_insensitive_names
    )
    found = archive.browse(query, limit=1, row_key=key)
    if not found:
        raise NotFound(f"no patient {patient_id}")
    return listing.to_json(found[0], "PATIENT")


@router.delete("/patients/{patient_id}", status_code=204)
def delete_patient(patient_id: str, archive: ArchiveDep) -> Response:
    """Delete a patient with all its studies and their files."""
    archive.delete_patient(_patient_key(patient_id))
    return Response(status_code=204)


# -- studies ----------------------------------------------------------------
@router.get("/studies")
def list_studies(
    request: Request,
    response: Response,
    archive: ArchiveDep,
    settings: SettingsDep,
    limit: Limit = listing.DEFAULT_LIMIT,
    offset: Offset = 0,
    sort: Sort = None,
) -> list[dict[str, Any]]:
    """Studies, newest first unless sorted otherwise; filters as a workstation's study
    search: PatientName (wildcards), PatientID, StudyDate (ranges), ModalitiesInStudy, ..."""
    return _page(
        archive,
        response,
        "STUDY",
        filters=listing.filters_from(request.query_params, "STUDY"),
        parents={},
        sort=sort,
        limit=limit,
        offset=offset,
        case_insensitive_names=settings.query.case_insensitive_names,
    )


def _children(
    archive: Archive,
    settings: Settings,
    request: Request,
    response: Response,
    parent: tuple[Level, str],
    level: Level,
    page: tuple[int, int, str | None],
) -> list[dict[str, Any]]:
    """A page of the children of one study or series, filtered by the query parameters."""
    limit, offset, sort = page
    return _page(
        archive,
        response,
        level,
        filters=listing.filters_from(request.query_params, level),
        parents=archive.lineage(*parent),
        sort=sort,
        limit=limit,
        offset=offset,
        case_insensitive_names=settings.query.case_insensitive_names,
    )


@router.get("/studies/{study_uid}")
def read_study(study_uid: str, archive: ArchiveDep, settings: SettingsDep) -> dict[str, Any]:
    """One study by its Study Instance UID."""
    return _one(archive, "STUDY", study_uid, settings.query.case_insensitive_names)


@router.get("/studies/{study_uid}/series")
def list_study_series(
    study_uid: str,
    request: Request,
    response: Response,
    archive: ArchiveDep,
    settings: SettingsDep,
    limit: Limit = listing.DEFAULT_LIMIT,
    offset: Offset = 0,
    sort: Sort = None,
) -> list[dict[str, Any]]:
    """The series of a study, by series number unless sorted otherwise."""
    page = (limit, offset, sort)
    return _children(archive, settings, request, response, ("STUDY", study_uid), "SERIES", page)


@router.delete("/studies/{study_uid}", status_code=204)
def delete_study(study_uid: str, archive: ArchiveDep) -> Response:
    """Delete a study and its files (and its patient, when that was its last study)."""
    archive.delete("STUDY", study_uid)
    return Response(status_code=204)


# -- series -----------------------------------------------------------------
@router.get("/series/{series_uid}")
def read_series(series_uid: str, archive: ArchiveDep, settings: SettingsDep) -> dict[str, Any]:
    """One series by its Series Instance UID."""
    return _one(archive, "SERIES", series_uid, settings.query.case_insensitive_names)


@router.get("/series/{series_uid}/instances")
def list_series_instances(
    series_uid: str,
    request: Request,
    response: Response,
    archive: ArchiveDep,
    settings: SettingsDep,
    limit: Limit = listing.DEFAULT_LIMIT,
    offset: Offset = 0,
    sort: Sort = None,
) -> list[dict[str, Any]]:
    """The instances of a series, by instance number unless sorted otherwise."""
    page = (limit, offset, sort)
    return _children(archive, settings, request, response, ("SERIES", series_uid), "IMAGE", page)


@router.delete("/series/{series_uid}", status_code=204)
def delete_series(series_uid: str, archive: ArchiveDep) -> Response:
    """Delete a series and its files (and what it leaves empty above it)."""
    archive.delete("SERIES", series_uid)
    return Response(status_code=204)


# -- instances --------------------------------------------------------------
@router.get("/instances/{sop_instance_uid}")
def read_instance(
    sop_instance_uid: str, archive: ArchiveDep, settings: SettingsDep
) -> dict[str, Any]:
    """One instance by its SOP Instance UID, with its transfer syntax and file size."""
    return _one(archive, "IMAGE", sop_instance_uid, settings.query.case_insensitive_names)


@router.delete("/instances/{sop_instance_uid}", status_code=204)
def delete_instance(sop_instance_uid: str, archive: ArchiveDep) -> Response:
    """Delete an instance and its file (and what it leaves empty above it)."""
    archive.delete("IMAGE", sop_instance_uid)
    return Response(status_code=204)


@router.get(
    "/instances/{sop_instance_uid}/file",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/dicom": {}}}},
)
def download_instance(sop_instance_uid: str, archive: ArchiveDep) -> StreamingResponse:
    """The stored Part 10 file, as it was stored."""
    handle = archive.open_instance(sop_instance_uid)
    size = handle.seek(0, io.SEEK_END)
    handle.seek(0)
    return StreamingResponse(
        _chunks(handle),
        media_type="application/dicom",
        headers={
            "Content-Length": str(size),
            "Content-Disposition": f'attachment; filename="{sop_instance_uid}.dcm"',
        },
    )


def _chunks(handle: BinaryIO) -> Iterator[bytes]:
    """The file in pieces, closed at the end (or when the client goes away)."""
    with handle:
        while chunk := handle.read(CHUNK):
            yield chunk


@router.get("/instances/{sop_instance_uid}/tags")
def read_instance_tags(sop_instance_uid: str, archive: ArchiveDep) -> list[dict[str, Any]]:
    """Every tag of the stored header, readable: sequences nested, bulk data as sizes."""
    return header_json(archive.read_header(sop_instance_uid))
