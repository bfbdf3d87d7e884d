"""C-GET SCP (Query/Retrieve, PS3.4 C.4.3): resolve, then C-STORE on the same association.

The requestor proposes storage contexts with the SCP role (PS3.7 D.3.3.4) and
pynetdicom negotiates the roles; the sub-operations then go out exactly as
for a C-MOVE (``dimse.move.SubOperations``), over the requestor's own
association: stored files as they are when their syntax was accepted,
decompressed otherwise, counted into a ``get`` job.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydicom.dataset import Dataset
from pynetdicom.events import Event

from vesalius.archive.archive import Archive
from vesalius.dimse.association import origin_of
from vesalius.dimse.move import SubOperations, resolve, sub_operations
from vesalius.settings import Settings

UNABLE_TO_PROCESS = 0xC000


def handle_get(event: Event, archive: Archive, settings: Settings) -> Iterator[Any]:
    """Resolve the identifier and C-STORE its instances back to the requestor."""
    found = resolve(event, archive)
    if isinstance(found, Dataset):
        yield 1
        yield found, None
        return
    caller = origin_of(event.assoc).calling_aet
    job = archive.jobs.create("get", f"C-GET for {caller}", owner=caller)
    runner = SubOperations(archive, job)
    runner.extra = {"destination": caller}
    if not found:
        runner.finish()
        yield 0
        return
    runner.install(event.assoc)
    try:
        yield len(found)
        yield from sub_operations(event, runner, found)
    finally:
        SubOperations.uninstall(event.assoc)
        if job.state == "pending":
            runner.finish(ended="the requester's association ended before the retrieve began")
