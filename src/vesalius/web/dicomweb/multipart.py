"""multipart/related bodies (RFC 2387) for DICOMweb: streamed out, parsed in.

Responses are generators of chunks, so that a study leaves the blob store a
piece at a time and never sits whole in memory. Requests (STOW-RS) are split
on their boundary, every part checked before any is used.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from vesalius.web.errors import BadRequest

CHUNK = 1 << 20


def new_boundary() -> str:
    """A boundary no part will contain."""
    return uuid.uuid4().hex


def content_type(boundary: str, part_type: str, **parameters: str) -> str:
    """The Content-Type of a multipart/related body whose parts are ``part_type``."""
    extra = "".join(f"; {name.replace('_', '-')}={value}" for name, value in parameters.items())
    return f'multipart/related; type="{part_type}"; boundary={boundary}{extra}'


@dataclass(frozen=True)
class Part:
    """One part to send: its headers, and its body as chunks."""

    headers: dict[str, str]
    body: Iterable[bytes]


def stream(parts: Iterable[Part], boundary: str) -> Iterator[bytes]:
    """The body of a multipart/related response, in chunks of about ``CHUNK`` bytes.

    Pieces are gathered up to that size: each chunk costs the server a hand-over
    from the thread that reads to the event loop that sends.
    """
    pending: list[bytes] = []
    size = 0
    for piece in _pieces(parts, boundary):
        if len(piece) >= CHUNK // 2:  # large enough to go alone, without a copy
            if pending:
                yield b"".join(pending)
                pending, size = [], 0
            yield piece
            continue
        pending.append(piece)
        size += len(piece)
        if size >= CHUNK:
            yield b"".join(pending)
            pending, size = [], 0
    if pending:
        yield b"".join(pending)


def part_head(part_headers: dict[str, str], boundary: str) -> bytes:
    """The delimiter and headers that open a part."""
    head = "".join(f"{name}: {value}\r\n" for name, value in part_headers.items())
    return f"--{boundary}\r\n{head}\r\n".encode()


def closing(boundary: str) -> bytes:
    """The delimiter that closes the body."""
    return f"--{boundary}--\r\n".encode()


def _pieces(parts: Iterable[Part], boundary: str) -> Iterator[bytes]:
    for part in parts:
        yield part_head(part.headers, boundary)
        yield from part.body
        yield b"\r\n"
    yield closing(boundary)


def file_chunks(opened: BinaryIO, size: int = CHUNK) -> Iterator[bytes]:
    """The content of an open file, ``size`` bytes at a time; the file is closed after."""
    with opened:
        while chunk := opened.read(size):
            yield chunk


@dataclass(frozen=True)
class ReceivedPart:
    """One part of a request body: its content type and bytes."""

    content_type: str
    data: bytes


_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)
_TYPE = re.compile(r'type="?([^";]+)"?', re.IGNORECASE)


def boundary_of(content_type_header: str) -> tuple[str, str]:
    """The boundary and the part type named by a multipart/related Content-Type."""
    if not content_type_header.lower().startswith("multipart/related"):
        raise BadRequest(f"the body must be multipart/related, not {content_type_header!r}")
    boundary = _BOUNDARY.search(content_type_header)
    if boundary is None:
        raise BadRequest("the multipart/related Content-Type names no boundary")
    part_type = _TYPE.search(content_type_header)
    return boundary.group(1), (part_type.group(1).lower() if part_type else "")


def parse(body: bytes, content_type_header: str) -> list[ReceivedPart]:
    """The parts of a multipart/related request body; ``BadRequest`` if it is malformed."""
    boundary, default_type = boundary_of(content_type_header)
    delimiter = b"--" + boundary.encode()
    if not body.startswith(delimiter):
        start = body.find(b"\r\n" + delimiter)
        if start < 0:
            raise BadRequest("the body holds no part delimited by its boundary")
        body = body[start + 2 :]
    pieces = body.split(b"\r\n" + delimiter)
    pieces[0] = pieces[0][len(delimiter) :]
    if not pieces[-1].startswith(b"--"):
        raise BadRequest("the body does not end with its closing boundary")
    parts = []
    for piece in pieces[:-1]:
        if not piece.startswith(b"\r\n"):
            raise BadRequest("a boundary is not followed by a line break")
        head, separator, data = piece[2:].partition(b"\r\n\r\n")
        if not separator:
            if piece[2:].startswith(b"\r\n"):  # no headers at all
                head, data = b"", piece[4:]
            else:
                raise BadRequest("a part has no blank line after its headers")
        headers = {}
        for line in head.decode("latin-1").split("\r\n"):
            name, colon, value = line.partition(":")
            if not colon:
                raise BadRequest(f"a part header is malformed: {line!r}")
            headers[name.strip().lower()] = value.strip()
        part_type = headers.get("content-type", default_type).split(";")[0].strip().lower()
        parts.append(ReceivedPart(part_type, data))
    if not parts:
        raise BadRequest("the body holds no part")
    return parts
