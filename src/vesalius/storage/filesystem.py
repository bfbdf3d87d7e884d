"""Blobs as files under ``<data_dir>/storage``, written so that a crash never tears one.

A write creates the file (unnamed, in its final folder, where the system
allows), writes it, links it into ``.journal/`` (named after the writing
process, its PID and start time, and the blob), then to its final name, and
fsyncs it: the link changes the inode, so on a journaling file system
(ext4, XFS, btrfs) that one fsync makes the data and both names durable. The
journal entry stays until the index has committed the blob; ``recover``
settles the entries of processes that died in between.

Several nodes may share the folder (a network volume): a journal entry names
its host too, and a node settles only the entries of its own host, since it
cannot tell whether a process elsewhere is alive.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from vesalius.storage.base import FOLDER_DIGITS, StoredBlob

JOURNAL = ".journal"


def _process_start(pid: int) -> str | None:
    """The start time of a live process (clock ticks since boot), None if gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    state, start = fields[0], fields[19]
    return None if state in {"Z", "X"} else start


def host_id() -> str:
    """This machine's name as journal entries carry it (letters, digits and ``-`` only)."""
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname()) or "host"


def writer_id(pid: int | None = None) -> str:
    """Names a writing process (host, PID, start time): a later one with the same PID differs."""
    pid = os.getpid() if pid is None else pid
    return f"{host_id()}.{pid}.{_process_start(pid) or 0}"


def _writer_alive(writer: str) -> bool:
    parts = writer.split(".")
    host = parts[0] if len(parts) == 3 else host_id()
    pid, start = parts[-2:] if len(parts) >= 2 else ("", "")
    if host != host_id():
        return True  # another node's process: only that node can settle it
    if not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return True
    return _process_start(int(pid)) == start


class FilesystemBlobStore:
    """Durable blob store on a local (or shared) POSIX file system."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.journal_dir = self.root / JOURNAL
        self.journal_dir.mkdir(parents=True, exist_ok=True)
        self._known_dirs: set[str] = set()
        self._anonymous = hasattr(os, "O_TMPFILE") and os.path.isdir("/proc/self/fd")
        self._proc_fd = -1
        self._proc_fd_pid = 0
        self._writer_pid = os.getpid()
        self._writer = writer_id()

    # -- names -------------------------------------------------------------
    def _path(self, name: str) -> str:
        return os.path.join(self.root, name)

    def _journal_path(self, name: str) -> str:
        if self._writer_pid != os.getpid():  # forked since: a new writer
            self._writer_pid, self._writer = os.getpid(), writer_id()
        flat = name.replace("/", "_")
        return os.path.join(self.journal_dir, f"{self._writer}_{flat}")

    @staticmethod
    def _name_from_journal(entry: str) -> tuple[str, str] | None:
        writer, _, flat = entry.partition("_")
        folder, _, leaf = flat.partition("_")
        if not folder or not leaf or "_" in leaf:
            return None
        return writer, f"{folder}/{leaf}"

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
        named: list[str] = []
        fd, anonymous = self._create(folder, entry)
        if not anonymous:
            named.append(entry)
        try:
            try:
                size = self._write_all(fd, chunks)
                if anonymous:
                    self._name_anonymous(fd, entry)
                    named.append(entry)
                os.link(entry, final)
                named.append(final)
                # The link changed the inode (its link count), so this one fsync makes
                # the data, the journal entry and the final name durable together.
                os.fsync(fd)
            finally:
                os.close(fd)
        except BaseException:
            for path in named:
                with contextlib.suppress(OSError):
                    os.unlink(path)
            raise
        return StoredBlob(name, size)

    def _create(self, folder: str, entry: str) -> tuple[int, bool]:
        """A new file for a blob: unnamed in its final folder when the system allows.

        An unnamed file (``O_TMPFILE``) takes its inode near its final folder and
        vanishes by itself if we die before naming it; otherwise the journal
        entry is created directly.
        """
        if self._anonymous:
            try:
                return os.open(folder, os.O_TMPFILE | os.O_WRONLY, 0o644), True
            except OSError:
                self._anonymous = False  # not supported by this file system
        return os.open(entry, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644), False

    def _name_anonymous(self, fd: int, path: str) -> None:
        # linkat(AT_SYMLINK_FOLLOW) through /proc, as open(2) documents for O_TMPFILE;
        # a directory fd makes Python call linkat rather than link.
        if self._proc_fd_pid != os.getpid():
            self._proc_fd = os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY)
            self._proc_fd_pid = os.getpid()
        os.link(str(fd), path, src_dir_fd=self._proc_fd, follow_symlinks=True)

    @staticmethod
    def _write_all(fd: int, chunks: Sequence[bytes]) -> int:
        size = 0
        for chunk in chunks:
            view = memoryview(chunk)
            while view:
                written = os.write(fd, view)
                view = view[written:]
                size += written
        return size

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
        for folder in sorted(os.listdir(self.root)):
            if folder == JOURNAL or len(folder) != FOLDER_DIGITS:
                continue
            for leaf in sorted(os.listdir(os.path.join(self.root, folder))):
                yield f"{folder}/{leaf}"

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
            writer, name = parsed
            if not _writer_alive(writer):
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
