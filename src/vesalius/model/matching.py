"""C-FIND matching rules (PS3.4 C.2.2.2), as pure functions: identifier -> query description.

Both query doors (C-FIND and QIDO-RS) describe a query with ``Query``: the
information model and level, one ``Condition`` per attribute that constrains
the match (its kind decided here from the value and the VR), and the keys to
return. ``index.query`` turns a ``Query`` into SQL; nothing here does I/O.

Kinds of matching:

- ``single``: the value as it is (PN: per component group, see ``normalize_name``);
- ``wildcard``: ``*`` any run, ``?`` one character;
- ``range``: DA, TM, DT ``a-b``, ``a-`` or ``-b`` (bounds as strings, empty: open);
- ``datetime``: StudyDate and StudyTime combined into one range (C.2.2.2.5.1);
- ``list``: several UIDs separated by backslashes;
- ``sequence``: one item whose attributes match in turn.

An empty value is universal matching: the key is returned, nothing is constrained.
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from dataclasses import dataclass, field
from typing import Literal

from pydicom.datadict import dictionary_VR, keyword_for_tag
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.tag import Tag

from vesalius.model.errors import InvalidQuery
from vesalius.model.record import INSTANCE_KEYS, PATIENT_KEYS, SERIES_KEYS, STUDY_KEYS

Level = Literal["PATIENT", "STUDY", "SERIES", "IMAGE"]
Model = Literal["patient", "study"]
Kind = Literal["single", "wildcard", "range", "datetime", "list", "sequence"]

LEVELS: tuple[Level, ...] = ("PATIENT", "STUDY", "SERIES", "IMAGE")
MODEL_LEVELS: dict[str, tuple[Level, ...]] = {
    "patient": LEVELS,
    "study": ("STUDY", "SERIES", "IMAGE"),
}
UNIQUE_KEYS: dict[Level, str] = {
    "PATIENT": "PatientID",
    "STUDY": "StudyInstanceUID",
    "SERIES": "SeriesInstanceUID",
    "IMAGE": "SOPInstanceUID",
}
COMPUTED_KEYS: dict[str, Level] = {
    "NumberOfPatientRelatedStudies": "PATIENT",
    "NumberOfPatientRelatedSeries": "PATIENT",
    "NumberOfPatientRelatedInstances": "PATIENT",
    "NumberOfStudyRelatedSeries": "STUDY",
    "NumberOfStudyRelatedInstances": "STUDY",
    "ModalitiesInStudy": "STUDY",
    "SOPClassesInStudy": "STUDY",
    "NumberOfSeriesRelatedInstances": "SERIES",
}
"""Attributes the index computes from the levels below (PS3.4 C.6.1.1)."""
KEY_LEVELS: dict[str, Level] = {
    **{k: "PATIENT" for k in PATIENT_KEYS},
    **{k: "STUDY" for k in STUDY_KEYS},
    **{k: "SERIES" for k in SERIES_KEYS},
    **{k: "IMAGE" for k in INSTANCE_KEYS},
    **COMPUTED_KEYS,
}
"""The level of every attribute the index knows; other attributes match universally."""
SEQUENCE_ITEM_KEYS: dict[tuple[str, str], str] = {
    ("RequestAttributesSequence", "AccessionNumber"): "AccessionNumber",
    ("RequestAttributesSequence", "StudyInstanceUID"): "StudyInstanceUID",
}
"""Sequence item attributes the index answers, and the indexed attribute that holds them:
the index keeps one request per study, the study's own accession number and UID."""
ALWAYS_RETURNED = ("SpecificCharacterSet", "QueryRetrieveLevel", "RetrieveAETitle")
NOT_MATCHED = frozenset((*ALWAYS_RETURNED, "InstanceAvailability"))
RANGE_VRS = frozenset(("DA", "TM", "DT"))
UID_VR = "UI"
WILDCARD_FREE_VRS = frozenset(("DA", "TM", "DT", "UI", "IS", "DS", "SQ"))


@dataclass(frozen=True, slots=True)
class Condition:
    """One attribute's constraint: its kind and its value(s), as text."""

    keyword: str
    kind: Kind
    vr: str
    value: str = ""
    values: tuple[str, ...] = ()
    low: str = ""
    high: str = ""
    items: tuple[Condition, ...] = ()


@dataclass(frozen=True, slots=True)
class ReturnKey:
    """An attribute the responses carry: its tag and VR, with item keys for a sequence."""

    tag: int
    keyword: str
    vr: str
    items: tuple[ReturnKey, ...] = ()


@dataclass(frozen=True, slots=True)
class Query:
    """What to find: model, level, conditions (all must hold) and keys to return."""

    model: Model
    level: Level
    conditions: tuple[Condition, ...] = ()
    return_keys: tuple[ReturnKey, ...] = ()
    case_insensitive_names: bool = True
    character_sets: tuple[str, ...] = field(default_factory=tuple)

    def condition(self, keyword: str) -> Condition | None:
        """The condition on ``keyword``, if any."""
        return next((c for c in self.conditions if c.keyword == keyword), None)


