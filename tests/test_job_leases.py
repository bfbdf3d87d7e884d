"""Job leases: several nodes share one queue; a job of a node that died goes to another.

The unit tests run on SQLite and on a fresh PostgreSQL database; leases are
made to run out by writing their end into the past, never by sleeping. The
end-to-end test runs two ``vesalius serve`` processes over one PostgreSQL
database, kills the one sending, and sees the other finish the send.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

import postgres_support
from conftest import (
    CORPUS,
    VESALIUS,
    corpus_file,
    dcmtk_server,
    free_port,
    make_settings,
    read,
    wait_for,
)
from vesalius.archive.archive import Archive
from vesalius.archive.jobs import ABANDONED, INTERRUPTED, Jobs, node_id
from vesalius.archive.remote import queue_send
from vesalius.index.index import Index
from vesalius.settings import Settings

pytestmark = pytest.mark.both_databases

SEND_KINDS = ("send", "retrieve")


def past() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(seconds=5)


def expire(jobs: Jobs, job_id: int) -> None:
    """Let a job's lease run out now, as if its node had stopped renewing it."""
    assert jobs.table.update(job_id, lease_until=past())


@contextmanager
def other_node(settings: Settings, name: str) -> Iterator[Jobs]:
    """The queue as a second node sees it: its own index connections and node id."""
    index = Index.open(settings.database.url, settings.data_dir)
    jobs = Jobs(index, node=name, lease_s=30)
    try:
        yield jobs
    finally:
        jobs.close()
        index.close()


def test_node_id_names_host_and_process() -> None:
    assert node_id() == f"{socket.gethostname()}:{os.getpid()}"


def test_a_claim_records_the_node_and_a_lease(archive: Archive) -> None:
    jobs = archive.jobs
    queued = queue_send(jobs, "peer", ["1.2.3"])
    assert jobs.get(queued.id).lease_until is None  # queued: nobody holds it yet
    before = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    claimed = jobs.claim(SEND_KINDS)
    assert claimed is not None
    job, kind, params = claimed
    row = jobs.get(job.id)
    assert (row.state, row.node, kind) == ("running", jobs.node, "send")
    assert params == {"peer": "peer", "studies": ["1.2.3"]}
    assert row.lease_until >= before + dt.timedelta(seconds=jobs.lease_s - 1)
    assert jobs.leases.held() == [job.id]
    job.finish("done")
    row = jobs.get(job.id)
    assert (row.state, row.node, row.lease_until) == ("done", jobs.node, None)
    assert jobs.leases.held() == []


def test_a_held_job_is_not_claimed_again_until_its_lease_runs_out(
    archive: Archive, settings: Settings
) -> None:
    job = queue_send(archive.jobs, "peer", ["1.2.3"])
    first = archive.jobs.claim(SEND_KINDS)
    assert first is not None
    with other_node(settings, "node-b") as b:
        assert b.claim(SEND_KINDS) is None  # node A is alive: its lease holds
        expire(b, job.id)  # node A died
        taken = b.claim(SEND_KINDS)
        assert taken is not None
        assert taken[0].id == job.id
        row = b.get(job.id)
        assert (row.state, row.node) == ("running", "node-b")
        taken[0].finish("done")
    assert archive.jobs.get(job.id).state == "done"
    first[0].finish("done")  # node A, back from the dead, writes nothing
    assert archive.jobs.get(job.id).node == "node-b"


def test_a_node_that_lost_its_lease_writes_nothing_more(
    archive: Archive, settings: Settings
) -> None:
    queue_send(archive.jobs, "peer", ["1.2.3"])
    claimed = archive.jobs.claim(SEND_KINDS)
    assert claimed is not None
    stalled = claimed[0]
    with other_node(settings, "node-b") as b:
        expire(b, stalled.id)
        taken = b.claim(SEND_KINDS)
        assert taken is not None
        taken[0].start(4)
        archive.jobs.leases.renew()  # node A wakes up: the job is no longer its own
        assert stalled.lost
        assert archive.jobs.leases.held() == []
        stalled.finish("failed", error="stalled")
        taken[0].progress(done=4, failed=0, warning=0)
        taken[0].finish("done")
    row = archive.jobs.get(stalled.id)
    assert (row.state, row.node, row.error) == ("done", "node-b", "")


def test_a_write_finds_out_the_job_was_taken_over(archive: Archive, settings: Settings) -> None:
    queue_send(archive.jobs, "peer", ["1.2.3"])
    claimed = archive.jobs.claim(SEND_KINDS)
    assert claimed is not None
    stalled = claimed[0]
    with other_node(settings, "node-b") as b:
        expire(b, stalled.id)
        assert b.claim(SEND_KINDS) is not None
    stalled.start(10)  # no renewal came first: the write itself notices
    assert stalled.lost
    row = archive.jobs.get(stalled.id)
    assert (row.node, row.total) == ("node-b", 0)


