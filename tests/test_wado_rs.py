"""WADO-RS and STOW-RS against a live node, with dicomweb-client and a standard multipart parser."""

from __future__ import annotations

import base64
import email
import email.policy
import io

import httpx
import numpy as np
import pytest
from dicomweb_client.api import DICOMwebClient
from PIL import Image
from pydicom import dcmread
from pydicom.encaps import generate_frames
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

from conftest import corpus_file
from test_find import MR_SERIES, MR_STUDY
from vesalius.app import Node

pytestmark = pytest.mark.both_databases

MR_FILES = [f"dcm4che/MR-series/MR{n:02d}.dcm" for n in range(1, 17)]
JPEG_LS = "dicomParser/encapsulated/single-frame/CT1_UNC.fragmented_bot_jpeg_ls.80.dcm"
MULTI_FRAME = "pydicom-data/emri_small.dcm"


@pytest.fixture
def loaded_web(web_node: Node) -> Node:
    for name in [*MR_FILES, JPEG_LS, MULTI_FRAME]:
        web_node.archive.store_file(corpus_file(name).read_bytes())
    return web_node


def client(node: Node) -> DICOMwebClient:
    return DICOMwebClient(url=f"{node.base_url}/dicomweb")


def parts(answer: httpx.Response) -> list[email.message.Message]:
    """The parts of a multipart/related answer, split by the standard library's parser."""
    head = f"Content-Type: {answer.headers['content-type']}\r\n\r\n".encode()
    message = email.message_from_bytes(head + answer.content, policy=email.policy.HTTP)
    return list(message.iter_parts())


def uids_of(name: str) -> tuple[str, str, str]:
    header = dcmread(corpus_file(name), stop_before_pixels=True)
    return header.StudyInstanceUID, header.SeriesInstanceUID, header.SOPInstanceUID


def test_study_in_the_default_syntax_is_explicit_little_endian(loaded_web: Node) -> None:
    retrieved = client(loaded_web).retrieve_study(MR_STUDY)
    stored = {dcmread(corpus_file(n)).SOPInstanceUID: dcmread(corpus_file(n)) for n in MR_FILES}
    assert {ds.SOPInstanceUID for ds in retrieved} == set(stored)
    for dataset in retrieved:
        assert dataset.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
        original = stored[dataset.SOPInstanceUID]
        assert original.file_meta.TransferSyntaxUID == ImplicitVRLittleEndian
        assert np.array_equal(dataset.pixel_array, original.pixel_array)


def test_as_stored_bytes_with_transfer_syntax_star(loaded_web: Node) -> None:
    answer = httpx.get(
        f"{loaded_web.base_url}/dicomweb/studies/{MR_STUDY}/series/{MR_SERIES}",
        headers={"Accept": 'multipart/related; type="application/dicom"; transfer-syntax=*'},
    )
    assert answer.status_code == 200
    received = parts(answer)
    assert len(received) == 16
    by_uid = {dcmread(corpus_file(n)).SOPInstanceUID: corpus_file(n) for n in MR_FILES}
    for part in received:
        body = part.get_payload(decode=True)
        assert part.get_content_type() == "application/dicom"
        assert part.get_param("transfer-syntax") == ImplicitVRLittleEndian
        uid = dcmread(io.BytesIO(body)).SOPInstanceUID
        assert dcmread(io.BytesIO(body)).PixelData == dcmread(by_uid[uid]).PixelData


def test_a_syntax_we_cannot_write_is_406(loaded_web: Node) -> None:
    answer = httpx.get(
        f"{loaded_web.base_url}/dicomweb/studies/{MR_STUDY}",
        headers={
            "Accept": 'multipart/related; type="application/dicom"; '
            "transfer-syntax=1.2.840.10008.1.2.4.90"
        },
    )
    assert answer.status_code == 406


def test_compressed_instance_decompressed_for_the_default_syntax(loaded_web: Node) -> None:
    study, series, _instance = uids_of(JPEG_LS)
    (dataset,) = client(loaded_web).retrieve_series(study, series)
    assert dataset.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert np.array_equal(dataset.pixel_array, dcmread(corpus_file(JPEG_LS)).pixel_array)


def test_unknown_uids_are_404(loaded_web: Node) -> None:
    base = f"{loaded_web.base_url}/dicomweb"
    assert httpx.get(f"{base}/studies/1.2.3.4").status_code == 404
    assert httpx.get(f"{base}/studies/{MR_STUDY}/series/1.2.3/metadata").status_code == 404


def test_metadata_with_bulk_data_by_uri(loaded_web: Node) -> None:
    web = client(loaded_web)
    first = web.retrieve_study_metadata(MR_STUDY)
    again = web.retrieve_series_metadata(MR_STUDY, MR_SERIES)  # kept: no file read
    assert len(first) == len(again) == 16
    assert {m["00100010"]["Value"][0]["Alphabetic"] for m in first} == {"DOE^J1"}
    pixel = first[0]["7FE00010"]
    assert "Value" not in pixel and "InlineBinary" not in pixel
    assert pixel["BulkDataURI"].startswith(f"{loaded_web.base_url}/dicomweb/studies/{MR_STUDY}/")
    bulk = web.retrieve_bulkdata(pixel["BulkDataURI"])
    uid = first[0]["00080018"]["Value"][0]
    stored = {dcmread(corpus_file(n)).SOPInstanceUID: dcmread(corpus_file(n)) for n in MR_FILES}
    assert bulk[0] == stored[uid].PixelData


