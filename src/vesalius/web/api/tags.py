"""A stored instance's header as readable JSON, for a tag browser.

Each element is ``{"tag": "(0010,0010)", "keyword", "name", "vr", "value"}``:
the value as one string (several values joined by ``\\``), a sequence as a
list of items (each a list of elements), and binary values or values longer
than 1 KiB (contours, waveforms) as ``"<N bytes>"`` rather than inline. The
file meta information comes first, the pixel data (never read, only measured)
last.
"""

from __future__ import annotations

from typing import Any

from pydicom.datadict import dictionary_description, dictionary_VR, keyword_for_tag
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.tag import BaseTag, Tag

from vesalius.archive.inspection import DEFER_SIZE, Header

UNDEFINED_LENGTH = 0xFFFFFFFF
BINARY_VRS = frozenset(("OB", "OD", "OF", "OL", "OV", "OW", "UN"))
LONG_VALUE = DEFER_SIZE
"""Values longer than this (bytes) show as their size, in sequences as at the top level."""


def header_json(header: Header) -> list[dict[str, Any]]:
    """Every element of a stored header, file meta first, pixel data last."""
    dataset = header.dataset
    shown: list[dict[str, Any]] = []
    meta = getattr(dataset, "file_meta", None)
    if meta is not None:
        shown.extend(elements_json(meta))
    shown.extend(elements_json(dataset))
    pixels = header.pixel_data
    if pixels is not None:
        shown.append(
            _entry(Tag(pixels.tag), pixels.keyword, _name(Tag(pixels.tag)), pixels.vr)
            | {"value": f"<{pixels.length} bytes>"}
        )
    return shown


def elements_json(dataset: Dataset) -> list[dict[str, Any]]:
    """The elements of one data set (or sequence item), without reading deferred values."""
    tags = dataset.keys()  # iterating the data set itself would read every deferred value
    return [_element_json(dataset, Tag(tag)) for tag in tags]


def _element_json(dataset: Dataset, tag: BaseTag) -> dict[str, Any]:
    raw = dataset.get_item(tag)
    if isinstance(raw, RawDataElement) and raw.length and raw.length != UNDEFINED_LENGTH:
        vr = raw.VR or _dictionary_vr(tag)
        if raw.value is None or (vr != "SQ" and raw.length > LONG_VALUE):
            # Deferred, or long (contours in sequences): shown by size, never converted.
            return _entry(tag, keyword_for_tag(tag), _name(tag), vr) | {
                "value": f"<{raw.length} bytes>"
            }
    try:
        element: DataElement = dataset[tag]
    except Exception as exc:  # a value pydicom cannot convert: say so, show the rest
        vr = getattr(raw, "VR", None) or _dictionary_vr(tag)
        return _entry(tag, keyword_for_tag(tag), _name(tag), vr) | {"value": f"<unreadable: {exc}>"}
    entry = _entry(tag, element.keyword, element.name, element.VR)
    if element.VR == "SQ":
        entry["value"] = [elements_json(item) for item in element.value or []]
    else:
        entry["value"] = _text(element)
    return entry


def _entry(tag: BaseTag, keyword: str, name: str, vr: str) -> dict[str, Any]:
    return {
        "tag": f"({tag.group:04X},{tag.element:04X})",
        "keyword": keyword,
        "name": name,
        "vr": vr,
    }


def _text(element: DataElement) -> str:
    value = element.value
    if value is None:
        return ""
    if element.VR in BINARY_VRS or isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    if isinstance(value, MultiValue | list | tuple):
        text = "\\".join(str(item) for item in value)
    else:
        text = str(value)
    size = len(text.encode("utf-8"))
    return f"<{size} bytes>" if size > LONG_VALUE else text


def _name(tag: BaseTag) -> str:
    if tag.is_private:
        return "Private tag data"
    try:
        return str(dictionary_description(tag))
    except KeyError:
        return "Unknown"


def _dictionary_vr(tag: BaseTag) -> str:
    try:
        return str(dictionary_VR(tag)).split(" or ")[0]
    except KeyError:
        return "UN"
