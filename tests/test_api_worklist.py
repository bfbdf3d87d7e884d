"""The worklist through ``/api/worklist`` (and the CLI's local verbs): create, read, list
with filters, change, delete, and the status and studies an item shows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from pynetdicom import AE
from pynetdicom.sop_class import ModalityPerformedProcedureStep

from conftest import corpus_file, vesalius
from vesalius.app import Node

pytestmark = pytest.mark.both_databases

CT_SMALL = "pydicom/test_files/CT_small.dcm"


@pytest.fixture
def client(web_node: Node) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=web_node.base_url, timeout=30) as http:
        yield http


def new_item(client: httpx.Client, **fields: str) -> dict:
    body = {"PatientName": "DOE^JOHN", "PatientID": "P1", "Modality": "CT", **fields}
    response = client.post("/api/worklist", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_create_read_change_delete(client: httpx.Client) -> None:
    created = new_item(client, AccessionNumber="ACC1", ScheduledProcedureStepStartDate="20240315")
    assert created["ScheduledProcedureStepStatus"] == "SCHEDULED"
    assert created["StudyInstanceUID"].startswith("1.2.")
    assert created["RequestedProcedureID"] == "ACC1" and created["mpps"] is None
    item = f"/api/worklist/{created['id']}"
    assert client.get(item).json() == created
    changed = client.put(item, json={"Modality": "MR", "ScheduledStationAETitle": "MR1"})
    assert changed.status_code == 200
    assert changed.json()["Modality"] == "MR" and changed.json()["PatientID"] == "P1"
    assert changed.json()["StudyInstanceUID"] == created["StudyInstanceUID"]
    assert client.delete(item).status_code == 204
    assert client.get(item).status_code == 404
    assert client.delete(item).status_code == 404
    assert client.put(item, json={"Modality": "CT"}).status_code == 404


def test_bad_bodies_are_refused_with_a_reason(client: httpx.Client) -> None:
    missing = client.post("/api/worklist", json={"PatientName": "DOE^JOHN"})
    assert missing.status_code == 400 and "PatientID" in missing.json()["error"]
    unknown = client.post("/api/worklist", json={"PatientID": "1", "PatientName": "A", "Oops": 1})
    assert unknown.status_code == 400 and "Oops" in unknown.json()["error"]
    status = client.post(
        "/api/worklist",
        json={"PatientID": "1", "PatientName": "A", "ScheduledProcedureStepStatus": "LATER"},
    )
    assert status.status_code == 400
    date = client.post(
        "/api/worklist",
        json={"PatientID": "1", "PatientName": "A", "ScheduledProcedureStepStartDate": "soon"},
    )
    assert date.status_code == 400
    assert client.post("/api/worklist", content=b"[1, 2]").status_code in (400, 422)


def test_list_filters_and_pages(client: httpx.Client) -> None:
    new_item(client, PatientName="DOE^ANNA", ScheduledProcedureStepStartDate="20240315")
    new_item(
        client, PatientName="ROE^BOB", Modality="MR", ScheduledProcedureStepStartDate="20240316"
    )
    new_item(client, PatientName="DOE^CARL", ScheduledProcedureStepStartDate="20240317")
    everything = client.get("/api/worklist")
    assert everything.headers["X-Total-Count"] == "3"
    assert [i["PatientName"] for i in everything.json()] == ["DOE^ANNA", "ROE^BOB", "DOE^CARL"]
    ct = client.get("/api/worklist", params={"modality": "CT", "PatientName": "doe*"})
    assert [i["PatientName"] for i in ct.json()] == ["DOE^ANNA", "DOE^CARL"]
    dated = client.get("/api/worklist", params={"date": "20240316-"})
    assert [i["PatientName"] for i in dated.json()] == ["ROE^BOB", "DOE^CARL"]
    page = client.get("/api/worklist", params={"limit": 1, "offset": 1})
    assert [i["PatientName"] for i in page.json()] == ["ROE^BOB"]
    assert page.headers["X-Total-Count"] == "3"
    assert client.get("/api/worklist", params={"date": "tomorrow"}).status_code == 400


def test_an_item_shows_its_step_and_its_stored_study(web_node: Node, client: httpx.Client) -> None:
    header = dcmread(corpus_file(CT_SMALL), stop_before_pixels=True)
    created = new_item(client, StudyInstanceUID=str(header.StudyInstanceUID))
    assert created["NumberOfStudyRelatedInstances"] == 0
    web_node.archive.store_file(corpus_file(CT_SMALL).read_bytes())
    ae = AE(ae_title="CT1")
    ae.add_requested_context(ModalityPerformedProcedureStep)
    assoc = ae.associate("127.0.0.1", web_node.dicom_port, ae_title="VESALIUS")
    step = Dataset()
    scheduled = Dataset()
    scheduled.StudyInstanceUID = created["StudyInstanceUID"]
    scheduled.ScheduledProcedureStepID = created["ScheduledProcedureStepID"]
    step.ScheduledStepAttributesSequence = [scheduled]
    step.PerformedProcedureStepID = "1"
    step.PerformedStationAETitle = "CT1"
    step.PerformedProcedureStepStartDate = "20240315"
    step.PerformedProcedureStepStartTime = "1000"
    step.PerformedProcedureStepStatus = "IN PROGRESS"
    step.Modality = "CT"
    uid = generate_uid()
    status, _ = assoc.send_n_create(step, ModalityPerformedProcedureStep, uid)
    assoc.release()
    assert status.Status == 0
    shown = client.get(f"/api/worklist/{created['id']}").json()
    assert shown["ScheduledProcedureStepStatus"] == "IN PROGRESS"
    assert shown["mpps"] == uid and shown["NumberOfStudyRelatedInstances"] == 1
    listed = client.get("/api/worklist", params={"status": "IN PROGRESS"}).json()
    assert [i["id"] for i in listed] == [created["id"]]


def test_cli_add_ls_rm(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    added = vesalius(
        "worklist", "add", "-k", "PatientName=DOE^JOHN", "-k", "PatientID=P9",
        "-k", "Modality=CT", "-k", "ScheduledProcedureStepStartDate=today", *data,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    item_id = added.stdout.split()[2].rstrip(":")
    bad_date = vesalius(
        "worklist", "add", "-k", "PatientName=X", "-k", "PatientID=1",
        "-k", "ScheduledProcedureStepStartDate=someday", *data,
    )  # fmt: skip
    assert bad_date.returncode == 1 and "ScheduledProcedureStepStartDate" in bad_date.stderr
    listed = vesalius("worklist", "ls", "--modality", "CT", "--date", "today", *data)
    assert (
        listed.returncode == 0
        and "DOE^JOHN" in listed.stdout
        and "1 worklist item" in listed.stdout
    )
    assert "DOE^JOHN" not in vesalius("worklist", "ls", "--modality", "MR", *data).stdout
    assert vesalius("worklist", "add", "-k", "Nope=1", *data).returncode == 1
    removed = vesalius("worklist", "rm", item_id, "999", *data)
    assert removed.returncode == 2 and "no item 999" in removed.stdout
    assert "0 worklist item" in vesalius("worklist", "ls", *data).stdout
