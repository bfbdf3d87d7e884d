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
