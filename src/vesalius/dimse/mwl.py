"""Modality Worklist SCP (PS3.4 K.6): a C-FIND on the worklist model, answered from the index.

Translate, call, answer: the identifier goes to ``archive.worklist.find``,
each matching item comes back as one Pending (FF00) answer, a C-CANCEL is
honoured between two of them (FE00), and a failure answers its status
(A900 for an identifier that cannot be matched).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pynetdicom.events import Event

from vesalius.archive import worklist
from vesalius.archive.archive import Archive
from vesalius.dimse.status import SUCCESS, status_of
from vesalius.settings import Settings

PENDING = 0xFF00
CANCELLED = 0xFE00


def handle_mwl_find(
    event: Event, archive: Archive, _settings: Settings
) -> Iterator[tuple[int, Any]]:
    """Answer a Modality Worklist C-FIND: pendings with the items, then a final status."""
    try:
        answers = worklist.find(archive, event.identifier)
        for found in answers:
            if event.is_cancelled:
                yield CANCELLED, None
                return
            yield PENDING, found
    except Exception as error:
        answer = status_of(error)
        yield answer.Status, answer
        return
    yield SUCCESS, None
