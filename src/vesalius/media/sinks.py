"""Where exported files go: a folder, or a ZIP file written as it goes.

Every export writes through a ``Sink``, so the same code fills a USB folder, a
ZIP for download or the staging folder of an ISO image. Names are relative
paths with ``/``; the sink refuses names that would leave it.
"""

from __future__ import annotations

import os
import shutil
import time
import zipfile
from pathlib import Path
from typing import BinaryIO, Protocol

CHUNK = 1 << 20
"""Bytes copied at a time."""


class Sink(Protocol):
    """A place that takes files by relative name."""

    def write(self, name: str, data: bytes) -> None:
        """Add a file with these bytes."""

    def copy(self, name: str, source: BinaryIO, size: int) -> None:
        """Add a file read from ``source`` (``size`` bytes), a piece at a time."""


def checked(name: str) -> str:
    """``name`` when it is a plain relative path; ``ValueError`` otherwise."""
    parts = name.split("/")
    if name.startswith("/") or any(part in ("", ".", "..") for part in parts) or "\\" in name:
        raise ValueError(f"not a plain relative file name: {name!r}")
    return name


class FolderSink:
    """Files under a folder, which is created when missing."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def _target(self, name: str) -> Path:
        target = self.root / checked(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def write(self, name: str, data: bytes) -> None:
        """Write ``root/name``."""
        self._target(name).write_bytes(data)

    def copy(self, name: str, source: BinaryIO, size: int) -> None:
        """Copy ``source`` to ``root/name``."""
        with self._target(name).open("wb") as target:
            shutil.copyfileobj(source, target, CHUNK)

    def add_file(self, name: str, path: Path) -> None:
        """Move a finished file (made elsewhere in the same folder) to ``root/name``."""
        os.replace(path, self._target(name))


class ZipSink:
    """Members of a ZIP file, stored uncompressed (DICOM pixel data, PNG, JPEG and
    MP4 barely shrink, and storing costs no CPU), ZIP64 when large."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._zip = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True)
        self._now = time.localtime()[:6]

    def _info(self, name: str, size: int) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(checked(name), date_time=self._now)
        info.compress_type = zipfile.ZIP_STORED
        info.file_size = size  # large members get ZIP64 headers
        return info

    def write(self, name: str, data: bytes) -> None:
        """Add a member with these bytes."""
        self._zip.writestr(self._info(name, len(data)), data)

    def copy(self, name: str, source: BinaryIO, size: int) -> None:
        """Add a member read from ``source``."""
        with self._zip.open(self._info(name, size), "w") as target:
            shutil.copyfileobj(source, target, CHUNK)

    def add_file(self, name: str, path: Path) -> None:
        """Add a finished file as a member, then remove it."""
        with path.open("rb") as source:
            self.copy(name, source, path.stat().st_size)
        path.unlink()

    def close(self) -> None:
        """Write the central directory."""
        self._zip.close()
