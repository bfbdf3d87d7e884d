"""Fuzz target: the C-FIND identifier parser, for any bytes.

The first byte picks the encoding and the information model; the rest is the
identifier as a DIMSE peer sends it, decoded as pynetdicom decodes it (lazily:
values are read when first touched), read as ``handle_find`` reads it and
handed to ``parse_identifier``. With
the first byte's high bit set, the rest is instead text of ``Keyword=value``
lines, as QIDO-RS, the listing API and the CLI build identifiers
(``dataset_from_keys``). Either way the parser must answer a ``Query`` or raise
an ``ArchiveError`` (``InvalidQuery``); any other exception is a finding.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import INSTRUMENTED, fuzz

if __name__ == "__main__":
    import atheris

    with atheris.instrument_imports(include=list(INSTRUMENTED)):
        from pydicom.datadict import keyword_dict
        from pynetdicom.dsutils import decode

        from vesalius.dimse.find import read_identifier
        from vesalius.model.errors import ArchiveError
        from vesalius.model.matching import dataset_from_keys, parse_identifier
else:
    from pydicom.datadict import keyword_dict
    from pynetdicom.dsutils import decode

    from vesalius.dimse.find import read_identifier
    from vesalius.model.errors import ArchiveError
    from vesalius.model.matching import dataset_from_keys, parse_identifier

MODELS = ("patient", "study")
LEVELS = ("PATIENT", "STUDY", "SERIES", "IMAGE")
ENCODINGS = ((True, True), (False, True), (False, False))  # (implicit VR, little endian)
TEXT = 0x80


class Request:
    """What ``handle_find`` sees of a C-FIND request: an identifier decoded on access."""

    def __init__(self, body: bytes, implicit: bool, little: bool) -> None:
        self.body, self.implicit, self.little = body, implicit, little

    @property
    def identifier(self) -> object:
        return decode(io.BytesIO(self.body), self.implicit, self.little)


def one_input(data: bytes) -> None:
    """Parse ``data`` as the identifier its first byte says it is."""
    if not data:
        return
    choice, body = data[0], data[1:]
    model = MODELS[choice & 1]
    try:
        if choice & TEXT:
            lines = body.decode("utf-8", "replace").splitlines()
            level, keys = LEVELS[(choice >> 1) % len(LEVELS)], {}
            for line in lines:
                keyword, _, value = line.partition("=")
                if keyword in keyword_dict:  # QIDO-RS refuses other names before this
                    keys[keyword] = value
            try:
                identifier = dataset_from_keys(level, keys)
            except (ValueError, TypeError, OverflowError):
                return  # QIDO-RS answers these 400 (qido._identifier)
            parse_identifier(identifier, model, relational=bool(choice & 0x40))
        else:
            implicit, little = ENCODINGS[(choice >> 1) % len(ENCODINGS)]
            parse_identifier(read_identifier(Request(body, implicit, little)), model)
    except ArchiveError:
        pass


if __name__ == "__main__":
    fuzz(one_input)
