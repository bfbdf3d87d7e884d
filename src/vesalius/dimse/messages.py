"""The frequent DIMSE messages, sent as bytes built from their primitives.

A C-MOVE or C-GET sends, per instance, a C-STORE request and a pending
C-MOVE/C-GET response; a storage SCP answers every C-STORE. pynetdicom
builds each of those as a pydicom command set and a train of PDU objects,
which costs more than reading and sending a 0.5 MB image. ``install()``
routes them through ``pdata.send`` instead: their command sets are a handful
of fields written by ``commandset.encode_command``, and a request's data set
is the stored file's bytes after its meta information. A message with
anything unusual (an Offending Element, say) and every other message go
pynetdicom's way.
"""

from __future__ import annotations

import struct
import threading
from pathlib import Path
from typing import Any

import pynetdicom.association as _association_module
from pydicom.dataset import FileMetaDataset
from pynetdicom.dimse import DIMSEServiceProvider
from pynetdicom.dimse_primitives import C_GET, C_MOVE, C_STORE
from pynetdicom.dsutils import split_dataset

from vesalius.dimse import pdata
from vesalius.dimse.commandset import UnusualCommand, encode_command

C_STORE_RQ, C_STORE_RSP, C_GET_RSP, C_MOVE_RSP = 0x0001, 0x8001, 0x8010, 0x8021
DATA_SET_PRESENT, NO_DATA_SET = 0x0001, 0x0101
_RETRIEVE_RESPONSE = {C_MOVE: C_MOVE_RSP, C_GET: C_GET_RSP}
_SUB_OPERATION_COUNTS = (
    (0x00001020, "NumberOfRemainingSuboperations"),
    (0x00001021, "NumberOfCompletedSuboperations"),
    (0x00001022, "NumberOfFailedSuboperations"),
    (0x00001023, "NumberOfWarningSuboperations"),
)
_META_UIDS = {
    0x0002: "MediaStorageSOPClassUID",
    0x0003: "MediaStorageSOPInstanceUID",
    0x0010: "TransferSyntaxUID",
}
_LONG_LENGTH_VRS = frozenset((b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"UC", b"UN", b"UR"))

_installed = False
_install_lock = threading.Lock()


def _status_rows(primitive: Any) -> list[tuple[int, str, Any]]:
    if primitive.OffendingElement:
        raise UnusualCommand
    rows: list[tuple[int, str, Any]] = [(0x00000900, "US", primitive.Status)]
    if primitive.ErrorComment:
        rows.append((0x00000902, "LO", primitive.ErrorComment))
    return rows


def store_command(primitive: C_STORE) -> list[tuple[int, str, Any]]:
    """The command set fields of a C-STORE request or response, in tag order."""
    request = primitive.MessageIDBeingRespondedTo is None
    rows: list[tuple[int, str, Any]] = []
    if primitive.AffectedSOPClassUID:
        rows.append((0x00000002, "UI", primitive.AffectedSOPClassUID))
    if request:
        rows.append((0x00000100, "US", C_STORE_RQ))
        rows.append((0x00000110, "US", primitive.MessageID))
        rows.append((0x00000700, "US", primitive.Priority))
        rows.append((0x00000800, "US", DATA_SET_PRESENT))
    else:
        rows.append((0x00000100, "US", C_STORE_RSP))
        rows.append((0x00000120, "US", primitive.MessageIDBeingRespondedTo))
        rows.append((0x00000800, "US", NO_DATA_SET))
        rows.extend(_status_rows(primitive))
    if primitive.AffectedSOPInstanceUID:
        rows.append((0x00001000, "UI", primitive.AffectedSOPInstanceUID))
    if request and primitive.MoveOriginatorApplicationEntityTitle:
        rows.append((0x00001030, "AE", primitive.MoveOriginatorApplicationEntityTitle))
    if request and primitive.MoveOriginatorMessageID is not None:
        rows.append((0x00001031, "US", primitive.MoveOriginatorMessageID))
    return rows


