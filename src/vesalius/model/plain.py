"""A data set as plain JSON values keyed by keyword, as the ``/api`` resources answer.

Not DICOM JSON (PS3.18 F.2, which ``/dicomweb`` speaks): here a value is a
string or a number, a person name its DICOM string (``DOE^JOHN``), a
multi-valued attribute an array, a sequence an array of objects, and an empty
attribute ``null``. Binary values (OB, OW, UN, ...) become ``null``: they have
no plain form and never come back from a query. An attribute without a
keyword (private, unknown) is keyed by its tag as ``ggggeeee``.
"""

from __future__ import annotations

from typing import Any

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

INTEGER_VRS = frozenset(("IS", "US", "UL", "UV", "SS", "SL", "SV"))
FLOAT_VRS = frozenset(("DS", "FL", "FD"))
BINARY_VRS = frozenset(("OB", "OD", "OF", "OL", "OV", "OW", "UN", "OB or OW", "US or OW"))


def _number(vr: str, value: Any) -> Any:
    try:
        return int(value) if vr in INTEGER_VRS else float(value)
    except (TypeError, ValueError):
        return str(value)  # a malformed IS/DS stays readable


def _one(vr: str, value: Any) -> Any:
    if value is None or value == "":
        return None
    if vr in INTEGER_VRS or vr in FLOAT_VRS:
        return _number(vr, value)
    if vr == "AT":
        return f"{int(value):08X}"
    return str(value)


def plain_value(element: DataElement) -> Any:
    """The plain JSON value of one element (see the module docstring)."""
    vr = str(element.VR)
    value = element.value
    if vr == "SQ":
        return [plain_dataset(item) for item in value or []]
    if vr in BINARY_VRS or isinstance(value, bytes | bytearray):
        return None
    if isinstance(value, MultiValue | list | tuple):
        values = [_one(vr, item) for item in value]
        if not values:
            return None
        return values if len(values) > 1 else values[0]
    return _one(vr, value)


def key_of(element: DataElement) -> str:
    """The keyword of an element, or its tag as ``ggggeeee`` when it has none."""
    return element.keyword or f"{element.tag.group:04X}{element.tag.element:04X}"


def plain_dataset(dataset: Dataset, *, skip: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Every element of ``dataset`` (but the keywords in ``skip``) as plain JSON values."""
    return {
        key_of(element): plain_value(element) for element in dataset if key_of(element) not in skip
    }
