"""De-identification: PS3.15 Annex E, Basic Application Level Confidentiality Profile.

``PROFILE`` holds the actions of Table E.1-1 for the attributes it lists, by
keyword: ``X`` remove, ``Z`` empty (or a dummy), ``D`` a dummy value, ``U`` a
new UID. On top of that table, as the profile requires:

* every UID that is not one of the standard's own (``1.2.840.10008.*``: SOP
  classes, transfer syntaxes, coding schemes) is replaced, consistently
  within one ``Deidentifier`` (the same input UID gives the same output UID,
  references inside sequences too), so that a study stays a study;
* private elements are removed unless safe-listed by (creator, element);
* curves, overlays' comments and other group-5xxx/6xxx text are removed;
* Patient Identity Removed is YES and De-identification Method (Code
  Sequence) says which options were applied.

Options (``Options``): Retain Longitudinal Temporal Information with Full
Dates (E.3.6): dates and times are kept; Clean Descriptors (E.3.5):
descriptions and comments are kept, with the patient's names and IDs cut out
of them; Retain UIDs (E.3.9): UIDs are kept (WADO-URI uses it, so that one
instance still fits its study). Burned In Annotation = YES is reported by
``burned_in`` for the caller to decide (pixel data is never changed here).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import generate_uid

STANDARD_UID_ROOT = "1.2.840.10008."

# Table E.1-1, by action. Attributes whose action is D or Z in the table are
# emptied (Z) unless a type 1 attribute needs a value (D).
_REMOVED = """
AccessionNumber? AcquisitionComments AcquisitionContextSequence
AcquisitionDeviceProcessingDescription AcquisitionProtocolDescription
ActualHumanPerformersSequence AdditionalPatientHistory AddressTrial AdmissionID AdmittingDate
AdmittingDiagnosesCodeSequence AdmittingDiagnosesDescription AdmittingTime Allergies Arbitrary
AuthorObserverSequence BranchOfService CassetteID CommentsOnThePerformedProcedureStep
ConfidentialityConstraintOnPatientDataDescription ContentCreatorIdentificationCodeSequence
ContributionDescription CountryOfResidence CurrentPatientLocation CurveData CurveDate CurveTime
CustodialOrganizationSequence DataSetTrailingPadding DerivationDescription DetectorID
DeviceSerialNumber DigitalSignaturesSequence DischargeDiagnosisDescription DistributionAddress
DistributionName EthnicGroup FrameComments GantryID GeneratorID GraphicAnnotationSequence
HumanPerformerName HumanPerformerOrganization IconImageSequence IdentifyingComments
ImageComments ImagePresentationComments ImagingServiceRequestComments InstitutionAddress
InstitutionalDepartmentName InstitutionName InsurancePlanIdentification
IntendedRecipientsOfResultsIdentificationSequence InterpretationApproverSequence
InterpretationAuthor InterpretationDiagnosisDescription InterpretationIDIssuer
InterpretationRecorder InterpretationText InterpretationTranscriber IssuerOfAdmissionID
IssuerOfPatientID IssuerOfServiceEpisodeID MedicalAlerts MedicalRecordLocator MilitaryRank
ModifiedAttributesSequence ModifiedImageDescription ModifyingDeviceID
NameOfPhysiciansReadingStudy NamesOfIntendedRecipientsOfResults Occupation
OperatorIdentificationSequence OperatorsName OriginalAttributesSequence OrderCallbackPhoneNumber
OrderEnteredBy OrderEntererLocation OtherPatientIDs OtherPatientIDsSequence OtherPatientNames
ParticipantSequence PatientAddress PatientAge PatientBirthName PatientBirthTime PatientComments
PatientInsurancePlanCodeSequence PatientMotherBirthName PatientPrimaryLanguageCodeSequence
PatientPrimaryLanguageModifierCodeSequence PatientReligiousPreference PatientSexNeutered
PatientSize PatientState PatientTelephoneNumbers PatientTransportArrangements PatientWeight
PerformedLocation PerformedProcedureStepDescription PerformedProcedureStepEndDate
PerformedProcedureStepEndTime PerformedProcedureStepID PerformedProcedureStepStartDate
PerformedProcedureStepStartTime PerformedStationAETitle
PerformedStationGeographicLocationCodeSequence PerformedStationName
PerformedStationNameCodeSequence PerformingPhysicianIdentificationSequence
PerformingPhysicianName PersonAddress PersonIdentificationCodeSequence PersonTelephoneNumbers
PhysicianApprovingInterpretation PhysiciansOfRecord PhysiciansOfRecordIdentificationSequence
PhysiciansReadingStudyIdentificationSequence PlateID PreMedication PregnancyStatus
ReasonForTheImagingServiceRequest ReasonForStudy ReferencedDigitalSignatureSequence
ReferencedPatientAliasSequence ReferencedPatientSequence ReferencedSOPInstanceMACSequence
ReferringPhysicianAddress ReferringPhysicianIdentificationSequence
ReferringPhysicianTelephoneNumbers RegionOfResidence RequestAttributesSequence
RequestedContrastAgent RequestedProcedureComments RequestedProcedureDescription
RequestedProcedureID RequestedProcedureLocation RequestingPhysician RequestingService
ResponsibleOrganization ResponsiblePerson ResultsComments ResultsDistributionListSequence
ResultsIDIssuer ScheduledHumanPerformersSequence ScheduledPatientInstitutionResidence
ScheduledPerformingPhysicianIdentificationSequence ScheduledPerformingPhysicianName
ScheduledProcedureStepDescription ScheduledProcedureStepEndDate ScheduledProcedureStepEndTime
ScheduledProcedureStepID ScheduledProcedureStepLocation ScheduledProcedureStepStartDate
ScheduledProcedureStepStartTime ScheduledStationAETitle
ScheduledStationGeographicLocationCodeSequence ScheduledStationName
ScheduledStationNameCodeSequence ScheduledStudyLocation ScheduledStudyLocationAETitle
ServiceEpisodeDescription ServiceEpisodeID SmokingStatus SpecialNeeds StationName StudyComments
StudyIDIssuer TextComments TextString TopicAuthor TopicKeywords TopicSubject TopicTitle
VerifyingOrganization VisitComments AcquisitionDate AcquisitionDateTime AcquisitionTime
SeriesDate SeriesTime OverlayDate OverlayTime InstanceCreationDate InstanceCreationTime
StudyDescription? SeriesDescription? ProtocolName? ReferencedStudySequence?
ReferencedPerformedProcedureStepSequence?
"""
_EMPTIED = """
AccessionNumber ContentCreatorName FillerOrderNumberImagingServiceRequest PatientBirthDate
PatientID PatientName PatientSex PlacerOrderNumberImagingServiceRequest ReferringPhysicianName
StudyDate StudyID StudyTime ContentDate ContentTime VerifyingObserverName PersonName
ConsultingPhysicianName
"""
_DESCRIPTORS = """
StudyDescription SeriesDescription ProtocolName ImageComments AcquisitionComments
AdditionalPatientHistory DerivationDescription FrameComments ImagingServiceRequestComments
InterpretationText PatientComments PerformedProcedureStepDescription
RequestedProcedureDescription ResultsComments ScheduledProcedureStepDescription StudyComments
TextComments TextString VisitComments ContributionDescription
AcquisitionDeviceProcessingDescription ReasonForStudy ReasonForTheImagingServiceRequest
RequestedProcedureComments ServiceEpisodeDescription TopicSubject TopicTitle
"""
"""Texts the Clean Descriptors option keeps (cleaned) instead of removing them."""
_TEMPORAL_VRS = {"DA", "TM", "DT"}


def _words(text: str) -> list[str]:
    return [word.rstrip("?") for word in text.split()]


PROFILE: dict[str, str] = {keyword: "X" for keyword in _words(_REMOVED)}
PROFILE.update({keyword: "Z" for keyword in _words(_EMPTIED)})
DESCRIPTORS = frozenset(_words(_DESCRIPTORS))


@dataclass(frozen=True, slots=True)
class Options:
    """Profile options (PS3.15 E.3) applied on top of the Basic Profile."""

    retain_longitudinal_temporal: bool = False
    clean_descriptors: bool = False
    retain_uids: bool = False

    def codes(self) -> list[tuple[str, str]]:
        """(code value, meaning) of CID 7050 for the profile and each option applied."""
        applied = [("113100", "Basic Application Confidentiality Profile")]
        if self.clean_descriptors:
            applied.append(("113105", "Clean Descriptors Option"))
        if self.retain_longitudinal_temporal:
            applied.append(("113106", "Retain Longitudinal Temporal Information Full Dates Option"))
        if self.retain_uids:
            applied.append(("113110", "Retain UIDs Option"))
        return applied


@dataclass(slots=True)
class Deidentifier:
    """De-identifies data sets, remapping UIDs and patient IDs consistently across calls."""

    options: Options = field(default_factory=Options)
    safe_private: frozenset[tuple[str, int]] = frozenset()
    uids: dict[str, str] = field(default_factory=dict)
    patients: dict[str, str] = field(default_factory=dict)

    def new_uid(self, uid: str) -> str:
        """The replacement of ``uid`` in this run (made on first use)."""
        uid = uid.strip().rstrip("\x00")
        if uid.startswith(STANDARD_UID_ROOT) or not uid or self.options.retain_uids:
            return uid
        if uid not in self.uids:
            self.uids[uid] = generate_uid(prefix="2.25.")
        return self.uids[uid]

    def pseudonym(self, patient_id: str) -> str:
        """The patient's stand-in Patient ID in this run (the name is emptied)."""
        if patient_id not in self.patients:
            self.patients[patient_id] = f"ANON{len(self.patients) + 1:06d}"
        return self.patients[patient_id]

    def __call__(self, dataset: Dataset) -> Dataset:
        """``dataset`` de-identified (changed in place, and returned)."""
        identity = _identity_words(dataset)
        pseudonym = self.pseudonym(str(dataset.get("PatientID", "")))
        self._clean(dataset, identity)
        dataset.PatientID = pseudonym
        dataset.PatientName = ""
        meta = getattr(dataset, "file_meta", None)
        if meta is not None and "MediaStorageSOPInstanceUID" in meta:
            meta.MediaStorageSOPInstanceUID = self.new_uid(str(meta.MediaStorageSOPInstanceUID))
        dataset.PatientIdentityRemoved = "YES"
        dataset.LongitudinalTemporalInformationModified = (
            "UNMODIFIED" if self.options.retain_longitudinal_temporal else "REMOVED"
        )
        codes = self.options.codes()
        dataset.DeidentificationMethod = "; ".join(meaning for _, meaning in codes)[:64]
        sequence = Sequence()
        for value, meaning in codes:
            item = Dataset()
            item.CodeValue = value
            item.CodingSchemeDesignator = "DCM"
            item.CodeMeaning = meaning
            sequence.append(item)
        dataset.DeidentificationMethodCodeSequence = sequence
        return dataset

    def _clean(self, dataset: Dataset, identity: list[str]) -> None:
        private_creators = _private_creators(dataset)
        for element in list(dataset):
            tag = element.tag
            if tag.is_private:
                if not self._private_kept(private_creators, tag.group, tag.element):
                    del dataset[tag]
                continue
            if 0x5000 <= tag.group <= 0x50FF or (
                0x6000 <= tag.group <= 0x60FF and tag.element in (0x0022, 0x4000)
            ):
                del dataset[tag]  # curves; overlay descriptions and comments
                continue
            self._apply(dataset, element, identity)

    def _private_kept(self, creators: dict[tuple[int, int], str], group: int, element: int) -> bool:
        """Whether a private element is safe-listed (or the creator of one that is)."""
        if 0x10 <= element <= 0xFF:
            creator = creators.get((group, element), "")
            return any(name == creator for name, _element in self.safe_private)
        creator = creators.get((group, element >> 8), "")
        return element >= 0x1000 and (creator, element & 0xFF) in self.safe_private

    def _apply(self, dataset: Dataset, element: DataElement, identity: list[str]) -> None:
        keyword = element.keyword
        action = PROFILE.get(keyword, "K")
        if keyword in DESCRIPTORS and self.options.clean_descriptors:
            if element.value and isinstance(element.value, str):
                element.value = _without(element.value, identity)
            return
        temporal = element.VR in _TEMPORAL_VRS
        if temporal and self.options.retain_longitudinal_temporal and action in ("X", "Z"):
            return
        if action == "X":
            del dataset[element.tag]
            return
        if action == "Z":
            element.value = None
            return
        if element.VR == "UI" and element.value:
            values = element.value if element.VM > 1 else [element.value]
            replaced = [self.new_uid(str(value)) for value in values]
            element.value = replaced if element.VM > 1 else replaced[0]
            return
        if element.VR == "SQ":
            for item in element.value:
                self._clean(item, identity)
            return
        if element.VR == "PN" and element.value:
            element.value = None  # names of people the table does not list


