"""Find: a query description in, response identifiers out, built from index rows only.

C-FIND and QIDO-RS both call ``find``; neither opens a stored file. Each
response carries the asked-for keys (empty when the index does not hold
them), the unique key of the level, Query/Retrieve Level, Retrieve AE Title,
Instance Availability and the Specific Character Set its text is encoded in:
the requester's own when every value fits in it, else ISO_IR 192 (UTF-8).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pydicom.charset import convert_encodings, decode_bytes, encode_string
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
from pydicom.sequence import Sequence
from pydicom.valuerep import PersonName

from vesalius.index import query as sql
from vesalius.index.index import Index
from vesalius.model.encoding import Elements, encode_elements
from vesalius.model.matching import Query, ReturnKey
from vesalius.model.text import CHARSET_VRS, delimiters_for

UTF8 = "ISO_IR 192"
SPECIFIC_CHARACTER_SET = 0x00080005
QUERY_RETRIEVE_LEVEL = 0x00080052
RETRIEVE_AE_TITLE = 0x00080054
INSTANCE_AVAILABILITY = 0x00080056


@dataclass(frozen=True, slots=True)
class Answer:
    """One match: the elements of its response identifier and their character set.

    The C-FIND door encodes it to bytes, QIDO-RS to JSON; ``dataset()`` gives
    it to anything that wants pydicom.
    """

    elements: Elements
    charset: tuple[str, ...]

    def dataset(self) -> Dataset:
        """The identifier as a pydicom data set."""
        return _dataset(self.elements)

    def encode(self, implicit_vr: bool = True) -> bytes:
        """The identifier in little endian, implicit or explicit VR."""
        encoded = encode_elements(self.elements, self.charset, implicit_vr)
        if encoded is None:
            buffer = DicomBytesIO()
            buffer.is_little_endian, buffer.is_implicit_VR = True, implicit_vr
            write_dataset(buffer, self.dataset())
            encoded = buffer.getvalue()
        return encoded


def find(
    index: Index,
    query: Query,
    *,
    retrieve_ae_title: str,
    max_results: int = 0,
    offset: int = 0,
    ordered: bool = False,
) -> Iterator[Answer]:
    """Yield one answer per match, ``max_results`` at most (0: no limit), after ``offset``.

    Rows stream from the index as they are produced; stopping the iteration
    (a cancel) releases the cursor. ``ordered`` keeps pages in one order.
    """
    rows = sql.run(index.reader, query, limit=max_results, offset=offset, ordered=ordered)
    try:
        for row in rows:
            yield response(query, row, retrieve_ae_title)
    finally:
        rows.close()


def response(query: Query, row: Mapping[str, Any], retrieve_ae_title: str) -> Answer:
    """The answer to one matching row."""
    elements: dict[int, tuple[str, Any]] = {}
    texts: list[tuple[str, str]] = []
    for key in query.return_keys:
        if key.vr == "SQ":
            elements[key.tag] = ("SQ", _items(key, row, texts))
            continue
        value = _value(key, row.get(key.keyword))
        if value and key.vr in CHARSET_VRS:
            texts.extend(_texts(value, key.vr))
        elements[key.tag] = (key.vr, value)
    elements[QUERY_RETRIEVE_LEVEL] = ("CS", query.level)
    elements[RETRIEVE_AE_TITLE] = ("AE", retrieve_ae_title)
    elements[INSTANCE_AVAILABILITY] = ("CS", "ONLINE")
    charset = character_set(texts, query.character_sets)
    elements[SPECIFIC_CHARACTER_SET] = ("CS", list(charset) if len(charset) > 1 else charset[0])
    return Answer(elements, charset)


def _items(
    key: ReturnKey, row: Mapping[str, Any], texts: list[tuple[str, str]]
) -> list[dict[int, tuple[str, Any]]]:
    if not key.items:
        return []
    item: dict[int, tuple[str, Any]] = {}
    for sub in key.items:
        value = _value(sub, row.get(f"{key.keyword}.{sub.keyword}"))
        if value and sub.vr in CHARSET_VRS:
            texts.extend(_texts(value, sub.vr))
        item[sub.tag] = (sub.vr, value)
    return [item]


def _texts(value: Any, vr: str) -> list[tuple[str, str]]:
    """Each text of a value (several when it was split at its backslashes)."""
    values = value if isinstance(value, list) else [value]
    return [(str(v), vr) for v in values if v]


def _dataset(elements: Elements) -> Dataset:
    dataset = Dataset()
    for tag, (vr, value) in elements.items():
        held = Sequence([_dataset(item) for item in value]) if vr == "SQ" else value
        dataset.add(DataElement(tag, vr, held))
    return dataset


def _value(key: ReturnKey, value: Any) -> Any:
    """A row value as the key's VR holds it (None: zero length)."""
    if value is None or value == "":
        return None
    if key.vr in ("IS", "US", "UL", "SS", "SL"):
        return int(value) if key.vr != "IS" else str(value)
    if isinstance(value, str) and "\\" in value and key.vr in ("CS", "UI", "SH", "LO"):
        return value.split("\\")
    return value


def character_set(texts: list[tuple[str, str]], requested: tuple[str, ...]) -> tuple[str, ...]:
    """The character set of a response: the requester's when every value fits, else UTF-8."""
    wanted = tuple(c for c in requested) or ("",)
    if all(value.isascii() for value, _vr in texts):
        return wanted
    if UTF8 in wanted:
        return wanted
    encodings = [c or "ISO_IR 6" for c in wanted]
    for value, vr in texts:
        if value.isascii():
            continue
        if not _fits(value, vr, encodings):
            return (UTF8,)
    return wanted


def _fits(value: str, vr: str, charsets: list[str]) -> bool:
    """True when ``value`` encodes in ``charsets`` and decodes back unchanged."""
    encodings = convert_encodings(charsets)
    delimiters = delimiters_for(vr)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            if vr == "PN":
                encoded = PersonName(value).encode(encodings)
            else:
                encoded = encode_string(value, encodings)
            return decode_bytes(encoded, encodings, delimiters) == value
    except Exception:
        return False
