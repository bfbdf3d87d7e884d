"""Reading DICOM media: a folder or an ISO image that holds a DICOMDIR, file by file.

``vesalius import`` hands a path to ``open_medium``; when it is a medium (a
folder with a DICOMDIR, the DICOMDIR file itself, or an ISO 9660 image), the
DICOMDIR's records say which files to import, and ``sources`` yields one loader
per referenced file. A record whose file is not on the medium yields a loader
that fails with ``MissingFile``, so the import reports it like a rejected file.

File IDs are matched the way media are really found: without regard to case,
and with or without a trailing ``.`` or ISO 9660 version (``IM000001.;1``),
since the operating system that mounted or copied the medium may have changed
either. Records are read in file order, whatever their offsets say, so a
DICOMDIR with broken or missing offsets still finds its files.
"""

from __future__ import annotations

import io
import os
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pydicom import dcmread

from vesalius.model.errors import ArchiveError

Source = tuple[str, Callable[[], bytes]]
"""A label for reports and a function that reads the file's bytes."""

ISO_MAGIC_OFFSET = 16 * 2048 + 1
"""Where ``CD001`` stands in an ISO 9660 image (the primary volume descriptor)."""


class MissingFile(ArchiveError):
    """The DICOMDIR lists a file that the medium does not hold."""


class UnreadableDirectory(ArchiveError):
    """The DICOMDIR cannot be read as one."""


@dataclass(frozen=True, slots=True)
class Reference:
    """One directory record that names a file: its File ID components and what it holds."""

    file_id: tuple[str, ...]
    record_type: str
    sop_instance_uid: str


def normalized(name: str) -> str:
    """A file name as media readers compare it: upper case, no version, no trailing dot."""
    return name.split(";", 1)[0].rstrip(".").upper()


def references(dicomdir: bytes) -> list[Reference]:
    """Every in-use record of a DICOMDIR that references a file, in file order."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            directory = dcmread(io.BytesIO(dicomdir), force=True)
        records = directory.get("DirectoryRecordSequence")
    except Exception as exc:
        raise UnreadableDirectory(f"not a readable DICOMDIR: {exc}") from None
    if records is None:
        raise UnreadableDirectory("not a DICOMDIR: no Directory Record Sequence")
    found: list[Reference] = []
    for record in records:
        file_id = record.get("ReferencedFileID")
        if not file_id or record.get("RecordInUseFlag", 0xFFFF) == 0:
            continue
        parts = (file_id,) if isinstance(file_id, str) else tuple(str(part) for part in file_id)
        found.append(
            Reference(
                tuple(part.strip() for part in parts),
                str(record.get("DirectoryRecordType", "")),
                str(record.get("ReferencedSOPInstanceUIDInFile", "")),
            )
        )
    return found


class Medium(Protocol):
    """A folder or an image whose files can be found by File ID and read."""

    name: str

    def locate(self, parts: tuple[str, ...]) -> str | None:
        """The medium's own key for the file of these File ID components, or None."""

    def read(self, key: str) -> bytes:
        """The bytes of the file a key names."""

    def dicomdir(self) -> str | None:
        """The key of the DICOMDIR file at the root, or None."""

    def all_files(self) -> list[str]:
        """The keys of every file, in a stable order."""