def test_a_queued_job_started_where_it_was_made_is_held_from_then(archive: Archive) -> None:
    job = queue_send(archive.jobs, "peer", ["1.2.3"])
    job.start(2)
    row = archive.jobs.get(job.id)
    assert (row.node, row.lease_until is not None) == (archive.jobs.node, True)
    assert archive.jobs.claim(SEND_KINDS) is None
    job.finish("done")


def test_the_heartbeat_renews_the_leases_held(archive: Archive) -> None:
    archive.jobs.lease_s = 0.3  # a renewal every 0.1 s
    job = archive.jobs.create("move", "C-MOVE to X")
    job.start(3)
    first = archive.jobs.get(job.id).lease_until
    wait_for(lambda: archive.jobs.get(job.id).lease_until > first, timeout=10)
    job.finish("done")
    assert archive.jobs.get(job.id).lease_until is None
    assert archive.jobs.leases.held() == []


def test_a_job_worked_on_where_it_was_made_is_held_from_the_start(archive: Archive) -> None:
    move = archive.jobs.create("move", "C-MOVE to X")
    report = archive.jobs.create("commitment", "report", running=True)
    queued = archive.jobs.create("send", "send", params={"peer": "p", "studies": []})
    assert archive.jobs.get(move.id).node == archive.jobs.node
    assert archive.jobs.get(report.id).lease_until is not None
    assert archive.jobs.get(queued.id).node == ""
    assert archive.jobs.leases.held() == sorted([move.id, report.id])
    move.finish("done")
    report.finish("done")


def test_jobs_no_runner_can_take_up_fail_once_their_node_stops(
    archive: Archive, settings: Settings
) -> None:
    alive = archive.jobs.create("move", "C-MOVE to X")
    alive.start(5)
    dead = archive.jobs.create("get", "C-GET")
    dead.start(5)
    with other_node(settings, "node-b") as b:
        expire(b, dead.id)
        report = archive.jobs.create("commitment", "report", running=True)
        expire(b, report.id)
        assert b.fail_abandoned() == [dead.id]
        assert b.fail_abandoned() == []
        row = b.get(dead.id)
        assert (row.state, row.error, row.lease_until) == ("failed", ABANDONED, None)
        assert b.get(alive.id).state == "running"
        taken = b.claim(("commitment",))  # a report owed is delivered by another node
        assert taken is not None
        assert taken[0].id == report.id
        taken[0].finish("done")
    alive.finish("done")
    dead.finish("done")  # the node that stalled writes nothing over the failure
    assert archive.jobs.get(dead.id).state == "failed"


def test_a_restarted_node_settles_only_its_own_jobs(archive: Archive, settings: Settings) -> None:
    """A node started again with the same id (same host and PID) ends its old leases;
    another node's running jobs are left to their leases."""
    with other_node(settings, "node-b") as b:
        theirs = b.create("move", "C-MOVE for B")
        theirs.start(3)
        queue_send(b, "peer", ["1.2.3"])
        assert b.claim(SEND_KINDS) is not None
        mine = archive.jobs.create("move", "C-MOVE for A")
        mine.start(3)
        queue_send(archive.jobs, "peer", ["4.5.6"])
        send = archive.jobs.claim(SEND_KINDS)
        assert send is not None
        with other_node(settings, archive.jobs.node) as again:
            assert again.release_own() == 1
            assert again.get(mine.id).state == "failed"
            assert again.get(mine.id).error == INTERRUPTED
            retaken = again.claim(SEND_KINDS)  # its own send is claimable at once
            assert retaken is not None
            assert retaken[0].id == send[0].id
            assert again.claim(SEND_KINDS) is None  # node B's send is still B's
            retaken[0].finish("done")
        assert b.get(theirs.id).state == "running"
        theirs.finish("done")
    archive.jobs.close()  # the earlier life is over


def test_a_cancelled_job_is_not_taken_up_when_its_lease_runs_out(archive: Archive) -> None:
    job = queue_send(archive.jobs, "peer", ["1.2.3"])
    claimed = archive.jobs.claim(SEND_KINDS)
    assert claimed is not None
    assert archive.jobs.table.cancel(job.id)
    expire(archive.jobs, job.id)
    assert archive.jobs.claim(SEND_KINDS) is None
    assert archive.jobs.fail_abandoned() == []
    assert archive.jobs.get(job.id).state == "cancelled"
    claimed[0].finish("cancelled")
    assert archive.jobs.leases.held() == []


def test_a_deferred_job_drops_its_lease_and_waits_its_time(archive: Archive) -> None:
    report = archive.jobs.create("commitment", "report", running=True)
    archive.jobs.defer(report, 3600, "peer away", {"attempts": 1})
    row = archive.jobs.get(report.id)
    assert (row.state, row.lease_until) == ("pending", None)
    assert archive.jobs.leases.held() == []
    assert archive.jobs.claim(("commitment",)) is None  # not before an hour
    archive.jobs.table.update(report.id, not_before=past())
    taken = archive.jobs.claim(("commitment",))
    assert taken is not None
    taken[0].finish("done")


