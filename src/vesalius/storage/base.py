"""The blob store port: durable, journaled writes of whole files.

A write is *pending* until the archive has indexed it: the store keeps a
journal entry for every pending write and every pending removal, so that a
crash at any point leaves no blob the index does not know about. On start-up,
``recover`` settles the entries of processes that are gone: a journaled blob
the index references stays, any other one is removed.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO, Protocol


@dataclass(frozen=True, slots=True)
class StoredBlob:
    """A blob written durably; ``name`` is what the index records."""

    name: str
    size: int


FOLDER_DIGITS = 3
"""Blobs spread over 16**3 = 4,096 folders: few enough that a new archive soon has
them all (creating a folder costs more than a file), many enough that a folder
holds some 25,000 files at a hundred million instances."""


def blob_name_for(sop_instance_uid: str) -> str:
    """A fresh blob name for an instance: a hash of its UID (never patient data) plus a token.

    The token lets a new copy of an instance be written beside the old one, so
    that the old one survives until the index has switched over.
    """
    digest = hashlib.sha256(sop_instance_uid.encode("ascii", "replace")).hexdigest()
    return f"{digest[:FOLDER_DIGITS]}/{digest[:32]}.{secrets.token_hex(4)}.dcm"


class BlobStore(Protocol):
    """What the archive needs from a place that keeps files."""

    def write(self, name: str, chunks: Sequence[bytes]) -> StoredBlob:
        """Write a blob durably and journal it as pending; raise OSError on failure."""
        ...

    def commit(self, names: Iterable[str]) -> None:
        """The index now references these blobs: drop their journal entries."""
        ...

    def revoke(self, name: str) -> None:
        """The index refused this pending blob: remove it and its journal entry."""
        ...

    def retire(self, name: str) -> None:
        """Journal a blob for removal; ``delete`` after the index has let go of it."""
        ...

    def delete(self, name: str) -> None:
        """Remove a blob (and any journal entry of it); a missing blob is not an error."""
        ...

    def open(self, name: str) -> BinaryIO:
        """Open a blob for reading; FileNotFoundError if it is not there."""
        ...

    def read(self, name: str) -> bytes:
        """The whole content of a blob."""
        ...

    def exists(self, name: str) -> bool:
        """True when the blob is there."""
        ...

    def names(self) -> Iterator[str]:
        """Every blob name in the store (for consistency checks)."""
        ...

    def free_bytes(self) -> int:
        """Free space left for new blobs."""
        ...

    def recover(self, referenced: Callable[[list[str]], set[str]]) -> tuple[int, int]:
        """Settle journal entries left by dead processes; return (kept, removed)."""
        ...