def test_frames_native_and_as_stored(loaded_web: Node) -> None:
    web = client(loaded_web)
    study, series, instance = uids_of(MULTI_FRAME)
    stored = dcmread(corpus_file(MULTI_FRAME))
    (second,) = web.retrieve_instance_frames(study, series, instance, frame_numbers=[2])
    frame_size = stored.Rows * stored.Columns * stored.BitsAllocated // 8
    assert second == stored.PixelData[frame_size : 2 * frame_size]
    study, series, instance = uids_of(JPEG_LS)
    (compressed,) = web.retrieve_instance_frames(
        study, series, instance, frame_numbers=[1], media_types=("image/jls",)
    )
    expected = next(generate_frames(dcmread(corpus_file(JPEG_LS)).PixelData, number_of_frames=1))
    assert compressed == expected
    (decoded,) = web.retrieve_instance_frames(study, series, instance, frame_numbers=[1])
    assert decoded == dcmread(corpus_file(JPEG_LS)).pixel_array.astype("<u2").tobytes()
    beyond = httpx.get(
        f"{loaded_web.base_url}/dicomweb/studies/{study}/series/{series}/instances/{instance}"
        "/frames/9"
    )
    assert beyond.status_code == 404


def test_rendered_and_thumbnail(loaded_web: Node) -> None:
    web = client(loaded_web)
    study, series, instance = uids_of(MULTI_FRAME)
    png = web.retrieve_instance_rendered(study, series, instance, media_types=("image/png",))
    image = Image.open(io.BytesIO(png))
    stored = dcmread(corpus_file(MULTI_FRAME))
    assert image.format == "PNG" and image.size == (stored.Columns, stored.Rows)
    base = f"{loaded_web.base_url}/dicomweb/studies/{study}/series/{series}/instances/{instance}"
    small = httpx.get(f"{base}/frames/3/rendered", params={"viewport": "32,32"})
    assert small.headers["content-type"] == "image/jpeg"
    assert max(Image.open(io.BytesIO(small.content)).size) == 32
    thumb = httpx.get(f"{loaded_web.base_url}/dicomweb/studies/{MR_STUDY}/thumbnail")
    assert thumb.status_code == 200 and Image.open(io.BytesIO(thumb.content)).format == "JPEG"
    bad = httpx.get(f"{base}/rendered", params={"window": "40"})
    assert bad.status_code == 400 and "window" in bad.json()["error"]


STOW_FILES = ["pydicom/charset_files/chrH31.dcm", "pydicom/charset_files/chrX1.dcm"]


def test_stow_stores_a_folder(web_node: Node) -> None:
    datasets = [dcmread(corpus_file(name)) for name in STOW_FILES]
    answer = client(web_node).store_instances(datasets)
    referenced = answer.ReferencedSOPSequence
    assert {item.ReferencedSOPInstanceUID for item in referenced} == {
        ds.SOPInstanceUID for ds in datasets
    }
    assert "FailedSOPSequence" not in answer
    found = client(web_node).search_for_instances()
    assert {i["00080018"]["Value"][0] for i in found} == {ds.SOPInstanceUID for ds in datasets}


def multipart_body(payloads: list[bytes], boundary: str = "b0undary") -> tuple[bytes, str]:
    body = b"".join(
        f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode() + p + b"\r\n"
        for p in payloads
    )
    body += f"--{boundary}--\r\n".encode()
    return body, f'multipart/related; type="application/dicom"; boundary={boundary}'


def test_stow_partial_failure_is_202_and_total_failure_409(web_node: Node) -> None:
    good = corpus_file(STOW_FILES[0]).read_bytes()
    body, content_type = multipart_body([good, b"not dicom at all"])
    url = f"{web_node.base_url}/dicomweb/studies"
    answer = httpx.post(url, content=body, headers={"Content-Type": content_type})
    assert answer.status_code == 202
    failed = answer.json()["00081198"]["Value"]
    assert failed[0]["00081197"]["Value"] == [0xC000]
    assert len(answer.json()["00081199"]["Value"]) == 1
    other_study = f"{url}/1.2.3.4.5"
    answer = httpx.post(other_study, content=body, headers={"Content-Type": content_type})
    assert answer.status_code == 409
    reasons = [item["00081197"]["Value"][0] for item in answer.json()["00081198"]["Value"]]
    assert 0xA900 in reasons


def test_malformed_multipart_stores_nothing(web_node: Node) -> None:
    good = corpus_file(STOW_FILES[0]).read_bytes()
    body, content_type = multipart_body([good, good])
    truncated = body[: len(body) // 2]
    url = f"{web_node.base_url}/dicomweb/studies"
    answer = httpx.post(url, content=truncated, headers={"Content-Type": content_type})
    assert answer.status_code == 400 and "boundary" in answer.json()["error"]
    answer = httpx.post(url, content=body, headers={"Content-Type": "application/dicom"})
    assert answer.status_code == 400
    assert web_node.archive.index.counts()["instances"] == 0


SMALL_BINARY = "dcm4che/test-data/US-PAL-8-10x-echo"  # a 512-byte palette in OW, inline


def test_metadata_keeps_small_binary_values_inline(web_node: Node) -> None:
    web_node.archive.store_file(corpus_file(SMALL_BINARY).read_bytes())
    study, series, _instance = uids_of(SMALL_BINARY)
    (metadata,) = client(web_node).retrieve_series_metadata(study, series)
    palette = metadata["00281201"]
    assert palette["vr"] == "OW" and "InlineBinary" in palette
    stored = dcmread(corpus_file(SMALL_BINARY))
    assert base64.b64decode(palette["InlineBinary"]) == stored.RedPaletteColorLookupTableData
    assert "BulkDataURI" in metadata["7FE00010"]
