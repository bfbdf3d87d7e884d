"""Any SR or Key Object Selection document read into a plain tree, ready to be shown.

The tree keeps what a reader needs and nothing of DICOM's encoding: each
content item's relationship, value type, concept name (meaning and
``scheme:value``), value as text (codes as their meaning, numbers with their
unit, dates as dates), the instance it references (with the study and series
found in the evidence sequences or by ``locate``), the points of a region, and
its children. By-reference relationships (Comprehensive SR) point at the
position ("1.2.3") of their target. An item that cannot be read becomes a note
in the tree rather than failing the document.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from pydicom.dataset import Dataset
from pydicom.valuerep import PersonName

from vesalius.sopclasses import sop_class_name

MAX_DEPTH = 64
Locate = Callable[[str], tuple[str, str] | None]
"""SOP Instance UID -> (Study Instance UID, Series Instance UID) when known."""


@dataclass(slots=True)
class Reference:
    """An instance a content item points at."""

    sop_class_uid: str
    sop_class_name: str
    sop_instance_uid: str
    frames: list[int] = field(default_factory=list)
    study_uid: str = ""
    series_uid: str = ""
    presentation_state: str = ""


@dataclass(slots=True)
class Item:
    """One content item, its value as text and its children."""

    position: str
    relationship: str
    value_type: str
    name: str = ""
    name_code: str = ""
    value: str = ""
    code: str = ""
    unit: str = ""
    unit_code: str = ""
    reference: Reference | None = None
    graphic_type: str = ""
    points: list[list[float]] = field(default_factory=list)
    target: str = ""
    children: list[Item] = field(default_factory=list)


@dataclass(slots=True)
class Document:
    """An SR or KOS document: who and what it is about, its flags, its content tree."""

    sop_class_uid: str
    sop_class_name: str
    sop_instance_uid: str
    study_uid: str
    series_uid: str
    title: str
    title_code: str
    patient_name: str = ""
    patient_id: str = ""
    patient_sex: str = ""
    patient_birth_date: str = ""
    study_description: str = ""
    study_date: str = ""
    accession_number: str = ""
    series_description: str = ""
    manufacturer: str = ""
    content_datetime: str = ""
    completion: str = ""
    verification: str = ""
    preliminary: str = ""
    verifiers: list[str] = field(default_factory=list)
    root: Item | None = None


class NotAReport(ValueError):
    """The data set is not an SR or KOS document (it has no content tree)."""


def _values(value: object) -> list[Any]:
    """An element's value as a list: none, one, or the several of a multi-valued one."""
    if value is None or value == "":
        return []
    if isinstance(value, str | bytes | int | float | PersonName) or not isinstance(value, Iterable):
        return [value]
    return list(value)


def _text(dataset: Dataset, keyword: str) -> str:
    try:
        value = dataset.get(keyword)
    except Exception:
        return ""
    return "\\".join(str(v) for v in _values(value)).strip()


def date_text(value: str) -> str:
    """DA ``20001206`` as ``2000-12-06`` (anything else as it is)."""
    value = value.strip()
    if len(value) == 8 and value.isdigit():
        return f"{value[:4]}-{value[4:6]}-{value[6:]}"
    return value


def time_text(value: str) -> str:
    """TM ``120000.5`` as ``12:00:00`` (seconds and fractions dropped when absent)."""
    value = value.strip().split(".")[0]
    if len(value) >= 4 and value[:4].isdigit():
        parts = [value[i : i + 2] for i in range(0, min(len(value), 6), 2)]
        return ":".join(parts)
    return value


def datetime_text(value: str) -> str:
    """DT ``20001206120000`` as ``2000-12-06 12:00:00``."""
    value = value.strip()
    if len(value) >= 8 and value[:8].isdigit():
        rest = time_text(value[8:]) if len(value) > 8 else ""
        return f"{date_text(value[:8])} {rest}".strip()
    return value


def code_of(item: Dataset) -> tuple[str, str]:
    """A Code Sequence item as (meaning, ``scheme:value``)."""
    value = _text(item, "CodeValue") or _text(item, "LongCodeValue") or _text(item, "URNCodeValue")
    scheme = _text(item, "CodingSchemeDesignator")
    meaning = _text(item, "CodeMeaning") or value
    return meaning, f"{scheme}:{value}" if scheme else value


def _first(dataset: Dataset, keyword: str) -> Dataset | None:
    try:
        sequence = dataset.get(keyword)
    except Exception:
        return None
    return sequence[0] if sequence else None


