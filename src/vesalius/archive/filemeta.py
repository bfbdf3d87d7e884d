"""The File Meta Information that Vesalius writes in front of every stored data set.

Encoded here rather than through pydicom because it is written once per
instance on the ingest path and its layout is fixed (PS3.10 7.1: explicit VR
little endian, group length first).
"""

from __future__ import annotations

import struct

from vesalius import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME

PREAMBLE = b"\x00" * 128 + b"DICM"
_SHORT = struct.Struct("<HH2sH")


def _element(element: int, vr: bytes, value: bytes, pad: bytes) -> bytes:
    if len(value) % 2:
        value += pad
    return _SHORT.pack(0x0002, element, vr, len(value)) + value


def _text(value: str) -> bytes:
    return value.encode("ascii", "replace")


def file_meta_bytes(
    sop_class_uid: str, sop_instance_uid: str, transfer_syntax_uid: str, source_aet: str = ""
) -> bytes:
    """Preamble, ``DICM`` and a complete group 0002 for one instance."""
    body = b"".join(
        (
            struct.pack("<HH2sHI", 0x0002, 0x0001, b"OB", 0, 2) + b"\x00\x01",
            _element(0x0002, b"UI", _text(sop_class_uid), b"\x00"),
            _element(0x0003, b"UI", _text(sop_instance_uid), b"\x00"),
            _element(0x0010, b"UI", _text(transfer_syntax_uid), b"\x00"),
            _element(0x0012, b"UI", _text(IMPLEMENTATION_CLASS_UID), b"\x00"),
            _element(0x0013, b"SH", _text(IMPLEMENTATION_VERSION_NAME), b" "),
            _element(0x0016, b"AE", _text(source_aet.strip()[:16]), b" ") if source_aet else b"",
        )
    )
    group_length = _SHORT.pack(0x0002, 0x0000, b"UL", 4) + struct.pack("<I", len(body))
    return PREAMBLE + group_length + body
