"""Garbage on the DICOM port: every case is refused or dropped, and the server still answers.

Each case writes raw bytes to the listener (no DICOM library on our side),
then the test checks that a C-ECHO still succeeds and that the server's
memory did not grow past a bound.
"""

from __future__ import annotations

import os
import socket
import struct
from collections.abc import Callable

import psutil
import pytest
from pynetdicom import AE
from pynetdicom.sop_class import Verification

from conftest import wait_for
from vesalius.app import Node

MEMORY_GROWTH_LIMIT = 200 * 1024 * 1024
CONNECTIONS = 200  # 1,000 also passes; 200 keep the suite fast
CALLED, CALLING = b"VESALIUS".ljust(16), b"HOSTILE".ljust(16)


def echo_ok(node: Node) -> bool:
    ae = AE(ae_title="PROBE")
    ae.add_requested_context(Verification)
    assoc = ae.associate("127.0.0.1", node.dicom_port, ae_title=node.settings.dicom.ae_title)
    if not assoc.is_established:
        return False
    try:
        return int(assoc.send_c_echo().Status) == 0
    finally:
        assoc.release()


def send_raw(node: Node, payload: bytes, *, read: bool = True) -> bytes:
    """Write ``payload`` and return what the server answers before it closes (or 2 s: a
    server that just waits for the rest, until its own timeout, is fine too)."""
    with socket.create_connection(("127.0.0.1", node.dicom_port), timeout=2) as sock:
        try:
            sock.sendall(payload)
        except OSError:
            return b""  # the server closed on us mid-way: that is a refusal too
        if not read:
            return b""
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except (TimeoutError, ConnectionResetError):
            pass
        return received


def item(item_type: int, body: bytes) -> bytes:
    return struct.pack(">BBH", item_type, 0, len(body)) + body


def associate_rq(contexts: int) -> bytes:
    """An A-ASSOCIATE-RQ proposing ``contexts`` presentation contexts of Verification."""
    application = item(0x10, b"1.2.840.10008.3.1.1.1")
    proposed = b""
    for number in range(contexts):
        context_id = (2 * number + 1) % 256 or 1
        abstract = item(0x30, b"1.2.840.10008.1.1")
        transfer = item(0x40, b"1.2.840.10008.1.2")
        proposed += item(0x20, bytes([context_id, 0, 0, 0]) + abstract + transfer)
    user = item(0x50, item(0x51, struct.pack(">I", 16384)))
    body = struct.pack(">HH", 1, 0) + CALLED + CALLING + bytes(32) + application + proposed + user
    return struct.pack(">BBI", 0x01, 0, len(body)) + body


def p_data(context_id: int, payload: bytes) -> bytes:
    pdv = struct.pack(">IB", len(payload) + 2, context_id) + b"\x03" + payload
    return struct.pack(">BBI", 0x04, 0, len(pdv)) + pdv


CASES: dict[str, Callable[[], bytes]] = {
    "random bytes": lambda: os.urandom(4096),
    "truncated A-ASSOCIATE-RQ": lambda: associate_rq(1)[:40],
    "PDU length of 4 GB": lambda: struct.pack(">BBI", 0x01, 0, 0xFFFFFFFF) + b"\x00" * 64,
    "P-DATA before association": lambda: p_data(1, b"\x00" * 100),
    "unknown PDU type": lambda: struct.pack(">BBI", 0x7F, 0, 8) + b"\x00" * 8,
    "A-ASSOCIATE-RQ with 500 contexts": lambda: associate_rq(500),
    "A-ASSOCIATE-RQ then garbage P-DATA": lambda: associate_rq(1) + p_data(1, os.urandom(300)),
    "A-ASSOCIATE-RQ then a command claiming 2 GB": lambda: (
        associate_rq(1) + p_data(1, struct.pack("<HHI", 0, 0, 0x7FFFFFFF) + b"\x00" * 32)
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_bytes_are_refused_and_the_server_survives(node: Node, case: str) -> None:
    process = psutil.Process()
    before = process.memory_info().rss
    answer = send_raw(node, CASES[case]())
    if answer:
        # whatever it says is a PDU of the upper layer: a rejection, an abort, an
        # acceptance of the well-formed part, or a release
        assert answer[0] in (0x02, 0x03, 0x04, 0x06, 0x07), answer[:16]
    assert echo_ok(node)
    assert process.memory_info().rss - before < MEMORY_GROWTH_LIMIT


def test_many_connections_opened_and_dropped(node: Node) -> None:
    process = psutil.Process()
    threads, files = process.num_threads(), process.num_fds()
    for number in range(CONNECTIONS):
        with socket.create_connection(("127.0.0.1", node.dicom_port), timeout=5) as sock:
            if number % 2:
                sock.sendall(associate_rq(1)[:20])
    assert echo_ok(node)
    # every handler thread and socket of the dropped connections is gone again
    wait_for(lambda: process.num_threads() <= threads + 4, timeout=30)
    wait_for(lambda: process.num_fds() <= files + 8, timeout=30)
