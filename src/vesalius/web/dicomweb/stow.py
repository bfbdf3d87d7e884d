"""STOW-RS (PS3.18 10.5): store instances sent as multipart/related application/dicom.

Every part goes through ``Archive.store_file``, the ingest C-STORE uses too.
The body is parsed whole before anything is stored, so a malformed body
stores nothing. The answer lists what was stored (ReferencedSOPSequence) and
what was not, with a reason (FailedSOPSequence): 200 when all were stored,
202 when some were, 409 when none was.
"""

from __future__ import annotations

import io
import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydicom import dcmread
from starlette.concurrency import run_in_threadpool

from vesalius.archive.archive import Archive
from vesalius.model.dicomjson import tag_key
from vesalius.model.errors import ArchiveError
from vesalius.model.origin import Origin
from vesalius.web.deps import ArchiveDep, public_base
from vesalius.web.dicomweb import multipart
from vesalius.web.dicomweb.negotiation import DICOM, DICOM_JSON, choose
from vesalius.web.errors import UnsupportedMediaType

LOG = logging.getLogger("vesalius.web.stow")
router = APIRouter(tags=["STOW-RS"])

RETRIEVE_URL = 0x00081190
FAILED_SOP_SEQUENCE = 0x00081198
REFERENCED_SOP_SEQUENCE = 0x00081199
REFERENCED_SOP_CLASS = 0x00081150
REFERENCED_SOP_INSTANCE = 0x00081155
FAILURE_REASON = 0x00081197
WARNING_REASON = 0x00081196
PROCESSING_FAILURE = 0x0110
STUDY_MISMATCH = 0xA900
COERCED = 0xB000


@router.post("/studies")
async def store_instances(request: Request, archive: ArchiveDep) -> JSONResponse:
    """Store the instances of the body, of any study."""
    return await _store(request, archive, None)


@router.post("/studies/{study}")
async def store_study_instances(study: str, request: Request, archive: ArchiveDep) -> JSONResponse:
    """Store the instances of the body that belong to ``study``."""
    return await _store(request, archive, study)


async def _store(request: Request, archive: Archive, study: str | None) -> JSONResponse:
    choose(request, (DICOM_JSON, "application/json"))
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    client = request.client.host if request.client else ""
    origin = Origin("http", address=client)
    base = public_base(request) + "/dicomweb"
    # The archive is synchronous: store from a worker thread, not the event loop.
    return await run_in_threadpool(_store_body, archive, body, content_type, study, origin, base)


def _store_body(
    archive: Archive,
    body: bytes,
    content_type: str,
    study: str | None,
    origin: Origin,
    base: str,
) -> JSONResponse:
    parts = multipart.parse(body, content_type)
    refused = [p.content_type for p in parts if p.content_type not in (DICOM, "")]
    if refused:
        raise UnsupportedMediaType(
            f"only application/dicom parts can be stored, not {', '.join(sorted(set(refused)))}"
        )
    stored: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    studies: set[str] = set()
    for number, part in enumerate(parts, start=1):
        uids = _uids(part.data)
        if study is not None and uids.get("study") and uids["study"] != study:
            failed.append(_failed(uids, STUDY_MISMATCH))
            LOG.warning("STOW part %d: study %s is not %s", number, uids["study"], study)
            continue
        try:
            result = archive.store_file(part.data, origin)
        except ArchiveError as error:
            LOG.warning("STOW part %d refused: %s", number, error)
            failed.append(_failed(uids, error.dimse_status))
            continue
        except Exception:
            LOG.exception("STOW part %d failed", number)
            failed.append(_failed(uids, PROCESSING_FAILURE))
            continue
        study_uid = uids.get("study", "")
        studies.add(study_uid)
        url = f"{base}/studies/{study_uid}/series/{uids.get('series', '')}"
        url += f"/instances/{result.sop_instance_uid}"
        item = {
            tag_key(REFERENCED_SOP_CLASS): {"vr": "UI", "Value": [result.sop_class_uid]},
            tag_key(REFERENCED_SOP_INSTANCE): {"vr": "UI", "Value": [result.sop_instance_uid]},
            tag_key(RETRIEVE_URL): {"vr": "UR", "Value": [url]},
        }
        if result.mended:
            item[tag_key(WARNING_REASON)] = {"vr": "US", "Value": [COERCED]}
        stored.append(item)
    answer: dict[str, Any] = {}
    if len(studies) == 1 or study is not None:
        answer[tag_key(RETRIEVE_URL)] = {
            "vr": "UR",
            "Value": [f"{base}/studies/{study or next(iter(studies))}"],
        }
    if failed:
        answer[tag_key(FAILED_SOP_SEQUENCE)] = {"vr": "SQ", "Value": failed}
    if stored:
        answer[tag_key(REFERENCED_SOP_SEQUENCE)] = {"vr": "SQ", "Value": stored}
    status = 200 if not failed else (202 if stored else 409)
    return JSONResponse(answer, status_code=status, media_type=DICOM_JSON)


def _uids(data: bytes) -> dict[str, str]:
    """The UIDs of a part, as far as its header can be read, for the answer."""
    try:
        header = dcmread(io.BytesIO(data), stop_before_pixels=True, force=True)
    except Exception:
        return {}
    meta = getattr(header, "file_meta", None)
    return {
        "class": str(
            header.get("SOPClassUID") or (meta and meta.get("MediaStorageSOPClassUID")) or ""
        ),
        "instance": str(
            header.get("SOPInstanceUID") or (meta and meta.get("MediaStorageSOPInstanceUID")) or ""
        ),
        "study": str(header.get("StudyInstanceUID", "") or ""),
        "series": str(header.get("SeriesInstanceUID", "") or ""),
    }


def _failed(uids: dict[str, str], reason: int) -> dict[str, Any]:
    item: dict[str, Any] = {}
    if uids.get("class"):
        item[tag_key(REFERENCED_SOP_CLASS)] = {"vr": "UI", "Value": [uids["class"]]}
    if uids.get("instance"):
        item[tag_key(REFERENCED_SOP_INSTANCE)] = {"vr": "UI", "Value": [uids["instance"]]}
    item[tag_key(FAILURE_REASON)] = {"vr": "US", "Value": [reason]}
    return item
