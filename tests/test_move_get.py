"""C-MOVE and C-GET SCPs against DCMTK ``movescu``/``getscu`` and pynetdicom peers.

Each test runs a node in this process with a ``[[peers]]`` entry for a
destination it starts itself (DCMTK ``storescp`` or a pynetdicom storage SCP),
retrieves corpus files from the node, and checks what arrived, the final
status with its counts, and the job row.
"""

from __future__ import annotations

import os
import subprocess
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, evt
from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelMove

from conftest import (
    corpus_file,
    dcmtk_server,
    free_port,
    read,
)
from conftest import run_dcmtk as dcmtk
from vesalius import sopclasses
from vesalius.app import Node, prepare_archive
from vesalius.settings import Settings, load_settings

pytestmark = [pytest.mark.both_databases, pytest.mark.slow]

UNCOMPRESSED_FILES = (
    "pydicom/test_files/MR_small.dcm",  # explicit VR little endian
    "dcm4che/MR-series/MR01.dcm",  # implicit VR little endian
)
COMPRESSED_FILES = (
    "pylibjpeg-data/JPEGBaseline/JPEGBaseline_1s_1f_u_08_08.dcm",  # JPEG baseline
    "pydicom/test_files/SC_rgb_jpeg_gdcm.dcm",  # JPEG lossless SV1
    "pydicom/test_files/GDCMJ2K_TextGBR.dcm",  # JPEG 2000 lossless
    "orthanc-tests/TransferSyntaxes/1.2.840.10008.1.2.4.80.dcm",  # JPEG-LS lossless
    "pydicom-data/emri_small_RLE.dcm",  # RLE lossless, 10 frames
)
MR_SERIES = tuple(f"dcm4che/MR-series/MR{n:02d}.dcm" for n in range(1, 5))
MR_IMAGE = "1.2.840.10008.5.1.4.1.1.4"


def node_settings(data_dir: Path, *peers: tuple[str, int]) -> Settings:
    """Test settings with one ``[[peers]]`` entry per (AE title, port) on loopback."""
    return load_settings(
        Path(os.devnull),
        {
            "storage": {"data_dir": str(data_dir)},
            "dicom": {"port": 0, "host": "127.0.0.1", "free_space_floor_mb": 0, "workers": 1},
            "peers": [
                {"name": title.lower(), "ae_title": title, "host": "127.0.0.1", "port": port}
                for title, port in peers
            ],
        },
    )


@contextmanager
def running_node(settings: Settings, files: list[Path]) -> Iterator[Node]:
    """A node holding ``files``."""
    with Node(settings) as node:
        for path in files:
            node.archive.store_file(path.read_bytes())
        yield node


@contextmanager
def storescp(out: Path, port: int, *options: str) -> Iterator[None]:
    """DCMTK storescp on ``port`` writing into ``out``; killed by PID at the end."""
    out.mkdir(parents=True, exist_ok=True)
    log = out.parent / f"storescp-{port}.log"
    with dcmtk_server(port, log, "storescp", "-od", str(out), *options, str(port)):
        yield


