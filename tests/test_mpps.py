"""Modality Performed Procedure Step: create -> set -> complete through a pynetdicom SCU
written here and through our SCU (``vesalius mpps``); illegal transitions refused with
their statuses; the worklist item follows; the completion message reaches an MLLP
listener run by the test (the ``hl7`` package parses it and builds its ACK)."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hl7
import httpx
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from pynetdicom import AE
from pynetdicom.sop_class import ModalityPerformedProcedureStep

from conftest import make_settings, vesalius, wait_for
from vesalius.app import Node
from vesalius.archive import worklist

pytestmark = pytest.mark.both_databases

ITEM = {
    "PatientName": "DOE^JOHN",
    "PatientID": "P1",
    "AccessionNumber": "ACC1",
    "Modality": "CT",
    "ScheduledStationAETitle": "CT_ROOM1",
    "ScheduledProcedureStepStartDate": "20240315",
    "ScheduledProcedureStepID": "SPS1",
    "RequestedProcedureDescription": "CT head",
    "PlacerOrderNumberImagingServiceRequest": "PO1",
    "FillerOrderNumberImagingServiceRequest": "FO1",
}


class RisListener(socketserver.ThreadingTCPServer):
    """An MLLP listener standing for the RIS: records each message, answers AE to the first
    ``refuse`` ones and AA after."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, refuse: int = 0) -> None:
        self.received: list[hl7.Message] = []
        self.refuse = refuse
        super().__init__(("127.0.0.1", 0), _RisConnection)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _RisConnection(socketserver.BaseRequestHandler):
    server: RisListener

    def handle(self) -> None:
        buffer = b""
        while True:
            data = self.request.recv(65536)
            if not data:
                return
            buffer += data
            while b"\x1c\r" in buffer:
                frame, buffer = buffer.split(b"\x1c\r", 1)
                message = hl7.parse(frame.lstrip(b"\x0b").decode("utf-8"))
                self.server.received.append(message)
                code = "AE" if len(self.server.received) <= self.server.refuse else "AA"
                ack = str(message.create_ack(code)).encode("utf-8")
                self.request.sendall(b"\x0b" + ack + b"\x1c\r")


@pytest.fixture
def ris() -> Iterator[RisListener]:
    listener = RisListener()
    yield listener
    listener.stop()


def workflow_node(tmp_path: Path, ris_port: int, **hl7_settings: Any) -> Node:
    hl7_section = {
        "ris_host": "127.0.0.1",
        "ris_port": ris_port,
        "retry_interval_s": 0.2,
        "ack_timeout_s": 5,
        **hl7_settings,
    }
    settings = make_settings(
        tmp_path / "data", http={"port": 0, "host": "127.0.0.1"}, hl7=hl7_section
    )
    return Node(settings, http=True)


@pytest.fixture
def node(tmp_path: Path, ris: RisListener) -> Iterator[Node]:
    with workflow_node(tmp_path, ris.port) as running:
        running.item = worklist.add(running.archive, ITEM)  # type: ignore[attr-defined]
        yield running


# -- a pynetdicom SCU, written here ------------------------------------------------------
def creation(study_uid: str, step_id: str = "SPS1", status: str = "IN PROGRESS") -> Dataset:
    """N-CREATE attributes as a modality sends them (PS3.4 Table F.7.2-1)."""
    ds = Dataset()
    scheduled = Dataset()
    scheduled.StudyInstanceUID = study_uid
    scheduled.AccessionNumber = "ACC1"
    scheduled.RequestedProcedureID = "ACC1"
    scheduled.ScheduledProcedureStepID = step_id
    scheduled.ReferencedStudySequence = []
    ds.ScheduledStepAttributesSequence = [scheduled]
    ds.PatientName = "DOE^JOHN"
    ds.PatientID = "P1"
    ds.PatientBirthDate = ""
    ds.PatientSex = ""
    ds.ReferencedPatientSequence = []
    ds.PerformedProcedureStepID = "PPS-1"
    ds.PerformedStationAETitle = "CT_ROOM1"
    ds.PerformedStationName = ""
    ds.PerformedLocation = ""
    ds.PerformedProcedureStepStartDate = "20240315"
    ds.PerformedProcedureStepStartTime = "101500"
    ds.PerformedProcedureStepStatus = status
    ds.PerformedProcedureStepDescription = "CT head"
    ds.PerformedProcedureTypeDescription = ""
    ds.ProcedureCodeSequence = []
    ds.PerformedProcedureStepEndDate = None
    ds.PerformedProcedureStepEndTime = None
    ds.Modality = "CT"
    ds.StudyID = ""
    ds.PerformedProtocolCodeSequence = []
    ds.PerformedSeriesSequence = []
    return ds


