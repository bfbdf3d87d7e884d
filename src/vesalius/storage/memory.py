"""A blob store in a dict, for tests and for tools that need no disk."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import BinaryIO

from vesalius.storage.base import StoredBlob


class MemoryBlobStore:
    """The in-memory double of ``FilesystemBlobStore``, with the same journal rules."""

    def __init__(self, capacity: int = 1 << 40) -> None:
        self._blobs: dict[str, bytes] = {}
        self._journal: set[str] = set()
        self._lock = threading.Lock()
        self.capacity = capacity

    def write(self, name: str, chunks: Sequence[bytes]) -> StoredBlob:
        data = b"".join(chunks)
        with self._lock:
            if len(data) > self.free_bytes_locked():
                raise OSError(28, "No space left on device")
            self._blobs[name] = data
            self._journal.add(name)
        return StoredBlob(name, len(data))

    def commit(self, names: Iterable[str]) -> None:
        with self._lock:
            self._journal.difference_update(names)

    def revoke(self, name: str) -> None:
        self.delete(name)

    def retire(self, name: str) -> None:
        with self._lock:
            self._journal.add(name)

    def delete(self, name: str) -> None:
        with self._lock:
            self._blobs.pop(name, None)
            self._journal.discard(name)

    def open(self, name: str) -> BinaryIO:
        return io.BytesIO(self.read(name))

    def read(self, name: str) -> bytes:
        with self._lock:
            try:
                return self._blobs[name]
            except KeyError:
                raise FileNotFoundError(name) from None

    def exists(self, name: str) -> bool:
        return name in self._blobs

    def names(self) -> Iterator[str]:
        return iter(sorted(self._blobs))

    def free_bytes_locked(self) -> int:
        return self.capacity - sum(len(b) for b in self._blobs.values())

    def free_bytes(self) -> int:
        with self._lock:
            return self.free_bytes_locked()

    def journal(self) -> set[str]:
        """Names still pending (written or retired but not settled)."""
        return set(self._journal)

    def recover(self, referenced: Callable[[list[str]], set[str]]) -> tuple[int, int]:
        with self._lock:
            pending = sorted(self._journal)
        keep = referenced(pending)
        for name in pending:
            if name not in keep:
                self.delete(name)
        self.commit(keep)
        return len(keep), len(pending) - len(keep)
