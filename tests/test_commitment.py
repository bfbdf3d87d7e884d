"""Storage commitment (push model) between real associations on loopback.

Our SCU against our SCP, and each against a peer written here with plain
pynetdicom (not with the project's code): Orthanc also implements storage
commitment, but it is not among the packages CI installs, so the foreign
implementation in these tests is the pynetdicom one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from pynetdicom import AE, evt
from pynetdicom.sop_class import StorageCommitmentPushModel

from conftest import VESALIUS, corpus_file, free_port, port_open, vesalius, wait_for
from vesalius.app import Node
from vesalius.archive import commitment
from vesalius.archive.archive import Archive
from vesalius.archive.commitment import Reference
from vesalius.dimse.commitment_scu import request_commitment
from vesalius.dimse.scu import Target
from vesalius.settings import Settings, load_settings

pytestmark = pytest.mark.both_databases

MR = [f"dcm4che/MR-series/MR{n:02d}.dcm" for n in range(1, 5)]
WELL_KNOWN_INSTANCE = "1.2.840.10008.1.20.1.1"
REQUESTER = "REQUESTER"


def settings_for(data: Path, *, port: int = 0, peers: list[dict[str, Any]] = ()) -> Settings:
    return load_settings(
        Path(os.devnull),
        {
            "storage": {"data_dir": str(data)},
            "dicom": {"port": port, "host": "127.0.0.1", "free_space_floor_mb": 0, "workers": 1},
            "http": {"port": 0, "host": "127.0.0.1"},
            "commitment": {"report_retries": 20, "retry_interval_s": 1, "wait_s": 10},
            "peers": list(peers),
        },
    )


def references(names: list[str]) -> list[Reference]:
    found = []
    for name in names:
        header = dcmread(corpus_file(name), stop_before_pixels=True)
        found.append(Reference(str(header.SOPClassUID), str(header.SOPInstanceUID)))
    return found


def requester_peer(port: int) -> dict[str, Any]:
    return {"name": "requester", "ae_title": REQUESTER, "host": "127.0.0.1", "port": port}


@pytest.fixture
def archive_node(tmp_path: Path) -> Iterator[Node]:
    """The committing archive: four MR images, its job runner on (it calls back)."""
    requester_port = free_port()
    settings = settings_for(tmp_path / "scp", peers=[requester_peer(requester_port)])
    with Node(settings, http=True) as node:
        for name in MR:
            node.archive.store_file(corpus_file(name).read_bytes())
        node.requester_port = requester_port  # type: ignore[attr-defined]
        yield node


def target_of(node: Node, calling: str = REQUESTER) -> Target:
    return Target("127.0.0.1", node.dicom_port, node.settings.dicom.ae_title, calling)


def commitment_job(node: Node, transaction_uid: str) -> Any:
    return node.archive.jobs.find(commitment.COMMITMENT, transaction_uid)


def test_all_present_reports_event_type_1_on_the_same_association(archive_node: Node) -> None:
    asked = references(MR[:2])
    outcome = request_commitment(target_of(archive_node), asked, wait_s=10)
    assert outcome.verdict is not None
    assert outcome.verdict.committed == asked and outcome.verdict.failed == []
    wait_for(lambda: commitment_job(archive_node, outcome.transaction_uid).state == "done")
    job = commitment_job(archive_node, outcome.transaction_uid)
    assert '"delivered": "same association"' in job.result and job.done == 2


def test_unknown_and_conflicting_instances_fail_with_their_reasons(archive_node: Node) -> None:
    known = references(MR[:1])
    unknown = Reference(known[0].sop_class_uid, generate_uid())
    conflict = Reference("1.2.840.10008.5.1.4.1.1.2", references(MR[1:2])[0].sop_instance_uid)
    outcome = request_commitment(target_of(archive_node), [*known, unknown, conflict], wait_s=10)
    assert outcome.verdict is not None
    assert outcome.verdict.committed == known
    assert dict(outcome.verdict.failed) == {unknown: 0x0112, conflict: 0x0119}


def raw_request(node: Node, information: Dataset | None, action_type: int = 1) -> int:
    """An N-ACTION from plain pynetdicom; the status of the answer."""
    ae = AE(ae_title=REQUESTER)
    ae.add_requested_context(StorageCommitmentPushModel)
    assoc = ae.associate("127.0.0.1", node.dicom_port, ae_title=node.settings.dicom.ae_title)
    assert assoc.is_established
    try:
        status, _ = assoc.send_n_action(
            information, action_type, StorageCommitmentPushModel, WELL_KNOWN_INSTANCE
        )
    finally:
        assoc.release()
    return int(status.Status)


def test_malformed_requests_get_failure_statuses(archive_node: Node) -> None:
    no_uid = Dataset()
    no_uid.ReferencedSOPSequence = []
    empty = Dataset()
    empty.TransactionUID = generate_uid()
    empty.ReferencedSOPSequence = []
    assert raw_request(archive_node, no_uid) == 0x0120
    assert raw_request(archive_node, empty) == 0x0121
    assert raw_request(archive_node, empty, action_type=2) == 0x0123
    assert archive_node.archive.jobs.list(kind=commitment.COMMITMENT) == []


def request_and_leave(port: int, transaction_uid: str, asked: list[Reference]) -> int:
    """A pynetdicom SCU that asks, then releases at once and takes no report there."""
    information = Dataset()
    information.TransactionUID = transaction_uid
    items = []
    for reference in asked:
        item = Dataset()
        item.ReferencedSOPClassUID = reference.sop_class_uid
        item.ReferencedSOPInstanceUID = reference.sop_instance_uid
        items.append(item)
    information.ReferencedSOPSequence = items
    ae = AE(ae_title=REQUESTER)
    ae.add_requested_context(StorageCommitmentPushModel)
    refuse = [(evt.EVT_N_EVENT_REPORT, lambda _event: (0x0110, None))]
    assoc = ae.associate("127.0.0.1", port, ae_title="VESALIUS", evt_handlers=refuse)
    assert assoc.is_established
    status, _ = assoc.send_n_action(information, 1, StorageCommitmentPushModel, WELL_KNOWN_INSTANCE)
    assoc.release()
    return int(status.Status)


def test_report_on_a_new_association_after_the_requester_left(
    archive_node: Node, tmp_path: Path
) -> None:
    asked = references(MR[:3])
    requester_settings = settings_for(tmp_path / "requester", port=archive_node.requester_port)
    with Node(requester_settings) as requester:
        transaction_uid = generate_uid()
        waiting = commitment.await_report(requester.archive, transaction_uid, "archive", asked)
        assert request_and_leave(archive_node.dicom_port, transaction_uid, asked) == 0x0000
        wait_for(lambda: requester.archive.jobs.get(waiting.id).state == "done", timeout=30)
        result = commitment.Verdict.from_result(
            json.loads(requester.archive.jobs.get(waiting.id).result)
        )
    assert result.committed == asked and result.failed == []
    job = commitment_job(archive_node, transaction_uid)
    assert job.state == "done" and '"delivered": "new association"' in job.result


def start_serve(data: Path, config: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as stderr:
        process = subprocess.Popen(
            [
                VESALIUS, "serve", "--config", str(config), "--data-dir", str(data),
                "--dicom-port", str(port), "--http-port", "0", "--workers", "1",
            ],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )  # fmt: skip
    wait_for(lambda: process.poll() is not None or port_open(port), timeout=60)
    assert process.poll() is None, log.read_text(errors="replace")
    return process


def test_a_report_owed_survives_a_restart(tmp_path: Path) -> None:
    """The archive dies (kill -9) while the requester cannot be reached; restarted,
    it still delivers the report once the requester listens."""
    data, port, requester_port = tmp_path / "scp", free_port(), free_port()
    config = tmp_path / "vesalius.toml"
    config.write_text(
        "[commitment]\nreport_retries = 30\nretry_interval_s = 1\n"
        f'[[peers]]\nname = "requester"\nae_title = "{REQUESTER}"\n'
        f'host = "127.0.0.1"\nport = {requester_port}\n'
    )
    imported = vesalius("import", "--data-dir", str(data), *[str(corpus_file(n)) for n in MR])
    assert imported.returncode == 0, imported.stderr
    log = tmp_path / "serve.log"
    server = start_serve(data, config, port, log)
    asked = references(MR)
    transaction_uid = generate_uid()
    requester_settings = settings_for(tmp_path / "requester", port=requester_port)
    try:
        assert request_and_leave(port, transaction_uid, asked) == 0x0000
        with_jobs = Archive.open(settings_for(data))
        try:
            wait_for(
                lambda: "attempt 1" in (commitment_job_of(with_jobs, transaction_uid).error or ""),
                timeout=30,
            )
        finally:
            with_jobs.close()
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=10)
        with Node(requester_settings) as requester:
            waiting = commitment.await_report(requester.archive, transaction_uid, "scp", asked)
            server = start_serve(data, config, port, log)
            wait_for(lambda: requester.archive.jobs.get(waiting.id).state == "done", timeout=60)
            assert '"failed": []' in requester.archive.jobs.get(waiting.id).result
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=20)


def commitment_job_of(archive: Any, transaction_uid: str) -> Any:
    row = archive.jobs.find(commitment.COMMITMENT, transaction_uid)
    assert row is not None
    return row


def foreign_scp(port: int, present: set[str]) -> Any:
    """A storage commitment SCP in plain pynetdicom: commits what is in ``present``."""
    ae = AE(ae_title="FOREIGN")
    ae.add_supported_context(StorageCommitmentPushModel)

    answered = threading.Event()  # pynetdicom would send the report before the answer

    def on_sent(event: Any) -> None:
        if type(event.message).__name__ == "N_ACTION_RSP":
            answered.set()

    def on_action(event: Any) -> tuple[int, None]:
        information = event.action_information
        assoc = event.assoc
        answered.clear()

        def report() -> None:
            answered.wait(10)
            answer = Dataset()
            answer.TransactionUID = information.TransactionUID
            good, bad = [], []
            for item in information.ReferencedSOPSequence:
                (good if item.ReferencedSOPInstanceUID in present else bad).append(item)
            for item in bad:
                item.FailureReason = 0x0112
            if good:
                answer.ReferencedSOPSequence = good
            if bad:
                answer.FailedSOPSequence = bad
            assoc.send_n_event_report(
                answer, 2 if bad else 1, StorageCommitmentPushModel, WELL_KNOWN_INSTANCE
            )

        threading.Thread(target=report, daemon=True).start()
        return 0x0000, None

    handlers = [(evt.EVT_N_ACTION, on_action), (evt.EVT_DIMSE_SENT, on_sent)]
    return ae.start_server(("127.0.0.1", port), block=False, evt_handlers=handlers)


def test_cli_commit_against_a_foreign_scp(tmp_path: Path) -> None:
    port = free_port()
    files = [corpus_file(name) for name in MR[:3]]
    present = {dcmread(f, stop_before_pixels=True).SOPInstanceUID for f in files[:2]}
    server = foreign_scp(port, present)
    try:
        done = vesalius(
            "commit", "127.0.0.1", str(port), "--aec", "FOREIGN", "--wait", "10",
            "--data-dir", str(tmp_path / "none"), *[str(f) for f in files],
        )  # fmt: skip
    finally:
        server.shutdown()
    assert done.returncode == 2, done.stderr
    assert "committed 2 of 3" in done.stdout
    missing = dcmread(files[2], stop_before_pixels=True).SOPInstanceUID
    assert f"not committed  {missing}: reason 0112" in done.stdout


def test_send_commit_and_delete_after_commit(archive_node: Node, tmp_path: Path) -> None:
    """Send copies of files to the archive, have them committed, delete the copies."""
    folder = tmp_path / "outbox"
    folder.mkdir()
    for name in MR:
        (folder / Path(name).name).write_bytes(corpus_file(name).read_bytes())
    receiver_settings = settings_for(tmp_path / "receiver")
    with Node(receiver_settings, http=True) as receiver:
        done = vesalius(
            "send", "127.0.0.1", str(receiver.dicom_port), "--aec", "VESALIUS",
            "--aet", REQUESTER, "--commit", "--delete-after-commit",
            "--data-dir", str(tmp_path / "none"), str(folder),
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        assert receiver.archive.index.counts()["instances"] == len(MR)
    assert "committed 4 of 4" in done.stdout
    assert list(folder.iterdir()) == []
