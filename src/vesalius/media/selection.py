"""What an export holds: patients, studies and series resolved to their stored instances.

Every export (DICOMDIR, ISO, ZIP, pictures, movies) and the ZIP downloads start
from the same catalogue, read from the index only (no file is opened): studies
in the order asked, their series by Series Number, their instances by Instance
Number, each level with the attributes that folder names and directory records
show. The order is the one a person browsing the archive sees.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pydicom.dataset import Dataset

from vesalius.archive.archive import Archive
from vesalius.index.index import StoredInstance
from vesalius.model.errors import InvalidQuery, NotFound
from vesalius.model.matching import Level, Query, dataset_from_keys, parse_identifier

PAGE = 1000
"""Rows asked of the index at a time when listing series and instances."""

PATIENT_KEYS = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex")
STUDY_KEYS = (
    *PATIENT_KEYS,
    "StudyInstanceUID",
    "StudyDate",
    "StudyTime",
    "StudyID",
    "AccessionNumber",
    "StudyDescription",
)
SERIES_KEYS = ("StudyInstanceUID", "SeriesInstanceUID", "Modality", "SeriesNumber",
               "SeriesDescription")  # fmt: skip
IMAGE_KEYS = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "InstanceNumber")
_KEYS: dict[Level, tuple[str, ...]] = {
    "STUDY": STUDY_KEYS,
    "SERIES": SERIES_KEYS,
    "IMAGE": IMAGE_KEYS,
}
_SORT: dict[Level, tuple[str, ...]] = {
    "STUDY": ("StudyDate", "StudyTime"),
    "SERIES": ("SeriesNumber",),
    "IMAGE": ("InstanceNumber",),
}


@dataclass(frozen=True, slots=True)
class Selection:
    """What to export: any mix of patients (by Patient ID), studies and series (by UID)."""

    studies: tuple[str, ...] = ()
    series: tuple[str, ...] = ()
    patients: tuple[str, ...] = ()

    def is_empty(self) -> bool:
        """True when nothing is selected."""
        return not (self.studies or self.series or self.patients)


@dataclass(frozen=True, slots=True)
class InstanceEntry:
    """One stored instance with its Instance Number (None when it has none)."""

    instance: StoredInstance
    number: int | None

    @property
    def uid(self) -> str:
        """The SOP Instance UID."""
        return self.instance.sop_instance_uid


@dataclass(slots=True)
class SeriesEntry:
    """A series: its attributes (keyword -> text or number) and its instances in order."""

    uid: str
    attributes: dict[str, Any]
    instances: list[InstanceEntry] = field(default_factory=list)


@dataclass(slots=True)
class StudyEntry:
    """A study: patient and study attributes, its chosen series in order, and the stored
    instances that no listed series named (stored while the catalogue was read)."""

    uid: str
    attributes: dict[str, Any]
    series: list[SeriesEntry] = field(default_factory=list)
    unlisted: list[StoredInstance] = field(default_factory=list)

    def instances(self) -> Iterator[InstanceEntry]:
        """Every instance of the study, series after series, then the unlisted ones."""
        for series in self.series:
            yield from series.instances
        for instance in self.unlisted:
            yield InstanceEntry(instance, None)


def instance_count(studies: list[StudyEntry]) -> int:
    """How many instances the catalogue holds in all."""
    return sum(1 for study in studies for _ in study.instances())


def _query(level: Level, keys: dict[str, str], case_insensitive: bool) -> Query:
    wanted = {keyword: "" for keyword in _KEYS[level]} | keys
    return parse_identifier(
        dataset_from_keys(level, wanted), "study", case_insensitive_names=case_insensitive
    )


def _values(answer: Dataset, keywords: tuple[str, ...]) -> dict[str, Any]:
    """The answer's values as plain text (numbers for IS), None when empty."""
    found: dict[str, Any] = {}
    for keyword in keywords:
        value = answer.get(keyword)
        if value is None or value == "":
            found[keyword] = None
        elif keyword in ("SeriesNumber", "InstanceNumber"):
            try:
                found[keyword] = int(value)
            except (TypeError, ValueError):
                found[keyword] = None
        else:
            found[keyword] = str(value)
    return found


def _rows(
    archive: Archive, level: Level, keys: dict[str, str], case_insensitive: bool
) -> Iterator[dict[str, Any]]:
    """Every match of ``level`` under ``keys``, page after page, in the level's order."""
    query = _query(level, keys, case_insensitive)
    offset = 0
    while True:
        found = archive.browse(query, sort=_SORT[level], limit=PAGE, offset=offset)
        for listed in found:
            yield _values(listed.answer.dataset(), _KEYS[level])
        if len(found) < PAGE:
            return
        offset += PAGE


def _chosen(
    archive: Archive, selection: Selection, case_insensitive: bool
) -> dict[str, set[str] | None]:
    """Study UID -> the series chosen in it (None: all of them), in the order asked."""
    chosen: dict[str, set[str] | None] = {}
    for patient_id in selection.patients:
        rows = list(_rows(archive, "STUDY", {"PatientID": patient_id}, case_insensitive))
        if not rows:
            raise NotFound(f"no patient {patient_id} stored")
        for row in rows:
            chosen[str(row["StudyInstanceUID"])] = None
    for study_uid in selection.studies:
        archive.lineage("STUDY", study_uid)  # NotFound when it is not stored
        chosen[study_uid] = None
    for series_uid in selection.series:
        study_uid = archive.lineage("SERIES", series_uid)["StudyInstanceUID"]
        if study_uid in chosen and chosen[study_uid] is None:
            continue
        picked = chosen.setdefault(study_uid, set())
        assert picked is not None
        picked.add(series_uid)
    return chosen


def check(archive: Archive, selection: Selection, *, case_insensitive: bool = True) -> None:
    """Raise ``NotFound`` unless every patient, study and series selected is stored
    (from the index; for a front door to refuse at once what a job would fail on)."""
    if selection.is_empty():
        raise InvalidQuery("nothing to export: name studies, series or patients")
    _chosen(archive, selection, case_insensitive)


def catalogue(
    archive: Archive, selection: Selection, *, case_insensitive: bool = True
) -> list[StudyEntry]:
    """The studies, series and instances of ``selection``, from the index.

    ``NotFound`` when a patient, study or series is not stored; ``InvalidQuery``
    when nothing is selected.
    """
    if selection.is_empty():
        raise InvalidQuery("nothing to export: name studies, series or patients")
    studies: list[StudyEntry] = []
    for study_uid, series_uids in _chosen(archive, selection, case_insensitive).items():
        keys = {"StudyInstanceUID": study_uid}
        row = next(_rows(archive, "STUDY", keys, case_insensitive), {"StudyInstanceUID": study_uid})
        study = StudyEntry(study_uid, row)
        stored = {
            instance.sop_instance_uid: instance
            for uid in (sorted(series_uids) if series_uids else [None])
            for instance in archive.instances_in(study_uid, uid)
        }
        for series_row in _rows(archive, "SERIES", keys, case_insensitive):
            series_uid = str(series_row["SeriesInstanceUID"])
            if series_uids is not None and series_uid not in series_uids:
                continue
            entry = SeriesEntry(series_uid, series_row)
            parents = {**keys, "SeriesInstanceUID": series_uid}
            for image in _rows(archive, "IMAGE", parents, case_insensitive):
                instance = stored.pop(str(image["SOPInstanceUID"]), None)
                if instance is not None:
                    entry.instances.append(InstanceEntry(instance, image["InstanceNumber"]))
            if entry.instances:
                study.series.append(entry)
        study.unlisted = list(stored.values())
        studies.append(study)
    return studies
