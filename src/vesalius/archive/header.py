"""Find the indexed attributes of an encoded data set by walking element headers only.

Ingest needs some thirty top-level attributes, all in groups 0008 to 0040.
Decoding every element with pydicom costs more than everything else an
archive does per instance, so this scanner walks the element headers (PS3.5
7.1), skips values and nested sequences by their lengths and delimiters, stops
after the last wanted tag, and hands the few wanted raw elements to pydicom,
whose character-set machinery decodes the text. Anything unusual makes
the scanner give up, and the caller falls back to pydicom's own reader.
"""

from __future__ import annotations

import struct

from pydicom.charset import convert_encodings, decode_bytes
from pydicom.datadict import dictionary_VR, tag_for_keyword

from vesalius.model.record import INDEXED_KEYWORDS
from vesalius.model.text import CHARSET_VRS, delimiters_for

LONG_LENGTH_VRS = frozenset(b"OB OD OF OL OV OW SQ SV UC UN UR UT UV".split())
UNDEFINED = 0xFFFFFFFF
ITEM = 0xFFFEE000
ITEM_END = 0xFFFEE00D
SEQUENCE_END = 0xFFFEE0DD
MAX_DEPTH = 32
MIN_ELEMENT = 8


KEYWORDS: dict[int, tuple[str, str]] = {
    int(tag): (keyword, dictionary_VR(tag))
    for keyword in INDEXED_KEYWORDS
    if (tag := tag_for_keyword(keyword)) is not None
}
WANTED = frozenset(KEYWORDS)
LAST_WANTED = max(WANTED)
SPECIFIC_CHARACTER_SET = 0x00080005


class ScanError(Exception):
    """The data set is not laid out as the scanner expects; use pydicom instead."""


class Truncated(ScanError):
    """The data set ends inside an element, an item or a sequence: it was cut short."""


class _Scanner:
    __slots__ = ("buffer", "end", "little", "u16", "u32")

    def __init__(self, buffer: bytes | memoryview, little: bool) -> None:
        self.buffer = buffer
        self.end = len(buffer)
        self.little = little
        prefix = "<" if little else ">"
        self.u16 = struct.Struct(prefix + "H").unpack_from
        self.u32 = struct.Struct(prefix + "I").unpack_from

    def tag_at(self, pos: int) -> int:
        if pos + 4 > self.end:
            raise Truncated("truncated element")
        return (self.u16(self.buffer, pos)[0] << 16) | self.u16(self.buffer, pos + 2)[0]

    def element(self, pos: int, implicit: bool) -> tuple[int, bytes | None, int, int]:
        """(tag, vr, length, position of the value) of the element at ``pos``."""
        tag = self.tag_at(pos)
        if implicit or (tag >> 16) == 0xFFFE:
            if pos + 8 > self.end:
                raise Truncated("truncated element header")
            return tag, None, self.u32(self.buffer, pos + 4)[0], pos + 8
        if pos + 8 > self.end:
            raise Truncated("truncated element header")
        vr = bytes(self.buffer[pos + 4 : pos + 6])
        if vr in LONG_LENGTH_VRS:
            if pos + 12 > self.end:
                raise Truncated("truncated element header")
            return tag, vr, self.u32(self.buffer, pos + 8)[0], pos + 12
        if not (len(vr) == 2 and vr.isalpha() and vr.isupper()):
            raise ScanError(f"not a VR: {vr!r}")
        return tag, vr, self.u16(self.buffer, pos + 6)[0], pos + 8

    def skip_undefined(self, pos: int, implicit: bool, depth: int) -> int:
        """Past the sequence (or encapsulated fragments) starting at ``pos``."""
        if depth > MAX_DEPTH:
            raise ScanError("sequences nested too deeply")
        while True:
            tag = self.tag_at(pos)
            if pos + 8 > self.end:
                raise Truncated("truncated item")
            length = self.u32(self.buffer, pos + 4)[0]
            pos += 8
            if tag == SEQUENCE_END:
                return pos
            if tag != ITEM:
                raise ScanError("expected an item")
            if length == UNDEFINED:
                pos = self.skip_item(pos, implicit, depth + 1)
            else:
                pos += length

    def skip_item(self, pos: int, implicit: bool, depth: int) -> int:
        """Past a data set of undefined length, up to and including its delimiter."""
        while True:
            tag, vr, length, pos = self.element(pos, implicit)
            if tag == ITEM_END:
                return pos
            if length == UNDEFINED:
                pos = self.skip_undefined(pos, implicit or vr == b"UN", depth)
            else:
                pos += length
            if pos > self.end:
                raise Truncated("value runs past the end")


