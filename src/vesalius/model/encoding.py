"""Encode small data sets of plain elements straight to bytes (PS3.5 7.1).

A query answer is a dozen short text elements; pydicom's general writer spends
more on each than the rest of a C-FIND response together. ``encode_elements``
writes what answers hold (text VRs in a single-byte or UTF-8 character set,
binary integers, sequences of such items) in little endian, implicit or
explicit VR, and returns None for anything else so that the caller hands the
data set to pydicom instead.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import Any

from pydicom.charset import python_encoding

from vesalius.model.text import CHARSET_VRS

Elements = Mapping[int, tuple[str, Any]]
"""tag -> (VR, value); a value is None, str, int, a list of them, or for SQ a list of Elements."""

_TEXT_VRS = frozenset(("AE", "AS", "CS", "DA", "DS", "DT", "IS", "TM", "UI", "UR", *CHARSET_VRS))
_NUMBERS = {"US": "H", "UL": "I", "SS": "h", "SL": "i", "FL": "f", "FD": "d"}
_LONG_LENGTH_VRS = frozenset(
    ("OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT")
)
_ITEM = struct.pack("<HH", 0xFFFE, 0xE000)
_IMPLICIT_HEADER = struct.Struct("<HHI")
_EXPLICIT_SHORT = struct.Struct("<HH2sH")
_EXPLICIT_LONG = struct.Struct("<HH2s2xI")


class _Unsupported(Exception):
    """An element or character set this encoder leaves to pydicom."""


def codec_for(charset: tuple[str, ...]) -> str | None:
    """The Python codec of a single-valued character set without code extensions, else None."""
    if len(charset) != 1:
        return None
    term = charset[0] or "ISO_IR 6"
    if term.startswith("ISO 2022"):
        return None
    return python_encoding.get(term)


def encode_elements(
    elements: Elements, charset: tuple[str, ...], implicit_vr: bool
) -> bytes | None:
    """The little endian encoding of ``elements`` in ``charset``; None if it takes pydicom."""
    codec = codec_for(charset)
    if codec is None:
        return None
    try:
        return _encode(elements, codec, implicit_vr)
    except (_Unsupported, UnicodeEncodeError, struct.error, TypeError, ValueError):
        return None


def _encode(elements: Elements, codec: str, implicit_vr: bool) -> bytes:
    parts: list[bytes] = []
    for tag in sorted(elements):
        vr, value = elements[tag]
        body = _value_bytes(vr, value, codec, implicit_vr)
        group, element = tag >> 16, tag & 0xFFFF
        if implicit_vr:
            parts.append(_IMPLICIT_HEADER.pack(group, element, len(body)))
        elif vr in _LONG_LENGTH_VRS:
            parts.append(_EXPLICIT_LONG.pack(group, element, vr.encode(), len(body)))
        else:
            if len(body) > 0xFFFF:
                raise _Unsupported
            parts.append(_EXPLICIT_SHORT.pack(group, element, vr.encode(), len(body)))
        parts.append(body)
    return b"".join(parts)


def _value_bytes(vr: str, value: Any, codec: str, implicit_vr: bool) -> bytes:
    if value is None or value in ("", []):
        return b""
    if vr == "SQ":
        items = []
        for item in value:
            encoded = _encode(item, codec, implicit_vr)
            items.append(_ITEM + struct.pack("<I", len(encoded)) + encoded)
        return b"".join(items)
    values = value if isinstance(value, list | tuple) else [value]
    if vr in _TEXT_VRS:
        if not all(isinstance(v, str) for v in values):
            raise _Unsupported
        encoded = "\\".join(values).encode(codec if vr in CHARSET_VRS else "ascii")
        if len(encoded) % 2:
            encoded += b"\x00" if vr == "UI" else b" "
        return encoded
    if vr in _NUMBERS:
        return struct.pack("<" + _NUMBERS[vr] * len(values), *values)
    raise _Unsupported
