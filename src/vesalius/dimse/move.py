"""C-MOVE SCP (Query/Retrieve, PS3.4 C.4.2): resolve, then C-STORE to a known peer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pynetdicom.events import Event

from vesalius.archive.archive import Archive
from vesalius.settings import Settings

MOVE_DESTINATION_UNKNOWN = 0xA801


def handle_move(event: Event, archive: Archive, settings: Settings) -> Iterator[Any]:
    """Not built yet: every destination is unknown."""
    yield None, None