def completion(status: str = "COMPLETED", end: bool = True) -> Dataset:
    ds = Dataset()
    ds.PerformedProcedureStepStatus = status
    if end:
        ds.PerformedProcedureStepEndDate = "20240315"
        ds.PerformedProcedureStepEndTime = "103000"
    series = Dataset()
    series.SeriesInstanceUID = generate_uid()
    series.SeriesDescription = "axial"
    series.PerformingPhysicianName = ""
    series.OperatorsName = ""
    series.ProtocolName = "HEAD"
    series.RetrieveAETitle = ""
    image = Dataset()
    image.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    image.ReferencedSOPInstanceUID = generate_uid()
    series.ReferencedImageSequence = [image]
    series.ReferencedNonImageCompositeSOPInstanceSequence = []
    ds.PerformedSeriesSequence = [series]
    return ds


class Modality:
    """One association of a pynetdicom MPPS SCU to the node."""

    def __init__(self, node: Node) -> None:
        ae = AE(ae_title="CT_ROOM1")
        ae.add_requested_context(ModalityPerformedProcedureStep)
        self.assoc = ae.associate("127.0.0.1", node.dicom_port, ae_title="VESALIUS")
        assert self.assoc.is_established

    def create(self, attributes: Dataset, uid: str) -> Dataset:
        status, _ = self.assoc.send_n_create(attributes, ModalityPerformedProcedureStep, uid)
        return status

    def set(self, modifications: Dataset, uid: str) -> Dataset:
        status, _ = self.assoc.send_n_set(modifications, ModalityPerformedProcedureStep, uid)
        return status

    def close(self) -> None:
        self.assoc.release()


@pytest.fixture
def modality(node: Node) -> Iterator[Modality]:
    scu = Modality(node)
    yield scu
    scu.close()


def item_status(node: Node) -> str:
    return worklist.get(node.archive, node.item.id).status  # type: ignore[attr-defined]


def test_create_set_complete_moves_the_item_and_tells_the_ris(
    node: Node, modality: Modality, ris: RisListener
) -> None:
    study = node.item.fields["StudyInstanceUID"]  # type: ignore[attr-defined]
    uid = generate_uid()
    assert modality.create(creation(study), uid).Status == 0x0000
    assert item_status(node) == "IN PROGRESS"
    assert worklist.get(node.archive, node.item.id).mpps_uid == uid  # type: ignore[attr-defined]
    described = Dataset()
    described.PerformedProcedureStepDescription = "CT head, re-done"
    assert modality.set(described, uid).Status == 0x0000
    assert item_status(node) == "IN PROGRESS"
    assert ris.received == []  # nothing to tell until the step ends
    assert modality.set(completion(), uid).Status == 0x0000
    assert item_status(node) == "COMPLETED"
    wait_for(lambda: len(ris.received) == 1)
    message = ris.received[0]
    assert str(message.segment("MSH")(9)) == "ORM^O01^ORM_O01"
    orc = message.segment("ORC")
    assert (str(orc(1)), str(orc(2)), str(orc(3)), str(orc(5))) == ("SC", "PO1", "FO1", "CM")
    assert str(message.segment("OBR")(18)) == "ACC1"
    assert message.extract_field("PID", 1, 3, 1, 1) == "P1"
    assert message.extract_field("ZDS", 1, 1, 1, 1) == study
    with httpx.Client(base_url=node.base_url) as client:
        wait_for(
            lambda: client.get("/api/jobs", params={"kind": "hl7"}).json()[0]["state"] == "done"
        )
        [job] = client.get("/api/jobs", params={"kind": "hl7"}).json()
    assert job["result"]["message_control_id"] == str(message.segment("MSH")(10))


def test_a_discontinued_step_discontinues_the_item(
    node: Node, modality: Modality, ris: RisListener
) -> None:
    study = node.item.fields["StudyInstanceUID"]  # type: ignore[attr-defined]
    uid = generate_uid()
    assert modality.create(creation(study), uid).Status == 0
    assert modality.set(completion("DISCONTINUED"), uid).Status == 0
    assert item_status(node) == "DISCONTINUED"
    wait_for(lambda: len(ris.received) == 1)
    assert str(ris.received[0].segment("ORC")(5)) == "DC"


def test_illegal_requests_are_refused_with_their_statuses(
    node: Node, modality: Modality, ris: RisListener
) -> None:
    study = node.item.fields["StudyInstanceUID"]  # type: ignore[attr-defined]
    uid = generate_uid()
    refused = modality.create(creation(study, status="COMPLETED"), uid)
    assert refused.Status == 0x0106 and "IN PROGRESS" in refused.ErrorComment
    missing = creation(study)
    del missing.PerformedProcedureStepID
    assert modality.create(missing, uid).Status == 0x0120
    empty = creation(study)
    empty.Modality = ""
    assert modality.create(empty, uid).Status == 0x0121
    assert item_status(node) == "SCHEDULED"  # nothing was created
    assert modality.create(creation(study), uid).Status == 0
    assert modality.create(creation(study), uid).Status == 0x0111  # duplicate
    assert modality.set(completion(), generate_uid()).Status == 0x0112  # no such step
    back = Dataset()
    back.PerformedProcedureStepStatus = "SCHEDULED"
    assert modality.set(back, uid).Status == 0x0106
    other_patient = Dataset()
    other_patient.PatientID = "SOMEONE-ELSE"
    assert modality.set(other_patient, uid).Status == 0x0106
    no_end = modality.set(completion(end=False), uid)
    assert no_end.Status == 0x0110 and "PerformedProcedureStepEndDate" in no_end.ErrorComment
    assert item_status(node) == "IN PROGRESS"
    assert modality.set(completion(), uid).Status == 0
    late = modality.set(completion("DISCONTINUED"), uid)
    assert late.Status == 0x0110
    assert late.ErrorComment == "Performed Procedure Step Object may no longer be updated"
    assert late.ErrorID == 0xA710
    assert item_status(node) == "COMPLETED"
    wait_for(lambda: len(ris.received) == 1)
    assert str(ris.received[0].segment("ORC")(5)) == "CM"


