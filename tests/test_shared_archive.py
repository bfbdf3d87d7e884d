"""Several nodes over one index and one data folder: the same instance stored once.

Two archives (as two nodes open them) store the same instances at the same
moment from several threads; then two real ``vesalius serve`` processes over
one PostgreSQL database receive the same 200 files from DCMTK's ``storescu``
at once. Every instance ends up indexed once, with one file, and no file is
left that the index does not reference.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from sqlalchemy import func, select

import postgres_support
from conftest import DCMTK_ENV, VESALIUS, free_port, make_settings, port_open, wait_for
from vesalius.archive.archive import Archive
from vesalius.index.tables import instances, patients, series, studies
from vesalius.settings import Settings

CT = "1.2.840.10008.5.1.4.1.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
ROOT = "1.2.826.0.1.3680043.10.1234.77"


def make_file(patient: int, study: int, number: int) -> bytes:
    """A small CT instance as a Part 10 file; 5 patients, 2 studies each, series of 10."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = CT
    ds.SOPInstanceUID = f"{ROOT}.{patient}.{study}.1.{number}"
    ds.StudyInstanceUID = f"{ROOT}.{patient}.{study}"
    ds.SeriesInstanceUID = f"{ROOT}.{patient}.{study}.1"
    ds.PatientName = f"SHARED^PATIENT{patient}"
    ds.PatientID = f"SHARED-{patient}"
    ds.StudyDate = "20250101"
    ds.Modality = "CT"
    ds.InstanceNumber = number
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = ds.Columns = 4
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.PixelData = bytes(range(16))
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = CT
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = EXPLICIT_LE
    out = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pydicom.dcmwrite(out, ds, enforce_file_format=True)
    return out.getvalue()


def files(count: int) -> list[bytes]:
    per_study = 10
    return [
        make_file(n // (2 * per_study), (n // per_study) % 2, n % per_study) for n in range(count)
    ]


def assert_each_stored_once(archive: Archive, expected: int) -> None:
    """``expected`` instances, each hierarchy row once, one file per instance and no other."""
    with archive.index.reader.connect() as connection:
        count = {
            table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (patients, studies, series, instances)
        }
        blobs = set(connection.execute(select(instances.c.blob_name)).scalars())
    assert count == {
        "patients": expected // 20,
        "studies": expected // 10,
        "series": expected // 10,
        "instances": expected,
    }
    storage = archive.settings.data_dir / "storage"
    on_disk = {
        str(path.relative_to(storage))
        for path in storage.rglob("*.dcm")
        if ".journal" not in path.parts
    }
    assert on_disk == blobs, "files without an index row, or rows without a file"
    assert os.listdir(storage / ".journal") == []


@pytest.mark.both_databases
def test_two_archives_storing_the_same_instances_at_once(settings: Settings) -> None:
    payload = files(60)
    first, second = Archive.open(settings), Archive.open(settings)
    outcomes: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def store_all(archive: Archive, order: list[bytes]) -> None:
        start.wait(timeout=30)
        for data in order:
            try:
                outcomes.append(archive.store_file(data).outcome)
            except BaseException as exc:  # collected and asserted below
                errors.append(exc)

    workers = [
        threading.Thread(target=store_all, args=(archive, order))
        for archive in (first, second)
        for order in (payload, payload[::-1], payload[30:] + payload[:30])
    ]
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=120)
        assert errors == []
        assert sorted(set(outcomes)) == ["duplicate", "stored"]
        assert outcomes.count("stored") == 60
        assert_each_stored_once(first, 60)
    finally:
        first.close()
        second.close()


@contextmanager
def serving(settings: Settings, log: Path) -> Iterator[int]:
    """A ``vesalius serve`` process on the settings' data folder and database; its DICOM port."""
    port = free_port()
    env = {**os.environ, "VESALIUS_DATABASE__URL": settings.database.url}
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [
                VESALIUS, "serve", "--data-dir", str(settings.data_dir),
                "--dicom-port", str(port), "--http-port", "0",
            ],
            stdout=subprocess.DEVNULL, stderr=stderr, env=env,
        )  # fmt: skip
    try:
        wait_for(lambda: process.poll() is not None or port_open(port), timeout=60)
        assert process.poll() is None, log.read_text()
        yield port
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def send_folder(storescu: str, port: int, folder: Path) -> subprocess.Popen[str]:
    """DCMTK's storescu sending every file of ``folder``, started (not waited for)."""
    return subprocess.Popen(
        [storescu, "-aec", "VESALIUS", "+sd", "127.0.0.1", str(port), str(folder)],
        env=DCMTK_ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def test_two_nodes_receive_the_same_200_files_at_once(
    tmp_path: Path, tool: Callable[[str], str]
) -> None:
    storescu = tool("storescu")
    folder = tmp_path / "outgoing"
    folder.mkdir()
    for number, data in enumerate(files(200)):
        (folder / f"{number:03d}.dcm").write_bytes(data)
    with postgres_support.fresh_database() as url:
        settings = make_settings(tmp_path / "data", database={"url": url})
        Archive.open(settings).close()  # the data folder, as the first node finds it
        with ExitStack() as stack:
            ports = [
                stack.enter_context(serving(settings, tmp_path / f"node{n}.log")) for n in (1, 2)
            ]
            senders = [send_folder(storescu, port, folder) for port in ports]
            for sender in senders:
                out, _ = sender.communicate(timeout=300)
                assert sender.returncode == 0, out
        archive = Archive.open(settings)
        try:
            assert_each_stored_once(archive, 200)
        finally:
            archive.close()
