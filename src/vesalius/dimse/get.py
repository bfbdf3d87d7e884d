"""C-GET SCP (Query/Retrieve, PS3.4 C.4.3): resolve, then C-STORE on the same association."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pynetdicom.events import Event

from vesalius.archive.archive import Archive
from vesalius.settings import Settings

UNABLE_TO_PROCESS = 0xC000


def handle_get(event: Event, archive: Archive, settings: Settings) -> Iterator[Any]:
    """Not built yet: every C-GET is refused."""
    yield 0
    yield UNABLE_TO_PROCESS, None
