"""The DICOM JSON model (PS3.18 F.2) of query answers and stored data sets.

Answers of a query come from the index as plain elements (``Answer``); they
are written here directly. Stored data sets go through pydicom's
``to_json_dict`` element by element, with bulk data replaced by a
BulkDataURI (F.2.2) without reading it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydicom.datadict import dictionary_VR
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset

from vesalius.model.encoding import Elements

NUMBER_VRS = frozenset(("US", "UL", "SS", "SL", "UV", "SV", "FL", "FD"))
BULK_VRS = frozenset(("OB", "OD", "OF", "OL", "OV", "OW", "UN"))
BULK_THRESHOLD = 1024
"""Binary values longer than this many bytes are given by URI, not inline."""


def tag_key(tag: int) -> str:
    """The JSON key of a tag: eight upper-case hexadecimal digits."""
    return f"{tag:08X}"


def _person_name(text: str) -> dict[str, str]:
    groups = text.split("=")
    names = zip(("Alphabetic", "Ideographic", "Phonetic"), groups, strict=False)
    return {kind: group for kind, group in names if group}


def _json_value(vr: str, value: Any) -> list[Any]:
    values = value if isinstance(value, list | tuple) else [value]
    if vr == "PN":
        return [_person_name(str(v)) if v else {} for v in values]
    if vr == "IS":
        return [int(v) if str(v).strip() else None for v in values]
    if vr == "DS":
        return [float(v) if str(v).strip() else None for v in values]
    if vr in NUMBER_VRS:
        return [v for v in values]
    return [str(v) for v in values]


def elements_to_json(elements: Elements) -> dict[str, Any]:
    """The DICOM JSON object of plain elements (an answer, or an item of one)."""
    body: dict[str, Any] = {}
    for tag in sorted(elements):
        vr, value = elements[tag]
        attribute: dict[str, Any] = {"vr": vr}
        if vr == "SQ":
            if value:
                attribute["Value"] = [elements_to_json(item) for item in value]
        elif value is not None and value not in ("", []):
            attribute["Value"] = _json_value(vr, value)
        body[tag_key(tag)] = attribute
    return body


def add_text(body: dict[str, Any], tag: int, vr: str, value: str) -> None:
    """Set one single-valued text attribute of a DICOM JSON object."""
    body[tag_key(tag)] = {"vr": vr, "Value": [value]}


def dataset_to_json(
    dataset: Dataset, bulk_uri: Callable[[str], str], *, prefix: str = ""
) -> dict[str, Any]:
    """The DICOM JSON object of a stored data set, bulk data as BulkDataURI.

    ``bulk_uri(path)`` gives the URI of the attribute at ``path`` (tag keys
    from the top, items as ``tag/index/tag``). A long binary value is not
    read at all: a data set read with ``defer_size`` keeps it on disk.
    """
    body: dict[str, Any] = {}
    for tag in dataset.keys():  # noqa: SIM118 - raw elements, not converted ones
        if tag.group == 0x0002:
            continue
        key = tag_key(tag)
        raw = dataset.get_item(tag)
        vr = raw.VR or _dictionary_vr(tag)
        if (
            vr in BULK_VRS
            and (raw.length if isinstance(raw, RawDataElement) else 0) > BULK_THRESHOLD
        ):
            body[key] = {"vr": vr, "BulkDataURI": bulk_uri(f"{prefix}{key}")}
            continue
        element = dataset[tag]
        if element.VR == "SQ":
            items = [
                dataset_to_json(item, bulk_uri, prefix=f"{prefix}{key}/{index}/")
                for index, item in enumerate(element.value)
            ]
            body[key] = {"vr": "SQ", "Value": items} if items else {"vr": "SQ"}
        elif element.VR in BULK_VRS and len(element.value or b"") > BULK_THRESHOLD:
            body[key] = {"vr": element.VR, "BulkDataURI": bulk_uri(f"{prefix}{key}")}
        else:
            uri = bulk_uri(f"{prefix}{key}")
            body[key] = element.to_json_dict(lambda _element, uri=uri: uri, BULK_THRESHOLD)
    return body


def _dictionary_vr(tag: int) -> str:
    try:
        vr = str(dictionary_VR(tag))
    except KeyError:
        return "UN"
    return "OW" if "or" in vr else vr
