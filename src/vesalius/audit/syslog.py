"""Audit messages to a collector: RFC 5424 syslog over UDP (RFC 5426) or TLS (RFC 5425).

Sending never holds up the audited operation: ``offer`` puts the frame on a
bounded queue and returns; one background thread sends. A full queue, a
collector that is down or a TLS connection that fails drops the message and
counts it (``dropped``); the local log (``audit.trail``) keeps every message.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import queue
import socket
import ssl
import threading
import time

LOG = logging.getLogger("vesalius.audit")

FACILITY_AUTHPRIV = 10
SEVERITY_NOTICE = 5
PRI = FACILITY_AUTHPRIV * 8 + SEVERITY_NOTICE
MSGID = "IHE+RFC-3881"
BOM = "\ufeff"
QUEUE_SIZE = 1000
RECONNECT_AFTER_S = 5.0


def frame(
    xml: str, *, hostname: str, app_name: str = "vesalius", when: dt.datetime | None = None
) -> bytes:
    """One RFC 5424 message carrying ``xml`` (UTF-8 with BOM, as RFC 5424 6.4 allows)."""
    stamp = (when or dt.datetime.now(dt.UTC)).isoformat(timespec="milliseconds")
    header = f"<{PRI}>1 {stamp} {hostname or '-'} {app_name} {os.getpid()} {MSGID} -"
    return f"{header} {BOM}{xml}".encode()


class SyslogSender:
    """A background sender of frames to one collector, over ``udp`` or ``tls``."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        transport: str = "udp",
        ca: str = "",
        cert: str = "",
        key: str = "",
        timeout_s: float = 5.0,
    ) -> None:
        self.host = host
        self.port = port
        self.transport = transport
        self.timeout_s = timeout_s
        self.dropped = 0
        self.sent = 0
        self._queue: queue.Queue[bytes | None] = queue.Queue(QUEUE_SIZE)
        self._context: ssl.SSLContext | None = None
        if transport == "tls":
            self._context = ssl.create_default_context(cafile=ca or None)
            if cert:
                self._context.load_cert_chain(cert, key or None)
        self._socket: socket.socket | None = None
        self._down_until = 0.0
        self._thread = threading.Thread(target=self._run, name="audit-syslog", daemon=True)
        self._thread.start()

    def offer(self, data: bytes) -> None:
        """Queue one frame; drop (and count) it when the queue is full."""
        try:
            self._queue.put_nowait(data)
        except queue.Full:
            self.dropped += 1

    def close(self, wait_s: float = 2.0) -> None:
        """Send what is queued for at most ``wait_s`` seconds, then stop."""
        with contextlib.suppress(queue.Full):
            self._queue.put(None, timeout=wait_s)
        self._thread.join(wait_s)
        self._disconnect()

    def _run(self) -> None:
        while True:
            data = self._queue.get()
            if data is None:
                return
            try:
                self._send(data)
                self.sent += 1
            except (OSError, ssl.SSLError) as exc:
                self.dropped += 1
                self._disconnect()
                self._down_until = time.monotonic() + RECONNECT_AFTER_S
                LOG.warning("audit collector %s:%d: %s", self.host, self.port, exc)

    def _send(self, data: bytes) -> None:
        if self.transport == "udp":
            if self._socket is None:
                family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
                self._socket = socket.socket(family, socket.SOCK_DGRAM)
            self._socket.sendto(data, (self.host, self.port))
            return
        if self._socket is None:
            if time.monotonic() < self._down_until:
                raise OSError("collector unreachable a moment ago; message dropped")
            raw = socket.create_connection((self.host, self.port), timeout=self.timeout_s)
            assert self._context is not None
            self._socket = self._context.wrap_socket(raw, server_hostname=self.host)
        # RFC 5425 4.3: octet-counting framing, MSG-LEN SP SYSLOG-MSG
        self._socket.sendall(str(len(data)).encode("ascii") + b" " + data)

    def _disconnect(self) -> None:
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.close()
            self._socket = None
