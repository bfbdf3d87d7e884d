"""Remove what identifies the patient from a data set (a subset of PS3.15 E.1.1, Basic Profile).

Used where a client asks for an anonymized copy (WADO-URI ``anonymize=yes``).
Identifying attributes are emptied or removed, dates of the patient removed,
private elements removed; UIDs and the clinical content stay, so that the copy
still fits with the rest of its study.
"""

from __future__ import annotations

from pydicom.dataset import Dataset

EMPTIED = (
    "PatientName", "PatientID", "AccessionNumber", "StudyID", "ReferringPhysicianName",
    "PatientBirthDate", "PatientSex",
)  # fmt: skip
"""Type 2 attributes: kept, with a zero-length value."""
REMOVED = (
    "OtherPatientIDs", "OtherPatientIDsSequence", "OtherPatientNames", "PatientBirthName",
    "PatientMotherBirthName", "PatientAddress", "PatientTelephoneNumbers", "PatientAge",
    "PatientSize", "PatientWeight", "MilitaryRank", "EthnicGroup", "Occupation",
    "AdditionalPatientHistory", "PatientComments", "PatientBirthTime", "MedicalRecordLocator",
    "InstitutionName", "InstitutionAddress", "InstitutionalDepartmentName",
    "ReferringPhysicianAddress", "ReferringPhysicianTelephoneNumbers",
    "PhysiciansOfRecord", "PerformingPhysicianName", "NameOfPhysiciansReadingStudy",
    "OperatorsName", "RequestingPhysician", "StationName", "DeviceSerialNumber",
    "IssuerOfPatientID", "RequestAttributesSequence", "RequestedProcedureID",
    "ScheduledProcedureStepID", "PerformedProcedureStepID",
)  # fmt: skip
"""Type 3 attributes and identifiers of people, places and devices: removed."""


def deidentify(dataset: Dataset) -> Dataset:
    """``dataset`` without what identifies its patient (changed in place, and returned)."""
    dataset.remove_private_tags()
    for keyword in REMOVED:
        if keyword in dataset:
            delattr(dataset, keyword)
    for keyword in EMPTIED:
        if keyword in dataset:
            dataset.data_element(keyword).value = None  # type: ignore[union-attr]
    dataset.PatientIdentityRemoved = "YES"
    dataset.DeidentificationMethod = "Basic Application Confidentiality Profile (subset)"
    return dataset