class FolderMedium:
    """A folder (a mounted CD, a USB stick, a copy of one)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.name = str(root)
        self._index: dict[tuple[str, ...], str] | None = None

    def _files(self) -> dict[tuple[str, ...], str]:
        if self._index is None:
            self._index = {}
            for folder, dirs, files in os.walk(self.root):
                dirs.sort()
                relative = Path(folder).relative_to(self.root).parts
                for name in sorted(files):
                    key = tuple(normalized(part) for part in (*relative, name))
                    self._index.setdefault(key, str(Path(folder, name)))
        return self._index

    def locate(self, parts: tuple[str, ...]) -> str | None:
        """The path of the file, trying the File ID as written first."""
        exact = self.root.joinpath(*parts)
        if exact.is_file():
            return str(exact)
        return self._files().get(tuple(normalized(part) for part in parts))

    def read(self, key: str) -> bytes:
        """Read a file of the folder."""
        return Path(key).read_bytes()

    def dicomdir(self) -> str | None:
        """The DICOMDIR at the root, whatever its case."""
        return self.locate(("DICOMDIR",))

    def all_files(self) -> list[str]:
        """Every file under the root."""
        return list(self._files().values())


class IsoMedium:
    """An ISO 9660 image, read with pycdlib (its plain ISO 9660 names)."""

    def __init__(self, path: Path) -> None:
        import pycdlib

        self.name = str(path)
        self._iso = pycdlib.PyCdlib()
        try:
            self._iso.open(str(path))
        except Exception as exc:
            raise ArchiveError(f"{path}: not a readable ISO 9660 image: {exc}") from None
        self._lock = threading.Lock()
        self._index: dict[tuple[str, ...], str] = {}
        for folder, _dirs, files in self._iso.walk(iso_path="/"):
            prefix = tuple(normalized(part) for part in folder.split("/") if part)
            for name in sorted(files):
                path = f"{folder.rstrip('/')}/{name}"
                self._index.setdefault((*prefix, normalized(name)), path)

    def locate(self, parts: tuple[str, ...]) -> str | None:
        """The ISO path of the file."""
        return self._index.get(tuple(normalized(part) for part in parts))

    def read(self, key: str) -> bytes:
        """Read a file of the image (one at a time: pycdlib shares one file handle)."""
        buffer = io.BytesIO()
        with self._lock:
            self._iso.get_file_from_iso_fp(buffer, iso_path=key)
        return buffer.getvalue()

    def dicomdir(self) -> str | None:
        """The DICOMDIR at the root of the image."""
        return self.locate(("DICOMDIR",))

    def all_files(self) -> list[str]:
        """Every file of the image."""
        return sorted(self._index.values())

    def close(self) -> None:
        """Close the image file."""
        self._iso.close()


def is_iso(path: Path) -> bool:
    """True for an ISO 9660 image (by its volume descriptor, whatever its name)."""
    try:
        with path.open("rb") as handle:
            handle.seek(ISO_MAGIC_OFFSET)
            return handle.read(5) == b"CD001"
    except OSError:
        return False


def open_medium(path: Path) -> Medium | None:
    """The medium at ``path``: a folder holding a DICOMDIR, a DICOMDIR file (its folder),
    or an ISO image; None for anything else."""
    if path.is_dir():
        names = (child.name for child in path.iterdir() if child.is_file())
        return FolderMedium(path) if any(normalized(name) == "DICOMDIR" for name in names) else None
    if path.is_file() and normalized(path.name) == "DICOMDIR":
        return FolderMedium(path.parent)
    if path.is_file() and is_iso(path):
        return IsoMedium(path)
    return None


def _label(medium: Medium, key: str) -> str:
    return key if isinstance(medium, FolderMedium) else f"{medium.name}!{key}"


def _missing(message: str) -> Callable[[], bytes]:
    def load() -> bytes:
        raise MissingFile(message)

    return load


def sources(medium: Medium) -> Iterator[Source]:
    """A loader per file the medium's DICOMDIR references (every file when it has none)."""
    directory = medium.dicomdir()
    if directory is None:
        for key in medium.all_files():
            yield _label(medium, key), (lambda key=key: medium.read(key))
        return
    for reference in references(medium.read(directory)):
        key = medium.locate(reference.file_id)
        if key is None:
            where = "/".join(reference.file_id)
            label = f"{medium.name}{os.sep if isinstance(medium, FolderMedium) else '!'}{where}"
            uid = f" {reference.sop_instance_uid}" if reference.sop_instance_uid else ""
            reason = f"listed in the DICOMDIR ({reference.record_type}{uid}) but not on the medium"
            yield label, _missing(reason)
        else:
            yield _label(medium, key), (lambda key=key: medium.read(key))
