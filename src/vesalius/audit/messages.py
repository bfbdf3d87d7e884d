"""DICOM Audit Messages (PS3.15 A.5), built as XML.

Each function returns one ``AuditMessage``: the ``AuditMessage`` element of the
DICOM schema (PS3.15 A.5.1), with an ``EventIdentification``, the
``ActiveParticipant`` elements, one ``AuditSourceIdentification`` and the
``ParticipantObjectIdentification`` elements that the event's table in
PS3.15 A.5.3 asks for. Coded values carry ``csd-code``, ``codeSystemName`` and
``originalText`` attributes, as the schema's ``CodedValueType`` says.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace


@dataclass(frozen=True, slots=True)
class Code:
    """A coded value: code, coding scheme and meaning."""

    code: str
    scheme: str
    meaning: str


# EventID (PS3.16 CID 400)
APPLICATION_ACTIVITY = Code("110100", "DCM", "Application Activity")
INSTANCES_ACCESSED = Code("110103", "DCM", "DICOM Instances Accessed")
INSTANCES_TRANSFERRED = Code("110104", "DCM", "DICOM Instances Transferred")
EXPORT = Code("110106", "DCM", "Export")
SECURITY_ALERT = Code("110113", "DCM", "Security Alert")
USER_AUTHENTICATION = Code("110114", "DCM", "User Authentication")
QUERY = Code("110112", "DCM", "Query")

# EventTypeCode (PS3.16 CID 401, 403, 404)
APPLICATION_START = Code("110120", "DCM", "Application Start")
APPLICATION_STOP = Code("110121", "DCM", "Application Stop")
LOGIN = Code("110122", "DCM", "Login")
LOGOUT = Code("110123", "DCM", "Logout")
NODE_AUTHENTICATION = Code("110126", "DCM", "Node Authentication")
USE_OF_RESTRICTED_FUNCTION = Code("110132", "DCM", "Use of Restricted Function")

# RoleIDCode (PS3.16 CID 402)
APPLICATION = Code("110150", "DCM", "Application")
APPLICATION_LAUNCHER = Code("110151", "DCM", "Application Launcher")
DESTINATION = Code("110152", "DCM", "Destination Role ID")
SOURCE = Code("110153", "DCM", "Source Role ID")
DESTINATION_MEDIA = Code("110154", "DCM", "Destination Media")

# ParticipantObjectIDTypeCode
PATIENT_NUMBER = Code("2", "RFC-3881", "Patient Number")
STUDY_INSTANCE_UID = Code("110180", "DCM", "Study Instance UID")
URI = Code("12", "RFC-3881", "URI")
NODE_ID = Code("110182", "DCM", "Node ID")

EVENT_NAMES: dict[str, str] = {
    APPLICATION_ACTIVITY.code: "application-activity",
    INSTANCES_ACCESSED.code: "instances-accessed",
    INSTANCES_TRANSFERRED.code: "instances-transferred",
    EXPORT.code: "export",
    SECURITY_ALERT.code: "security-alert",
    USER_AUTHENTICATION.code: "user-authentication",
    QUERY.code: "query",
}
"""Short names of the events, as ``GET /api/audit?event=`` takes them."""

# EventOutcomeIndicator (PS3.15 A.5.1)
SUCCESS = 0
MINOR_FAILURE = 4
SERIOUS_FAILURE = 8

# ParticipantObjectTypeCode and ...TypeCodeRole (RFC 3881, PS3.15 A.5.1)
PERSON, SYSTEM_OBJECT = "1", "2"
ROLE_PATIENT, ROLE_REPORT, ROLE_SECURITY_RESOURCE, ROLE_QUERY = "1", "3", "13", "24"
IP_ADDRESS, MACHINE_NAME = "2", "1"


@dataclass(frozen=True, slots=True)
class Participant:
    """One ``ActiveParticipant``: a person or process taking part in the event."""

    user_id: str
    requestor: bool
    address: str = ""
    role: Code | None = None
    alternative_id: str = ""
    name: str = ""


@dataclass(frozen=True, slots=True)
class Source:
    """This node as an audit source: its ``AuditSourceID`` and the participant it is."""

    source_id: str
    address: str = ""
    site: str = ""

    def participant(self, *, requestor: bool = False, role: Code | None = None) -> Participant:
        """This application as an active participant (process id as alternative id)."""
        return Participant(
            self.source_id,
            requestor,
            self.address,
            role,
            alternative_id=str(os.getpid()),
        )


@dataclass(slots=True)
class Study:
    """A study taking part in the event, with the SOP classes and instance counts seen."""

    uid: str
    patient_id: str = ""
    patient_name: str = ""
    sop_classes: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AuditMessage:
    """One audit message: its event, when, how it ended, and the XML."""

    event: Code
    action: str
    when: dt.datetime
    outcome: int
    xml: str

    @property
    def event_name(self) -> str:
        """The short name of the event (``EVENT_NAMES``)."""
        return EVENT_NAMES.get(self.event.code, self.event.code)


def _coded(parent: ET.Element, tag: str, code: Code) -> ET.Element:
    return ET.SubElement(
        parent,
        tag,
        {"csd-code": code.code, "codeSystemName": code.scheme, "originalText": code.meaning},
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _b64(data: bytes | str) -> str:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return base64.b64encode(raw).decode("ascii")


def _participant(root: ET.Element, who: Participant) -> None:
    attributes = {"UserID": who.user_id or "unknown"}
    if who.alternative_id:
        attributes["AlternativeUserID"] = who.alternative_id
    if who.name:
        attributes["UserName"] = who.name
    attributes["UserIsRequestor"] = "true" if who.requestor else "false"
    if who.address:
        attributes["NetworkAccessPointID"] = who.address
        numeric = who.address.replace(".", "").replace(":", "").isalnum() and any(
            c.isdigit() for c in who.address
        )
        attributes["NetworkAccessPointTypeCode"] = IP_ADDRESS if numeric else MACHINE_NAME
    element = ET.SubElement(root, "ActiveParticipant", attributes)
    if who.role is not None:
        _coded(element, "RoleIDCode", who.role)


def _object(
    root: ET.Element, object_id: str, type_code: str, role: str, id_type: Code
) -> ET.Element:
    element = ET.SubElement(
        root,
        "ParticipantObjectIdentification",
        {
            "ParticipantObjectID": object_id,
            "ParticipantObjectTypeCode": type_code,
            "ParticipantObjectTypeCodeRole": role,
        },
    )
    _coded(element, "ParticipantObjectIDTypeCode", id_type)
    return element


def _studies(root: ET.Element, studies: Iterable[Study]) -> None:
    """A study object per study (with its SOP classes), then one patient object per patient."""
    patients: dict[str, str] = {}
    for study in studies:
        if study.uid:
            element = _object(root, study.uid, SYSTEM_OBJECT, ROLE_REPORT, STUDY_INSTANCE_UID)
            for sop_class, count in sorted(study.sop_classes.items()):
                attributes = {"UID": sop_class, "NumberOfInstances": str(count)}
                ET.SubElement(element, "SOPClass", attributes)
        if study.patient_id:
            patients.setdefault(study.patient_id, study.patient_name)
    for patient_id, name in patients.items():
        element = _object(root, patient_id, PERSON, ROLE_PATIENT, PATIENT_NUMBER)
        if name:
            ET.SubElement(element, "ParticipantObjectName").text = _one_line(name)


def build(
    event: Code,
    action: str,
    outcome: int,
    source: Source,
    participants: Iterable[Participant],
    *,
    type_code: Code | None = None,
    studies: Iterable[Study] = (),
    extra: Iterable[tuple[str, str, str, Code, Mapping[str, str]]] = (),
    when: dt.datetime | None = None,
) -> AuditMessage:
    """One message. ``extra`` adds other participant objects as (id, type code, role,
    id type, {"query": ..., "detail:NAME": ..., "description": ...}) tuples."""
    when = when or dt.datetime.now(dt.UTC)
    root = ET.Element("AuditMessage")
    identification = ET.SubElement(
        root,
        "EventIdentification",
        {
            "EventActionCode": action,
            "EventDateTime": when.isoformat(timespec="milliseconds"),
            "EventOutcomeIndicator": str(outcome),
        },
    )
    _coded(identification, "EventID", event)
    if type_code is not None:
        _coded(identification, "EventTypeCode", type_code)
    for who in participants:
        _participant(root, who)
    source_attributes = {"AuditSourceID": source.source_id}
    if source.site:
        source_attributes["AuditEnterpriseSiteID"] = source.site
    audit_source = ET.SubElement(root, "AuditSourceIdentification", source_attributes)
    _coded(audit_source, "AuditSourceTypeCode", Code("4", "DCM", "Application Server"))
    _studies(root, studies)
    for object_id, type_code_value, role, id_type, parts in extra:
        element = _object(root, object_id, type_code_value, role, id_type)
        if "query" in parts:
            ET.SubElement(element, "ParticipantObjectQuery").text = parts["query"]
        for key, value in parts.items():
            if key.startswith("detail:"):
                ET.SubElement(element, "ParticipantObjectDetail", {"type": key[7:], "value": value})
        if "description" in parts:
            ET.SubElement(element, "ParticipantObjectDescription").text = _one_line(
                parts["description"]
            )
    xml = ET.tostring(root, encoding="unicode").replace("\n", "&#10;").replace("\r", "&#13;")
    return AuditMessage(event, action, when, outcome, xml)


# -- the events of PS3.15 A.5.3 ----------------------------------------------


def application_activity(source: Source, *, started: bool, launcher: str = "") -> AuditMessage:
    """Application Activity (A.5.3.1): this application started or stopped."""
    participants = [source.participant(role=APPLICATION)]
    if launcher:
        participants.append(Participant(launcher, True, role=APPLICATION_LAUNCHER))
    return build(
        APPLICATION_ACTIVITY,
        "E",
        SUCCESS,
        source,
        participants,
        type_code=APPLICATION_START if started else APPLICATION_STOP,
    )


def user_authentication(
    source: Source, user: str, address: str, *, login: bool, success: bool = True
) -> AuditMessage:
    """User Authentication (A.5.3.13): a login (or a failed one) or a logout."""
    return build(
        USER_AUTHENTICATION,
        "E",
        SUCCESS if success else MINOR_FAILURE,
        source,
        [Participant(user, True, address), source.participant()],
        type_code=LOGIN if login else LOGOUT,
    )


def instances_transferred(
    source: Source,
    sender: Participant,
    receiver: Participant,
    studies: Iterable[Study],
    *,
    action: str,
    outcome: int = SUCCESS,
) -> AuditMessage:
    """DICOM Instances Transferred (A.5.3.6): ``action`` C (created on receipt),
    R (read, sent away) or U (updated); sender has role Source, receiver Destination."""
    return build(
        INSTANCES_TRANSFERRED,
        action,
        outcome,
        source,
        [
            replace(sender, role=SOURCE),
            replace(receiver, role=DESTINATION),
        ],
        studies=studies,
    )


def instances_accessed(
    source: Source,
    who: Participant,
    studies: Iterable[Study],
    *,
    action: str = "R",
    outcome: int = SUCCESS,
) -> AuditMessage:
    """DICOM Instances Accessed (A.5.3.5): read (R), changed (U) or deleted (D) here."""
    return build(INSTANCES_ACCESSED, action, outcome, source, [who], studies=studies)


def query(
    source: Source,
    requester: Participant,
    responder: Participant,
    sop_class_uid: str,
    query_bytes: bytes | str,
    *,
    transfer_syntax_uid: str = "",
    outcome: int = SUCCESS,
) -> AuditMessage:
    """Query (A.5.3.10): the query as received, base64 in ``ParticipantObjectQuery``;
    the requester has role Source, the responder Destination."""
    parts = {"query": _b64(query_bytes)}
    if transfer_syntax_uid:
        parts["detail:TransferSyntax"] = _b64(transfer_syntax_uid)
    return build(
        QUERY,
        "E",
        outcome,
        source,
        [
            replace(requester, requestor=True, role=SOURCE),
            replace(responder, requestor=False, role=DESTINATION),
        ],
        extra=[
            (sop_class_uid, SYSTEM_OBJECT, ROLE_QUERY, Code(sop_class_uid, "DCM", "Query"), parts)
        ],
    )


def export(
    source: Source,
    exporter: Participant,
    media: str,
    studies: Iterable[Study],
    *,
    outcome: int = SUCCESS,
) -> AuditMessage:
    """Export (A.5.3.7): instances written to files or media outside the archive."""
    return build(
        EXPORT,
        "R",
        outcome,
        source,
        [
            Participant(exporter.user_id, True, exporter.address, SOURCE),
            Participant(media, False, role=DESTINATION_MEDIA),
        ],
        studies=studies,
    )


def security_alert(
    source: Source,
    kind: Code,
    subject: str,
    description: str,
    *,
    who: Participant | None = None,
    outcome: int = MINOR_FAILURE,
) -> AuditMessage:
    """Security Alert (A.5.3.11): ``subject`` (a URI or AE title) is what the alert is
    about; ``who`` the person or process that set it off."""
    participants = [source.participant()]
    if who is not None:
        participants.insert(0, who)
    return build(
        SECURITY_ALERT,
        "E",
        outcome,
        source,
        participants,
        type_code=kind,
        extra=[
            (
                subject,
                SYSTEM_OBJECT,
                ROLE_SECURITY_RESOURCE,
                URI,
                {"detail:Alert Description": _b64(description), "description": description},
            )
        ],
    )
