"""Reading a stored instance's header for display, without loading its pixel data.

The file is parsed up to the pixel data (``stop_before_pixels``), and long
values before it are left unread (``defer_size``): a viewer wants the tags,
and a multi-frame image can weigh gigabytes. The length of the pixel data is
read from its element header so that it can still be shown.
"""

from __future__ import annotations

import struct
import warnings
from dataclasses import dataclass
from typing import BinaryIO

import pydicom
from pydicom.dataset import Dataset, FileDataset

DEFER_SIZE = 1024
"""Values longer than this (bytes) are not read; their length is known all the same."""
PIXEL_TAGS = {
    0x7FE00010: "PixelData",
    0x7FE00008: "FloatPixelData",
    0x7FE00009: "DoubleFloatPixelData",
}
LONG_LENGTH_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"UC", b"UN", b"UR", b"UT"}
UNDEFINED_LENGTH = 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class PixelDataElement:
    """The pixel data element that was not read: its tag, keyword, VR and length in bytes.

    ``encapsulated`` when it has an undefined length (compressed fragments);
    its length is then what remains of the file.
    """

    tag: int
    keyword: str
    vr: str
    length: int
    encapsulated: bool


@dataclass(frozen=True, slots=True)
class Header:
    """A stored instance's data set without its pixel data, and what that pixel data is."""

    dataset: FileDataset | Dataset
    pixel_data: PixelDataElement | None


def read_header(handle: BinaryIO) -> Header:
    """Parse a Part 10 file (or bare data set) up to its pixel data."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dataset = pydicom.dcmread(
            handle, stop_before_pixels=True, defer_size=DEFER_SIZE, force=True
        )
    return Header(dataset, _pixel_data(handle, dataset))


def _pixel_data(handle: BinaryIO, dataset: Dataset) -> PixelDataElement | None:
    """The element the parse stopped at (the handle is left at its header), if any."""
    implicit, little = dataset.original_encoding
    syntax = str(getattr(getattr(dataset, "file_meta", None), "TransferSyntaxUID", "") or "")
    if implicit is None or syntax == pydicom.uid.DeflatedExplicitVRLittleEndian:
        return None  # inflated in memory: the handle's position says nothing
    start = handle.tell()
    header = handle.read(12)
    if len(header) < 8:
        return None
    order = "<" if little else ">"
    group, element = struct.unpack(f"{order}HH", header[:4])
    tag = group << 16 | element
    if tag not in PIXEL_TAGS:
        return None
    if implicit:
        vr, (length,), size = "OW", struct.unpack(f"{order}L", header[4:8]), 8
    elif header[4:6] in LONG_LENGTH_VRS:
        vr, (length,), size = header[4:6].decode(), struct.unpack(f"{order}L", header[8:12]), 12
    else:
        vr, (length,), size = header[4:6].decode(), struct.unpack(f"{order}H", header[6:8]), 8
    encapsulated = length == UNDEFINED_LENGTH
    if encapsulated:
        length = max(handle.seek(0, 2) - start - size, 0)
    return PixelDataElement(tag, PIXEL_TAGS[tag], vr, int(length), encapsulated)
