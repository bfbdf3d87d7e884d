"""Reports over the network: ``POST /api/studies/{uid}/reports`` makes objects that C-FIND
and QIDO-RS then find and ``/api/reports/{uid}`` renders; a study retrieved by C-MOVE
(DCMTK movescu to a storescp the test runs) brings its SR and KOS along."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydicom.dataset import Dataset
from pynetdicom import AE
from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind

from conftest import dcmtk_server, free_port, read, run_dcmtk
from reporting_support import MR_SERIES, MR_STUDY, content_items, mr_paths, referenced_uids
from vesalius.app import Node
from vesalius.reporting.create import create_report
from vesalius.reporting.spec import ReportSpec, Section
from vesalius.settings import load_settings

pytestmark = pytest.mark.both_databases

ENHANCED_SR = "1.2.840.10008.5.1.4.1.1.88.22"
KEY_OBJECT_SELECTION = "1.2.840.10008.5.1.4.1.1.88.59"


def loaded_images(node: Node) -> list[str]:
    """Store the MR images in the node's archive; their SOP Instance UIDs."""
    return [node.archive.store_file(p.read_bytes()).sop_instance_uid for p in mr_paths()]


def c_find(node: Node, level: str, **keys: str) -> list[Dataset]:
    """Study Root C-FIND answers from the node at ``level`` for these keys."""
    ae = AE(ae_title="TESTSCU")
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
    assoc = ae.associate("127.0.0.1", node.dicom_port, ae_title=node.settings.dicom.ae_title)
    assert assoc.is_established
    identifier = Dataset()
    identifier.QueryRetrieveLevel = level
    for keyword, value in keys.items():
        setattr(identifier, keyword, value)
    found = []
    try:
        for status, answer in assoc.send_c_find(
            identifier, StudyRootQueryRetrieveInformationModelFind
        ):
            assert status is not None and status.Status in (0x0000, 0xFF00, 0xFF01)
            if status.Status in (0xFF00, 0xFF01):
                found.append(answer)
    finally:
        assoc.release()
    return found


def report_body(images: list[str]) -> dict[str, Any]:
    """A report with text, a coded finding, a length on an image and two key images."""
    return {
        "title": "MRI Report",
        "sections": [
            {"heading": "Findings", "text": "Carpal bones aligned."},
            {"heading": "Impression", "text": "No fracture."},
        ],
        "findings": ["SCT:4147007:Mass"],
        "measurements": [
            {
                "name": "Length",
                "value": 22.4,
                "unit": "mm",
                "image": images[0],
                "points": [[10, 20], [40, 60]],
            },
        ],
        "key_images": [images[1], images[2]],
        "observer": "RADIOLOGIST^ANNA",
    }


