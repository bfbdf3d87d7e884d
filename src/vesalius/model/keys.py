"""Query keys as users type them (``-k PatientName=DOE*``), turned into a C-FIND identifier.

One place parses keys so that ``find``, ``move``, ``get`` and ``retrieve`` agree
on what ``-k`` means: ``KEY=VALUE`` where KEY is a DICOM keyword or a tag as
``gggg,eeee`` (also ``(gggg,eeee)`` or ``ggggeeee``). An empty value asks for
that attribute as a return key. Each element gets the VR of pydicom's data
dictionary, so the identifier encodes the way a peer expects.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pydicom.datadict import dictionary_VR, keyword_for_tag, tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.tag import BaseTag, Tag

LEVELS = ("PATIENT", "STUDY", "SERIES", "IMAGE")
MODELS = ("patient", "study")

UNIQUE_KEY = {
    "PATIENT": "PatientID",
    "STUDY": "StudyInstanceUID",
    "SERIES": "SeriesInstanceUID",
    "IMAGE": "SOPInstanceUID",
}
"""The unique key of each Q/R level (PS3.4 C.6.1.1, C.6.2.1)."""

DEFAULT_RETURN_KEYS: dict[str, tuple[str, ...]] = {
    "PATIENT": (
        "PatientName",
        "PatientID",
        "PatientBirthDate",
        "PatientSex",
        "NumberOfPatientRelatedStudies",
    ),
    "STUDY": (
        "PatientName",
        "PatientID",
        "StudyDate",
        "StudyDescription",
        "ModalitiesInStudy",
        "AccessionNumber",
        "StudyInstanceUID",
        "NumberOfStudyRelatedInstances",
    ),
    "SERIES": (
        "StudyInstanceUID",
        "Modality",
        "SeriesNumber",
        "SeriesDescription",
        "SeriesInstanceUID",
        "NumberOfSeriesRelatedInstances",
    ),
    "IMAGE": ("SeriesInstanceUID", "InstanceNumber", "SOPClassUID", "SOPInstanceUID"),
}
"""Return keys asked for when the user gives no ``-k`` at all."""

_NUMERIC_VRS = {"US", "UL", "SS", "SL", "UV", "SV"}
_FLOAT_VRS = {"FL", "FD"}
_TAG = re.compile(r"^\(?([0-9A-Fa-f]{4}),?([0-9A-Fa-f]{4})\)?$")


class BadKey(ValueError):
    """A ``-k`` the user typed cannot be turned into a DICOM element."""


def parse_tag(key: str) -> BaseTag:
    """The tag named by a keyword or ``gggg,eeee``; ``BadKey`` when unknown."""
    key = key.strip()
    found = _TAG.match(key)
    if found:
        return Tag(int(found.group(1), 16), int(found.group(2), 16))
    number = tag_for_keyword(key)
    if number is None:
        raise BadKey(f"unknown DICOM keyword {key!r} (use a keyword or gggg,eeee)")
    return Tag(number)


def _vr_of(tag: BaseTag, key: str) -> str:
    try:
        vr = dictionary_VR(tag)
    except KeyError:
        raise BadKey(f"{key}: tag {tag} is not in the DICOM dictionary") from None
    # Ambiguous VRs such as "US or SS" or "OB or OW": the first is the usual one.
    return vr.split(" or ")[0]


def _value(vr: str, text: str, key: str) -> object:
    if text == "":
        return [] if vr == "SQ" else None
    if vr == "SQ":
        raise BadKey(f"{key}: a sequence key takes no value (give {key}=)")
    try:
        if vr in _NUMERIC_VRS:
            parts = [int(part) for part in text.split("\\")]
            return parts[0] if len(parts) == 1 else parts
        if vr in _FLOAT_VRS:
            parts_f = [float(part) for part in text.split("\\")]
            return parts_f[0] if len(parts_f) == 1 else parts_f
    except ValueError:
        raise BadKey(f"{key}: {text!r} is not a number (VR {vr})") from None
    return text


def parse_keys(pairs: Iterable[str]) -> Dataset:
    """A data set from ``KEY=VALUE`` strings, in the order given; a later key wins."""
    identifier = Dataset()
    for pair in pairs:
        key, equals, text = pair.partition("=")
        if not equals:
            key, text = pair, ""
        tag = parse_tag(key)
        vr = _vr_of(tag, key)
        identifier.add_new(tag, vr, _value(vr, text, key))
    return identifier


def keyword(tag: BaseTag) -> str:
    """The keyword of a tag, or ``gggg,eeee`` when it has none (private, unknown)."""
    return keyword_for_tag(tag) or f"{tag.group:04X},{tag.element:04X}"


def columns_for(pairs: Iterable[str], level: str) -> list[BaseTag]:
    """The keys of an identifier in the order the user gave them, then the unique key.

    A data set keeps its elements in tag order; a table of matches reads
    better in the order that was asked.
    """
    pairs = list(pairs) or [f"{name}=" for name in DEFAULT_RETURN_KEYS[level.upper()]]
    tags: list[BaseTag] = []
    for pair in pairs:
        tag = parse_tag(pair.partition("=")[0])
        if tag not in tags and tag != Tag(0x00080052):
            tags.append(tag)
    unique = Tag(tag_for_keyword(UNIQUE_KEY[level.upper()]))
    if unique not in tags:
        tags.append(unique)
    return tags


def identifier_for(pairs: Iterable[str], level: str, *, defaults: bool = True) -> Dataset:
    """The C-FIND/C-MOVE/C-GET identifier: the user's keys, the level and its unique key.

    With no key at all and ``defaults``, the level's default return keys are
    asked for. The level's unique key is always present (empty if not given),
    so every match can be told apart.
    """
    level = level.upper()
    if level not in LEVELS:
        raise BadKey(f"unknown level {level!r} (one of {', '.join(LEVELS)})")
    pairs = list(pairs)
    if not pairs and defaults:
        pairs = [f"{name}=" for name in DEFAULT_RETURN_KEYS[level]]
    identifier = parse_keys(pairs)
    unique = UNIQUE_KEY[level]
    if unique not in identifier:
        identifier.add_new(tag_for_keyword(unique), dictionary_VR(unique), None)
    identifier.QueryRetrieveLevel = level
    return identifier