def _evidence(dataset: Dataset) -> dict[str, tuple[str, str]]:
    found: dict[str, tuple[str, str]] = {}
    for keyword in ("CurrentRequestedProcedureEvidenceSequence", "PertinentOtherEvidenceSequence"):
        for study in dataset.get(keyword) or ():
            for series in study.get("ReferencedSeriesSequence") or ():
                for instance in series.get("ReferencedSOPSequence") or ():
                    found[_text(instance, "ReferencedSOPInstanceUID")] = (
                        _text(study, "StudyInstanceUID"),
                        _text(series, "SeriesInstanceUID"),
                    )
    return found


def _guess_type(dataset: Dataset) -> str:
    """The value type of an item that does not say it (pre-standard trial SR)."""
    for keyword, kind in (
        ("TextValue", "TEXT"),
        ("ConceptCodeSequence", "CODE"),
        ("MeasuredValueSequence", "NUM"),
        ("PersonName", "PNAME"),
        ("ReferencedSOPSequence", "IMAGE" if "ReferencedFrameNumber" in dataset else "COMPOSITE"),
        ("ContentSequence", "CONTAINER"),
    ):
        if keyword in dataset:
            return kind
    return "UNKNOWN"


def _trial_root(dataset: Dataset) -> Dataset:
    """A root container over the findings groups of a pre-standard (trial) SR, which
    keeps its items in the Findings Sequence (Trial) instead of a content tree."""
    root = Dataset()
    root.ValueType = "CONTAINER"
    groups = []
    for finding in dataset.get("FindingsSequenceTrial") or ():
        group = Dataset()
        group.ValueType = "CONTAINER"
        group.RelationshipType = "CONTAINS"
        group.ContentSequence = finding.get("ContentSequence") or []
        groups.append(group)
    root.ContentSequence = groups
    return root


class _Reader:
    def __init__(self, evidence: dict[str, tuple[str, str]], locate: Locate | None) -> None:
        self.evidence = evidence
        self.locate = locate

    def reference(self, item: Dataset) -> Reference | None:
        """The instance an IMAGE, COMPOSITE or WAVEFORM item points at, located."""
        sop = _first(item, "ReferencedSOPSequence")
        if sop is None:
            return None
        class_uid = _text(sop, "ReferencedSOPClassUID")
        instance_uid = _text(sop, "ReferencedSOPInstanceUID")
        frames = [int(v) for v in _values(sop.get("ReferencedFrameNumber")) if str(v).strip()]
        where = self.evidence.get(instance_uid) or (
            self.locate(instance_uid) if self.locate else None
        )
        state = _first(sop, "ReferencedSOPSequence")
        return Reference(
            class_uid,
            sop_class_name(class_uid),
            instance_uid,
            frames,
            where[0] if where else "",
            where[1] if where else "",
            _text(state, "ReferencedSOPInstanceUID") if state is not None else "",
        )

    def item(self, dataset: Dataset, position: str, depth: int) -> Item:
        """A content item and, depth first, its children."""
        relationship = _text(dataset, "RelationshipType")
        if "ReferencedContentItemIdentifier" in dataset:
            target = ".".join(str(n) for n in dataset.ReferencedContentItemIdentifier)
            return Item(position, relationship, "REFERENCE", target=target)
        node = Item(position, relationship, _text(dataset, "ValueType") or _guess_type(dataset))
        name = _first(dataset, "ConceptNameCodeSequence")
        if name is not None:
            node.name, node.name_code = code_of(name)
        try:
            self.value(dataset, node)
        except Exception as exc:
            node.value = f"(unreadable value: {exc})"
        if depth >= MAX_DEPTH:
            node.children.append(Item(position + ".1", "", "NOTE", value="(nested too deep)"))
            return node
        for number, child in enumerate(dataset.get("ContentSequence") or (), 1):
            where = f"{position}.{number}"
            try:
                node.children.append(self.item(child, where, depth + 1))
            except Exception as exc:
                node.children.append(Item(where, "", "NOTE", value=f"(unreadable item: {exc})"))
        return node

    def value(self, dataset: Dataset, node: Item) -> None:
        """Fill in the value of ``node`` as its value type keeps it."""
        kind = node.value_type
        if kind in ("TEXT", "UIDREF", "PNAME"):
            keyword = {"TEXT": "TextValue", "UIDREF": "UID", "PNAME": "PersonName"}[kind]
            node.value = _text(dataset, keyword)
        elif kind == "CODE":
            concept = _first(dataset, "ConceptCodeSequence")
            if concept is not None:
                node.value, node.code = code_of(concept)
        elif kind == "NUM":
            self.number(dataset, node)
        elif kind == "DATE":
            node.value = date_text(_text(dataset, "Date"))
        elif kind == "TIME":
            node.value = time_text(_text(dataset, "Time"))
        elif kind == "DATETIME":
            node.value = datetime_text(_text(dataset, "DateTime"))
        elif kind in ("IMAGE", "COMPOSITE", "WAVEFORM"):
            node.reference = self.reference(dataset)
        elif kind in ("SCOORD", "SCOORD3D"):
            node.graphic_type = _text(dataset, "GraphicType")
            data = [float(v) for v in (dataset.get("GraphicData") or ())]
            size = 3 if kind == "SCOORD3D" else 2
            node.points = [data[i : i + size] for i in range(0, len(data) - size + 1, size)]
            node.value = node.graphic_type
        elif kind == "TCOORD":
            node.graphic_type = _text(dataset, "TemporalRangeType")
            node.value = node.graphic_type
        elif kind == "CONTAINER":
            node.value = _text(dataset, "ContinuityOfContent")

    def number(self, dataset: Dataset, node: Item) -> None:
        """A NUM's value and unit, or its qualifier when it has no value."""
        measured = _first(dataset, "MeasuredValueSequence")
        if measured is None:
            qualifier = _first(dataset, "NumericValueQualifierCodeSequence")
            node.value = code_of(qualifier)[0] if qualifier is not None else "(no value)"
            return
        node.value = _text(measured, "NumericValue") or _text(measured, "FloatingPointValue")
        unit = _first(measured, "MeasurementUnitsCodeSequence")
        if unit is not None:
            meaning, node.unit_code = code_of(unit)
            value = _text(unit, "CodeValue")
            ucum = node.unit_code.startswith("UCUM")
            node.unit = "" if ucum and value == "1" else (value if ucum else meaning)


