"""Modality Worklist with real peers: DCMTK ``findscu -W`` against our SCP, and our SCU
(``vesalius worklist query``) against DCMTK ``wlmscpfs`` serving a folder made here."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from conftest import dcmtk_server, free_port, make_settings, run_dcmtk, vesalius
from vesalius.app import Node
from vesalius.archive import worklist
from vesalius.dimse.scu import Target
from vesalius.dimse.scu_workflow import worklist_find
from vesalius.model.worklist import item_dataset

pytestmark = pytest.mark.both_databases

SPS = "ScheduledProcedureStepSequence[0]"
ITEMS = [
    {
        "PatientName": "DOE^JOHN",
        "PatientID": "P1",
        "AccessionNumber": "ACC1",
        "Modality": "CT",
        "ScheduledStationAETitle": "CT_ROOM1",
        "ScheduledProcedureStepStartDate": "20240315",
        "ScheduledProcedureStepStartTime": "100000",
        "ScheduledPerformingPhysicianName": "HOUSE^GREG",
        "ScheduledProcedureStepDescription": "CT head",
        "RequestedProcedureDescription": "CT head",
    },
    {
        "PatientName": "DOE^JANE",
        "PatientID": "P2",
        "AccessionNumber": "ACC2",
        "Modality": "CT",
        "ScheduledStationAETitle": "CT_ROOM1",
        "ScheduledProcedureStepStartDate": "20240315",
        "ScheduledProcedureStepStartTime": "143000",
    },
    {
        "PatientName": "ROE^RICHARD",
        "PatientID": "P3",
        "AccessionNumber": "ACC3",
        "Modality": "MR",
        "ScheduledStationAETitle": "MR_ROOM",
        "ScheduledProcedureStepStartDate": "20240316",
        "ScheduledProcedureStepStartTime": "090000",
    },
    {
        "PatientName": "DONE^ALREADY",
        "PatientID": "P4",
        "AccessionNumber": "ACC4",
        "Modality": "CT",
        "ScheduledStationAETitle": "CT_ROOM1",
        "ScheduledProcedureStepStartDate": "20240315",
        "ScheduledProcedureStepStartTime": "080000",
        "ScheduledProcedureStepStatus": "COMPLETED",
    },
]
RETURN_KEYS = [
    "PatientName",
    "PatientID",
    "AccessionNumber",
    "RequestedProcedureID",
    "StudyInstanceUID",
    "RequestedProcedureDescription",
    f"{SPS}.ScheduledStationAETitle",
    f"{SPS}.ScheduledProcedureStepStartTime",
    f"{SPS}.ScheduledPerformingPhysicianName",
    f"{SPS}.ScheduledProcedureStepID",
    f"{SPS}.ScheduledProcedureStepDescription",
]


@pytest.fixture
def mwl_node(tmp_path: Path) -> Iterator[Node]:
    with Node(make_settings(tmp_path / "data")) as node:
        node.items = [worklist.add(node.archive, item) for item in ITEMS]  # type: ignore[attr-defined]
        yield node


def findscu(node: Node, out: Path, *keys: str) -> list[Dataset]:
    """``findscu -W`` with these keys (plus the usual return keys); the responses."""
    out.mkdir(exist_ok=True)
    arguments = ["findscu", "-W", "-aec", node.settings.dicom.ae_title, "-X", "-od", str(out)]
    asked = {key.split("=")[0] for key in keys}
    for key in [*keys, *(k for k in RETURN_KEYS if k not in asked)]:
        arguments += ["-k", key]
    result = run_dcmtk(*arguments, "127.0.0.1", str(node.dicom_port))
    assert result.returncode == 0, result.stderr
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [dcmread(path) for path in sorted(out.glob("rsp*.dcm"))]


def test_findscu_matches_station_modality_and_date_range(mwl_node: Node, tmp_path: Path) -> None:
    found = findscu(
        mwl_node,
        tmp_path / "rsp",
        f"{SPS}.ScheduledStationAETitle=CT_ROOM1",
        f"{SPS}.Modality=CT",
        f"{SPS}.ScheduledProcedureStepStartDate=20240314-20240315",
    )
    assert sorted(str(d.PatientID) for d in found) == ["P1", "P2"]  # not MR, not COMPLETED
    first = next(d for d in found if d.PatientID == "P1")
    stored = mwl_node.items[0].fields  # type: ignore[attr-defined]
    assert str(first.PatientName) == "DOE^JOHN" and first.AccessionNumber == "ACC1"
    assert first.StudyInstanceUID == stored["StudyInstanceUID"]
    assert first.RequestedProcedureID == "ACC1"  # defaults to the accession number
    assert first.RequestedProcedureDescription == "CT head"
    step = first.ScheduledProcedureStepSequence[0]
    assert step.Modality == "CT" and step.ScheduledStationAETitle == "CT_ROOM1"
    assert step.ScheduledProcedureStepStartDate == "20240315"
    assert step.ScheduledProcedureStepStartTime == "100000"
    assert str(step.ScheduledPerformingPhysicianName) == "HOUSE^GREG"
    assert step.ScheduledProcedureStepDescription == "CT head"
    assert "PlacerOrderNumberImagingServiceRequest" not in first  # only the keys asked


def test_findscu_combined_date_and_time_range(mwl_node: Node, tmp_path: Path) -> None:
    found = findscu(
        mwl_node,
        tmp_path / "rsp",
        f"{SPS}.ScheduledProcedureStepStartDate=20240315",
        f"{SPS}.ScheduledProcedureStepStartTime=0900-1200",
    )
    assert [str(d.PatientID) for d in found] == ["P1"]


def test_findscu_names_accession_and_status(mwl_node: Node, tmp_path: Path) -> None:
    by_name = findscu(mwl_node, tmp_path / "a", "PatientName=doe*")
    assert sorted(str(d.PatientID) for d in by_name) == ["P1", "P2"]  # case-insensitive
    by_accession = findscu(mwl_node, tmp_path / "b", "AccessionNumber=ACC3")
    assert [str(d.PatientID) for d in by_accession] == ["P3"]
    completed = findscu(mwl_node, tmp_path / "c", f"{SPS}.ScheduledProcedureStepStatus=COMPLETED")
    assert [str(d.PatientID) for d in completed] == ["P4"]
    nothing = findscu(mwl_node, tmp_path / "d", "PatientID=NOBODY")
    assert nothing == []


def test_a_malformed_date_is_refused_with_a900(mwl_node: Node) -> None:
    identifier = item_dataset({"ScheduledProcedureStepStartDate": "March 15"})
    target = Target("127.0.0.1", mwl_node.dicom_port, mwl_node.settings.dicom.ae_title, "SCU")
    matches, status = worklist_find(target, identifier)
    assert matches == [] and status == 0xA900


def worklist_file(folder: Path, name: str, patient: str, modality: str, date: str) -> None:
    """One wlmscpfs worklist file, written with plain pydicom."""
    item = Dataset()
    item.SpecificCharacterSet = "ISO_IR 100"
    item.PatientName = patient
    item.PatientID = name
    item.PatientBirthDate = "19700101"
    item.PatientSex = "F"
    item.AccessionNumber = f"A-{name}"
    item.ReferringPhysicianName = ""
    item.StudyInstanceUID = generate_uid()
    item.RequestedProcedureID = f"RP-{name}"
    item.RequestedProcedureDescription = f"{modality} exam"
    item.RequestedProcedurePriority = "ROUTINE"
    step = Dataset()
    step.ScheduledStationAETitle = f"{modality}_AE"
    step.ScheduledProcedureStepStartDate = date
    step.ScheduledProcedureStepStartTime = "101500"
    step.Modality = modality
    step.ScheduledPerformingPhysicianName = ""
    step.ScheduledProcedureStepDescription = f"{modality} exam"
    step.ScheduledProcedureStepID = f"SPS-{name}"
    step.ScheduledStationName = ""
    step.ScheduledProcedureStepLocation = ""
    item.ScheduledProcedureStepSequence = [step]
    item.file_meta = FileMetaDataset()
    item.file_meta.MediaStorageSOPClassUID = "1.2.276.0.7230010.3.1.0.1"
    item.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    item.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    item.save_as(folder / f"{name}.wl", enforce_file_format=True)


@pytest.fixture
def wlmscpfs(tmp_path: Path) -> Iterator[int]:
    folder = tmp_path / "worklists" / "WLM"
    folder.mkdir(parents=True)
    (folder / "lockfile").touch()
    worklist_file(folder, "W1", "SMITH^ANNA", "CT", "20240315")
    worklist_file(folder, "W2", "JONES^BOB", "MR", "20240315")
    worklist_file(folder, "W3", "BROWN^CARL", "CT", "20240316")
    port = free_port()
    with dcmtk_server(
        port, tmp_path / "wlmscpfs.log", "wlmscpfs", "-dfp", str(tmp_path / "worklists"), str(port)
    ):
        yield port


def test_worklist_query_against_wlmscpfs(wlmscpfs: int, tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    result = vesalius(
        "worklist", "query", "127.0.0.1", str(wlmscpfs), "--aec", "WLM",
        "--modality", "CT", "--date", "20240315", "--json", *data,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    matches = [Dataset.from_json(m) for m in json.loads(result.stdout)]
    assert [str(m.PatientName) for m in matches] == ["SMITH^ANNA"]
    step = matches[0].ScheduledProcedureStepSequence[0]
    assert step.Modality == "CT" and step.ScheduledStationAETitle == "CT_AE"
    assert matches[0].AccessionNumber == "A-W1"
    table = vesalius(
        "worklist", "query", "127.0.0.1", str(wlmscpfs), "--aec", "WLM", "--station", "CT_AE",
        *data,
    )  # fmt: skip
    assert table.returncode == 0, table.stderr
    assert "SMITH^ANNA" in table.stdout and "BROWN^CARL" in table.stdout
    assert "JONES^BOB" not in table.stdout and "2 worklist item(s)" in table.stdout


def test_worklist_query_of_an_unreachable_peer_fails_in_one_line(tmp_path: Path) -> None:
    result = vesalius(
        "worklist", "query", "127.0.0.1", str(free_port()), "--aec", "NOBODY",
        "--data-dir", str(tmp_path / "data"),
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "vesalius:" in result.stderr
