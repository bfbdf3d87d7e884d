"""A success answer survives ``kill -9``: the store is crash safe across every receiving process.

``vesalius serve`` (two receiving processes) takes a stream of C-STOREs from
DCMTK's ``storescu``; the whole process group is SIGKILLed part way through,
at a different point in each round. After a restart on the same data folder,
every instance the sender saw acknowledged must be indexed and readable, and
the index and the blob store must agree exactly, with the journal settled.
"""

from __future__ import annotations

import os
import signal
import subprocess
import warnings
from pathlib import Path

import psutil
import pydicom
import pytest
from pydicom.uid import generate_uid

from conftest import (
    CORPUS,
    DCMTK_ENV,
    VESALIUS,
    free_port,
    make_settings,
    require_tool,
    run_dcmtk,
    wait_for,
)
from vesalius.archive.archive import Archive

pytestmark = pytest.mark.slow

CT_FILE = "pydicom/test_files/dicomdirtests/77654033/CT2/17106"
INSTANCES_PER_ROUND = 250
KILL_AFTER_ACKS = (15, 110, 200)  # one round per entry: kill after this many successes
SUCCESS = "Received Store Response (Success)"
SENDING = "Sending file: "


def make_instances(source: Path, folder: Path, count: int) -> dict[Path, str]:
    """``count`` copies of ``source`` with their own SOP Instance UIDs: path -> UID."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dataset = pydicom.dcmread(source)
    folder.mkdir(parents=True)
    dataset.SeriesInstanceUID = generate_uid()
    made: dict[Path, str] = {}
    for number in range(count):
        uid = generate_uid()
        dataset.SOPInstanceUID = uid
        dataset.file_meta.MediaStorageSOPInstanceUID = uid
        dataset.InstanceNumber = number + 1
        path = folder / f"{number:04d}.dcm"
        dataset.save_as(path)
        made[path] = uid
    return made


def acknowledged(log: Path, uids: dict[Path, str]) -> set[str]:
    """UIDs of the files that ``storescu -v`` saw answered with success (complete lines only)."""
    text = log.read_text(errors="replace")
    complete = text[: text.rfind("\n") + 1]
    seen: set[str] = set()
    current: Path | None = None
    for line in complete.splitlines():
        if SENDING in line:
            current = Path(line.split(SENDING, 1)[1].strip())
        elif SUCCESS in line and current is not None:
            seen.add(uids[current])
            current = None
    return seen


def echo_ok(port: int) -> bool:
    """True when the server answers a C-ECHO."""
    return (
        run_dcmtk("echoscu", "-aet", "POLLER", "127.0.0.1", str(port), timeout=10).returncode == 0
    )


def group_members(pgid: int) -> list[int]:
    """PIDs still in a process group, zombies included (a zombie still owns its PID)."""
    members = []
    for process in psutil.process_iter():
        try:
            if os.getpgid(process.pid) == pgid:
                members.append(process.pid)
        except (ProcessLookupError, psutil.Error):
            continue
    return members


def start_server(data: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    """``vesalius serve --workers 2`` in its own session, returned once C-ECHO succeeds."""
    with log.open("ab") as stderr:
        process = subprocess.Popen(
            [
                VESALIUS,
                "serve",
                "--data-dir",
                str(data),
                "--dicom-port",
                str(port),
                "--http-port",
                "0",
                "--workers",
                "2",
                "--log-level",
                "WARNING",
            ],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )
    try:
        wait_for(lambda: process.poll() is not None or echo_ok(port), timeout=30, interval=0.1)
    except BaseException:
        kill_group(process)
        raise
    assert process.poll() is None, log.read_text(errors="replace")
    return process


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the serve master and every receiving process it forked; wait until all are gone."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    wait_for(lambda: not group_members(process.pid), timeout=10)


def send_and_kill(
    process: subprocess.Popen[bytes], port: int, uids: dict[Path, str], kill_after: int, log: Path
) -> set[str]:
    """Stream ``uids`` with storescu; SIGKILL the server after ``kill_after`` successes.

    Returns the UIDs the sender saw acknowledged with success.
    """
    with log.open("wb") as output:
        sender = subprocess.Popen(
            [
                require_tool("storescu"),
                "-v",
                "-aet",
                "CRASHTEST",
                "-aec",
                "VESALIUS",
                "127.0.0.1",
                str(port),
            ]
            + [str(path) for path in uids],
            env=DCMTK_ENV,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: len(acknowledged(log, uids)) >= kill_after, timeout=30, interval=0.005)
        kill_group(process)
        sender.wait(timeout=30)
    finally:
        if sender.poll() is None:
            sender.kill()
            sender.wait()
    return acknowledged(log, uids)


def check_archive(data: Path, must_have: set[str]) -> int:
    """Acknowledged instances are indexed and readable; index and blobs agree; journal empty."""
    archive = Archive.open(make_settings(data))
    try:
        for uid in sorted(must_have):
            found = archive.index.instance(uid)
            assert found is not None, f"acknowledged instance {uid} is not indexed"
            with warnings.catch_warnings(), archive.open_instance(uid) as handle:
                warnings.simplefilter("ignore")
                dataset = pydicom.dcmread(handle)
            assert dataset.SOPInstanceUID == uid
        indexed = archive.index.all_blob_names()
        stored = set(archive.blobs.names())
        assert indexed - stored == set(), "indexed instances whose blob is missing"
        assert stored - indexed == set(), "blobs in storage/ that the index does not know"
        assert archive.index.counts()["instances"] == len(indexed)
    finally:
        archive.close()
    journal = sorted(os.listdir(data / "storage" / ".journal"))
    assert journal == [], f"journal entries left after recovery: {journal[:5]}"
    return len(indexed)


def test_acknowledged_instances_survive_sigkill_of_every_receiving_process(
    tmp_path: Path,
) -> None:
    """Kill -9 mid-stream, three times; nothing acknowledged is lost, nothing half-written stays."""
    require_tool("storescu")
    source = CORPUS / CT_FILE
    if not source.is_file():
        pytest.skip(f"corpus file {CT_FILE} is missing")
    data = tmp_path / "data"
    serve_log = tmp_path / "serve.log"
    port = free_port()
    rounds = [
        make_instances(source, tmp_path / f"round{n}", INSTANCES_PER_ROUND)
        for n in range(len(KILL_AFTER_ACKS))
    ]
    must_have: set[str] = set()
    process = start_server(data, port, serve_log)
    try:
        for number, (uids, kill_after) in enumerate(zip(rounds, KILL_AFTER_ACKS, strict=True)):
            acked = send_and_kill(
                process, port, uids, kill_after, tmp_path / f"storescu{number}.log"
            )
            assert kill_after <= len(acked) < len(uids), (
                f"round {number}: the kill did not land mid-stream ({len(acked)} acknowledged)"
            )
            must_have |= acked
            process = start_server(data, port, serve_log)
            assert check_archive(data, must_have) >= len(must_have)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        kill_group(process)
