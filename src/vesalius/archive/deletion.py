"""Deleting from the archive: index rows first, in one transaction, then the blobs.

Inside the index transaction every blob about to lose its row is journaled
for removal (``BlobStore.retire``). So whatever instant the process dies at:

- before the commit: the rows are still there; recovery finds the journaled
  blobs referenced and keeps them;
- after the commit, before the blobs are gone: recovery finds them journaled
  and unreferenced, and removes them.

Nobody ever sees a row whose file is missing, and no blob is left behind
unaccounted for.
"""

from __future__ import annotations

import logging

from vesalius.index import deletion
from vesalius.index.deletion import Removed
from vesalius.index.index import Index
from vesalius.storage.base import BlobStore

LOG = logging.getLogger("vesalius.archive")


def delete(index: Index, blobs: BlobStore, level: str, target: str | int) -> Removed:
    """Remove a patient (index key), study, series or instance (UID) and its files.

    ``NotFound`` when it is not stored. A file that cannot be removed once its
    rows are gone is logged and left to ``recover`` (it stays journaled).
    """
    retired: list[str] = []

    def retire(names: list[str]) -> None:
        for name in names:
            blobs.retire(name)
        retired.extend(names)

    try:
        removed = deletion.remove(index, level, target, retire)
    except BaseException:
        blobs.commit(retired)  # the rows stay: the blobs are no longer to be removed
        raise
    for name in removed.blob_names:
        try:
            blobs.delete(name)
        except OSError as exc:
            LOG.warning("blob %s of a deleted instance was not removed: %s", name, exc)
    return removed
