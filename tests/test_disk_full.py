"""A full disk during STOW-RS and during a retrieve (C-MOVE sub-operations into the archive).

The archive's ``storage/`` is a 2 MB tmpfs, filled by the test itself; where
tmpfs cannot be mounted (not root) the test is skipped with the reason, except
under ``CI=true``, where it runs on the free-space floor instead (a floor far
above the free space, so every store is refused as it would be on a full
disk). Either way the failures must be clean: STOW-RS answers 202 or 409 with
every refused instance in the FailedSOPSequence (reason A700), C-STORE
sub-operations answer A700 and the retrieve job counts them as failed, the
journal is empty, and ``vesalius check`` finds the index and the files agree.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydicom import dcmread
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from pynetdicom import AE

from conftest import ON_CI, SECONDARY_CAPTURE, free_port, secondary_capture, vesalius, wait_for
from vesalius.app import Node
from vesalius.settings import Settings, load_settings

OUT_OF_RESOURCES = 0xA700
FAILED_SOP_SEQUENCE = "00081198"
REFERENCED_SOP_SEQUENCE = "00081199"
REFERENCED_SOP_INSTANCE = "00081155"
FAILURE_REASON = "00081197"
BOUNDARY = "vesalius-disk-full"
TMPFS_MB = 2
PIXELS = 512  # 256 KB an instance: eight fill the tmpfs
FINISHED = ("done", "failed", "cancelled")


@dataclass
class FullDisk:
    """Where the archive's data goes, and the floor that makes its disk 'full'."""

    data: Path
    floor_mb: int
    mode: str  # "tmpfs" or "floor"


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[FullDisk]:
    data = tmp_path / "data"
    storage = data / "storage"
    storage.mkdir(parents=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_MB}m", "tmpfs", str(storage)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        if not ON_CI:
            pytest.skip(f"cannot mount a tmpfs: {mounted.stderr.strip()}")
        yield FullDisk(data, 10**9, "floor")
        return
    try:
        yield FullDisk(data, 0, "tmpfs")
    finally:
        subprocess.run(["umount", "--lazy", str(storage)], check=False)


def study_of(count: int) -> tuple[str, dict[str, bytes]]:
    study, series = generate_uid(), generate_uid()
    return study, dict(
        secondary_capture(study, series, pixels=PIXELS, patient="Full^Disk") for _ in range(count)
    )


def settings_for(data: Path, floor_mb: int = 0, **sections: Any) -> Settings:
    overrides: dict[str, Any] = {
        "storage": {"data_dir": str(data)},
        "dicom": {"port": 0, "host": "127.0.0.1", "free_space_floor_mb": floor_mb, "workers": 1},
        "http": {"port": 0, "host": "127.0.0.1"},
    }
    for section, values in sections.items():
        if isinstance(values, dict):
            overrides.setdefault(section, {}).update(values)
        else:
            overrides[section] = values
    return load_settings(Path(os.devnull), overrides)


def stow(base: str, parts: list[bytes]) -> httpx.Response:
    body = b"".join(
        f"--{BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n".encode() + part + b"\r\n"
        for part in parts
    )
    return httpx.post(
        f"{base}/dicomweb/studies",
        content=body + f"--{BOUNDARY}--\r\n".encode(),
        headers={
            "Content-Type": f'multipart/related; type="application/dicom"; boundary={BOUNDARY}',
            "Accept": "application/dicom+json",
        },
        timeout=60,
    )


def sequence_uids(answer: dict[str, Any], tag: str) -> list[str]:
    return [
        item[REFERENCED_SOP_INSTANCE]["Value"][0] for item in answer.get(tag, {}).get("Value", [])
    ]


def indexed(node: Node, uids: list[str]) -> set[str]:
    return {i.sop_instance_uid for i in node.archive.instances(sop_instance_uids=uids)}


