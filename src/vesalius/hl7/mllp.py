"""MLLP framing (HL7 v2 Minimal Lower Layer Protocol): <VT> message <FS><CR>.

``FrameReader`` takes bytes as they come from a socket and yields whole
messages. Bytes outside a frame (noise, a sender that forgot the start block)
are skipped and counted, never taken for a message; a frame that grows past
``MAX_FRAME`` bytes ends the connection (``FrameTooLarge``).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

START = b"\x0b"
END = b"\x1c\x0d"
MAX_FRAME = 4 * 1024 * 1024
"""Largest message we accept, in bytes."""


class FrameTooLarge(Exception):
    """A frame went on past ``MAX_FRAME`` bytes without its end block."""


def frame(message: str | bytes) -> bytes:
    """A message wrapped in its MLLP frame (text as UTF-8)."""
    body = message.encode("utf-8") if isinstance(message, str) else message
    return START + body + END


class FrameReader:
    """Splits a byte stream into the messages of its MLLP frames."""

    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        self.max_frame = max_frame
        self.buffer = b""
        self.skipped = 0
        """Bytes seen outside any frame."""

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The messages whose frames ``data`` completes."""
        self.buffer += data
        while True:
            start = self.buffer.find(START)
            if start < 0:
                self.skipped += len(self.buffer)
                self.buffer = b""
                return
            if start:
                self.skipped += start
                self.buffer = self.buffer[start:]
            end = self.buffer.find(END)
            if end < 0:
                if len(self.buffer) > self.max_frame:
                    raise FrameTooLarge(f"a frame longer than {self.max_frame} bytes")
                return
            body, self.buffer = self.buffer[1:end], self.buffer[end + len(END) :]
            # A start block inside the body means the previous frame was never ended:
            # keep the last one only.
            restart = body.rfind(START)
            if restart >= 0:
                self.skipped += restart + 1
                body = body[restart + 1 :]
            yield body


def read_reply(sock: socket.socket, reader: FrameReader | None = None) -> bytes:
    """The next whole message on ``sock`` (socket timeouts apply); ``ConnectionError``
    when the peer closes first."""
    reader = reader or FrameReader()
    while True:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("the connection closed before an answer came")
        for message in reader.feed(data):
            return message


def decode(body: bytes) -> str:
    """Message bytes as text: UTF-8, else Latin-1 (HL7's usual 8859/1); line ends as CR."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = body.decode("latin-1")
    return text.replace("\r\n", "\r").replace("\n", "\r").strip("\r") + "\r"
