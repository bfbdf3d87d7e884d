"""Send DIMSE messages whose command set and data set are bytes already (PS3.8 9.3.5).

pynetdicom turns each message into a pydicom command set, fragments, P-DATA
primitives and P-DATA-TF PDU objects; for a stream of small C-FIND responses
or of C-STORE sub-operations that machinery costs more than the archive's own
work. ``send`` fragments a message to the peer's maximum PDU length, frames
the P-DATA-TF PDUs itself and queues them to the association's DUL thread as
one ``EncodedPData``, which ``install()`` teaches the state machine to write
as it is. Order with pynetdicom's own messages is kept: both go through one
queue.
"""

from __future__ import annotations

import struct
import threading
import time
from collections.abc import Callable
from typing import Any

import pynetdicom.fsm as _fsm
from pynetdicom.association import Association
from pynetdicom.dul import DULServiceProvider
from pynetdicom.pdu_primitives import P_DATA

_PDU_HEADER = struct.Struct(">BBI")
_PDV_HEADER = struct.Struct(">IBB")
_P_DATA_TF = 0x04
ROOM_POLL = 0.0005
_COMMAND, _LAST = 0x01, 0x02

_installed = False
_install_lock = threading.Lock()


class EncodedPData(P_DATA):
    """P-DATA-TF PDUs, framed, to be written to the socket as they are."""

    def __init__(self, encoded: bytes) -> None:
        super().__init__()
        self.encoded = encoded


def frame(context_id: int, command: bytes, dataset: bytes | None, max_pdu: int) -> bytes:
    """The P-DATA-TF PDUs of one message, each within the peer's ``max_pdu`` (0: no limit)."""
    parts: list[bytes] = []
    _fragments(parts, context_id, command, _COMMAND, max_pdu)
    if dataset is not None:
        _fragments(parts, context_id, dataset, 0, max_pdu)
    return b"".join(parts)


def _fragments(
    parts: list[bytes], context_id: int, data: bytes, control: int, max_pdu: int
) -> None:
    size = max(max_pdu - 6, 1) if max_pdu else max(len(data), 1)
    last = max(len(data) - 1, 0) // size * size
    for start in range(0, last + 1, size):
        chunk = data[start : start + size]
        header = control | _LAST if start == last else control
        parts.append(_PDU_HEADER.pack(_P_DATA_TF, 0, len(chunk) + 6))
        parts.append(_PDV_HEADER.pack(len(chunk) + 2, context_id, header))
        parts.append(chunk)


def send(assoc: Association, context_id: int, command: bytes, dataset: bytes | None) -> None:
    """Queue one message for the peer: ``command`` set, and ``dataset`` when present."""
    encoded = frame(context_id, command, dataset, assoc.dimse.maximum_pdu_size)
    assoc.dul.send_pdu(EncodedPData(encoded))


def wait_for_room(assoc: Association, limit: int) -> None:
    """Hold a producer while more than ``limit`` messages wait to be written.

    A query can match far more answers than the socket takes at once: without
    this, all of them would be encoded and queued in memory, and a C-CANCEL
    would be read only once the last was written.
    """
    queue = assoc.dul.to_provider_queue
    while queue.qsize() > limit and assoc.dul.is_alive() and not assoc.is_aborted:
        time.sleep(ROOM_POLL)


def _sending_encoded(action: Callable[[DULServiceProvider], str], state: str) -> Any:
    def act(dul: DULServiceProvider) -> str:
        pending = dul.to_provider_queue.queue
        if pending and isinstance(pending[0], EncodedPData):
            primitive = dul.to_provider_queue.get(False)
            if dul.socket is not None:
                dul.socket.send(primitive.encoded)
            return state
        return action(dul)

    return act


def install() -> None:
    """Let the DUL state machine send ``EncodedPData`` (in Sta6 and while releasing)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        for name in ("DT-1", "AR-7"):
            description, action, state = _fsm.ACTIONS[name]
            _fsm.ACTIONS[name] = (description, _sending_encoded(action, state), state)
        _installed = True