def pixels(dataset: Dataset) -> np.ndarray:
    """Decoded pixels."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dataset.pixel_array


def received(out: Path) -> dict[str, Dataset]:
    """Files written into ``out``, by SOP Instance UID."""
    return {str(read(p).SOPInstanceUID): read(p) for p in out.iterdir() if p.is_file()}


def originals(names: tuple[str, ...]) -> tuple[list[Path], dict[str, Dataset]]:
    """Corpus paths and their data sets by SOP Instance UID."""
    paths = [corpus_file(name) for name in names]
    by_uid = {str(read(p).SOPInstanceUID): read(p) for p in paths}
    assert len(by_uid) == len(paths)
    return paths, by_uid


def study_keys(datasets: dict[str, Dataset]) -> list[str]:
    """movescu/getscu keys for a STUDY level retrieve of every study of ``datasets``."""
    studies = sorted({str(ds.StudyInstanceUID) for ds in datasets.values()})
    return ["-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID=" + "\\".join(studies)]


def movescu(node: Node, destination: str, keys: list[str]) -> subprocess.CompletedProcess[str]:
    """Study Root C-MOVE from the node with DCMTK movescu, verbose."""
    return dcmtk(
        "movescu", "-v", "-S", "-aet", "MOVESCU", "-aec", "VESALIUS", "-aem", destination,
        *keys, "127.0.0.1", str(node.dicom_port),
    )  # fmt: skip


def move(node: Node, destination: str, uids: list[str]) -> list[tuple[Dataset, Dataset | None]]:
    """Every (status, identifier) response of a Study Root C-MOVE of these studies."""
    ae = AE(ae_title="MOVER")
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelMove)
    assoc = ae.associate("127.0.0.1", node.dicom_port, ae_title="VESALIUS")
    assert assoc.is_established
    identifier = Dataset()
    identifier.QueryRetrieveLevel = "STUDY"
    identifier.StudyInstanceUID = uids
    try:
        return list(
            assoc.send_c_move(identifier, destination, StudyRootQueryRetrieveInformationModelMove)
        )
    finally:
        assoc.release()


def studies_of(datasets: dict[str, Dataset]) -> list[str]:
    """The Study Instance UIDs of ``datasets``."""
    return sorted({str(ds.StudyInstanceUID) for ds in datasets.values()})


def test_move_to_storescp_keeps_pixel_bytes(tmp_path: Path) -> None:
    """Every syntax accepted: each instance arrives as stored, pixel data byte for byte."""
    paths, by_uid = originals((*UNCOMPRESSED_FILES, *COMPRESSED_FILES))
    port = free_port()
    out = tmp_path / "received"
    settings = node_settings(tmp_path / "data", ("STORESCP", port))
    with storescp(out, port, "+xa"), running_node(settings, paths) as node:
        result = movescu(node, "STORESCP", study_keys(by_uid))
        got = received(out)
        jobs = node.archive.jobs.list()
    assert result.returncode == 0, result.stdout + result.stderr
    assert set(got) == set(by_uid)
    for uid, original in by_uid.items():
        assert got[uid].file_meta.TransferSyntaxUID == original.file_meta.TransferSyntaxUID
        assert got[uid].PixelData == original.PixelData, uid
    assert len(jobs) == 1
    job = jobs[0]
    assert (job.kind, job.state, job.done, job.failed, job.total) == (
        "move", "done", len(paths), 0, len(paths),
    )  # fmt: skip
    assert '"destination": "STORESCP"' in job.result


def test_move_to_uncompressed_only_destination_decompresses(tmp_path: Path) -> None:
    """A destination accepting only little endian gets decompressed copies, same UIDs."""
    paths, by_uid = originals(COMPRESSED_FILES)
    port = free_port()
    out = tmp_path / "received"
    settings = node_settings(tmp_path / "data", ("STORESCP", port))
    with storescp(out, port, "+xe"), running_node(settings, paths) as node:
        result = movescu(node, "STORESCP", study_keys(by_uid))
        got = received(out)
    assert result.returncode == 0, result.stdout + result.stderr
    assert set(got) == set(by_uid)
    for uid, original in by_uid.items():
        assert not got[uid].file_meta.TransferSyntaxUID.is_compressed
        assert np.array_equal(pixels(got[uid]), pixels(original)), uid


def test_move_to_unknown_destination_is_a801(tmp_path: Path) -> None:
    """An AE title not in [[peers]] is refused with A801, and no job is made."""
    paths, by_uid = originals(MR_SERIES[:1])
    settings = node_settings(tmp_path / "data")
    with running_node(settings, paths) as node:
        result = movescu(node, "NOBODY", study_keys(by_uid))
        responses = move(node, "NOBODY", studies_of(by_uid))
        assert node.archive.jobs.list() == []
    assert "MoveDestinationUnknown" in result.stdout + result.stderr
    assert [status.Status for status, _ in responses] == [0xA801]


def test_get_into_folder(tmp_path: Path) -> None:
    """getscu receives every instance on its own association; compressed ones decompressed."""
    paths, by_uid = originals((*UNCOMPRESSED_FILES, *COMPRESSED_FILES))
    out = tmp_path / "got"
    out.mkdir()
    settings = node_settings(tmp_path / "data")
    with running_node(settings, paths) as node:
        result = dcmtk(
            "getscu", "-v", "-S", "-aet", "GETSCU", "-aec", "VESALIUS", "-od", str(out),
            *study_keys(by_uid), "127.0.0.1", str(node.dicom_port),
        )  # fmt: skip
        jobs = node.archive.jobs.list()
    assert result.returncode == 0, result.stdout + result.stderr
    got = received(out)
    assert set(got) == set(by_uid)
    for uid, original in by_uid.items():
        if original.file_meta.TransferSyntaxUID.is_compressed:
            assert np.array_equal(pixels(got[uid]), pixels(original)), uid
        else:
            assert got[uid].PixelData == original.PixelData, uid
    assert [(j.kind, j.state, j.done, j.total) for j in jobs] == [
        ("get", "done", len(paths), len(paths))
    ]


@contextmanager
def storage_scp(
    title: str, refuse_class: str | None = None, gate: threading.Event | None = None
) -> Iterator[tuple[int, list[str]]]:
    """A pynetdicom storage SCP: refuses ``refuse_class`` with A700; with ``gate``, every
    C-STORE after the first waits for it. Yields its port and the UIDs it stored."""
    stored: list[str] = []

    def on_store(event: Any) -> int:
        if gate is not None and stored:
            gate.wait(20)
        if event.request.AffectedSOPClassUID == refuse_class:
            return 0xA700
        stored.append(str(event.request.AffectedSOPInstanceUID))
        return 0x0000

    ae = AE(ae_title=title)
    for sop_class in sopclasses.STORAGE_SOP_CLASSES[:120]:
        ae.add_supported_context(sop_class.uid, ALL_TRANSFER_SYNTAXES)
    ae.add_supported_context(MR_IMAGE, ALL_TRANSFER_SYNTAXES)
    port = free_port()
    server = ae.start_server(
        ("127.0.0.1", port), block=False, evt_handlers=[(evt.EVT_C_STORE, on_store)]
    )
    try:
        yield port, stored
    finally:
        server.shutdown()


def test_move_partial_failure_is_b000_with_failed_uids(tmp_path: Path) -> None:
    """A destination refusing MR gets the rest; B000 lists the MR instances as failed."""
    paths, by_uid = originals((*MR_SERIES[:2], *COMPRESSED_FILES[:2]))
    mr = {uid for uid, ds in by_uid.items() if ds.SOPClassUID == MR_IMAGE}
    assert len(mr) == 2
    with storage_scp("PICKY", refuse_class=MR_IMAGE) as (port, stored):
        settings = node_settings(tmp_path / "data", ("PICKY", port))
        with running_node(settings, paths) as node:
            responses = move(node, "PICKY", studies_of(by_uid))
            job = node.archive.jobs.list()[0]
    final, identifier = responses[-1]
    assert final.Status == 0xB000
    assert (
        final.NumberOfCompletedSuboperations,
        final.NumberOfFailedSuboperations,
        final.NumberOfWarningSuboperations,
    ) == (2, 2, 0)
    assert identifier is not None
    assert set(identifier.FailedSOPInstanceUIDList) == mr
    pending = [status for status, _ in responses[:-1]]
    assert [p.Status for p in pending] == [0xFF00] * 4
    assert [p.NumberOfRemainingSuboperations for p in pending] == [3, 2, 1, 0]
    assert set(stored) == set(by_uid) - mr
    assert (job.state, job.done, job.failed, job.total) == ("done", 2, 2, 4)
    for uid in mr:
        assert uid in job.result


def test_move_none_sent_is_a702(tmp_path: Path) -> None:
    """When every sub-operation fails the final status is A702 and the job failed."""
    paths, by_uid = originals(MR_SERIES[:2])
    with storage_scp("PICKY", refuse_class=MR_IMAGE) as (port, _stored):
        settings = node_settings(tmp_path / "data", ("PICKY", port))
        with running_node(settings, paths) as node:
            responses = move(node, "PICKY", studies_of(by_uid))
            job = node.archive.jobs.list()[0]
    final, identifier = responses[-1]
    assert final.Status == 0xA702
    assert final.NumberOfFailedSuboperations == 2
    assert identifier is not None and len(identifier.FailedSOPInstanceUIDList) == 2
    assert (job.state, job.failed, job.done) == ("failed", 2, 0)


def test_move_cancel_is_fe00(tmp_path: Path) -> None:
    """A C-CANCEL after the first pending response ends the move with FE00; job cancelled."""
    paths, by_uid = originals(MR_SERIES)
    cancel_sent = threading.Event()
    with storage_scp("SLOW", gate=cancel_sent) as (port, stored):
        settings = node_settings(tmp_path / "data", ("SLOW", port))
        with running_node(settings, paths) as node:
            ae = AE(ae_title="CANCELLER")
            ae.add_requested_context(StudyRootQueryRetrieveInformationModelMove)
            assoc = ae.associate("127.0.0.1", node.dicom_port, ae_title="VESALIUS")
            assert assoc.is_established
            identifier = Dataset()
            identifier.QueryRetrieveLevel = "STUDY"
            identifier.StudyInstanceUID = next(iter(by_uid.values())).StudyInstanceUID
            statuses = []
            responses = assoc.send_c_move(
                identifier, "SLOW", StudyRootQueryRetrieveInformationModelMove, msg_id=7
            )
            for status, _identifier in responses:
                statuses.append(status)
                if status.Status == 0xFF00 and not cancel_sent.is_set():
                    context_id = assoc.accepted_contexts[0].context_id
                    assoc.send_c_cancel(7, context_id)
                    cancel_sent.set()
            assoc.release()
            job = node.archive.jobs.list()[0]
    final = statuses[-1]
    assert final.Status == 0xFE00
    assert final.NumberOfRemainingSuboperations > 0
    assert len(stored) < len(paths)
    assert (job.kind, job.state) == ("move", "cancelled")
    assert job.done == len(stored)


def test_restart_marks_running_jobs_failed(tmp_path: Path) -> None:
    """Jobs a dead process left running become failed, saying why."""
    settings = node_settings(tmp_path / "data")
    with running_node(settings, []) as node:
        running = node.archive.jobs.create("move", "C-MOVE to X")
        running.start(10)
        finished = node.archive.jobs.create("get", "C-GET")
        finished.start(1)
        finished.finish("done")
    prepare_archive(settings)
    with running_node(settings, []) as node:
        after = {job.id: job for job in node.archive.jobs.list()}
    assert after[running.id].state == "failed"
    assert after[running.id].error == "interrupted by a restart"
    assert after[finished.id].state == "done"
