"""Read what the archive needs from an incoming object, without decoding pixels.

Two doors lead here: a data set as a DIMSE peer sent it (its transfer syntax
known from the presentation context) and a Part 10 file (import, STOW-RS),
whose meta information may be missing or may disagree with the data set.
Either way the result is the encoded data set that will be stored as it came,
plus the header that will be indexed. A real PACS accepts what it can safely
understand: a file with no meta, or whose meta disagrees with its data set, is
mended (the data set is believed); one that cannot be read is refused.
"""

from __future__ import annotations

import io
import warnings
import zlib
from dataclasses import dataclass, field

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filereader import _read_file_meta_info, read_dataset, read_preamble
from pydicom.filewriter import write_dataset

from vesalius import sopclasses
from vesalius.archive.header import ScanError, Truncated, scan_values
from vesalius.model.errors import InvalidObject, UnsupportedSopClass
from vesalius.model.record import text_values

MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"
PIXEL_DATA_GROUP = 0x7FE00000


@dataclass(slots=True)
class ParsedObject:
    """An incoming object: the encoded data set to store and its indexed attributes."""

    values: dict[str, str]
    transfer_syntax_uid: str
    body: bytes | memoryview
    mended: list[str] = field(default_factory=list)


def _stop_at_pixels(tag: int, _vr: str | None, _length: int) -> bool:
    return tag >= PIXEL_DATA_GROUP


def _encoding(transfer_syntax_uid: str) -> tuple[bool, bool]:
    """(is_implicit_vr, is_little_endian) of a transfer syntax."""
    if transfer_syntax_uid == sopclasses.IMPLICIT_VR_LE:
        return True, True
    if transfer_syntax_uid == sopclasses.EXPLICIT_VR_BE:
        return False, False
    return False, True


def _syntax_for(implicit: bool, little: bool) -> str:
    if implicit:
        return sopclasses.IMPLICIT_VR_LE
    return sopclasses.EXPLICIT_VR_LE if little else sopclasses.EXPLICIT_VR_BE


def _looks_explicit(body: bytes | memoryview) -> bool:
    """True when the first element carries a two-letter VR (PS3.5 7.1.2)."""
    vr = bytes(body[4:6])
    return len(vr) == 2 and vr.isalpha() and vr.isupper()


def _looks_big_endian(body: bytes | memoryview) -> bool:
    return len(body) >= 2 and body[0] == 0 and body[1] != 0


def read_values(body: bytes | memoryview | io.BytesIO, transfer_syntax_uid: str) -> dict[str, str]:
    """The indexed attributes of a data set encoded in the given syntax.

    The header scanner reads them in a fraction of pydicom's time; a data set
    it does not understand is read by pydicom up to its pixel data instead.
    """
    raw = body.getbuffer() if isinstance(body, io.BytesIO) else body
    if transfer_syntax_uid == sopclasses.DEFLATED_EXPLICIT_VR_LE:
        try:
            raw = zlib.decompressobj(-zlib.MAX_WBITS).decompress(raw)
        except zlib.error as exc:
            raise InvalidObject(f"deflated data set cannot be inflated: {exc}") from None
    implicit, little = _encoding(transfer_syntax_uid)
    try:
        return scan_values(raw, implicit, little)
    except Truncated as exc:
        raise InvalidObject(f"data set is cut short: {exc}") from None
    except ScanError:
        pass
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            header = read_dataset(io.BytesIO(raw), implicit, little, stop_when=_stop_at_pixels)
            return text_values(header)
    except Exception as exc:
        raise InvalidObject(f"data set cannot be parsed: {exc}") from None


def parse_dataset(body: bytes | memoryview | io.BytesIO, transfer_syntax_uid: str) -> ParsedObject:
    """An object as a DIMSE peer sent it: encoded data set in a negotiated transfer syntax."""
    values = read_values(body, transfer_syntax_uid)
    raw = body.getbuffer() if isinstance(body, io.BytesIO) else body
    return ParsedObject(values, transfer_syntax_uid, raw)


def parse_file(data: bytes) -> ParsedObject:
    """An object from a file: Part 10 with meta, a bare data set, or something in between.

    The data set is believed over the meta information: its UIDs go into the
    new meta, and when the meta names a transfer syntax the data set does not
    use, the syntax actually used is kept (or, for a compressed syntax whose
    data set was written with implicit VR, the data set is re-encoded).
    """
    stream = io.BytesIO(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            read_preamble(stream, True)
            meta = _meta_values(_read_file_meta_info(stream))
    except Exception as exc:
        raise InvalidObject(f"file meta information cannot be parsed: {exc}") from None
    offset = stream.tell()
    body = memoryview(data)[offset:]
    if len(body) < 8:
        raise InvalidObject("no data set after the file meta information")
    mended: list[str] = []
    if meta["MediaStorageSOPClassUID"] == MEDIA_STORAGE_DIRECTORY:
        raise UnsupportedSopClass("a DICOMDIR is the index of a medium, not an instance")

    stated = meta["TransferSyntaxUID"]
    big = _looks_big_endian(body)
    explicit = _looks_explicit(body)
    actual = _syntax_for(not explicit, not big)
    reencode = False
    if not stated:
        mended.append(f"no transfer syntax in the meta information; read as {actual}")
        syntax = actual
    elif stated == sopclasses.DEFLATED_EXPLICIT_VR_LE:
        syntax = stated
    elif _encoding(stated) != (not explicit, not big):
        if sopclasses.is_compressed(stated):
            reencode = True
            mended.append(f"data set written as {actual} under {stated}; re-encoded")
        else:
            mended.append(f"meta says {stated} but the data set is {actual}; kept as {actual}")
        syntax = stated if reencode else actual
    else:
        syntax = stated
    if sopclasses.transfer_syntax(syntax) is None:
        raise InvalidObject(f"transfer syntax {syntax} is not supported")

    if reencode:
        body = _reencode(data, explicit_little=True)
    values = read_values(body, syntax if not reencode else sopclasses.EXPLICIT_VR_LE)
    for meta_keyword, keyword in (
        ("MediaStorageSOPClassUID", "SOPClassUID"),
        ("MediaStorageSOPInstanceUID", "SOPInstanceUID"),
    ):
        stated_uid = meta[meta_keyword]
        actual_uid = values.get(keyword, "")
        if stated_uid and actual_uid and stated_uid != actual_uid:
            mended.append(
                f"meta {meta_keyword} differs from the data set's {keyword}; kept the latter"
            )
    return ParsedObject(values, syntax, body, mended)


def _meta_values(meta: Dataset) -> dict[str, str]:
    """The meta elements parsing relies on, decoded now: pydicom reads values lazily."""
    return {
        keyword: str(meta.get(keyword, "") or "").strip("\x00 ")
        for keyword in (
            "MediaStorageSOPClassUID",
            "MediaStorageSOPInstanceUID",
            "TransferSyntaxUID",
        )
    }


def _reencode(data: bytes, *, explicit_little: bool) -> bytes:
    """The data set of ``data`` written again in explicit VR little endian."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dataset = dcmread(io.BytesIO(data), force=True)
            for _element in dataset.iterall():  # decode each raw element, VR included
                pass
            out = DicomBytesIO()
            out.is_little_endian = explicit_little
            out.is_implicit_VR = False
            write_dataset(out, dataset)
    except Exception as exc:
        raise InvalidObject(f"data set cannot be re-encoded: {exc}") from None
    return out.getvalue()
