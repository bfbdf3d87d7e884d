"""Content negotiation (PS3.18 8.7): the Accept header, or the ``accept`` query parameter.

A media range of ``multipart/related; type="X"`` asks for X in a multipart
body, so it is matched as X with ``multipart`` set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from fastapi import Request

from vesalius.web.errors import BadRequest, NotAcceptable

DICOM = "application/dicom"
DICOM_JSON = "application/dicom+json"
DICOM_XML = "application/dicom+xml"
OCTET_STREAM = "application/octet-stream"


@dataclass(frozen=True)
class MediaRange:
    """One acceptable media type, with its parameters and quality."""

    media_type: str
    parameters: dict[str, str] = field(default_factory=dict)
    quality: float = 1.0
    multipart: bool = False

    def matches(self, media_type: str) -> bool:
        """True when this range covers ``media_type``."""
        if self.media_type in ("*/*", media_type):
            return True
        major, _, minor = self.media_type.partition("/")
        return minor == "*" and media_type.startswith(major + "/")


def _split(text: str, separator: str) -> list[str]:
    parts, current, quoted = [], "", False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == separator and not quoted:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [part.strip() for part in parts if part.strip()]


def parse_accept(text: str) -> list[MediaRange]:
    """The media ranges of an Accept value, best first (by quality, then order)."""
    ranges = []
    for entry in _split(text, ","):
        media_type, *raw = _split(entry, ";")
        parameters: dict[str, str] = {}
        for parameter in raw:
            name, _, value = parameter.partition("=")
            parameters[name.strip().lower()] = value.strip().strip('"')
        try:
            quality = float(parameters.pop("q", "1"))
        except ValueError:
            raise BadRequest(f"bad quality value in Accept: {entry!r}") from None
        media_type = media_type.lower()
        multipart = media_type == "multipart/related"
        if multipart:
            media_type = parameters.pop("type", "*/*").lower()
        ranges.append(MediaRange(media_type, parameters, quality, multipart))
    return sorted(ranges, key=lambda r: -r.quality)


def accepted(request: Request) -> list[MediaRange]:
    """What the client accepts: ``accept=`` in the query wins over the header."""
    text = request.query_params.get("accept") or request.headers.get("accept") or "*/*"
    return parse_accept(text)


def choose(request: Request, offered: Sequence[str]) -> str:
    """The first of ``offered`` (ours, in our order of preference) the client accepts."""
    return choose_range(request, offered)[0]


def choose_range(request: Request, offered: Sequence[str]) -> tuple[str, MediaRange]:
    """Like ``choose``, with the client's media range that accepted it."""
    for media_range in accepted(request):
        if media_range.quality <= 0:
            continue
        for media_type in offered:
            if media_range.matches(media_type):
                return media_type, media_range
    raise NotAcceptable(f"none of {', '.join(offered)} is acceptable")