def normalize_name(value: str) -> str:
    """A person name folded for case- and accent-insensitive matching.

    Upper case, combining marks dropped (``Müller`` -> ``MULLER``), trailing
    empty components and groups dropped (``DOE^JOHN^^`` -> ``DOE^JOHN``).
    """
    decomposed = unicodedata.normalize("NFKD", value)
    folded = "".join(c for c in decomposed if not unicodedata.combining(c)).upper()
    groups = [group.rstrip("^ ") for group in folded.split("=")]
    return "=".join(groups).rstrip("=")


def has_wildcard(value: str) -> bool:
    """True when the value holds ``*`` or ``?``."""
    return "*" in value or "?" in value


def _text(element_value: object) -> str:
    if element_value is None:
        return ""
    if isinstance(element_value, list | tuple | MultiValue):
        return "\\".join(str(v) for v in element_value)
    if isinstance(element_value, bytes):
        return element_value.decode("ascii", "replace")
    return str(element_value)


_TEMPORAL_FORMS = {
    "DA": (re.compile(r"\d{8}"), "a date YYYYMMDD"),
    "TM": (re.compile(r"\d{2}(:?\d{2}(:?\d{2}(\.\d{1,6})?)?)?"), "a time HHMMSS.FFFFFF"),
    "DT": (
        re.compile(r"\d{4}(\d{2}(\d{2}(\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?)?)?)?([+-]\d{4})?"),
        "a date-time YYYYMMDDHHMMSS.FFFFFF&ZZXX",
    ),
}


def _check_temporal(keyword: str, vr: str, bounds: tuple[str, ...]) -> None:
    form, name = _TEMPORAL_FORMS[vr]
    for bound in bounds:
        if bound and not form.fullmatch(bound):
            raise InvalidQuery(f"{keyword}: {bound!r} is not {name}, nor a range of them")


def condition_for(keyword: str, vr: str, raw: str) -> Condition | None:
    """The condition a non-sequence value asks for; None for universal matching.

    ``InvalidQuery`` for a date, time or date-time that is not one (or a range).
    """
    value = raw.strip() if vr not in ("PN",) else raw.strip(" ")
    if value in ("", "*") and vr != "UI":
        return None
    if not value:
        return None
    if vr == UID_VR:
        uids = tuple(v.strip() for v in value.split("\\") if v.strip())
        if len(uids) > 1:
            return Condition(keyword, "list", vr, values=uids)
        return Condition(keyword, "single", vr, value=uids[0]) if uids else None
    if vr in RANGE_VRS and "-" in value and not (vr == "DT" and _is_offset_only(value)):
        low, _, high = value.partition("-")
        _check_temporal(keyword, vr, (low.strip(), high.strip()))
        return Condition(keyword, "range", vr, low=low.strip(), high=high.strip())
    if vr in RANGE_VRS:
        _check_temporal(keyword, vr, (value,))
    if vr not in WILDCARD_FREE_VRS and has_wildcard(value):
        return Condition(keyword, "wildcard", vr, value=value)
    return Condition(keyword, "single", vr, value=value)


def _is_offset_only(value: str) -> bool:
    # A DT with a negative UTC offset ("20240101120000-0500") is one value, not a range.
    low, _, high = value.partition("-")
    return len(low) >= 8 and len(high) == 4 and high.isdigit() and value.count("-") == 1


def combine_date_time(date: Condition | None, time: Condition | None) -> Condition | None:
    """StudyDate and StudyTime as one date-time range (PS3.4 C.2.2.2.5.1), when it applies.

    Applies when both are given and at least one is a range; a single value
    counts as the range from itself to itself.
    """
    if date is None or time is None or "range" not in (date.kind, time.kind):
        return None
    if date.kind not in ("single", "range") or time.kind not in ("single", "range"):
        return None
    d_low, d_high = (date.low, date.high) if date.kind == "range" else (date.value, date.value)
    t_low, t_high = (time.low, time.high) if time.kind == "range" else (time.value, time.value)
    low = d_low + t_low if d_low else ""
    high = d_high + (t_high or "") if d_high else ""
    return Condition("StudyDateTime", "datetime", "DT", low=low, high=high)


def _level_of(keyword: str, model: str) -> Level | None:
    level = KEY_LEVELS.get(keyword)
    if level == "PATIENT" and model == "study":
        return "STUDY"  # Study Root: patient attributes belong to the study level
    return level