def test_two_nodes_claiming_at_once_never_take_the_same_job(settings: Settings) -> None:
    count = 40
    with other_node(settings, "node-a") as a, other_node(settings, "node-b") as b:
        made = {queue_send(a, "peer", [f"1.2.{n}"]).id for n in range(count)}
        taken: dict[str, list[int]] = {"node-a": [], "node-b": []}
        start = threading.Barrier(2)

        def claim_all(jobs: Jobs) -> None:
            start.wait()
            while (claimed := jobs.claim(SEND_KINDS)) is not None:
                taken[jobs.node].append(claimed[0].id)

        threads = [threading.Thread(target=claim_all, args=(jobs,)) for jobs in (a, b)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        both = taken["node-a"] + taken["node-b"]
        assert sorted(both) == sorted(made)  # each job once, none left
        for node, ids in taken.items():
            assert {a.get(job_id).node for job_id in ids} <= {node}
        for jobs in (a, b):
            for job_id in jobs.leases.held():
                jobs.table.update(job_id, state="done", lease_until=None)
            jobs.leases.renew()


# -- end to end: two `vesalius serve` processes over one PostgreSQL database -------------

MR_SERIES = sorted((CORPUS / "dcm4che" / "MR-series").glob("MR*.dcm"))


@contextmanager
def serve(config: Path, data: Path, url: str, log: Path) -> Iterator[tuple[subprocess.Popen, int]]:
    """A ``vesalius serve`` node; yields the process and its HTTP port; killed at the end."""
    dicom_port, http_port = free_port(), free_port()
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                VESALIUS, "serve", "--config", str(config), "--data-dir", str(data),
                "--dicom-port", str(dicom_port), "--http-port", str(http_port),
                "--workers", "1",
            ],
            env={**os.environ, "VESALIUS_DATABASE__URL": url},
            stdout=subprocess.DEVNULL,
            stderr=output,
        )  # fmt: skip
    try:
        wait_for(lambda: process.poll() is not None or healthy(http_port), timeout=60)
        assert process.poll() is None, log.read_text(errors="replace")
        yield process, http_port
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_a_send_of_a_killed_node_is_finished_by_another(tmp_path: Path) -> None:
    corpus_file("dcm4che/MR-series/MR01.dcm")
    out, data = tmp_path / "received", tmp_path / "data"
    out.mkdir()
    sink_port = free_port()
    config = tmp_path / "vesalius.toml"
    config.write_text(
        "[jobs]\nlease_s = 3\n\n"
        f'[[peers]]\nname = "sink"\nae_title = "SINK"\nhost = "127.0.0.1"\nport = {sink_port}\n',
        encoding="utf-8",
    )
    with postgres_support.fresh_database() as url:
        settings = make_settings(data, database={"url": url})
        archive = Archive.open(settings)
        try:
            for path in MR_SERIES:
                archive.store_file(path.read_bytes())
            studies = sorted({str(read(path).StudyInstanceUID) for path in MR_SERIES})
            job = queue_send(archive.jobs, "sink", studies)
        finally:
            archive.close()
        index = Index.open(url, data)
        sink_log = tmp_path / "storescp.log"
        sink_command = ("storescp", "-aet", "SINK", "-od", str(out), str(sink_port))
        try:
            with dcmtk_server(sink_port, sink_log, *sink_command) as sink:
                jobs = Jobs(index, node="test")
                sink.send_signal(signal.SIGSTOP)  # it accepts connections but answers nothing
                try:
                    with serve(config, data, url, tmp_path / "a.log") as (a, _):
                        node_a = f"{socket.gethostname()}:{a.pid}"
                        wait_for(lambda: jobs.get(job.id).node == node_a, timeout=30)
                        with serve(config, data, url, tmp_path / "b.log") as (b, _):
                            node_b = f"{socket.gethostname()}:{b.pid}"
                            row = jobs.get(job.id)  # B's start left A's job alone
                            assert (row.state, row.node) == ("running", node_a)
                            a.kill()  # kill -9 while it waits on its association
                            a.wait(timeout=10)
                            sink.send_signal(signal.SIGCONT)
                            wait_for(lambda: jobs.get(job.id).state != "running", timeout=60)
                            row = jobs.get(job.id)
                            assert (row.state, row.node) == ("done", node_b), row.error
                            assert (row.done, row.failed) == (len(MR_SERIES), 0)
                finally:
                    sink.send_signal(signal.SIGCONT)
        finally:
            index.close()
    sent = {str(read(path).SOPInstanceUID) for path in MR_SERIES}
    stored = {str(read(path).SOPInstanceUID) for path in out.iterdir()}
    assert stored == sent
