"""A study or a series as a ZIP (``/api/studies/{uid}/archive``, ``/api/series/{uid}/archive``):
the stored files, in readable folders, streamed in pieces."""

from __future__ import annotations

import io
import zipfile

import httpx
import pydicom
import pytest

from conftest import corpus_file
from ui_support import dicom_bytes
from vesalius.app import Node
from vesalius.web.api.downloads import CHUNK, members, safe_name, zip_stream

TWO_SERIES = [
    "pydicom/test_files/dicomdirtests/98892003/MR1/15820",
    "pydicom/test_files/dicomdirtests/98892003/MR2/15970",
]
TWO_SERIES_STUDY = "1.3.6.1.4.1.5962.1.1.0.0.0.1196533885.18148.0.427"
MR_SERIES = [f"dcm4che/MR-series/MR{n:02d}.dcm" for n in range(1, 5)]
MR_STUDY = "1.113654.3.13.1026"
MR_SERIES_UID = "1.113654.5.14.1035"


def stock(node: Node, names: list[str]) -> None:
    """Store corpus files in the node's archive."""
    for name in names:
        node.archive.store_file(corpus_file(name).read_bytes())


def stored_file(node: Node, sop_instance_uid: str) -> bytes:
    """The stored Part 10 bytes of an instance, as the API serves them."""
    answer = httpx.get(f"{node.base_url}/api/instances/{sop_instance_uid}/file")
    assert answer.status_code == 200
    return answer.content


def test_study_zip_holds_every_stored_file_in_patient_study_series_folders(
    web_node: Node,
) -> None:
    stock(web_node, [*TWO_SERIES, *MR_SERIES])
    answer = httpx.get(f"{web_node.base_url}/api/studies/{TWO_SERIES_STUDY}/archive")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/zip"
    assert answer.headers["content-disposition"] == (
        f'attachment; filename="{TWO_SERIES_STUDY}.zip"'
    )
    assert "content-length" not in answer.headers  # streamed, not built first
    with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        assert names == [
            "Doe^Peter (98890234)/20030505 Carotids/001 MR FAST LOCALIZER/0001.dcm",
            "Doe^Peter (98890234)/20030505 Carotids/002 MR FAST LOCALIZER/0001.dcm",
        ]
        for name, relative in zip(names, TWO_SERIES, strict=True):
            data = archive.read(name)
            original = pydicom.dcmread(corpus_file(relative))
            member = pydicom.dcmread(io.BytesIO(data))
            assert member.SOPInstanceUID == original.SOPInstanceUID
            assert member.PixelData == original.PixelData
            assert data == stored_file(web_node, member.SOPInstanceUID)
            assert archive.getinfo(name).compress_type == zipfile.ZIP_STORED


def test_series_zip_holds_only_that_series_by_instance_number(web_node: Node) -> None:
    stock(web_node, MR_SERIES)
    answer = httpx.get(f"{web_node.base_url}/api/series/{MR_SERIES_UID}/archive")
    assert answer.status_code == 200
    with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
        names = archive.namelist()
        assert names == [
            f"DOE^J1 (583295)/20170716 LEFT WRIST/107 MR/{n:04d}.dcm" for n in (1, 2, 3, 4)
        ]
        for name in names:
            assert pydicom.dcmread(io.BytesIO(archive.read(name))).InstanceNumber == int(
                name[-8:-4]
            )


@pytest.mark.parametrize("path", ["/api/studies/1.2.3/archive", "/api/series/1.2.3/archive"])
def test_unknown_study_or_series_is_404(web_node: Node, path: str) -> None:
    answer = httpx.get(f"{web_node.base_url}{path}")
    assert answer.status_code == 404
    assert "1.2.3" in answer.json()["error"]


def test_names_from_the_file_cannot_leave_their_folder(web_node: Node) -> None:
    data = dicom_bytes("../../etc/passwd", PatientID="a/b", StudyDescription="..")
    web_node.archive.store_file(data)
    study = pydicom.dcmread(io.BytesIO(data)).StudyInstanceUID
    answer = httpx.get(f"{web_node.base_url}/api/studies/{study}/archive")
    with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
        (name,) = archive.namelist()
    parts = name.split("/")
    assert len(parts) == 4, name
    assert not any(part in ("", ".", "..") for part in parts)
    assert parts[-1] == "0001.dcm"
    assert safe_name("a/b\\c\x00", "x") == "a_b_c"
    assert safe_name("..", "fallback") == "fallback"


def test_a_large_file_leaves_in_pieces_never_whole(web_node: Node) -> None:
    big = dicom_bytes("BIG^FILE", Rows=1024, Columns=1024, PixelData=bytes(1024 * 1024 * 2))
    web_node.archive.store_file(big)
    study = pydicom.dcmread(io.BytesIO(big)).StudyInstanceUID
    files = members(web_node.archive, study, None, True)
    pieces = [len(piece) for piece in zip_stream(web_node.archive, files)]
    assert sum(pieces) > len(big)
    assert max(pieces) <= CHUNK + 1024, max(pieces)
    assert len([size for size in pieces if size]) >= len(big) // CHUNK