def parse_identifier(
    identifier: Dataset,
    model: str,
    *,
    case_insensitive_names: bool = True,
    relational: bool = False,
) -> Query:
    """The query a C-FIND identifier asks for, in the given information model.

    Raises ``InvalidQuery`` when the level is missing or not in the model,
    when a unique key of a level above is missing, or when a key below the
    level carries a value (PS3.4 C.4.1.2.2.1: hierarchical queries).
    ``relational`` (QIDO-RS, PS3.4 C.4.1.2.2.2) lets any key of the level or
    above constrain the match without the unique keys above.
    """
    if model not in MODEL_LEVELS:
        raise InvalidQuery(f"unknown information model {model!r}")
    _decode_values(identifier)
    level = str(identifier.get("QueryRetrieveLevel", "") or "").strip().upper()
    if not level:
        raise InvalidQuery("Query/Retrieve Level (0008,0052) is missing")
    if level not in MODEL_LEVELS[model]:
        raise InvalidQuery(f"level {level} is not in the {model} root information model")
    depth = LEVELS.index(level)  # type: ignore[arg-type]
    first = LEVELS.index(MODEL_LEVELS[model][0])
    conditions: list[Condition] = []
    returns: list[ReturnKey] = []
    for element in identifier:
        keyword = element.keyword or keyword_for_tag(element.tag) or ""
        if element.tag.group in (0x0000, 0x0002) or element.tag.is_private:
            continue
        vr = element.VR if element.VR not in ("UN", None) else _dictionary_vr(element.tag)
        if vr == "SQ":
            items = list(element.value or [])
            returns.append(_sequence_return(element.tag, keyword, items))
            if len(items) == 1:
                nested = _sequence_conditions(keyword, items[0], model, depth)
                if nested:
                    conditions.append(Condition(keyword, "sequence", "SQ", items=nested))
            continue
        if keyword in NOT_MATCHED:
            continue
        returns.append(ReturnKey(int(element.tag), keyword, vr))
        condition = condition_for(keyword, vr, _text(element.value))
        key_level = _level_of(keyword, model)
        if condition is None or key_level is None:
            continue  # universal, or an attribute the index does not hold: universal
        if LEVELS.index(key_level) > depth:
            raise InvalidQuery(f"{keyword} is below the {level} level and cannot be matched")
        conditions.append(condition)
    for above in LEVELS[first:depth] if not relational else ():
        unique = UNIQUE_KEYS[above]
        if model == "study" and above == "PATIENT":
            continue
        found = next((c for c in conditions if c.keyword == unique), None)
        if found is None or found.kind not in ("single", "list"):
            raise InvalidQuery(f"unique key {unique} is required at the {level} level")
    unique = UNIQUE_KEYS[level]  # type: ignore[index]
    if not any(r.keyword == unique for r in returns):
        tag = int(Tag(unique))
        returns.append(ReturnKey(tag, unique, _dictionary_vr(Tag(unique))))
    by_keyword = {c.keyword: c for c in conditions}
    combined = combine_date_time(by_keyword.get("StudyDate"), by_keyword.get("StudyTime"))
    if combined is not None:
        conditions = [c for c in conditions if c.keyword not in ("StudyDate", "StudyTime")]
        conditions.append(combined)
    charsets = identifier.get("SpecificCharacterSet", "") or ""
    return Query(
        model=model,  # type: ignore[arg-type]
        level=level,  # type: ignore[arg-type]
        conditions=tuple(conditions),
        return_keys=tuple(returns),
        case_insensitive_names=case_insensitive_names,
        character_sets=tuple(charsets) if not isinstance(charsets, str) else (charsets,),
    )


def _decode_values(identifier: Dataset) -> None:
    """Decode every value now: pydicom reads a peer's values on first access."""
    try:
        for _element in identifier.iterall():
            pass
    except Exception as exc:
        raise InvalidQuery(f"identifier cannot be decoded: {exc}") from None


def _dictionary_vr(tag: int) -> str:
    try:
        return str(dictionary_VR(tag))
    except KeyError:
        return "UN"


def _sequence_return(tag: int, keyword: str, items: list[Dataset]) -> ReturnKey:
    item_keys = tuple(
        ReturnKey(int(e.tag), e.keyword, e.VR) for e in (items[0] if items else []) if e.VR != "SQ"
    )
    return ReturnKey(int(tag), keyword, "SQ", item_keys)


def _sequence_conditions(
    sequence: str, item: Dataset, model: str, depth: int
) -> tuple[Condition, ...]:
    found = []
    for element in item:
        mapped = SEQUENCE_ITEM_KEYS.get((sequence, element.keyword))
        level = _level_of(mapped, model) if mapped else None
        if mapped is None or level is None or LEVELS.index(level) > depth:
            continue  # not held by the index (or not at this level): universal
        condition = condition_for(mapped, element.VR, _text(element.value))
        if condition is not None:
            found.append(condition)
    return tuple(found)


def dataset_from_keys(level: str, keys: dict[str, str]) -> Dataset:
    """An identifier made of keyword -> text (QIDO-RS, CLI), to parse like a C-FIND one."""
    identifier = Dataset()
    identifier.QueryRetrieveLevel = level
    with warnings.catch_warnings():  # wildcards and ranges are not valid values of their VR
        warnings.simplefilter("ignore")
        for keyword, value in keys.items():
            setattr(identifier, keyword, value if value != "" else None)
    return identifier
