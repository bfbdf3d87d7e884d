"""Encode DIMSE command sets directly instead of through pydicom's general writer.

Every DIMSE message carries a command set: a dozen group 0000 elements of a
few simple VRs, always in implicit VR little endian (PS3.7 6.3.1). pynetdicom
encodes it with pydicom's ``write_dataset`` twice per message (once to measure
the group length), which was a quarter of the CPU of a C-MOVE. ``install()``
routes command sets through ``encode_command_set``, which writes those VRs
itself and hands anything unusual back to pydicom.
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Callable
from typing import Any

import pynetdicom.dimse_messages as _dimse_messages
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

_HEADER = struct.Struct("<HHI")
_NUMBERS = {"US": "H", "UL": "I", "SS": "h", "SL": "i"}
_TEXT_PADDING = {"UI": b"\x00", "AE": b" ", "LO": b" ", "SH": b" ", "CS": b" ", "ST": b" "}

_original_encode: Callable[..., bytes | None] = _dimse_messages.encode
_installed = False
_install_lock = threading.Lock()


class UnusualCommand(Exception):
    """An element this encoder leaves to pydicom."""


def _value_bytes(vr: str, value: Any) -> bytes:
    if value is None or value == "":
        return b""
    if vr in _NUMBERS:
        values = value if isinstance(value, list | tuple | MultiValue) else [value]
        return struct.pack("<" + _NUMBERS[vr] * len(values), *(int(v) for v in values))
    if vr in _TEXT_PADDING:
        if not isinstance(value, str):
            raise UnusualCommand
        encoded = value.encode("ascii")
        return encoded + _TEXT_PADDING[vr] if len(encoded) % 2 else encoded
    if vr == "AT":
        values = value if isinstance(value, list | tuple | MultiValue) else [value]
        return b"".join(struct.pack("<HH", int(t) >> 16, int(t) & 0xFFFF) for t in values)
    raise UnusualCommand


def encode_command_set(dataset: Dataset) -> bytes:
    """The command set in implicit VR little endian; ``UnusualCommand`` for what it cannot write."""
    parts = []
    for element in dataset:
        tag = int(element.tag)
        if tag >> 16 != 0:
            raise UnusualCommand
        value = _value_bytes(element.VR, element.value)
        parts.append(_HEADER.pack(0, tag & 0xFFFF, len(value)))
        parts.append(value)
    return b"".join(parts)


def encode_command(elements: list[tuple[int, str, Any]]) -> bytes:
    """A command set from (tag, VR, value) rows in tag order, its group length first."""
    parts = []
    for tag, vr, value in elements:
        encoded = _value_bytes(vr, value)
        parts.append(_HEADER.pack(0, tag & 0xFFFF, len(encoded)))
        parts.append(encoded)
    body = b"".join(parts)
    return _HEADER.pack(0, 0, 4) + struct.pack("<I", len(body)) + body


def _encode(
    ds: Dataset, is_implicit_vr: bool, is_little_endian: bool, deflated: bool = False
) -> bytes | None:
    if is_implicit_vr and is_little_endian and not deflated:
        try:
            return encode_command_set(ds)
        except (UnusualCommand, UnicodeEncodeError, ValueError, TypeError, struct.error):
            pass
    return _original_encode(ds, is_implicit_vr, is_little_endian, deflated)


def install() -> None:
    """Encode every command set pynetdicom sends from now on with ``encode_command_set``."""
    global _installed
    with _install_lock:
        if not _installed:
            _dimse_messages.encode = _encode  # type: ignore[assignment]
            _installed = True
