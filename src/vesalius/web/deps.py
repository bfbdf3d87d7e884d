"""What endpoints receive from the app: the archive and the settings it was built with."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from vesalius.archive.archive import Archive
from vesalius.settings import Settings


def get_archive(request: Request) -> Archive:
    """The archive this app serves."""
    archive: Archive = request.app.state.archive
    return archive


def get_settings(request: Request) -> Settings:
    """The settings this app was built with."""
    settings: Settings = request.app.state.settings
    return settings


ArchiveDep = Annotated[Archive, Depends(get_archive)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def public_base(request: Request) -> str:
    """The base URL (no trailing slash) that URLs in answers start with.

    ``[http] public_url`` when set; else the request's own, with the port this
    server listens on added when the client's Host header left it out.
    """
    settings: Settings = request.app.state.settings
    if settings.http.public_url:
        return settings.http.public_url.rstrip("/")
    base = str(request.base_url).rstrip("/")
    host = request.headers.get("host", "")
    server = request.scope.get("server")
    if host and ":" not in host.rsplit("]", 1)[-1] and server and server[1] not in (80, 443):
        base = base.replace(f"://{host}", f"://{host}:{server[1]}", 1)
    return base
