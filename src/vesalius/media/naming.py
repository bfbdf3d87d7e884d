"""Readable names for exported files: the one ``Patient/Study/Series/`` tree.

The ZIP downloads, the plain-tree ZIP export and the picture and movie exports
all name their files here, so a study looks the same whichever way it leaves::

    DOE^J1 (583295)/20170716 LEFT WRIST/001 MR t1_se/0001.dcm

Names come from the index (patient, study, series, instance number); what
cannot be in a path (slashes, control characters) becomes ``_``, and a name
that would repeat within its folder gets ``-2``, ``-3``...
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from vesalius.media.selection import InstanceEntry, StudyEntry

_UNSAFE = re.compile(r"[^\w .,^()+=-]+")
_SPACES = re.compile(r"\s+")


def safe_name(text: str, fallback: str, limit: int = 64) -> str:
    """``text`` as one folder or file name: no separators or control characters."""
    cleaned = _SPACES.sub(" ", _UNSAFE.sub("_", text)).strip(" ._")
    return cleaned[:limit].rstrip(" ._") or fallback


def unique(name: str, taken: set[str]) -> str:
    """``name``, or ``name-2``, ``name-3``... when it is already ``taken`` (then taken)."""
    candidate, number = name, 1
    while candidate in taken:
        number += 1
        candidate = f"{name}-{number}"
    taken.add(candidate)
    return candidate


def text(value: Any) -> str:
    """A catalogue value as text (None as empty, several values joined)."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return " ".join(str(item) for item in value)
    return str(value)


def number(value: Any, width: int) -> str:
    """A number zero-padded to ``width`` digits; empty when there is none."""
    return f"{value:0{width}d}" if isinstance(value, int) and value >= 0 else ""


def patient_folder(study: StudyEntry) -> str:
    """``Name (ID)`` of the study's patient."""
    attributes = study.attributes
    name = safe_name(text(attributes.get("PatientName")), "unknown patient")
    if attributes.get("PatientID"):
        name = safe_name(f"{name} ({attributes['PatientID']})", "unknown patient")
    return name


def study_folder(study: StudyEntry) -> str:
    """``Date Description`` of a study, or its UID."""
    attributes = study.attributes
    label = f"{text(attributes.get('StudyDate'))} {text(attributes.get('StudyDescription'))}"
    return safe_name(label, study.uid)


@dataclass(frozen=True, slots=True)
class Named:
    """An instance and where it goes: ``folder`` (``a/b/c``) and a file ``stem``."""

    folder: str
    stem: str
    entry: InstanceEntry

    def path(self, extension: str) -> str:
        """``folder/stem`` + ``extension`` (``.dcm``, ``.png``...)."""
        return f"{self.folder}/{self.stem}{extension}"


@dataclass(frozen=True, slots=True)
class NamedSeries:
    """A series folder and its named instances in order."""

    folder: str
    members: list[Named]


def series_tree(studies: list[StudyEntry]) -> list[NamedSeries]:
    """Every series of the catalogue with its folder and its instances' file stems.

    Studies of one patient share the patient folder; a study's instances that no
    series listed (stored meanwhile) go in the study folder, named by UID.
    """
    found: list[NamedSeries] = []
    study_folders: dict[str, set[str]] = {}
    for study in studies:
        patient = patient_folder(study)
        taken = study_folders.setdefault(patient, set())
        study_path = f"{patient}/{unique(study_folder(study), taken)}"
        folders: set[str] = set()
        for series in study.series:
            attributes = series.attributes
            label = " ".join(
                part
                for part in (
                    number(attributes.get("SeriesNumber"), 3),
                    text(attributes.get("Modality")),
                    text(attributes.get("SeriesDescription")),
                )
                if part
            )
            folder = f"{study_path}/{unique(safe_name(label, series.uid), folders)}"
            stems: set[str] = set()
            members = [
                Named(folder, unique(_stem(entry), stems), entry) for entry in series.instances
            ]
            found.append(NamedSeries(folder, members))
        if study.unlisted:
            stems = set(folders)
            members = [
                Named(study_path, unique(safe_name(instance.sop_instance_uid, "instance"), stems),
                      InstanceEntry(instance, None))
                for instance in study.unlisted
            ]  # fmt: skip
            found.append(NamedSeries(study_path, members))
    return found


def _stem(entry: InstanceEntry) -> str:
    return number(entry.number, 4) or safe_name(entry.uid, "instance")
