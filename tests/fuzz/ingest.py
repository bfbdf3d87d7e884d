"""Fuzz target: the ingest parser, for any bytes.

The first byte picks the door: a Part 10 file (``parse_file``, as import,
STOW-RS and the web upload call it) or a bare data set in one of the transfer
syntaxes a DIMSE peer may negotiate (``parse_dataset``, as C-STORE calls it).
Either must parse or raise an ``ArchiveError`` (``InvalidObject``,
``UnsupportedSopClass``); any other exception is a finding.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import INSTRUMENTED, fuzz

if __name__ == "__main__":
    import atheris

    with atheris.instrument_imports(include=list(INSTRUMENTED)):
        from vesalius import sopclasses
        from vesalius.archive.parse import parse_dataset, parse_file
        from vesalius.model.errors import ArchiveError
else:
    from vesalius import sopclasses
    from vesalius.archive.parse import parse_dataset, parse_file
    from vesalius.model.errors import ArchiveError

SYNTAXES = (
    sopclasses.IMPLICIT_VR_LE,
    sopclasses.EXPLICIT_VR_LE,
    sopclasses.EXPLICIT_VR_BE,
    sopclasses.DEFLATED_EXPLICIT_VR_LE,
    "1.2.840.10008.1.2.4.50",  # JPEG Baseline: explicit VR little endian, encapsulated
)
FILE = len(SYNTAXES)
DOORS = FILE + 1


def one_input(data: bytes) -> None:
    """Parse ``data`` through the door its first byte picks."""
    if not data:
        return
    door, body = data[0] % DOORS, data[1:]
    try:
        if door == FILE:
            parse_file(body)
        else:
            parse_dataset(body, SYNTAXES[door])
    except ArchiveError:
        pass


if __name__ == "__main__":
    fuzz(one_input)
