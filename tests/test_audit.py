"""The audit trail (PS3.15 A.5, IHE ATNA): each event from the real action, over real sockets.

Every message is checked for what the DICOM audit message schema requires
(element and attribute presence and code values; no schema is fetched).
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import socket
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import httpx
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.filereader import read_dataset
from pydicom.uid import ImplicitVRLittleEndian, generate_uid
from pynetdicom import AE, build_role, evt
from pynetdicom.sop_class import (
    CTImageStorage,
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelGet,
)

from conftest import corpus_file, free_port, make_settings, vesalius
from vesalius.app import Node
from vesalius.archive.users import Users
from vesalius.audit import messages
from vesalius.audit.messages import Participant, Source, Study
from vesalius.audit.trail import AuditTrail, log_path, read_log
from vesalius.settings import Settings

CT = "pydicom/test_files/dicomdirtests/77654033/CT2/17106"
ACTIONS = {"C", "R", "U", "D", "E"}
OUTCOMES = {"0", "4", "8", "12"}


# -- what PS3.15 A.5.1 requires of every message --------------------------------


def check_code(element: ET.Element | None, code: str | None = None) -> None:
    assert element is not None
    assert element.get("csd-code")
    assert element.get("codeSystemName")
    assert element.get("originalText")
    if code is not None:
        assert element.get("csd-code") == code, ET.tostring(element)


def check_message(xml: str, event_id: str, *, action: str | None = None) -> ET.Element:
    """The required parts of an AuditMessage; its root element."""
    assert "\n" not in xml
    root = ET.fromstring(xml)
    assert root.tag == "AuditMessage"
    identification = root.find("EventIdentification")
    assert identification is not None
    assert identification.get("EventActionCode") in ACTIONS
    if action is not None:
        assert identification.get("EventActionCode") == action
    assert identification.get("EventOutcomeIndicator") in OUTCOMES
    when = dt.datetime.fromisoformat(identification.get("EventDateTime", ""))
    assert when.tzinfo is not None
    check_code(identification.find("EventID"), event_id)
    participants = root.findall("ActiveParticipant")
    assert participants
    for participant in participants:
        assert participant.get("UserID")
        assert participant.get("UserIsRequestor") in ("true", "false")
        if participant.get("NetworkAccessPointID"):
            assert participant.get("NetworkAccessPointTypeCode") in ("1", "2")
        if participant.find("RoleIDCode") is not None:
            check_code(participant.find("RoleIDCode"))
    source = root.find("AuditSourceIdentification")
    assert source is not None and source.get("AuditSourceID")
    for obj in root.findall("ParticipantObjectIdentification"):
        assert obj.get("ParticipantObjectID")
        assert obj.get("ParticipantObjectTypeCode") in ("1", "2", "3", "4")
        assert obj.get("ParticipantObjectTypeCodeRole")
        check_code(obj.find("ParticipantObjectIDTypeCode"))
    return root


def role_of(root: ET.Element, user_id: str) -> str:
    for participant in root.findall("ActiveParticipant"):
        if participant.get("UserID") == user_id:
            role = participant.find("RoleIDCode")
            return role.get("csd-code", "") if role is not None else ""
    raise AssertionError(f"no participant {user_id}")


def objects(root: ET.Element, id_type: str) -> list[ET.Element]:
    return [
        o
        for o in root.findall("ParticipantObjectIdentification")
        if o.find("ParticipantObjectIDTypeCode").get("csd-code") == id_type  # type: ignore[union-attr]
    ]


def logged(settings: Settings, event: str | None = None) -> list[str]:
    """The XML of the logged messages, oldest first."""
    return [e.xml for e in reversed(read_log(log_path(settings), limit=1000, event=event))]


def ct(study: str | None = None) -> Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dataset = pydicom.dcmread(corpus_file(CT))
    dataset.SOPInstanceUID = generate_uid()
    if study:
        dataset.StudyInstanceUID = study
    return dataset


def scu(calling: str = "MODALITY") -> AE:
    ae = AE(ae_title=calling)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 10
    ae.add_requested_context(CTImageStorage)
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
    return ae


# -- the messages themselves --------------------------------------------------------


def test_every_builder_makes_a_complete_message() -> None:
    source = Source("VESALIUS", "127.0.0.1")
    caller = Participant("MODALITY", True, "10.0.0.5")
    us = Participant("VESALIUS", False, "127.0.0.1")
    study = Study("1.2.3", "P1", "DOE^JANE", {"1.2.840.10008.5.1.4.1.1.2": 3})
    built = [
        (messages.application_activity(source, started=True, launcher="root"), "110100"),
        (messages.user_authentication(source, "ann", "10.0.0.5", login=True), "110114"),
        (messages.instances_transferred(source, caller, us, [study], action="C"), "110104"),
        (messages.instances_accessed(source, caller, [study], action="D"), "110103"),
        (messages.query(source, caller, us, "1.2.840.10008.5.1.4.1.2.2.1", b"\x08\x00"), "110112"),
        (messages.export(source, caller, "file:///tmp/out", [study]), "110106"),
        (messages.security_alert(source, messages.NODE_AUTHENTICATION, "X", "why"), "110113"),
    ]
    for message, code in built:
        check_message(message.xml, code)
    transferred = ET.fromstring(built[2][0].xml)
    assert role_of(transferred, "MODALITY") == "110153"
    assert role_of(transferred, "VESALIUS") == "110152"
    (study_object,) = objects(transferred, "110180")
    assert study_object.get("ParticipantObjectTypeCode") == "2"
    assert study_object.get("ParticipantObjectTypeCodeRole") == "3"
    sop_class = study_object.find("SOPClass")
    assert sop_class is not None and sop_class.get("NumberOfInstances") == "3"
    (patient,) = objects(transferred, "2")
    assert patient.get("ParticipantObjectID") == "P1"
    assert (
        patient.get("ParticipantObjectTypeCode"),
        patient.get("ParticipantObjectTypeCodeRole"),
    ) == ("1", "1")
    query = ET.fromstring(built[4][0].xml)
    text = query.find("ParticipantObjectIdentification/ParticipantObjectQuery")
    assert text is not None and base64.b64decode(text.text or "") == b"\x08\x00"


# -- DIMSE: start, C-STORE, C-FIND, stop; a refused association ------------------------


def test_a_node_audits_start_c_store_c_find_and_stop(settings: Settings) -> None:
    study = generate_uid()
    with Node(settings) as node:
        assoc = scu().associate("127.0.0.1", node.dicom_port, ae_title="VESALIUS")
        assert assoc.is_established
        for _ in range(3):
            assert assoc.send_c_store(ct(study)).Status == 0x0000
        assoc.release()
        query = Dataset()
        query.QueryRetrieveLevel = "STUDY"
        query.StudyInstanceUID = study
        query.PatientID = ""
        assoc = scu().associate("127.0.0.1", node.dicom_port, ae_title="VESALIUS")
        answers = list(assoc.send_c_find(query, StudyRootQueryRetrieveInformationModelFind))
        assert len(answers) == 2
        assoc.release()
    xmls = logged(settings)
    events = [ET.fromstring(x).find("EventIdentification/EventID").get("csd-code") for x in xmls]  # type: ignore[union-attr]
    assert events[0] == "110100" and events[-1] == "110100"
    start, stop = ET.fromstring(xmls[0]), ET.fromstring(xmls[-1])
    check_code(start.find("EventIdentification/EventTypeCode"), "110120")
    check_code(stop.find("EventIdentification/EventTypeCode"), "110121")
    assert role_of(start, "VESALIUS") == "110150"

    (transferred,) = logged(settings, "instances-transferred")
    root = check_message(transferred, "110104", action="C")
    assert role_of(root, "MODALITY") == "110153"
    assert role_of(root, "VESALIUS") == "110152"
    (study_object,) = objects(root, "110180")
    assert study_object.get("ParticipantObjectID") == study
    (sop_class,) = study_object.findall("SOPClass")
    assert sop_class.get("UID") == CTImageStorage
    assert sop_class.get("NumberOfInstances") == "3"
    (patient,) = objects(root, "2")
    assert patient.get("ParticipantObjectID") == ct().PatientID

    (queried,) = logged(settings, "query")
    root = check_message(queried, "110112", action="E")
    assert role_of(root, "MODALITY") == "110153"
    (query_object,) = root.findall("ParticipantObjectIdentification")
    assert query_object.get("ParticipantObjectID") == StudyRootQueryRetrieveInformationModelFind
    assert query_object.get("ParticipantObjectTypeCodeRole") == "24"
    raw = base64.b64decode(query_object.findtext("ParticipantObjectQuery") or "")
    detail = query_object.find("ParticipantObjectDetail")
    assert detail is not None and detail.get("type") == "TransferSyntax"
    syntax = base64.b64decode(detail.get("value", "")).decode()
    implicit = syntax == ImplicitVRLittleEndian
    identifier = read_dataset(io.BytesIO(raw), is_implicit_VR=implicit, is_little_endian=True)
    assert identifier.StudyInstanceUID == study


def test_an_association_refused_by_ae_policy_is_a_security_alert(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", dicom={"accept_unknown_callers": False})
    with Node(settings) as node:
        assoc = scu("STRANGER").associate("127.0.0.1", node.dicom_port, ae_title="VESALIUS")
        assert assoc.is_rejected
    (alert,) = logged(settings, "security-alert")
    root = check_message(alert, "110113", action="E")
    check_code(root.find("EventIdentification/EventTypeCode"), "110126")
    assert root.find("EventIdentification").get("EventOutcomeIndicator") == "4"  # type: ignore[union-attr]
    (subject,) = root.findall("ParticipantObjectIdentification")
    assert subject.get("ParticipantObjectID") == "STRANGER"


# -- HTTP: logins, QIDO, WADO, STOW, refusals, /api/audit ------------------------------


@pytest.fixture
def users_node(tmp_path: Path) -> Iterator[tuple[Node, dict[str, str]]]:
    settings = make_settings(tmp_path / "data", http={"port": 0, "host": "127.0.0.1"})
    with Node(settings, http=True) as node:
        users = Users(node.archive.index)
        tokens = {}
        for role in ("viewer", "operator", "admin"):
            users.add(role, f"{role}-password", role)
            tokens[role] = users.issue_token(role)
        yield node, tokens


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def stow_body(*datasets: Dataset) -> tuple[bytes, str]:
    boundary = "audit-boundary"
    body = b""
    for dataset in datasets:
        buffer = io.BytesIO()
        dataset.save_as(buffer, enforce_file_format=True)
        body += f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode()
        body += buffer.getvalue() + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return body, f'multipart/related; type="application/dicom"; boundary={boundary}'


def test_http_logins_queries_reads_stores_and_refusals_are_audited(
    users_node: tuple[Node, dict[str, str]],
) -> None:
    node, tokens = users_node
    base = node.base_url
    settings = node.settings
    # logins: one good, one bad, and a logout
    with httpx.Client(base_url=base) as browser:
        assert (
            browser.post("/api/session", json={"name": "viewer", "password": "nope"}).status_code
            == 401
        )
        answer = browser.post(
            "/api/session", json={"name": "viewer", "password": "viewer-password"}
        )
        assert answer.status_code == 200
        # a state-changing request with the cookie but no CSRF token
        assert browser.post("/api/worklist", json={"PatientID": "X"}).status_code == 403
        assert (
            browser.delete(
                "/api/session", headers={"X-CSRF-Token": answer.json()["csrf_token"]}
            ).status_code
            == 204
        )
    logins = [
        check_message(x, "110114", action="E") for x in logged(settings, "user-authentication")
    ]
    assert [m.find("EventIdentification/EventTypeCode").get("csd-code") for m in logins] == [  # type: ignore[union-attr]
        "110122",
        "110122",
        "110123",
    ]
    assert [m.find("EventIdentification").get("EventOutcomeIndicator") for m in logins] == [
        "4",
        "0",
        "0",
    ]  # type: ignore[union-attr]
    assert all(m.find("ActiveParticipant").get("UserID") == "viewer" for m in logins)  # type: ignore[union-attr]
    alerts = [check_message(x, "110113") for x in logged(settings, "security-alert")]
    assert len(alerts) == 2  # the failed login and the missing CSRF token
    assert any("/api/worklist" in ET.tostring(a, encoding="unicode") for a in alerts)

    # STOW-RS: one message for the request, both instances under their study
    study = generate_uid()
    body, content_type = stow_body(ct(study), ct(study))
    stored = httpx.post(
        f"{base}/dicomweb/studies",
        content=body,
        headers={
            **bearer(tokens["operator"]),
            "Content-Type": content_type,
            "Accept": "application/dicom+json",
        },
    )
    assert stored.status_code == 200, stored.text
    (transferred,) = logged(settings, "instances-transferred")
    root = check_message(transferred, "110104", action="C")
    assert role_of(root, "operator") == "110153"
    (study_object,) = objects(root, "110180")
    assert study_object.get("ParticipantObjectID") == study
    assert study_object.find("SOPClass").get("NumberOfInstances") == "2"  # type: ignore[union-attr]

    # QIDO-RS: a query with the query string
    viewer = bearer(tokens["viewer"])
    assert (
        httpx.get(
            f"{base}/dicomweb/studies", params={"StudyInstanceUID": study}, headers=viewer
        ).status_code
        == 200
    )
    (queried,) = logged(settings, "query")
    root = check_message(queried, "110112")
    raw = base64.b64decode(
        root.findtext("ParticipantObjectIdentification/ParticipantObjectQuery") or ""
    )
    assert study.encode() in raw

    # WADO-RS and WADO-URI reads of one study: one Accessed message
    for _ in range(3):
        assert (
            httpx.get(f"{base}/dicomweb/studies/{study}/metadata", headers=viewer).status_code
            == 200
        )
    instance = ct(study)
    assert (
        httpx.get(
            f"{base}/wado",
            params={
                "requestType": "WADO",
                "studyUID": study,
                "seriesUID": instance.SeriesInstanceUID,
                "objectUID": "1.2.3",
            },
            headers=viewer,
        ).status_code
        == 404
    )
    (accessed,) = logged(settings, "instances-accessed")
    root = check_message(accessed, "110103", action="R")
    assert objects(root, "110180")[0].get("ParticipantObjectID") == study
    assert objects(root, "2")[0].get("ParticipantObjectID") == instance.PatientID

    # deletion: Accessed with action D
    assert (
        httpx.delete(f"{base}/api/studies/{study}", headers=bearer(tokens["admin"])).status_code
        == 204
    )
    deleted = [check_message(x, "110103") for x in logged(settings, "instances-accessed")][-1]
    assert deleted.find("EventIdentification").get("EventActionCode") == "D"  # type: ignore[union-attr]

    # /api/audit: admins only, newest first, filters
    assert httpx.get(f"{base}/api/audit").status_code == 401
    for role in ("viewer", "operator"):
        assert httpx.get(f"{base}/api/audit", headers=bearer(tokens[role])).status_code == 403
    admin = bearer(tokens["admin"])
    everything = httpx.get(f"{base}/api/audit", headers=admin, params={"limit": 1000})
    assert everything.status_code == 200
    entries = everything.json()
    times = [e["time"] for e in entries]
    assert times == sorted(times, reverse=True)
    assert entries[-1]["event"] == "application-activity"
    assert {"query", "instances-transferred", "user-authentication"} <= {
        e["event"] for e in entries
    }
    # the refused /api/audit requests above were themselves security alerts
    assert sum(e["event"] == "security-alert" for e in entries) == 4
    only = httpx.get(f"{base}/api/audit", headers=admin, params={"event": "110112"}).json()
    assert [e["event"] for e in only] == ["query"]
    check_message(only[0]["xml"], "110112")
    page = httpx.get(f"{base}/api/audit", headers=admin, params={"limit": 2, "offset": 1}).json()
    assert [e["xml"] for e in page] == [e["xml"] for e in entries[1:3]]
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    assert httpx.get(f"{base}/api/audit", headers=admin, params={"since": future}).json() == []
    assert (
        httpx.get(f"{base}/api/audit", headers=admin, params={"since": "soon"}).status_code == 400
    )


# -- the collector -------------------------------------------------------------------


def test_messages_reach_a_udp_syslog_collector_as_rfc_5424(tmp_path: Path) -> None:
    collector = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    collector.bind(("127.0.0.1", 0))
    collector.settimeout(10)
    port = collector.getsockname()[1]
    settings = make_settings(
        tmp_path / "data", audit={"syslog_host": "127.0.0.1", "syslog_port": port}
    )
    try:
        with Node(settings) as node:
            assoc = scu().associate("127.0.0.1", node.dicom_port, ae_title="VESALIUS")
            assert assoc.send_c_store(ct()).Status == 0x0000
            assoc.release()
        frames = [collector.recvfrom(65536)[0] for _ in range(3)]
    finally:
        collector.close()
    header, _, rest = frames[0].partition(b" \xef\xbb\xbf")
    # RFC 5424: <PRI>VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA MSG
    pri_version, stamp, host, app, pid, msgid, structured = header.decode().split(" ")
    assert pri_version == "<85>1"  # facility authpriv (10), severity notice (5)
    assert (app, msgid, structured) == ("vesalius", "IHE+RFC-3881", "-")
    assert host and pid.isdigit()
    dt.datetime.fromisoformat(stamp)
    check_message(rest.decode(), "110100")
    xmls = [f.partition(b"\xef\xbb\xbf")[2].decode() for f in frames]
    check_message(xmls[1], "110104")
    check_message(xmls[2], "110100")
    assert xmls == logged(settings)


def test_a_collector_that_is_down_fails_no_c_store(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path / "data",
        audit={"syslog_host": "127.0.0.1", "syslog_port": free_port(), "syslog_transport": "tls"},
    )
    with Node(settings) as node:
        assoc = scu().associate("127.0.0.1", node.dicom_port, ae_title="VESALIUS")
        for _ in range(2):
            assert assoc.send_c_store(ct()).Status == 0x0000
        assoc.release()
        node_trail: AuditTrail = node.audit
    assert node_trail.syslog is not None and node_trail.syslog.sent == 0
    check_message(logged(settings, "instances-transferred")[0], "110104")


def test_a_disabled_trail_writes_nothing(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", audit={"enabled": False})
    with Node(settings) as node:
        assoc = scu().associate("127.0.0.1", node.dicom_port, ae_title="VESALIUS")
        assert assoc.send_c_store(ct()).Status == 0x0000
        assoc.release()
    assert not log_path(settings).exists()


def test_vesalius_export_is_audited(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    study = generate_uid()
    with Node(settings) as node:
        for _ in range(2):
            buffer = io.BytesIO()
            ct(study).save_as(buffer, enforce_file_format=True)
            node.archive.store_file(buffer.getvalue())
    out = tmp_path / "out"
    done = vesalius(
        "export", "--data-dir", str(settings.data_dir), "--study", study,
        "--format", "dicomdir", "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    (exported,) = logged(settings, "export")
    root = check_message(exported, "110106", action="R")
    assert role_of(root, out.resolve().as_uri()) == "110154"
    (study_object,) = objects(root, "110180")
    assert study_object.get("ParticipantObjectID") == study
    assert objects(root, "2")[0].get("ParticipantObjectID") == ct().PatientID


def test_a_c_get_is_audited_as_instances_sent(settings: Settings) -> None:
    study = generate_uid()
    received: list[str] = []

    def on_store(event: evt.Event) -> int:
        received.append(event.request.AffectedSOPInstanceUID)
        return 0x0000

    with Node(settings) as node:
        assoc = scu().associate("127.0.0.1", node.dicom_port, ae_title="VESALIUS")
        for _ in range(2):
            assert assoc.send_c_store(ct(study)).Status == 0x0000
        assoc.release()
        ae = AE(ae_title="GETTER")
        ae.add_requested_context(StudyRootQueryRetrieveInformationModelGet)
        ae.add_requested_context(CTImageStorage)
        assoc = ae.associate(
            "127.0.0.1",
            node.dicom_port,
            ae_title="VESALIUS",
            ext_neg=[build_role(CTImageStorage, scp_role=True)],
            evt_handlers=[(evt.EVT_C_STORE, on_store)],
        )
        query = Dataset()
        query.QueryRetrieveLevel = "STUDY"
        query.StudyInstanceUID = study
        statuses = [
            s.Status for s, _ in assoc.send_c_get(query, StudyRootQueryRetrieveInformationModelGet)
        ]
        assoc.release()
    assert statuses[-1] == 0x0000 and len(received) == 2
    sent = [check_message(x, "110104") for x in logged(settings, "instances-transferred")]
    (root,) = [m for m in sent if m.find("EventIdentification").get("EventActionCode") == "R"]  # type: ignore[union-attr]
    assert role_of(root, "VESALIUS") == "110153"
    assert role_of(root, "GETTER") == "110152"
    (study_object,) = objects(root, "110180")
    assert study_object.get("ParticipantObjectID") == study
    assert study_object.find("SOPClass").get("NumberOfInstances") == "2"  # type: ignore[union-attr]