def retrieve_response_command(
    primitive: C_MOVE | C_GET, has_identifier: bool
) -> list[tuple[int, str, Any]]:
    """The command set fields of a C-MOVE or C-GET response, in tag order."""
    rows: list[tuple[int, str, Any]] = []
    if primitive.AffectedSOPClassUID:
        rows.append((0x00000002, "UI", primitive.AffectedSOPClassUID))
    rows.append((0x00000100, "US", _RETRIEVE_RESPONSE[type(primitive)]))
    rows.append((0x00000120, "US", primitive.MessageIDBeingRespondedTo))
    rows.append((0x00000800, "US", DATA_SET_PRESENT if has_identifier else NO_DATA_SET))
    rows.extend(_status_rows(primitive))
    for tag, name in _SUB_OPERATION_COUNTS:
        count = getattr(primitive, name)
        if count is not None:
            rows.append((tag, "US", count))
    return rows


def _data_set(primitive: Any, attribute: str) -> bytes | None:
    path_and_offset = getattr(primitive, "_dataset_path", None)
    if path_and_offset is not None:
        path, offset = path_and_offset
        with open(path, "rb") as stored:
            stored.seek(offset)
            return stored.read()
    encoded = getattr(primitive, attribute)
    return None if encoded is None else bytes(encoded.getvalue())


def encode_message(primitive: Any) -> tuple[bytes, bytes | None] | None:
    """Command set and data set bytes of the messages sent our way, else None."""
    kind = type(primitive)
    try:
        if kind is C_STORE:
            request = primitive.MessageIDBeingRespondedTo is None
            dataset = _data_set(primitive, "DataSet") if request else None
            if request and dataset is None:
                return None
            return encode_command(store_command(primitive)), dataset
        if kind in _RETRIEVE_RESPONSE and primitive.MessageIDBeingRespondedTo is not None:
            identifier = _data_set(primitive, "Identifier")
            command = retrieve_response_command(primitive, identifier is not None)
            return encode_command(command), identifier
    except (UnusualCommand, TypeError, ValueError, struct.error, UnicodeEncodeError):
        return None
    return None


def split_part10(path: Path) -> tuple[FileMetaDataset, int]:
    """The UIDs of a Part 10 file's meta information and where its data set starts.

    What pynetdicom's ``split_dataset`` returns, read by hand from the group
    length on; files without one are left to it.
    """
    with open(path, "rb") as part10:
        head = part10.read(144)
        if len(head) < 144 or head[128:132] != b"DICM" or head[132:138] != b"\x02\x00\x00\x00UL":
            return split_dataset(path)
        end = 144 + int.from_bytes(head[140:144], "little")
        meta = part10.read(end - 144)
        if part10.read(2) == b"\x02\x00":  # the group length is wrong: more meta follows
            return split_dataset(path)
    found: dict[str, str] = {}
    offset = 0
    while offset + 8 <= len(meta):
        group, element = struct.unpack_from("<HH", meta, offset)
        vr = meta[offset + 4 : offset + 6]
        if group != 2:
            return split_dataset(path)
        if vr in _LONG_LENGTH_VRS:
            length = int.from_bytes(meta[offset + 8 : offset + 12], "little")
            offset += 12
        else:
            length = int.from_bytes(meta[offset + 6 : offset + 8], "little")
            offset += 8
        if element in _META_UIDS:
            value = meta[offset : offset + length].rstrip(b"\x00 ").decode("ascii", "replace")
            found[_META_UIDS[element]] = value
        offset += length
    if offset != len(meta):
        return split_dataset(path)
    file_meta = FileMetaDataset()
    for keyword, value in found.items():
        setattr(file_meta, keyword, value)
    return file_meta, end


_pynetdicom_send_msg = DIMSEServiceProvider.send_msg


def _send_msg(provider: DIMSEServiceProvider, primitive: Any, context_id: int) -> None:
    encoded = encode_message(primitive)
    if encoded is None:
        _pynetdicom_send_msg(provider, primitive, context_id)
    else:
        pdata.send(provider.assoc, context_id, *encoded)


def install() -> None:
    """Send C-STORE messages and C-MOVE/C-GET responses through ``pdata.send``."""
    global _installed
    with _install_lock:
        if _installed:
            return
        pdata.install()
        DIMSEServiceProvider.send_msg = _send_msg  # type: ignore[method-assign]
        _association_module.split_dataset = split_part10  # type: ignore[assignment]
        _installed = True
