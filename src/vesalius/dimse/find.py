"""C-FIND SCP (Query/Retrieve, PS3.4 C.4.1): translate the identifier, query, stream pendings."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pynetdicom.events import Event

from vesalius.archive.archive import Archive
from vesalius.settings import Settings

UNABLE_TO_PROCESS = 0xC000


def handle_find(event: Event, archive: Archive, settings: Settings) -> Iterator[tuple[int, Any]]:
    """Not built yet: every C-FIND is refused."""
    yield UNABLE_TO_PROCESS, None