def test_an_unscheduled_step_is_kept_and_reported(
    node: Node, modality: Modality, ris: RisListener
) -> None:
    uid = generate_uid()
    assert modality.create(creation(generate_uid(), step_id=""), uid).Status == 0
    assert modality.set(completion(), uid).Status == 0
    assert item_status(node) == "SCHEDULED"  # not this item's step
    wait_for(lambda: len(ris.received) == 1)
    assert str(ris.received[0].segment("OBR")(18)) == "ACC1"  # from the step itself


def test_our_scu_create_set_complete_through_the_cli(node: Node, ris: RisListener) -> None:
    target = ["127.0.0.1", str(node.dicom_port), "--aec", "VESALIUS", "--aet", "CT_ROOM1"]
    data = ["--data-dir", str(node.settings.data_dir)]
    item_id = str(node.item.id)  # type: ignore[attr-defined]
    created = vesalius("mpps", "create", *target, "--item", item_id, *data)
    assert created.returncode == 0, created.stderr
    uid = created.stdout.split()[1].rstrip(":")
    assert item_status(node) == "IN PROGRESS"
    changed = vesalius(
        "mpps", "set", *target, uid, "-k", "PerformedProcedureStepDescription=done", *data
    )
    assert changed.returncode == 0, changed.stderr
    step = worklist.table(node.archive).step(uid)
    assert step is not None and step.step().PerformedProcedureStepDescription == "done"
    completed = vesalius("mpps", "complete", *target, uid, *data)
    assert completed.returncode == 0, completed.stderr
    assert item_status(node) == "COMPLETED"
    again = vesalius("mpps", "discontinue", *target, uid, *data)
    assert again.returncode == 1
    assert "0110" in again.stderr and "may no longer be updated" in again.stderr
    wait_for(lambda: len(ris.received) == 1)
    assert str(ris.received[0].segment("ORC")(2)) == "PO1"


def test_completion_is_retried_until_acknowledged(tmp_path: Path) -> None:
    ris = RisListener(refuse=2)
    try:
        with workflow_node(tmp_path, ris.port) as node:
            item = worklist.add(node.archive, ITEM)
            scu = Modality(node)
            uid = generate_uid()
            assert scu.create(creation(item.fields["StudyInstanceUID"]), uid).Status == 0
            assert scu.set(completion(), uid).Status == 0
            scu.close()
            wait_for(lambda: len(ris.received) == 3)
            with httpx.Client(base_url=node.base_url) as client:
                wait_for(lambda: client.get("/api/jobs?kind=hl7").json()[0]["state"] == "done")
                [job] = client.get("/api/jobs?kind=hl7").json()
            assert job["result"]["attempts"] == 3
            controls = {str(m.segment("MSH")(10)) for m in ris.received}
            assert len(controls) == 3  # each attempt is a message of its own
    finally:
        ris.stop()


def test_oru_when_configured(tmp_path: Path, ris: RisListener) -> None:
    with workflow_node(tmp_path, ris.port, completion_message="ORU") as node:
        item = worklist.add(node.archive, ITEM)
        scu = Modality(node)
        uid = generate_uid()
        assert scu.create(creation(item.fields["StudyInstanceUID"]), uid).Status == 0
        assert scu.set(completion(), uid).Status == 0
        scu.close()
        wait_for(lambda: len(ris.received) == 1)
    message = ris.received[0]
    assert str(message.segment("MSH")(9)) == "ORU^R01^ORU_R01"
    assert str(message.segment("OBR")(25)) == "F"
    assert "COMPLETED" in str(message.segment("OBX")(5))


def test_no_message_without_a_ris(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", http={"port": 0, "host": "127.0.0.1"})
    with Node(settings, http=True) as node:
        item = worklist.add(node.archive, ITEM)
        scu = Modality(node)
        uid = generate_uid()
        assert scu.create(creation(item.fields["StudyInstanceUID"]), uid).Status == 0
        assert scu.set(completion(), uid).Status == 0
        scu.close()
        assert worklist.get(node.archive, item.id).status == "COMPLETED"
        assert node.archive.count_jobs(kind="hl7") == 0
