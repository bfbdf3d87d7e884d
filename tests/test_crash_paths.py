"""Kill -9 on the write paths other than C-STORE: STOW-RS, import, deletion, a C-MOVE job.

Each test lets the operation start for real, waits on a sign that it is
under way (blobs appearing under ``storage/``, removals journaled under
``storage/.journal``, the job's row turning ``running``), then SIGKILLs the
process. Afterwards the archive is served (or opened) again, the real
``vesalius check`` must exit 0 with nothing to repair, everything the client
was answered a success for must be there, and an unfinished job must end as
docs/reliability.md says. C-STORE is in test_crash_safety.py, a storage
commitment report owed across a kill in test_commitment.py, a send job taken
over after a kill in test_job_leases.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from pynetdicom import AE
from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelMove

from conftest import (
    VESALIUS,
    dcmtk_server,
    free_port,
    make_settings,
    secondary_capture,
    vesalius,
    wait_for,
)
from vesalius.archive.archive import Archive
from vesalius.archive.jobs import ABANDONED

pytestmark = pytest.mark.slow

BOUNDARY = "vesalius-crash-boundary"


def study_of(count: int, pixels: int = 64) -> tuple[str, dict[str, bytes]]:
    """A study of ``count`` instances in one series: its UID, and SOP Instance UID -> bytes."""
    study, series = generate_uid(), generate_uid()
    return study, dict(
        secondary_capture(study, series, pixels=pixels, patient="Crash^Test") for _ in range(count)
    )


def multipart(parts: list[bytes]) -> bytes:
    body = b"".join(
        b"--" + BOUNDARY.encode() + b"\r\nContent-Type: application/dicom\r\n\r\n" + part + b"\r\n"
        for part in parts
    )
    return body + b"--" + BOUNDARY.encode() + b"--\r\n"


STOW_TYPE = f'multipart/related; type="application/dicom"; boundary={BOUNDARY}'


def stow(base: str, parts: list[bytes], timeout: float = 120) -> httpx.Response:
    return httpx.post(
        f"{base}/dicomweb/studies",
        content=multipart(parts),
        headers={"Content-Type": STOW_TYPE, "Accept": "application/dicom+json"},
        timeout=timeout,
    )


def blob_count(data: Path) -> int:
    """Files under storage/ outside the journal."""
    storage = data / "storage"
    if not storage.is_dir():
        return 0
    return sum(1 for p in storage.rglob("*.dcm") if ".journal" not in p.parts)


def journal(data: Path) -> list[str]:
    folder = data / "storage" / ".journal"
    return sorted(os.listdir(folder)) if folder.is_dir() else []


def healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/api/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


class Server:
    """``vesalius serve`` on a data folder, in its own session; killed with -9 on demand."""

    def __init__(self, tmp_path: Path, config: str = "") -> None:
        self.data = tmp_path / "data"
        self.config = tmp_path / "vesalius.toml"
        self.config.write_text(config, encoding="utf-8")
        self.log = tmp_path / "serve.log"
        self.dicom_port, self.http_port = free_port(), free_port()
        self.base = f"http://127.0.0.1:{self.http_port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Server:
        with self.log.open("ab") as stderr:
            self.process = subprocess.Popen(
                [VESALIUS, "serve", "--config", str(self.config), "--data-dir", str(self.data),
                 "--dicom-port", str(self.dicom_port), "--http-port", str(self.http_port),
                 "--workers", "1", "--log-level", "WARNING"],
                stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True,
            )  # fmt: skip
        process = self.process
        wait_for(lambda: process.poll() is not None or healthy(self.base), timeout=60)
        assert process.poll() is None, self.log.read_text(errors="replace")
        return self

    def kill(self) -> None:
        """SIGKILL the whole process group and wait until it is gone."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        if self.process is not None:
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def check(self) -> None:
        """The real ``vesalius check`` finds nothing to repair."""
        checked = vesalius("check", "--data-dir", str(self.data), timeout=120)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "repaired" not in checked.stdout


@contextmanager
def served(tmp_path: Path, config: str = "") -> Iterator[Server]:
    server = Server(tmp_path, config)
    try:
        yield server
    finally:
        server.kill()


def indexed(data: Path, uids: list[str]) -> set[str]:
    """Which of ``uids`` the index holds, read with the archive closed again afterwards."""
    archive = Archive.open(make_settings(data))
    try:
        return {i.sop_instance_uid for i in archive.instances(sop_instance_uids=uids)}
    finally:
        archive.close()


def in_background(target: object, *args: object) -> tuple[threading.Thread, list[object]]:
    """Run ``target(*args)`` in a thread; its result or exception lands in the list."""
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(target(*args))  # type: ignore[operator]
        except Exception as error:
            outcome.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def test_kill_during_a_large_stow(tmp_path: Path) -> None:
    """Killed while a 300-part STOW is being stored: the earlier STOW stays whole."""
    _, first = study_of(5)
    _, big = study_of(300, pixels=128)
    with served(tmp_path) as server:
        server.start()
        answer = stow(server.base, list(first.values()))
        assert answer.status_code == 200, answer.text
        before = blob_count(server.data)
        thread, outcome = in_background(stow, server.base, list(big.values()))
        wait_for(lambda: blob_count(server.data) >= before + 20, timeout=60, interval=0.005)
        server.kill()
        thread.join(30)
        assert outcome and isinstance(outcome[0], httpx.HTTPError), outcome  # never answered
        stored_then = blob_count(server.data) - before
        assert 20 <= stored_then < len(big), f"the kill did not land mid-STOW ({stored_then})"
        server.start()
        assert indexed(server.data, list(first)) == set(first)  # acknowledged: all there
        server.stop()
    server.check()
    assert journal(server.data) == []
    kept = indexed(server.data, list(big))
    assert len(kept) == blob_count(server.data) - len(first)  # each kept part is whole


