"""The study a new report belongs to, as the archive holds it.

A report copies its patient and study modules from an instance already stored
in the study (so that it files under the same patient and study everywhere),
and knows the class, series and size of each instance it points at. Headers
are read up to the pixel data, never further.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field

import pydicom
from pydicom.dataset import Dataset

from vesalius.archive.archive import Archive
from vesalius.index.index import StoredInstance
from vesalius.model.errors import NotFound
from vesalius.reporting.spec import InvalidReport

PATIENT_KEYWORDS = (
    # Patient module (PS3.3 C.7.1.1)
    "PatientName",
    "PatientID",
    "IssuerOfPatientID",
    "IssuerOfPatientIDQualifiersSequence",
    "TypeOfPatientID",
    "PatientBirthDate",
    "PatientBirthTime",
    "PatientSex",
    "QualityControlSubject",
    "OtherPatientIDsSequence",
    "OtherPatientNames",
    "EthnicGroup",
    "PatientComments",
    "PatientSpeciesDescription",
    "PatientSpeciesCodeSequence",
    "PatientBreedDescription",
    "PatientBreedCodeSequence",
    "BreedRegistrationSequence",
    "ResponsiblePerson",
    "ResponsiblePersonRole",
    "ResponsibleOrganization",
    "PatientIdentityRemoved",
    "DeidentificationMethod",
    "DeidentificationMethodCodeSequence",
    # Clinical Trial Subject module (C.7.1.3)
    "ClinicalTrialSponsorName",
    "ClinicalTrialProtocolID",
    "ClinicalTrialProtocolName",
    "ClinicalTrialSiteID",
    "ClinicalTrialSiteName",
    "ClinicalTrialSubjectID",
    "ClinicalTrialSubjectReadingID",
)
STUDY_KEYWORDS = (
    # General Study module (C.7.2.1)
    "StudyInstanceUID",
    "StudyDate",
    "StudyTime",
    "ReferringPhysicianName",
    "ReferringPhysicianIdentificationSequence",
    "ConsultingPhysicianName",
    "StudyID",
    "AccessionNumber",
    "IssuerOfAccessionNumberSequence",
    "StudyDescription",
    "PhysiciansOfRecord",
    "NameOfPhysiciansReadingStudy",
    "RequestingService",
    "ProcedureCodeSequence",
    "ReasonForPerformedProcedureCodeSequence",
    # Patient Study module (C.7.2.2)
    "AdmittingDiagnosesDescription",
    "PatientAge",
    "PatientSize",
    "PatientWeight",
    "Occupation",
    "AdditionalPatientHistory",
    "PregnancyStatus",
    "PatientState",
)
TYPE_2 = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "StudyDate",
    "StudyTime",
    "ReferringPhysicianName",
    "StudyID",
    "AccessionNumber",
)
"""Attributes every composite object has, empty when the source lacks them."""


@dataclass(slots=True)
class StudyContext:
    """What a new object of a study copies and points at."""

    study_uid: str
    patient_and_study: Dataset
    referenced: dict[str, Dataset] = field(default_factory=dict)
    next_series_number: int = 1

    def reference(self, sop_instance_uid: str) -> Dataset:
        """The header of an instance the report points at (read when the context was made)."""
        return self.referenced[sop_instance_uid]


def read_stored_header(archive: Archive, instance: StoredInstance) -> Dataset:
    """A stored instance's data set up to its pixel data."""
    with archive.open_stored(instance) as handle, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(handle, stop_before_pixels=True, force=True)


def patient_and_study(source: Dataset) -> Dataset:
    """The patient and study modules of ``source``, as a new object copies them."""
    copied = Dataset()
    for keyword in PATIENT_KEYWORDS + STUDY_KEYWORDS:
        if keyword in source:
            copied[keyword] = source[keyword]
    for keyword in TYPE_2:
        if keyword not in copied:
            setattr(copied, keyword, None)
    return copied


def load_study(archive: Archive, study_uid: str, references: Iterable[str] = ()) -> StudyContext:
    """The context of a stored study for a new object that points at ``references``.

    ``NotFound`` when the study is not stored; ``InvalidReport`` when a reference
    is not an instance of this study (a report covers one study).
    """
    stored = archive.instances_in(study_uid)
    context = StudyContext(study_uid, patient_and_study(read_stored_header(archive, stored[0])))
    for uid in references:
        try:
            (instance,) = archive.instances_in(study_uid, None, uid)
        except NotFound:
            raise InvalidReport(f"instance {uid} is not stored in study {study_uid}") from None
        context.referenced[uid] = read_stored_header(archive, instance)
    numbers = [
        int(str(row["series_number"]))
        for row in archive.index.series_overview(study_uid=study_uid)
        if str(row["series_number"] or "").lstrip("-").isdigit()
    ]
    context.next_series_number = max(numbers, default=0) + 1
    return context