def test_post_makes_a_report_that_find_and_qido_find(web_node: Node) -> None:
    images = loaded_images(web_node)
    with httpx.Client(base_url=web_node.base_url, timeout=30) as client:
        answer = client.post(f"/api/studies/{MR_STUDY}/reports", json=report_body(images))
        assert answer.status_code == 201, answer.text
        made = answer.json()
        assert made["SOPClassUID"] == ENHANCED_SR
        assert made["DocumentTitle"] == "MRI Report"
        assert [o["SOPClassUID"] for o in made["objects"]] == [ENHANCED_SR, KEY_OBJECT_SELECTION]
        sr_uid, kos_uid = (o["SOPInstanceUID"] for o in made["objects"])

        listed = client.get(f"/api/studies/{MR_STUDY}/reports").json()
        assert {r["id"] for r in listed} == {sr_uid, kos_uid}

        qido = client.get(
            f"/dicomweb/studies/{MR_STUDY}/instances",
            params={"SOPClassUID": ENHANCED_SR},
            headers={"Accept": "application/dicom+json"},
        )
        assert qido.status_code == 200, qido.text
        assert [i["00080018"]["Value"][0] for i in qido.json()] == [sr_uid]
        series = client.get(
            "/dicomweb/series",
            params={"StudyInstanceUID": MR_STUDY, "Modality": "KO"},
            headers={"Accept": "application/dicom+json"},
        ).json()
        assert [s["0020000E"]["Value"][0] for s in series] == [
            made["objects"][1]["SeriesInstanceUID"]
        ]

        rendered = client.get(f"/api/reports/{sr_uid}").json()
        assert rendered["title"] == "MRI Report"
        assert rendered["study_uid"] == MR_STUDY
        page = client.get(f"/api/reports/{sr_uid}", params={"format": "html"})
        assert page.headers["content-type"].startswith("text/html")
        assert "script-src" not in page.headers["content-security-policy"]
        assert "default-src 'none'" in page.headers["content-security-policy"]
        assert "<h2>Impressions</h2>" in page.text
        assert f"instance={images[1]}" in page.text
        text = client.get(f"/api/reports/{kos_uid}", params={"format": "text"}).text
        assert f"Source: MR Image Storage {images[2]}" in text

    series_found = {
        str(a.Modality): str(a.SeriesInstanceUID)
        for a in c_find(web_node, "SERIES", StudyInstanceUID=MR_STUDY, SeriesInstanceUID="",
                        Modality="")
    }  # fmt: skip
    assert set(series_found) == {"MR", "SR", "KO"}
    for modality, uid, sop_class in (("SR", sr_uid, ENHANCED_SR),
                                     ("KO", kos_uid, KEY_OBJECT_SELECTION)):  # fmt: skip
        (answer,) = c_find(
            web_node, "IMAGE", StudyInstanceUID=MR_STUDY,
            SeriesInstanceUID=series_found[modality], SOPInstanceUID="", SOPClassUID="",
        )  # fmt: skip
        assert (answer.SOPInstanceUID, answer.SOPClassUID) == (uid, sop_class)


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        ({"sections": [{"heading": "Impression", "text": "x"}]}, 404, "no study"),
        ({"measurements": [{"name": "D", "value": 1, "unit": "big ones"}]}, 422, "UCUM"),
        ({"key_images": ["1.2.3.4"]}, 422, "is not stored in study"),
        ({"measurements": [{"name": "D", "value": "twelve"}]}, 400, "valid number"),
        ({}, 422, "needs text, findings, measurements or key images"),
    ],
)
def test_post_refuses_what_cannot_be_made(
    web_node: Node, body: dict[str, Any], status: int, reason: str
) -> None:
    loaded_images(web_node)
    study = "1.2.3" if reason == "no study" else MR_STUDY
    with httpx.Client(base_url=web_node.base_url, timeout=30) as client:
        answer = client.post(f"/api/studies/{study}/reports", json=body)
        assert answer.status_code == status, answer.text
        assert reason in answer.text
        assert client.get(f"/api/studies/{MR_STUDY}/reports").json() == []


def test_rendering_an_image_or_an_unknown_instance_is_refused(web_node: Node) -> None:
    images = loaded_images(web_node)
    with httpx.Client(base_url=web_node.base_url, timeout=30) as client:
        assert client.get("/api/reports/1.2.3").status_code == 404
        image = client.get(f"/api/reports/{images[0]}")
        assert image.status_code == 400
        assert "not a structured report" in image.json()["error"]
        vocabulary = client.get("/api/reports/vocabulary").json()
        assert "Of Interest" in vocabulary["keyTitles"]
        assert "Impressions" in vocabulary["headings"]


@pytest.mark.slow
def test_c_move_of_the_study_brings_the_report_and_key_images(tmp_path: Path) -> None:
    port = free_port()
    settings = load_settings(
        Path(os.devnull),
        {
            "storage": {"data_dir": str(tmp_path / "data")},
            "dicom": {"port": 0, "host": "127.0.0.1", "free_space_floor_mb": 0, "workers": 1},
            "peers": [{"name": "storescp", "ae_title": "STORESCP", "host": "127.0.0.1",
                       "port": port}],
        },
    )  # fmt: skip
    out = tmp_path / "received"
    out.mkdir()
    with (
        dcmtk_server(port, tmp_path / "storescp.log", "storescp", "-od", str(out), str(port)),
        Node(settings) as node,
    ):
        images = loaded_images(node)
        spec = ReportSpec(
            sections=(Section("Impression", "No fracture."),), key_images=(images[3],)
        )
        sr, kos = create_report(node.archive, MR_STUDY, spec)
        result = run_dcmtk(
            "movescu", "-v", "-S", "-aet", "MOVESCU", "-aec", "VESALIUS", "-aem", "STORESCP",
            "-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={MR_STUDY}",
            "127.0.0.1", str(node.dicom_port),
        )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    arrived = {str(d.SOPInstanceUID): d for d in (read(p) for p in out.iterdir())}
    assert set(arrived) == {*images, sr.sop_instance_uid, kos.sop_instance_uid}
    report = arrived[sr.sop_instance_uid]
    texts = [i.TextValue for i in content_items(report) if i.ValueType == "TEXT"]
    assert "No fracture." in texts
    key_objects = arrived[kos.sop_instance_uid]
    assert referenced_uids(key_objects) == [images[3]]
    assert key_objects.StudyInstanceUID == MR_STUDY
    assert {str(d.SeriesInstanceUID) for d in arrived.values()} >= {MR_SERIES}
