"""``POST /api/export``: a job that reaches done, and its file behind the download link."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import httpx
import pycdlib
import pydicom

from conftest import corpus_file, wait_for
from vesalius.app import Node
from vesalius.archive.archive import Archive
from vesalius.media import ExportRequest, Selection
from vesalius.media.jobs import ExportJobs, export_file
from vesalius.media.reading import references

MR_SERIES = [f"dcm4che/MR-series/MR{n:02d}.dcm" for n in range(1, 5)]
MR_STUDY = "1.113654.3.13.1026"
MR_SERIES_UID = "1.113654.5.14.1035"


def stock(node: Node) -> None:
    """Store the four MR images."""
    for name in MR_SERIES:
        node.archive.store_file(corpus_file(name).read_bytes())


def finished(node: Node, job: dict[str, Any]) -> dict[str, Any]:
    """The job once it has ended."""
    url = f"{node.base_url}/api/jobs/{job['id']}"
    wait_for(lambda: httpx.get(url).json()["state"] in ("done", "failed", "cancelled"), 60)
    return httpx.get(url).json()


def test_dicomdir_export_job_is_done_and_its_download_is_the_file(web_node: Node) -> None:
    stock(web_node)
    answer = httpx.post(
        f"{web_node.base_url}/api/export",
        json={"studies": [MR_STUDY], "format": "dicomdir", "profile": "STD-GEN-CD"},
    )
    assert answer.status_code == 201, answer.text
    job = answer.json()
    assert job["kind"] == "export"
    assert answer.headers["location"] == f"/api/jobs/{job['id']}"
    done = finished(web_node, job)
    assert done["state"] == "done", done
    assert done["progress"] == {"done": 4, "failed": 0, "warning": 0, "total": 4}
    download = done["result"]["download"]
    assert download == f"{web_node.base_url}/api/export/{job['id']}/download"
    fetched = httpx.get(download)
    assert fetched.status_code == 200
    assert fetched.headers["content-type"] == "application/zip"
    assert f'filename="export-{job["id"]}-dicomdir.zip"' in fetched.headers["content-disposition"]
    kept = export_file(web_node.archive, job["id"])
    assert kept is not None and fetched.content == kept.read_bytes()
    assert done["result"]["size"] == len(fetched.content)
    with zipfile.ZipFile(io.BytesIO(fetched.content)) as zipped:
        listed = references(zipped.read("DICOMDIR"))
        assert len(listed) == 4
        for reference in listed:
            ds = pydicom.dcmread(io.BytesIO(zipped.read("/".join(reference.file_id))))
            assert ds.SOPInstanceUID == reference.sop_instance_uid
            assert ds.SeriesInstanceUID == MR_SERIES_UID


def test_series_export_as_iso(web_node: Node) -> None:
    stock(web_node)
    answer = httpx.post(
        f"{web_node.base_url}/api/export",
        json={"series": [MR_SERIES_UID], "format": "iso", "label": "MR_CD"},
    )
    done = finished(web_node, answer.json())
    assert done["state"] == "done", done
    fetched = httpx.get(done["result"]["download"])
    assert fetched.headers["content-type"] == "application/x-iso9660-image"
    image = pycdlib.PyCdlib()
    image.open_fp(io.BytesIO(fetched.content))
    try:
        assert image.pvd.volume_identifier.decode().strip() == "MR_CD"
        buffer = io.BytesIO()
        image.get_file_from_iso_fp(buffer, iso_path="/DICOMDIR.;1")
        assert len(references(buffer.getvalue())) == 4
    finally:
        image.close()


def test_bad_requests_are_refused_before_any_job(web_node: Node) -> None:
    base = f"{web_node.base_url}/api/export"
    unknown = httpx.post(base, json={"studies": ["1.2.3"], "format": "png"})
    assert unknown.status_code == 404
    assert "1.2.3" in unknown.json()["error"]
    assert httpx.post(base, json={"studies": [MR_STUDY], "format": "bmp"}).status_code == 400
    assert httpx.post(base, json={"format": "png"}).status_code == 422
    window = httpx.post(base, json={"studies": [MR_STUDY], "format": "png", "window": "x"})
    assert window.status_code == 400
    assert httpx.get(f"{web_node.base_url}/api/jobs", params={"kind": "export"}).json() == []
    assert httpx.get(f"{base}/99/download").status_code == 404


def test_a_job_cancelled_before_it_starts_makes_no_file(archive: Archive) -> None:
    for name in MR_SERIES[:1]:
        archive.store_file(corpus_file(name).read_bytes())
    request = ExportRequest(Selection(studies=(MR_STUDY,)), "png")
    job = archive.jobs.create("export", "png", params=request.params())
    assert archive.cancel_job(job.id)
    ExportJobs(archive).run(job, request, lambda job_id: f"/api/export/{job_id}/download")
    row = archive.jobs.get(job.id)
    assert row is not None and row.state == "cancelled"
    assert export_file(archive, job.id) is None
    assert ExportRequest.from_params(request.params()) == request
