"""Remote AEs through the management API: list, echo, query, send and retrieve.

The endpoints reach the ``[[peers]]`` through the core's ``RemoteAEs``
(``app.state.remote``, wired by the composition root), never through the DIMSE
front door itself. Echo and query answer at once; send and retrieve queue a
durable job (``201`` with the job) that the job runner does in the background.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from vesalius.archive.archive import Archive
from vesalius.archive.remote import (
    RemoteAEs,
    RemoteError,
    peer_named,
    queue_retrieve,
    queue_send,
)
from vesalius.model.errors import NotFound
from vesalius.model.keys import LEVELS
from vesalius.web.api.jobs import job_json
from vesalius.web.deps import ArchiveDep, SettingsDep
from vesalius.web.errors import BadRequest, HttpError

router = APIRouter(tags=["peers"])

KeyValue = str | int | float | list[str] | None
UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")


class RemoteUnavailable(HttpError):
    """This server was built without a way to reach remote AEs (503)."""

    status = 503


def get_remote(request: Request) -> RemoteAEs:
    """The remote AEs this app reaches (``create_app(..., remote=...)``)."""
    remote: RemoteAEs | None = getattr(request.app.state, "remote", None)
    if remote is None:
        raise RemoteUnavailable("this server was started without access to remote AEs")
    return remote


RemoteDep = Annotated[RemoteAEs, Depends(get_remote)]


class SendRequest(BaseModel):
    """Body of ``POST /api/studies/{uid}/send``."""

    peer: str = Field(description="Name of a [[peers]] entry.")


class QueryRequest(BaseModel):
    """Body of ``POST /api/query``."""

    peer: str = Field(description="Name of a [[peers]] entry.")
    level: str = Field("STUDY", description="PATIENT, STUDY, SERIES or IMAGE.")
    keys: dict[str, KeyValue] = Field(
        default_factory=dict,
        description="Keyword (or gggg,eeee) -> DICOM match value; an empty value asks for it.",
    )


class RetrieveRequest(BaseModel):
    """Body of ``POST /api/retrieve``."""

    peer: str = Field(description="Name of a [[peers]] entry.")
    studies: list[str] = Field(min_length=1, description="Study Instance UIDs to pull.")


def _created(archive: Archive, job_id: int, response: Response) -> dict[str, Any]:
    row = archive.jobs.get(job_id)
    if row is None:  # pragma: no cover - a row just written is there
        raise NotFound(f"no job {job_id}")
    response.headers["Location"] = f"/api/jobs/{job_id}"
    return job_json(row)


def _owner(request: Request) -> str:
    return f"http:{request.client.host}" if request.client else "http"


@router.get("/peers")
def list_peers(settings: SettingsDep) -> list[dict[str, Any]]:
    """The configured remote AEs ([[peers]])."""
    return [
        {
            "name": peer.name,
            "ae_title": peer.ae_title,
            "host": peer.host,
            "port": peer.port,
            "tls": peer.tls,
            "services": list(peer.services),
        }
        for peer in settings.peers
    ]


@router.post("/peers/{name}/echo")
def echo_peer(name: str, settings: SettingsDep, remote: RemoteDep) -> dict[str, Any]:
    """C-ECHO a peer: ``{"ok": true}``, or ``{"ok": false, "error": ...}`` when it fails."""
    peer_named(settings, name)
    try:
        remote.echo(name)
    except RemoteError as exc:
        return {"ok": False, "error": str(exc)}
    return {"ok": True, "error": None}


@router.post("/query")
def query_peer(
    body: QueryRequest, settings: SettingsDep, remote: RemoteDep
) -> list[dict[str, Any]]:
    """C-FIND a peer: a bare array of matches, plain values keyed by keyword."""
    level = body.level.upper()
    if level not in LEVELS:
        raise BadRequest(f"level: unknown level {body.level!r} (one of {', '.join(LEVELS)})")
    peer_named(settings, body.peer)
    keys = {key: _text(value) for key, value in body.keys.items()}
    return remote.find(body.peer, level, keys)


def _text(value: KeyValue) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "\\".join(value)
    return str(value)


@router.post("/studies/{uid}/send", status_code=201)
def send_study(
    uid: str,
    body: SendRequest,
    request: Request,
    response: Response,
    archive: ArchiveDep,
    settings: SettingsDep,
    _remote: RemoteDep,
) -> dict[str, Any]:
    """Queue a job that C-STOREs every instance of a local study to a peer."""
    peer_named(settings, body.peer)
    if not archive.instances(study_uids=[uid]):
        raise NotFound(f"no study {uid} stored")
    job = queue_send(archive.jobs, body.peer, [uid], owner=_owner(request))
    return _created(archive, job.id, response)


@router.post("/retrieve", status_code=201)
def retrieve_studies(
    body: RetrieveRequest,
    request: Request,
    response: Response,
    archive: ArchiveDep,
    settings: SettingsDep,
    _remote: RemoteDep,
) -> dict[str, Any]:
    """Queue a job that pulls studies from a peer into this archive (C-GET or C-MOVE)."""
    peer_named(settings, body.peer)
    studies = list(dict.fromkeys(uid.strip() for uid in body.studies if uid.strip()))
    if not studies:
        raise BadRequest("studies: give at least one Study Instance UID")
    for uid in studies:
        if len(uid) > 64 or not UID.match(uid):
            raise BadRequest(f"studies: {uid!r} is not a UID (digits and dots, at most 64)")
    job = queue_retrieve(archive.jobs, body.peer, studies, owner=_owner(request))
    return _created(archive, job.id, response)