def scan_raw(
    buffer: bytes | memoryview, implicit: bool, little: bool
) -> dict[int, tuple[str | None, bytes]]:
    """The raw (VR, value bytes) of each wanted top-level element, by tag.

    Past the wanted tags it walks on to the end without reading values, so that
    a data set cut short (a value or a sequence of undefined length, encapsulated
    pixel data included, running past the end) raises ``Truncated``. Raises
    ``ScanError`` when the wanted part is not laid out as expected.
    """
    scanner = _Scanner(buffer, little)
    found: dict[int, tuple[str | None, bytes]] = {}
    pos = 0
    end = scanner.end
    while end - pos >= MIN_ELEMENT:  # a few stray trailing bytes are padding, not data
        tag, vr, length, value_at = scanner.element(pos, implicit)
        if tag > LAST_WANTED:
            break
        if length == UNDEFINED:
            pos = scanner.skip_undefined(value_at, implicit or vr == b"UN", 0)
            continue
        pos = value_at + length
        if pos > end:
            raise Truncated(f"{_tag(tag)} runs past the end of the data set")
        if tag in WANTED:
            found[tag] = (vr.decode("ascii") if vr else None, bytes(buffer[value_at:pos]))
    try:
        _walk_to_end(scanner, pos, implicit)
    except Truncated:
        raise
    except ScanError:
        pass  # a layout this scanner does not follow, after all it needed
    return found


def _tag(tag: int) -> str:
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def _walk_to_end(scanner: _Scanner, pos: int, implicit: bool) -> None:
    end = scanner.end
    while end - pos >= MIN_ELEMENT:  # a few stray trailing bytes are padding, not data
        tag, vr, length, value_at = scanner.element(pos, implicit)
        if length == UNDEFINED:
            pos = scanner.skip_undefined(value_at, implicit or vr == b"UN", 0)
        else:
            pos = value_at + length
        if pos > end:
            raise Truncated(f"{_tag(tag)} runs past the end of the data set")


def _decode(vr: str, value: bytes, little: bool, encodings: list[str]) -> str:
    if vr == "US":
        count = len(value) // 2
        numbers = struct.unpack(("<" if little else ">") + "H" * count, value[: 2 * count])
        return "\\".join(str(n) for n in numbers)
    if vr in CHARSET_VRS:
        text = decode_bytes(value, encodings, delimiters_for(vr))
    else:
        text = value.decode("latin-1")
    text = "\\".join(part.strip(" \x00") for part in text.split("\\")).strip()
    return text.rstrip("=") if vr == "PN" else text


def scan_values(buffer: bytes | memoryview, implicit: bool, little: bool) -> dict[str, str]:
    """The indexed attributes of an encoded data set, each as one string.

    Gives what ``vesalius.model.record.text_values`` gives for the same data
    set read by pydicom. Raises ``ScanError`` when it cannot.
    """
    raw = scan_raw(buffer, implicit, little)
    charset = raw.get(SPECIFIC_CHARACTER_SET)
    terms = charset[1].decode("ascii", "replace").split("\\") if charset else []
    try:
        encodings = convert_encodings([t.strip(" \x00") for t in terms] or None)
    except Exception as exc:
        raise ScanError(f"character set: {exc}") from None
    values: dict[str, str] = {}
    for tag, (vr, value) in raw.items():
        keyword, dictionary_vr = KEYWORDS[tag]
        try:
            values[keyword] = _decode(vr or dictionary_vr, value, little, encodings)
        except Exception as exc:
            raise ScanError(f"{keyword}: {exc}") from None
    return values
