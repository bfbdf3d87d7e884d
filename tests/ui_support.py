"""Helpers of the web UI tests: a server started with a config file (peers), a study
list filled in bulk, a DICOM file made in the test, and the API read back."""

from __future__ import annotations

import datetime
import io
from pathlib import Path
from typing import Any

import httpx
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from browser_support import Served, serve_with_config  # noqa: F401 - used by the tests
from vesalius.index.index import Index
from vesalius.model.record import record_from_values

try:
    from playwright.sync_api import expect
except ImportError:  # the page fixture skips (fails on CI) and says why
    pass
else:
    expect.set_options(timeout=15_000)  # a busy machine: two cores for servers and browsers

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
BULK_ROOT = "1.2.826.0.1.3680043.10.998"


def peer_block(name: str, ae_title: str, port: int, services: list[str]) -> str:
    """One ``[[peers]]`` entry of a config file, on loopback."""
    listed = ", ".join(f'"{service}"' for service in services)
    return (
        f'[[peers]]\nname = "{name}"\nae_title = "{ae_title}"\nhost = "127.0.0.1"\n'
        f"port = {port}\nservices = [{listed}]\n"
    )


def api(served: Served, path: str, **params: Any) -> httpx.Response:
    """``GET /api{path}`` of a running server."""
    return httpx.get(f"{served.url}/api{path}", params=params, timeout=30)


def study_uids(served: Served) -> set[str]:
    """The Study Instance UIDs a running server holds."""
    answer = api(served, "/studies", limit=1000)
    assert answer.status_code == 200, answer.text
    return {study["StudyInstanceUID"] for study in answer.json()}


def dicom_bytes(patient_name: str, **values: Any) -> bytes:
    """A small valid CT image (8x8 pixels) as Part 10 bytes, with fresh UIDs; ``values``
    set or replace attributes by keyword."""
    ds = Dataset()
    ds.PatientName = patient_name
    ds.PatientID = values.pop("PatientID", "XSS-1")
    ds.PatientBirthDate = "19800101"
    ds.PatientSex = "O"
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.SOPInstanceUID = generate_uid()
    ds.SOPClassUID = CT_IMAGE_STORAGE
    ds.StudyDate = "20240102"
    ds.StudyTime = "101500"
    ds.Modality = "CT"
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.Rows = ds.Columns = 8
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.PixelData = bytes(range(128))
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def fill_studies(data_dir: Path, count: int, batch: int = 2000) -> None:
    """Index ``count`` studies of one series and one instance each (no files), as
    bench/query.py does: patients ``NAME000000^TEST``... one per two studies."""
    first_day = datetime.date(2015, 1, 1)
    index = Index.open("", data_dir)
    try:
        for start in range(0, count, batch):
            items = []
            for number in range(start, min(start + batch, count)):
                day = first_day + datetime.timedelta(days=(number * 7919) % 3650)
                values = {
                    "PatientID": f"P{number // 2:07d}",
                    "PatientName": f"NAME{number // 2:06d}^TEST",
                    "PatientSex": "MF"[number % 2],
                    "StudyInstanceUID": f"{BULK_ROOT}.{number}",
                    "StudyDate": day.strftime("%Y%m%d"),
                    "StudyTime": "120000",
                    "AccessionNumber": f"A{number:08d}",
                    "StudyDescription": "BULK",
                    "Modality": ("CT", "MR", "US")[number % 3],
                    "SeriesInstanceUID": f"{BULK_ROOT}.{number}.1",
                    "SeriesNumber": "1",
                    "SOPInstanceUID": f"{BULK_ROOT}.{number}.1.1",
                    "SOPClassUID": CT_IMAGE_STORAGE,
                    "InstanceNumber": "1",
                }
                items.append(
                    (record_from_values(values), f"bulk/{number}", 1, str(ExplicitVRLittleEndian))
                )
            index.add_instances_bulk(items)
    finally:
        index.close()


def stow(served: Served, data: bytes) -> httpx.Response:
    """Store one Part 10 file through STOW-RS."""
    boundary = "test-boundary-7d1"
    body = (
        f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return httpx.post(
        f"{served.url}/dicomweb/studies",
        content=body,
        headers={
            "Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}',
            "Accept": "application/dicom+json",
        },
        timeout=30,
    )
