"""Blobs as files under ``<data_dir>/storage``, written so that a crash never tears one.

A write creates the file in ``.journal/`` (named after the writing process and
the blob), writes it, hard-links it to its final name and fsyncs it: the link
changes the inode, so on a journaling file system (ext4, XFS, btrfs) that
fsync also makes both names durable. The journal entry stays until the index has committed the blob;
``recover`` settles the entries of processes that died in between.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from vesalius.storage.base import StoredBlob

JOURNAL = ".journal"


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class FilesystemBlobStore:
    """Durable blob store on a local (or shared) POSIX file system."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.journal_dir = self.root / JOURNAL
        self.journal_dir.mkdir(parents=True, exist_ok=True)
        self._known_dirs: set[str] = set()

    # -- names -------------------------------------------------------------
    def _path(self, name: str) -> str:
        return os.path.join(self.root, name)

    def _journal_path(self, name: str, pid: int | None = None) -> str:
        flat = name.replace("/", "_")
        return os.path.join(self.journal_dir, f"{pid or os.getpid()}_{flat}")

    @staticmethod
    def _name_from_journal(entry: str) -> tuple[int, str] | None:
        pid, _, flat = entry.partition("_")
        parts = flat.split("_", 2)
        if not pid.isdigit() or len(parts) != 3:
            return None
        return int(pid), "/".join(parts)

    def _ensure_dir(self, folder: str) -> None:
        if folder not in self._known_dirs:
            os.makedirs(folder, exist_ok=True)
            self._known_dirs.add(folder)

    @staticmethod
    def _fsync_dir(folder: str) -> None:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    # -- writing -----------------------------------------------------------
    def write(self, name: str, chunks: Sequence[bytes]) -> StoredBlob:
        """Write the blob durably under its final name, journaled as pending."""
        entry = self._journal_path(name)
        final = self._path(name)
        folder = os.path.dirname(final)
        self._ensure_dir(folder)
        size = 0
        linked = False
        fd = os.open(entry, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            try:
                for chunk in chunks:
                    view = memoryview(chunk)
                    while view:
                        written = os.write(fd, view)
                        view = view[written:]
                        size += written
                os.link(entry, final)
                linked = True
                # The link changed the inode (its link count), so this one fsync makes
                # the data, the journal entry and the final name durable together.
                os.fsync(fd)
            finally:
                os.close(fd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(entry)
            if linked:
                with contextlib.suppress(OSError):
                    os.unlink(final)
            raise
        return StoredBlob(name, size)

    def commit(self, names: Iterable[str]) -> None:
        """Drop the journal entries of blobs the index now references."""
        for name in names:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._journal_path(name))

    def revoke(self, name: str) -> None:
        """Remove a pending blob the index refused."""
        self.delete(name)

    def retire(self, name: str) -> None:
        """Journal a blob for removal before the index lets go of it."""
        with contextlib.suppress(FileExistsError, FileNotFoundError):
            os.link(self._path(name), self._journal_path(name))

    def delete(self, name: str) -> None:
        """Remove a blob and its journal entry; missing ones are fine."""
        for path in (self._path(name), self._journal_path(name)):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)

    # -- reading -----------------------------------------------------------
    def open(self, name: str) -> BinaryIO:
        return open(self._path(name), "rb")

    def read(self, name: str) -> bytes:
        with open(self._path(name), "rb") as handle:
            return handle.read()

    def exists(self, name: str) -> bool:
        return os.path.exists(self._path(name))

    def path(self, name: str) -> Path:
        """The file behind a blob, for tools that want a path."""
        return Path(self._path(name))

    def names(self) -> Iterator[str]:
        for top in sorted(os.listdir(self.root)):
            if top == JOURNAL or len(top) != 2:
                continue
            for second in sorted(os.listdir(os.path.join(self.root, top))):
                folder = os.path.join(self.root, top, second)
                for leaf in sorted(os.listdir(folder)):
                    yield f"{top}/{second}/{leaf}"

    def free_bytes(self) -> int:
        return shutil.disk_usage(self.root).free

    # -- recovery ----------------------------------------------------------
    def recover(self, referenced: Callable[[list[str]], set[str]]) -> tuple[int, int]:
        """Settle journal entries of dead writers: keep referenced blobs, remove the rest."""
        stale: list[tuple[str, str]] = []
        for entry in os.listdir(self.journal_dir):
            parsed = self._name_from_journal(entry)
            if parsed is None:
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(self.journal_dir, entry))
                continue
            pid, name = parsed
            if not _pid_alive(pid):
                stale.append((entry, name))
        keep = referenced([name for _, name in stale]) if stale else set()
        for entry, name in stale:
            if name not in keep:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self._path(name))
            os.unlink(os.path.join(self.journal_dir, entry))
        if stale:
            self._fsync_dir(str(self.journal_dir))
        return len(keep), len(stale) - len(keep)