def _private_creators(dataset: Dataset) -> dict[tuple[int, int], str]:
    creators: dict[tuple[int, int], str] = {}
    for element in dataset:
        tag = element.tag
        if tag.is_private and 0x10 <= tag.element <= 0xFF:
            creators[(tag.group, tag.element)] = str(element.value)
    return creators


def _identity_words(dataset: Dataset) -> list[str]:
    """Names and IDs of the patient, to cut out of cleaned descriptors."""
    words = [str(dataset.get("PatientID", ""))]
    words += [str(part) for part in re.split(r"[\^= ]", str(dataset.get("PatientName", "")))]
    words += [str(dataset.get("OtherPatientNames", ""))]
    return sorted({word for word in words if len(word) > 1}, key=len, reverse=True)


def _without(text: str, words: Iterable[str]) -> str:
    for word in words:
        text = re.sub(re.escape(word), "", text, flags=re.IGNORECASE)
    return text.strip()


def burned_in(dataset: Dataset) -> bool:
    """True when the object says identifying text is burned into its pixels."""
    return str(dataset.get("BurnedInAnnotation", "")).upper() == "YES"


def deidentify(dataset: Dataset, options: Options | None = None) -> Dataset:
    """One data set de-identified on its own (UIDs remapped only within this call)."""
    return Deidentifier(options or Options())(dataset)