def test_kill_during_an_import(tmp_path: Path) -> None:
    """``vesalius import`` of a folder, killed part way; a second import completes it."""
    _, made = study_of(250)
    folder = tmp_path / "incoming"
    folder.mkdir()
    for number, data in enumerate(made.values()):
        (folder / f"{number:04d}.dcm").write_bytes(data)
    data = tmp_path / "data"
    process = subprocess.Popen(
        [VESALIUS, "import", "--data-dir", str(data), str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for(lambda: blob_count(data) >= 30, timeout=60, interval=0.005)
        os.killpg(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.wait(timeout=10)
    assert blob_count(data) < len(made), "the kill did not land mid-import"
    checked = vesalius("check", "--data-dir", str(data), timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # The next import settles what the killed one left (as serve does), then completes it.
    again = vesalius("import", "--data-dir", str(data), str(folder), timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    assert journal(data) == []
    assert indexed(data, list(made)) == set(made)
    assert blob_count(data) == len(made)  # no file left over from the killed import
    assert vesalius("check", "--data-dir", str(data)).returncode == 0


def test_kill_during_a_deletion(tmp_path: Path) -> None:
    """DELETE /api/studies/{uid} killed once its removals are journaled: all or nothing."""
    _, keep = study_of(5)
    doomed_study, doomed = study_of(600, pixels=8)
    data = tmp_path / "data"
    archive = Archive.open(make_settings(data))
    try:
        for blob in (*keep.values(), *doomed.values()):
            archive.store_file(blob)
    finally:
        archive.close()
    with served(tmp_path) as server:
        server.start()
        thread, outcome = in_background(
            lambda: httpx.delete(f"{server.base}/api/studies/{doomed_study}", timeout=120)
        )
        wait_for(lambda: journal(data) != [], timeout=60, interval=0.001)
        server.kill()
        thread.join(30)
        server.start()
        server.stop()
    server.check()
    assert journal(data) == []
    assert indexed(data, list(keep)) == set(keep)
    left = indexed(data, list(doomed))
    assert left in (set(), set(doomed)), f"{len(left)} of {len(doomed)} instances left"
    assert blob_count(data) == len(keep) + len(left)
    answered = outcome[0] if outcome else None
    if isinstance(answered, httpx.Response):  # the client was told it is gone: so it is
        assert answered.status_code == 204 and left == set()


def test_kill_during_a_move_job(tmp_path: Path) -> None:
    """A C-MOVE job killed while sending: after a restart it ends failed, the archive clean."""
    sink_port = free_port()
    config = (
        "[jobs]\nlease_s = 2\n\n"
        f'[[peers]]\nname = "sink"\nae_title = "SINK"\nhost = "127.0.0.1"\nport = {sink_port}\n'
    )
    study, made = study_of(8)
    data = tmp_path / "data"
    archive = Archive.open(make_settings(data))
    try:
        for blob in made.values():
            archive.store_file(blob)
    finally:
        archive.close()
    out = tmp_path / "received"
    out.mkdir()
    # one second per instance: the kill lands after the first sub-operations, before the last
    sink_command = (
        "storescp",
        "--sleep-during",
        "1",
        "-aet",
        "SINK",
        "-od",
        str(out),
        str(sink_port),
    )
    with (
        dcmtk_server(sink_port, tmp_path / "storescp.log", *sink_command),
        served(tmp_path, config) as server,
    ):
        server.start()

        def move() -> list[int]:
            ae = AE(ae_title="MOVER")
            ae.add_requested_context(StudyRootQueryRetrieveInformationModelMove)
            assoc = ae.associate("127.0.0.1", server.dicom_port, ae_title="VESALIUS")
            identifier = Dataset()
            identifier.QueryRetrieveLevel = "STUDY"
            identifier.StudyInstanceUID = study
            answers = assoc.send_c_move(
                identifier, "SINK", StudyRootQueryRetrieveInformationModelMove
            )
            statuses = [int(status.Status) for status, _ in answers if status]
            assoc.abort()
            return statuses

        def move_jobs() -> list[dict[str, Any]]:
            answer = httpx.get(f"{server.base}/api/jobs", params={"kind": "move"}, timeout=5)
            assert answer.status_code == 200, answer.text
            return list(answer.json())

        def under_way() -> bool:
            return any(j["state"] == "running" and j["progress"]["done"] >= 1 for j in move_jobs())

        thread, _ = in_background(move)
        wait_for(under_way, timeout=30)
        (job,) = move_jobs()
        server.kill()
        thread.join(30)
        assert job["progress"]["done"] < len(made)
        server.start()
        wait_for(
            lambda: next(j for j in move_jobs() if j["id"] == job["id"])["state"] != "running",
            timeout=30,
        )
        after = next(j for j in move_jobs() if j["id"] == job["id"])
        assert (after["state"], after["error"]) == ("failed", ABANDONED), after
        server.stop()
    server.check()
    assert indexed(data, list(made)) == set(made)
