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
from typing import Any

from pydicom.charset import convert_encodings, decode_bytes, encode_string
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.valuerep import PersonName

from vesalius.index import query as sql
from vesalius.index.index import Index
from vesalius.model.matching import Query, ReturnKey
from vesalius.model.text import CHARSET_VRS, delimiters_for

UTF8 = "ISO_IR 192"


def find(
    index: Index, query: Query, *, retrieve_ae_title: str, max_results: int = 0
) -> Iterator[Dataset]:
    """Yield one response identifier per match, ``max_results`` at most (0: no limit).

    Rows stream from the index as they are produced; stopping the iteration
    (a cancel) releases the cursor.
    """
    rows = sql.run(index.reader, query, limit=max_results)
    try:
        for row in rows:
            yield response(query, row, retrieve_ae_title)
    finally:
        rows.close()


def response(query: Query, row: Mapping[str, Any], retrieve_ae_title: str) -> Dataset:
    """The identifier answering one matching row."""
    answer = Dataset()
    texts: list[tuple[str, str]] = []
    for key in query.return_keys:
        if key.vr == "SQ":
            answer.add(DataElement(key.tag, "SQ", Sequence(_items(key, row, texts))))
            continue
        value = _value(key, row.get(key.keyword))
        if value and key.vr in CHARSET_VRS:
            texts.append((value, key.vr))
        answer.add(DataElement(key.tag, key.vr, value))
    answer.QueryRetrieveLevel = query.level
    answer.RetrieveAETitle = retrieve_ae_title
    answer.InstanceAvailability = "ONLINE"
    charset = character_set(texts, query.character_sets)
    answer.SpecificCharacterSet = list(charset) if len(charset) > 1 else charset[0]
    return answer


def _items(key: ReturnKey, row: Mapping[str, Any], texts: list[tuple[str, str]]) -> list[Dataset]:
    if not key.items:
        return []
    item = Dataset()
    for sub in key.items:
        value = _value(sub, row.get(f"{key.keyword}.{sub.keyword}"))
        if value and sub.vr in CHARSET_VRS:
            texts.append((value, sub.vr))
        item.add(DataElement(sub.tag, sub.vr, value))
    return [item]


def _value(key: ReturnKey, value: Any) -> Any:
    """A row value as pydicom takes it for the key's VR (None: zero length)."""
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