def settled(data: Path) -> None:
    """Nothing half-written: the journal is empty, ``vesalius check`` finds agreement."""
    journal = data / "storage" / ".journal"
    assert sorted(os.listdir(journal)) == []
    checked = vesalius("check", "--data-dir", str(data), timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_stow_on_a_full_disk_fails_cleanly(full_disk: FullDisk) -> None:
    _, first = study_of(12)  # 3 MB: more than the disk holds
    _, second = study_of(3)
    with Node(settings_for(full_disk.data, full_disk.floor_mb), http=True) as node:
        answers = [stow(node.base_url, list(first.values()))]
        answers.append(stow(node.base_url, list(second.values())))
        stored: set[str] = set()
        for answer, sent in zip(answers, (first, second), strict=True):
            assert answer.status_code in (202, 409), answer.text
            body = answer.json()
            ok = sequence_uids(body, REFERENCED_SOP_SEQUENCE)
            failed = sequence_uids(body, FAILED_SOP_SEQUENCE)
            assert sorted(ok + failed) == sorted(sent)  # every part answered, once
            assert failed
            reasons = {
                item[FAILURE_REASON]["Value"][0] for item in body[FAILED_SOP_SEQUENCE]["Value"]
            }
            assert reasons == {OUT_OF_RESOURCES}
            assert (answer.status_code == 409) == (not ok)
            stored |= set(ok)
        assert answers[-1].status_code == 409  # full: nothing more goes in
        if full_disk.mode == "tmpfs":
            assert stored, "the tmpfs should have taken a few before it filled"
        assert indexed(node, [*first, *second]) == stored
        print(f"\ndisk full ({full_disk.mode}), STOW-RS: {len(stored)} stored, "
              f"{len(first) + len(second) - len(stored)} refused with A700")  # fmt: skip
    settled(full_disk.data)


def test_retrieve_into_a_full_disk_fails_cleanly(full_disk: FullDisk, tmp_path: Path) -> None:
    local_port = free_port()
    remote_settings = settings_for(
        tmp_path / "remote",
        dicom={"ae_title": "REMOTE"},
        peers=[{"name": "local", "ae_title": "LOCAL", "host": "127.0.0.1", "port": local_port,
                "services": ["store", "find", "move", "get"]}],
    )  # fmt: skip
    study, made = study_of(12)
    with Node(remote_settings) as remote:
        for blob in made.values():
            remote.archive.store_file(blob)
        local_settings = settings_for(
            full_disk.data,
            full_disk.floor_mb,
            dicom={"port": local_port, "ae_title": "LOCAL"},
            peers=[{"name": "source", "ae_title": "REMOTE", "host": "127.0.0.1",
                    "port": remote.dicom_port, "services": ["store", "find", "move"]}],
        )  # fmt: skip
        with Node(local_settings, http=True) as local:
            answer = httpx.post(
                f"{local.base_url}/api/retrieve",
                json={"peer": "source", "studies": [study]},
                timeout=30,
            )
            assert answer.status_code == 201, answer.text
            jobs = local.archive.jobs
            job_id = answer.json()["id"]
            wait_for(lambda: jobs.get(job_id).state in FINISHED, timeout=90)
            row = jobs.get(job_id)
            held = indexed(local, list(made))
            assert row.failed >= 1, (row.state, row.error)
            assert (row.done, row.done + row.failed) == (len(held), len(made)), row.result
            assert row.state == "failed"  # a retrieve with any failed instance is failed
            assert f"{row.failed} of {len(made)} instance(s) failed" in row.error
            if full_disk.mode == "tmpfs":
                assert held, "the tmpfs should have taken a few before it filled"
            # a C-STORE to the full archive: Out of Resources
            ae = AE(ae_title="PROBE")
            ae.add_requested_context(SECONDARY_CAPTURE, ExplicitVRLittleEndian)
            assoc = ae.associate("127.0.0.1", local.dicom_port, ae_title="LOCAL")
            assert assoc.is_established
            _, probe = secondary_capture(study, generate_uid(), pixels=PIXELS, patient="Full^Disk")
            status = assoc.send_c_store(dcmread(BytesIO(probe)))
            assoc.release()
            assert int(status.Status) == OUT_OF_RESOURCES
            print(f"\ndisk full ({full_disk.mode}), retrieve: {row.done} received, "
                  f"{row.failed} sub-operations refused, job {row.state}")  # fmt: skip
    settled(full_disk.data)
