"""The MLLP listener for orders: HL7 ORM^O01 / OMI^O23 in, worklist items out, an ACK back.

One thread per connection (RIS interfaces hold one connection and send
message after message). Each framed message is parsed, mapped
(``orders.read_order``) and applied to the worklist through the core
(``archive.worklist``); the answer is an ACK with AA, or AE / AR with an ERR
segment saying what is wrong. Whatever a sender does wrong (noise between
frames, a frame that is not HL7, an order we cannot apply) costs it that
message only: the connection, and the listener, go on. Only a frame too large
to be a message ends its connection.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import socketserver
import threading
from typing import Any

import hl7

from vesalius.archive import worklist
from vesalius.archive.archive import Archive
from vesalius.hl7 import messages
from vesalius.hl7.mllp import FrameReader, FrameTooLarge, decode, frame
from vesalius.hl7.orders import (
    INTERNAL_ERROR,
    UNKNOWN_KEY,
    Hl7Problem,
    Order,
    message_type,
    read_order,
)
from vesalius.model.errors import ArchiveError, NotFound
from vesalius.settings import Settings

LOG = logging.getLogger("vesalius.hl7")
IDLE_TIMEOUT = 600.0
"""Seconds a connection may stay silent before we close it."""


def apply(archive: Archive, order: Order) -> str:
    """Do what an order asks of the worklist; a few words saying what was done."""
    if order.control == "NW":
        item = worklist.place_order(archive, order.fields)
        return f"worklist item {item.id}"
    if order.control == "XO":
        item = worklist.change_order(archive, order.placer, order.filler, order.fields)
        return f"worklist item {item.id} changed"
    outcome = worklist.cancel_order(
        archive, order.placer, order.filler, discontinue=order.control == "DC"
    )
    return f"order {order.number} {outcome}"


def answer(archive: Archive, settings: Settings, body: bytes) -> str:
    """The acknowledgement of one received message (never raises)."""
    text = decode(body)
    try:
        message = hl7.parse(text)
        if not text.startswith("MSH"):
            raise ValueError("it does not start with an MSH segment")
    except Exception as exc:
        LOG.warning("HL7: a frame that is no HL7 message: %s", exc)
        return messages.rejection(settings.hl7, f"not an HL7 message: {exc}")
    code, event = message_type(message)
    try:
        order = read_order(message)
        done = apply(archive, order)
    except Hl7Problem as problem:
        LOG.warning("HL7 %s^%s refused (%s): %s", code, event, problem.ack, problem)
        return messages.acknowledgement(message, settings.hl7, problem)
    except NotFound as exc:
        problem = Hl7Problem("AE", UNKNOWN_KEY, str(exc), ("ORC", 2))
        return messages.acknowledgement(message, settings.hl7, problem)
    except ArchiveError as exc:
        problem = Hl7Problem("AE", INTERNAL_ERROR, str(exc))
        return messages.acknowledgement(message, settings.hl7, problem)
    except Exception as exc:
        LOG.exception("HL7 %s^%s failed", code, event)
        problem = Hl7Problem("AE", INTERNAL_ERROR, f"internal error: {type(exc).__name__}")
        return messages.acknowledgement(message, settings.hl7, problem)
    LOG.info("HL7 %s^%s %s order %s: %s", code, event, order.control, order.number, done)
    return messages.acknowledgement(message, settings.hl7)


class _Connection(socketserver.BaseRequestHandler):
    """One sender's connection: frames in, acknowledgements out, until it closes."""

    server: _Server

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(IDLE_TIMEOUT)
        reader = FrameReader()
        with self.server.connections_lock:
            self.server.connections.add(sock)
        try:
            self._serve(sock, reader)
        finally:
            with self.server.connections_lock:
                self.server.connections.discard(sock)

    def _serve(self, sock: socket.socket, reader: FrameReader) -> None:
        while not self.server.stopping.is_set():
            try:
                data = sock.recv(65536)
            except OSError:
                return
            if not data:
                return
            skipped = reader.skipped
            try:
                bodies = list(reader.feed(data))
            except FrameTooLarge as exc:
                LOG.warning("HL7 from %s: %s; closing the connection", self.client_address, exc)
                return
            if reader.skipped > skipped:
                LOG.warning("HL7 from %s: %d byte(s) outside MLLP frames skipped",
                            self.client_address, reader.skipped - skipped)  # fmt: skip
            for body in bodies:
                reply = answer(self.server.archive, self.server.settings, body)
                try:
                    sock.sendall(frame(reply))
                except OSError:
                    return


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], archive: Archive, settings: Settings) -> None:
        self.archive = archive
        self.settings = settings
        self.stopping = threading.Event()
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Connection)


class Hl7Listener:
    """The MLLP listener of ``[hl7]``: ``start()`` serves in the background, ``stop()``
    closes it."""

    def __init__(self, archive: Archive, settings: Settings) -> None:
        self.server = _Server((settings.hl7.host, settings.hl7.port), archive, settings)
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.2}, name="hl7-accept"
        )
        self._thread.daemon = True

    @property
    def port(self) -> int:
        """The TCP port we listen on (useful with port 0)."""
        return int(self.server.server_address[1])

    def start(self) -> Hl7Listener:
        """Accept connections in the background."""
        self._thread.start()
        LOG.info("listening for HL7 orders (MLLP) on %s:%d", *self.server.server_address[:2])
        return self

    def stop(self, *_args: Any) -> None:
        """Stop accepting, close the listening socket and end the open connections."""
        self.server.stopping.set()
        if self._thread.is_alive():
            self.server.shutdown()
        self.server.server_close()
        with self.server.connections_lock:
            for sock in list(self.server.connections):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=5)
