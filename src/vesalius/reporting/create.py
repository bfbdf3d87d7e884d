"""Making a report and its key image selection, and storing them in the study.

``build_documents`` is pure (a spec and a study context in, data sets out);
``create_report`` reads the study from the archive, builds, and ingests each
object through ``Archive.store_file`` like any object a modality sends, so that
it is indexed, found by C-FIND and QIDO-RS, retrieved and sent with its study.
Every object gets a new series and new UIDs under Vesalius's own root.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from highdicom.ko import KeyObjectSelection
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

import vesalius
from vesalius.archive.archive import Archive
from vesalius.model.origin import LOCAL, Origin
from vesalius.reporting import codes
from vesalius.reporting.content import observer_context, report_content
from vesalius.reporting.documents import (
    SR_CLASS_OF_KIND,
    Flags,
    Identity,
    encode,
    key_object_document,
    sr_document,
)
from vesalius.reporting.spec import InvalidReport, ReportSpec, check
from vesalius.reporting.study import StudyContext, load_study
from vesalius.reporting.tid1500 import measurement_report_content

UID_PREFIX = vesalius.IMPLEMENTATION_CLASS_UID + "."
KIND_NAMES = {
    "basic": "Basic Text SR",
    "enhanced": "Enhanced SR",
    "comprehensive": "Comprehensive SR",
    "key-objects": "Key Object Selection",
}


def new_uid() -> str:
    """A fresh UID under Vesalius's root."""
    return str(generate_uid(prefix=UID_PREFIX))


@dataclass(frozen=True, slots=True)
class Created:
    """One object a report made and stored."""

    kind: str
    title: str
    sop_class_uid: str
    sop_instance_uid: str
    series_instance_uid: str
    study_instance_uid: str
    outcome: str = "stored"


def _modality(context: StudyContext) -> str:
    for header in context.referenced.values():
        if header.get("Modality"):
            return str(header.Modality)
    return str(context.patient_and_study.get("Modality", ""))


def _report_root(spec: ReportSpec, context: StudyContext) -> Dataset:
    if spec.resolved_kind() == "comprehensive":
        return measurement_report_content(spec, context, _modality(context), new_uid)
    return report_content(spec, context)


def build_documents(
    spec: ReportSpec, context: StudyContext, made: datetime | None = None
) -> list[Dataset]:
    """The SR (when the spec has content) and the Key Object Selection (when it has key
    images) of a report, each in a new series of the study."""
    check(spec)
    made = made or datetime.now()
    series_number = context.next_series_number
    documents = []
    if spec.has_report:
        root = _report_root(spec, context)
        references = [context.reference(uid) for uid in _referenced_in(spec)]
        title = root.ConceptNameCodeSequence[0].CodeMeaning
        identity = Identity(
            new_uid(), new_uid(), series_number, spec.series_description or title, made
        )
        flags = Flags(spec.complete, spec.final, spec.verified_by.strip(), spec.organization)
        documents.append(
            sr_document(spec.resolved_kind(), root, context, identity, flags, references)
        )
        series_number += 1
    if spec.key_images:
        title_code = codes.key_object_title(spec.key_title)
        if title_code is None:  # check() refused it already; keeps the type checker sure
            raise InvalidReport(f"key image title {spec.key_title!r} is not one of CID 7010")
        selected = [context.reference(uid) for uid in spec.key_images]
        content = KeyObjectSelection(
            document_title=title_code,
            referenced_objects=selected,
            observer_person_context=observer_context(spec) if spec.observer.strip() else None,
            description=spec.key_description.strip() or None,
        )
        identity = Identity(
            new_uid(), new_uid(), series_number, f"Key images: {title_code.meaning}", made
        )
        documents.append(key_object_document(content[0], context, identity, selected))
    return documents


def _referenced_in(spec: ReportSpec) -> list[str]:
    """The instances the SR's content points at (the TID 1500 tree leaves key images to
    the selection)."""
    measured = [m.image for m in spec.measurements if m.image]
    keys = [] if spec.resolved_kind() == "comprehensive" else list(spec.key_images)
    return list(dict.fromkeys([*measured, *keys]))


def kind_of(dataset: Dataset) -> str:
    """``basic``, ``enhanced``, ``comprehensive`` or ``key-objects`` for a document we made."""
    for kind, uid in SR_CLASS_OF_KIND.items():
        if dataset.SOPClassUID == uid:
            return kind
    return "key-objects"


def create_report(
    archive: Archive, study_uid: str, spec: ReportSpec, origin: Origin = LOCAL
) -> list[Created]:
    """Make the report (and key image selection) of a stored study and store them.

    ``NotFound`` when the study is not stored; ``InvalidReport`` when the spec
    cannot be made (a reference outside the study, a bad unit...).
    """
    check(spec)
    context = load_study(archive, study_uid, spec.referenced_images())
    created = []
    for document in build_documents(spec, context):
        result = archive.store_file(encode(document), origin)
        created.append(
            Created(
                kind_of(document),
                str(document.ConceptNameCodeSequence[0].CodeMeaning),
                result.sop_class_uid,
                result.sop_instance_uid,
                str(document.SeriesInstanceUID),
                study_uid,
                result.outcome,
            )
        )
    return created
