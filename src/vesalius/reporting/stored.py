"""Reports as the archive holds them: the SR and KOS documents of a study, and one
document read for display, its referenced images located in the index."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import pydicom
from pydicom.dataset import Dataset

from vesalius.archive.archive import Archive
from vesalius.model.errors import InvalidObject, NotFound
from vesalius.reporting.read import (
    Document,
    Locate,
    NotAReport,
    code_of,
    datetime_text,
    read_document,
)
from vesalius.reporting.study import read_stored_header

SR_PREFIX = "1.2.840.10008.5.1.4.1.1.88."
"""Every SR storage class, and Key Object Selection (…88.59), lies under this root."""


def is_report_class(sop_class_uid: str) -> bool:
    """True for the SR and Key Object Selection storage classes."""
    return sop_class_uid.startswith(SR_PREFIX)


@dataclass(frozen=True, slots=True)
class ReportSummary:
    """One SR or KOS of a study, as a list shows it."""

    sop_instance_uid: str
    sop_class_uid: str
    series_instance_uid: str
    title: str
    title_code: str
    content_datetime: str
    completion: str
    verification: str
    series_description: str
    manufacturer: str

    def as_json(self) -> dict[str, str]:
        """Keyed by DICOM keyword, as the REST API answers its objects."""
        return {
            "SOPInstanceUID": self.sop_instance_uid,
            "SOPClassUID": self.sop_class_uid,
            "SeriesInstanceUID": self.series_instance_uid,
            "DocumentTitle": self.title,
            "DocumentTitleCode": self.title_code,
            "ContentDateTime": self.content_datetime,
            "CompletionFlag": self.completion,
            "VerificationFlag": self.verification,
            "SeriesDescription": self.series_description,
            "Manufacturer": self.manufacturer,
        }


def summary_of(header: Dataset) -> ReportSummary:
    """The list entry of a document's header."""
    title, title_code = "", ""
    names = header.get("ConceptNameCodeSequence")
    if names:
        title, title_code = code_of(names[0])
    return ReportSummary(
        str(header.SOPInstanceUID),
        str(header.SOPClassUID),
        str(header.get("SeriesInstanceUID", "")),
        title,
        title_code,
        datetime_text(str(header.get("ContentDate", "")) + str(header.get("ContentTime", ""))),
        str(header.get("CompletionFlag", "")),
        str(header.get("VerificationFlag", "")),
        str(header.get("SeriesDescription", "")),
        str(header.get("Manufacturer", "")),
    )


def study_reports(archive: Archive, study_uid: str) -> list[ReportSummary]:
    """The SR and KOS documents of a stored study, newest first; ``NotFound`` when the
    study is not stored."""
    found = [
        summary_of(read_stored_header(archive, instance))
        for instance in archive.instances_in(study_uid)
        if is_report_class(instance.sop_class_uid)
    ]
    return sorted(found, key=lambda s: s.content_datetime, reverse=True)


def _locator(archive: Archive) -> Locate:
    def locate(sop_instance_uid: str) -> tuple[str, str] | None:
        try:
            keys = archive.lineage("IMAGE", sop_instance_uid)
        except NotFound:
            return None
        return keys["StudyInstanceUID"], keys["SeriesInstanceUID"]

    return locate


def stored_document(archive: Archive, sop_instance_uid: str) -> Document:
    """A stored SR or KOS read for display; ``NotFound`` when there is no such instance,
    ``InvalidObject`` when it is not a report."""
    with archive.open_instance(sop_instance_uid) as handle, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dataset = pydicom.dcmread(handle, force=True)
    return document_of(dataset, archive)


def document_of(dataset: Dataset, archive: Archive | None = None) -> Document:
    """A data set read for display, references located in ``archive`` when given."""
    try:
        return read_document(dataset, _locator(archive) if archive is not None else None)
    except NotAReport as exc:
        raise InvalidObject(str(exc)) from None
