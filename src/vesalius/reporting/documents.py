"""SR and Key Object Selection documents around a content tree, and their Part 10 bytes.

The modules are filled here rather than by highdicom's document classes so that
the four classes share one path and the patient and study modules come from
the stored study exactly (``study.patient_and_study``): SOP Common, Patient,
General Study, Patient Study, the SR Document (or Key Object Document) Series,
General Equipment, SR Document General (or Key Object Document) and SR
Document Content (PS3.3 A.35.1, A.35.2, A.35.3, A.35.4). The Current Requested
Procedure Evidence lists exactly the instances the content points at.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian

import vesalius
from vesalius.reporting import codes
from vesalius.reporting.study import StudyContext

MANUFACTURER = "Vesalius"
UTF8 = "ISO_IR 192"
"""Every object we write is UTF-8: the copied names decode from any character set."""
BASIC_TEXT_SR = "1.2.840.10008.5.1.4.1.1.88.11"
ENHANCED_SR = "1.2.840.10008.5.1.4.1.1.88.22"
COMPREHENSIVE_SR = "1.2.840.10008.5.1.4.1.1.88.33"
KEY_OBJECT_SELECTION = "1.2.840.10008.5.1.4.1.1.88.59"
SR_CLASS_OF_KIND = {
    "basic": BASIC_TEXT_SR,
    "enhanced": ENHANCED_SR,
    "comprehensive": COMPREHENSIVE_SR,
}


@dataclass(frozen=True, slots=True)
class Identity:
    """The new UIDs and numbers of one object, and when it was made."""

    sop_instance_uid: str
    series_instance_uid: str
    series_number: int
    series_description: str
    made: datetime


@dataclass(frozen=True, slots=True)
class Flags:
    """Completion and verification of an SR document (PS3.3 C.17.2)."""

    complete: bool = True
    final: bool = False
    verified_by: str = ""
    organization: str = ""


def evidence(references: Iterable[Dataset]) -> list[Dataset]:
    """Hierarchical SOP Instance Reference items (study > series > instances), in the
    order the instances are first met."""
    studies: dict[str, dict[str, list[Dataset]]] = {}
    seen: set[str] = set()
    for header in references:
        if header.SOPInstanceUID in seen:
            continue
        seen.add(header.SOPInstanceUID)
        item = Dataset()
        item.ReferencedSOPClassUID = header.SOPClassUID
        item.ReferencedSOPInstanceUID = header.SOPInstanceUID
        series = studies.setdefault(header.StudyInstanceUID, {})
        series.setdefault(header.SeriesInstanceUID, []).append(item)
    items = []
    for study_uid, series in studies.items():
        study_item = Dataset()
        study_item.StudyInstanceUID = study_uid
        study_item.ReferencedSeriesSequence = Sequence()
        for series_uid, instances in series.items():
            series_item = Dataset()
            series_item.SeriesInstanceUID = series_uid
            series_item.ReferencedSOPSequence = Sequence(instances)
            study_item.ReferencedSeriesSequence.append(series_item)
        items.append(study_item)
    return items


def _codes_in(dataset: Dataset) -> Iterator[str]:
    for element in dataset:
        if element.VR != "SQ":
            continue
        for item in element.value:
            if "CodingSchemeDesignator" in item:
                yield str(item.CodingSchemeDesignator)
            yield from _codes_in(item)


def _common(
    sop_class_uid: str, modality: str, context: StudyContext, identity: Identity
) -> Dataset:
    made = identity.made
    dataset = Dataset()
    dataset.SpecificCharacterSet = UTF8
    dataset.InstanceCreationDate = made.strftime("%Y%m%d")
    dataset.InstanceCreationTime = made.strftime("%H%M%S")
    dataset.SOPClassUID = sop_class_uid
    dataset.SOPInstanceUID = identity.sop_instance_uid
    dataset.update(context.patient_and_study)
    dataset.Modality = modality
    dataset.SeriesInstanceUID = identity.series_instance_uid
    dataset.SeriesNumber = identity.series_number
    dataset.SeriesDate = made.strftime("%Y%m%d")
    dataset.SeriesTime = made.strftime("%H%M%S")
    if identity.series_description:
        dataset.SeriesDescription = identity.series_description[:64]
    dataset.ReferencedPerformedProcedureStepSequence = Sequence()
    dataset.Manufacturer = MANUFACTURER
    dataset.SoftwareVersions = vesalius.__version__
    dataset.InstanceNumber = 1
    dataset.ContentDate = made.strftime("%Y%m%d")
    dataset.ContentTime = made.strftime("%H%M%S")
    return dataset


def _attach_content(dataset: Dataset, root: Dataset, references: list[Dataset]) -> None:
    for keyword in (
        "ValueType",
        "ConceptNameCodeSequence",
        "ContinuityOfContent",
        "ContentTemplateSequence",
        "ContentSequence",
    ):
        if keyword in root:
            dataset[keyword] = root[keyword]
    if references:
        dataset.CurrentRequestedProcedureEvidenceSequence = Sequence(evidence(references))
    if codes.LOCAL_SCHEME in set(_codes_in(dataset)):
        dataset.CodingSchemeIdentificationSequence = Sequence(
            [codes.coding_scheme_item(codes.LOCAL_SCHEME)]
        )


def sr_document(
    kind: str,
    root: Dataset,
    context: StudyContext,
    identity: Identity,
    flags: Flags,
    references: list[Dataset],
) -> Dataset:
    """A Basic Text, Enhanced or Comprehensive SR (``kind``) with ``root`` as content."""
    dataset = _common(SR_CLASS_OF_KIND[kind], "SR", context, identity)
    dataset.CompletionFlag = "COMPLETE" if flags.complete else "PARTIAL"
    dataset.PreliminaryFlag = "FINAL" if flags.final else "PRELIMINARY"
    if flags.verified_by:
        dataset.VerificationFlag = "VERIFIED"
        verifier = Dataset()
        verifier.VerifyingObserverName = flags.verified_by
        verifier.VerifyingObserverIdentificationCodeSequence = Sequence()
        verifier.VerifyingOrganization = flags.organization
        verifier.VerificationDateTime = identity.made.strftime("%Y%m%d%H%M%S")
        dataset.VerifyingObserverSequence = Sequence([verifier])
    else:
        dataset.VerificationFlag = "UNVERIFIED"
    dataset.PerformedProcedureCodeSequence = Sequence()
    _attach_content(dataset, root, references)
    return dataset


def key_object_document(
    root: Dataset, context: StudyContext, identity: Identity, references: list[Dataset]
) -> Dataset:
    """A Key Object Selection Document with ``root`` (TID 2010) as content."""
    dataset = _common(KEY_OBJECT_SELECTION, "KO", context, identity)
    _attach_content(dataset, root, references)
    return dataset


def encode(dataset: Dataset) -> bytes:
    """The Part 10 file of a document: explicit VR little endian, our implementation UID."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = dataset.SOPClassUID
    meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = vesalius.IMPLEMENTATION_CLASS_UID
    meta.ImplementationVersionName = vesalius.IMPLEMENTATION_VERSION_NAME
    dataset.file_meta = meta
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()