def read_document(dataset: Dataset, locate: Locate | None = None) -> Document:
    """The readable tree of an SR or KOS data set; ``NotAReport`` when it has no content.

    ``locate`` finds the study and series of a referenced instance that the
    document's evidence sequences do not list (the archive's index, say).
    """
    content = dataset
    if "ContentSequence" not in dataset and "ConceptNameCodeSequence" not in dataset:
        if "FindingsSequenceTrial" not in dataset:
            raise NotAReport("not a structured report: the data set has no content tree")
        content = _trial_root(dataset)
    title, title_code = "", ""
    name = _first(dataset, "ConceptNameCodeSequence")
    if name is not None:
        title, title_code = code_of(name)
    elif content is not dataset:
        title = _text(dataset, "StudyDescription") or "Findings"
    reader = _Reader(_evidence(dataset), locate)
    root = reader.item(content, "1", 0)
    root.relationship = ""
    class_uid = _text(dataset, "SOPClassUID")
    document = Document(
        sop_class_uid=class_uid,
        sop_class_name=sop_class_name(class_uid),
        sop_instance_uid=_text(dataset, "SOPInstanceUID"),
        study_uid=_text(dataset, "StudyInstanceUID"),
        series_uid=_text(dataset, "SeriesInstanceUID"),
        title=title or "(untitled)",
        title_code=title_code,
        patient_name=_text(dataset, "PatientName"),
        patient_id=_text(dataset, "PatientID"),
        patient_sex=_text(dataset, "PatientSex"),
        patient_birth_date=date_text(_text(dataset, "PatientBirthDate")),
        study_description=_text(dataset, "StudyDescription"),
        study_date=date_text(_text(dataset, "StudyDate")),
        accession_number=_text(dataset, "AccessionNumber"),
        series_description=_text(dataset, "SeriesDescription"),
        manufacturer=_text(dataset, "Manufacturer"),
        content_datetime=datetime_text(
            _text(dataset, "ContentDate") + _text(dataset, "ContentTime")
        ),
        completion=_text(dataset, "CompletionFlag"),
        verification=_text(dataset, "VerificationFlag"),
        preliminary=_text(dataset, "PreliminaryFlag"),
        root=root,
    )
    for verifier in dataset.get("VerifyingObserverSequence") or ():
        who = _text(verifier, "VerifyingObserverName")
        organization = _text(verifier, "VerifyingOrganization")
        when = datetime_text(_text(verifier, "VerificationDateTime"))
        document.verifiers.append(", ".join(part for part in (who, organization, when) if part))
    return document


def as_json(document: Document) -> dict[str, Any]:
    """The document as plain JSON values (for the API and the viewer)."""
    return asdict(document)
