"""WADO-URI at /wado against a live node."""

from __future__ import annotations

import io

import httpx
import numpy as np
import pytest
from PIL import Image
from pydicom import dcmread
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

from conftest import corpus_file
from vesalius.app import Node

MR = "dcm4che/MR-series/MR01.dcm"
MULTI_FRAME = "pydicom-data/emri_small.dcm"
SR = "pydicom/test_files/test-SR.dcm"


@pytest.fixture
def loaded_web(web_node: Node) -> Node:
    for name in (MR, MULTI_FRAME, SR):
        web_node.archive.store_file(corpus_file(name).read_bytes())
    return web_node


def wado(node: Node, name: str, **params: str) -> httpx.Response:
    header = dcmread(corpus_file(name), stop_before_pixels=True)
    query = {
        "requestType": "WADO",
        "studyUID": header.StudyInstanceUID,
        "seriesUID": header.SeriesInstanceUID,
        "objectUID": header.SOPInstanceUID,
        **params,
    }
    return httpx.get(f"{node.base_url}/wado", params=query)


def test_image_by_default_as_jpeg(loaded_web: Node) -> None:
    answer = wado(loaded_web, MR)
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/jpeg"
    stored = dcmread(corpus_file(MR))
    assert Image.open(io.BytesIO(answer.content)).size == (stored.Columns, stored.Rows)


def test_non_image_by_default_as_dicom(loaded_web: Node) -> None:
    answer = wado(loaded_web, SR)
    assert answer.headers["content-type"] == "application/dicom"
    assert (
        dcmread(io.BytesIO(answer.content)).SOPInstanceUID
        == dcmread(corpus_file(SR)).SOPInstanceUID
    )


def test_png_frame_window_and_size(loaded_web: Node) -> None:
    answer = wado(
        loaded_web, MULTI_FRAME, contentType="image/png", frameNumber="5",
        windowCenter="100", windowWidth="200", rows="32", columns="32",
    )  # fmt: skip
    image = Image.open(io.BytesIO(answer.content))
    assert image.format == "PNG" and max(image.size) == 32
    stored = dcmread(corpus_file(MULTI_FRAME))
    frame = stored.pixel_array[4].astype(float)
    expected = np.clip((frame - (100 - 0.5)) / (200 - 1) + 0.5, 0, 1) * 255
    full = wado(
        loaded_web, MULTI_FRAME, contentType="image/png", frameNumber="5",
        windowCenter="100", windowWidth="200",
    )  # fmt: skip
    rendered = np.asarray(Image.open(io.BytesIO(full.content)), dtype=float)
    assert np.abs(rendered - expected).max() <= 1.0
    assert wado(loaded_web, MULTI_FRAME, frameNumber="99").status_code == 404


def test_dicom_file_in_a_transfer_syntax_and_anonymized(loaded_web: Node) -> None:
    answer = wado(loaded_web, MR, contentType="application/dicom")
    received = dcmread(io.BytesIO(answer.content))
    assert received.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian  # the default
    implicit = wado(
        loaded_web, MR, contentType="application/dicom", transferSyntax=ImplicitVRLittleEndian
    )
    assert (
        implicit.content == corpus_file(MR).read_bytes()
        or dcmread(io.BytesIO(implicit.content)).file_meta.TransferSyntaxUID
        == ImplicitVRLittleEndian
    )
    anonymous = dcmread(
        io.BytesIO(wado(loaded_web, MR, contentType="application/dicom", anonymize="yes").content)
    )
    assert str(anonymous.PatientName) == "" and anonymous.PatientIdentityRemoved == "YES"
    assert anonymous.SOPInstanceUID == received.SOPInstanceUID
    assert np.array_equal(anonymous.pixel_array, received.pixel_array)
    compressed = wado(
        loaded_web, MR, contentType="application/dicom", transferSyntax="1.2.840.10008.1.2.4.90"
    )
    assert compressed.status_code == 406


def test_bad_requests(loaded_web: Node) -> None:
    assert wado(loaded_web, MR, requestType="OTHER").status_code == 400
    assert wado(loaded_web, MR, contentType="video/mpeg").status_code == 406
    assert wado(loaded_web, MR, windowCenter="40").status_code == 400
    assert wado(loaded_web, MR, objectUID="1.2.3").status_code == 404
    missing = httpx.get(f"{loaded_web.base_url}/wado", params={"requestType": "WADO"})
    assert missing.status_code == 400 and "objectUID" in missing.json()["error"]
