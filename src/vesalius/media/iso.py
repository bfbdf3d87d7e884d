"""ISO 9660 images of a File-set, ready to burn on CD or DVD (PS3.12, STD-GEN-CD).

The File-set is first written to a staging folder, then laid into an image by
pycdlib: ISO 9660 Level 1 (names of at most 8 + 3 upper-case letters, digits
and ``_``, which DICOM File IDs are by design), no Joliet or Rock Ridge
extensions, so that every operating system and DICOM reader sees the same
names. The volume label comes from the patient and study (``DOE_JOHN_20240101``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pycdlib

from vesalius.media.tracking import ExportError

VOLUME_LABEL_LENGTH = 32
_D_NAME = re.compile(r"^[A-Z0-9_]{1,8}(\.[A-Z0-9_]{0,3})?$")


def iso_name(name: str) -> str:
    """A file name as ISO 9660 Level 1 records it: ``IM000001.;1``, ``INDEX.HTM;1``."""
    upper = name.upper()
    if not _D_NAME.match(upper):
        raise ExportError(f"{name!r} cannot be an ISO 9660 Level 1 file name")
    return f"{upper};1" if "." in upper else f"{upper}.;1"


def write_iso(staging: Path, out: Path, volume_label: str) -> int:
    """Lay every file under ``staging`` into an ISO image at ``out``; its size in bytes.

    The image is written beside ``out`` and renamed into place, so a reader never
    sees half an image.
    """
    image = pycdlib.PyCdlib()
    image.new(
        interchange_level=1,
        vol_ident=volume_label[:VOLUME_LABEL_LENGTH],
        app_ident_str="VESALIUS DICOM ARCHIVE",
    )
    try:
        for folder, dirs, files in os.walk(staging):
            dirs.sort()
            relative = Path(folder).relative_to(staging).parts
            parent = "/" + "/".join(part.upper() for part in relative)
            for name in dirs:
                if not _D_NAME.match(name.upper()) or "." in name:
                    raise ExportError(f"{name!r} cannot be an ISO 9660 Level 1 folder name")
                image.add_directory(iso_path=f"{parent.rstrip('/')}/{name.upper()}")
            for name in sorted(files):
                image.add_file(
                    str(Path(folder, name)), iso_path=f"{parent.rstrip('/')}/{iso_name(name)}"
                )
        partial = out.with_name(f".{out.name}.partial")
        image.write(str(partial))
    finally:
        image.close()
    os.replace(partial, out)
    return out.stat().st_size
