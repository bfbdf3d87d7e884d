"""Resolution of a C-MOVE / C-GET identifier into stored instances (PS3.4 C.4.2, C.4.3).

Retrieves use unique keys only, never matching (PS3.4 C.2.2.1): the
identifier names a Query/Retrieve Level and, at that level, a list of unique
keys (backslash-separated in the data set); the levels above are fixed by a
single unique key each (hierarchical retrieve, C.4.2.2.1). The Patient ID is
a unique key only in the Patient Root model; below the PATIENT level it is
used to narrow the search when present.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydicom.dataset import Dataset

from vesalius import sopclasses
from vesalius.index.index import Index, StoredInstance
from vesalius.model.errors import IdentifierMismatch, InvalidObject

LEVELS: dict[str, tuple[str, ...]] = {
    "patient": ("PATIENT", "STUDY", "SERIES", "IMAGE"),
    "study": ("STUDY", "SERIES", "IMAGE"),
}
"""The levels each information model allows a retrieve at."""

_KEY_OF_LEVEL = {
    "PATIENT": "PatientID",
    "STUDY": "StudyInstanceUID",
    "SERIES": "SeriesInstanceUID",
    "IMAGE": "SOPInstanceUID",
}


@dataclass(frozen=True, slots=True)
class RetrieveRequest:
    """A validated retrieve identifier: its level and the unique keys per level."""

    level: str
    patient_ids: tuple[str, ...] = ()
    study_uids: tuple[str, ...] = ()
    series_uids: tuple[str, ...] = ()
    sop_instance_uids: tuple[str, ...] = ()


def _values(identifier: Dataset, keyword: str) -> tuple[str, ...]:
    """The non-empty values of an attribute (a list for multi-valued UIDs)."""
    element = identifier.get(keyword)
    if element is None or element == "" or element is None:
        return ()
    values: Sequence[object] = (
        element if isinstance(element, Sequence) and not isinstance(element, str) else [element]
    )
    return tuple(v for v in (str(value).strip() for value in values) if v)


def parse_identifier(identifier: Dataset, sop_class_uid: str) -> RetrieveRequest:
    """Check a retrieve identifier against its SOP class's model and return its keys.

    Raises ``IdentifierMismatch`` (A900) for a level the model lacks or a
    missing unique key, ``InvalidObject`` (C000) for a missing or unknown level
    or a SOP class that is not a retrieve class.
    """
    model = sopclasses.INFORMATION_MODEL.get(sop_class_uid)
    if model is None:
        raise InvalidObject(f"{sop_class_uid} is not a Query/Retrieve SOP class")
    level = str(identifier.get("QueryRetrieveLevel", "") or "").strip().upper()
    if not level:
        raise InvalidObject("the identifier has no Query/Retrieve Level (0008,0052)")
    if level not in _KEY_OF_LEVEL:
        raise InvalidObject(f"unknown Query/Retrieve Level {level!r}")
    allowed = LEVELS[model]
    if level not in allowed:
        raise IdentifierMismatch(
            f"level {level} is not part of the {model.title()} Root model "
            f"(levels {', '.join(allowed)})"
        )
    keys: dict[str, tuple[str, ...]] = {}
    depth = allowed.index(level)
    for above in allowed[:depth]:
        found = _values(identifier, _KEY_OF_LEVEL[above])
        if above == "PATIENT":
            keys[above] = found  # narrows when given; not required below PATIENT
            continue
        if len(found) != 1:
            raise IdentifierMismatch(
                f"a {level} level retrieve needs exactly one {_KEY_OF_LEVEL[above]} "
                f"(the unique key of the {above} level), got {len(found)}"
            )
        keys[above] = found
    own = _values(identifier, _KEY_OF_LEVEL[level])
    if not own:
        raise IdentifierMismatch(
            f"a {level} level retrieve needs {_KEY_OF_LEVEL[level]}, the unique key of its level"
        )
    keys[level] = own
    if model == "study":
        # Study Root: Patient ID is no key; a value present still narrows.
        keys["PATIENT"] = _values(identifier, "PatientID")
    return RetrieveRequest(
        level=level,
        patient_ids=keys.get("PATIENT", ()),
        study_uids=keys.get("STUDY", ()),
        series_uids=keys.get("SERIES", ()),
        sop_instance_uids=keys.get("IMAGE", ()),
    )


def resolve(index: Index, identifier: Dataset, sop_class_uid: str) -> list[StoredInstance]:
    """The stored instances a retrieve identifier names (possibly none)."""
    request = parse_identifier(identifier, sop_class_uid)
    return index.instances_matching(
        patient_ids=request.patient_ids,
        study_uids=request.study_uids,
        series_uids=request.series_uids,
        sop_instance_uids=request.sop_instance_uids,
    )
