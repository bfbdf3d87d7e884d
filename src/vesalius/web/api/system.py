"""The system: what this node is and holds, whether it answers, and its metrics.

``/api/system`` describes the node (version, AE title, ports, data folder,
objects per level, disk); ``/api/health`` answers 200 while the index
answers a read, 503 otherwise; ``/api/metrics`` is the Prometheus text
exposition (objects, bytes, HTTP requests by route).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from vesalius import __version__
from vesalius.web import metrics
from vesalius.web.deps import ArchiveDep, SettingsDep

LOG = logging.getLogger("vesalius.web")
router = APIRouter()


@router.get("/system")
def read_system(request: Request, archive: ArchiveDep, settings: SettingsDep) -> dict[str, Any]:
    """Version, AE title, DICOM and HTTP addresses, data folder, counts and disk use."""
    usage = archive.usage()
    server = request.scope.get("server") or (settings.http.host, settings.http.port)
    dicom_port = getattr(request.app.state, "dicom_port", None) or settings.dicom.port
    return {
        "version": __version__,
        "ae_title": settings.dicom.ae_title,
        "dicom": {"host": settings.dicom.host, "port": dicom_port},
        "http": {"host": settings.http.host, "port": server[1]},
        "data_dir": str(settings.data_dir),
        "counts": {
            "patients": usage.patients,
            "studies": usage.studies,
            "series": usage.series,
            "instances": usage.instances,
        },
        "storage": {
            "stored_bytes": usage.stored_bytes,
            "disk_total_bytes": usage.disk_total_bytes,
            "disk_used_bytes": usage.disk_used_bytes,
            "disk_free_bytes": usage.disk_free_bytes,
        },
    }


@router.get("/health", responses={503: {"description": "The index does not answer."}})
def read_health(archive: ArchiveDep) -> JSONResponse:
    """200 ``{"status": "ok"}`` when the archive answers a read of its index."""
    try:
        archive.check_health()
    except Exception as exc:
        LOG.warning("health check failed: %s", exc)
        return JSONResponse({"status": "unavailable", "error": str(exc)}, status_code=503)
    return JSONResponse({"status": "ok"})


@router.get("/metrics", response_class=Response)
def read_metrics(request: Request, archive: ArchiveDep) -> Response:
    """Objects per level, bytes stored, disk, and HTTP requests by route (Prometheus text)."""
    http = getattr(request.app.state, "http_metrics", None)
    return Response(metrics.exposition(archive.usage(), http), media_type=metrics.CONTENT_TYPE)
