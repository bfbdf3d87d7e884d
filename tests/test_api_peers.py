"""Peers through the management API: list, echo, query, send and retrieve, against real AEs.

The remote is a second Vesalius node in this process (and DCMTK ``storescp``
for one send): the first node's ``[[peers]]`` name it three times, as a C-GET
peer, as a C-MOVE peer (it knows the first node as a move destination) and as
a dead port. Jobs are awaited on their row, never by sleeping.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import corpus_file, dcmtk_server, free_port, wait_for
from vesalius.app import Node
from vesalius.archive.remote import KINDS, queue_send
from vesalius.archive.runner import JobRunner
from vesalius.dimse.remote import DimseRemoteAEs
from vesalius.settings import Settings, load_settings

MR_SERIES = [f"dcm4che/MR-series/MR{n:02d}.dcm" for n in range(1, 17)]
MR_STUDY = "1.113654.3.13.1026"
CT_SMALL = "pydicom/test_files/CT_small.dcm"
CT_STUDY = "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322"
MR_SMALL = "pydicom/test_files/MR_small.dcm"
MR_SMALL_STUDY = "1.3.6.1.4.1.5962.1.2.4.20040826185059.5457"
REMOTE_HOLDS = [CT_SMALL, MR_SMALL, *MR_SERIES[:6]]
"""The remote's archive: two small studies of CompressedSamples^*, six MR of DOE^J1."""
FINISHED = ("done", "failed", "cancelled")
LOCAL_AET = "LOCAL"
REMOTE_AET = "REMOTE"


def node_settings(data_dir: Path, **sections: Any) -> Settings:
    """Test settings (loopback, no disk floor) with whole sections such as ``peers``."""
    overrides: dict[str, Any] = {
        "storage": {"data_dir": str(data_dir)},
        "dicom": {"port": 0, "host": "127.0.0.1", "free_space_floor_mb": 0, "workers": 1},
        "http": {"port": 0, "host": "127.0.0.1"},
    }
    for section, values in sections.items():
        if isinstance(values, dict):
            overrides.setdefault(section, {}).update(values)
        else:
            overrides[section] = values
    return load_settings(Path(os.devnull), overrides)


def peer(name: str, ae_title: str, port: int, services: list[str]) -> dict[str, Any]:
    """One ``[[peers]]`` entry on loopback."""
    return {
        "name": name,
        "ae_title": ae_title,
        "host": "127.0.0.1",
        "port": port,
        "services": services,
    }


@dataclass
class Pair:
    """The node under test (HTTP + job runner) and the remote it talks to."""

    local: Node
    remote: Node
    client: httpx.Client

    def uids(self, node: Node, study: str) -> set[str]:
        """The SOP Instance UIDs of a study that ``node`` holds."""
        return {i.sop_instance_uid for i in node.archive.instances(study_uids=[study])}

    def wait_job(self, job_id: int, timeout: float = 60) -> Any:
        """The job row once it has finished."""
        jobs = self.local.archive.jobs
        wait_for(lambda: jobs.get(job_id).state in FINISHED, timeout=timeout)  # type: ignore[union-attr]
        return jobs.get(job_id)


def stock(node: Node, names: list[str]) -> None:
    """Store corpus files in a node's archive."""
    for name in names:
        node.archive.store_file(corpus_file(name).read_bytes())


def local_settings(
    tmp_path: Path, dicom_port: int, remote_port: int, ae_title: str = LOCAL_AET, **extra: Any
) -> Settings:
    """The node under test, with the remote as a C-GET, a C-MOVE and a dead peer."""
    return node_settings(
        tmp_path / "local",
        dicom={"port": dicom_port, "ae_title": ae_title},
        peers=[
            peer("by-get", REMOTE_AET, remote_port, ["store", "find", "get"]),
            peer("by-move", REMOTE_AET, remote_port, ["store", "find", "move"]),
            peer("dead", "NOBODY", free_port(), ["store", "find", "get"]),
            *extra.get("peers", []),
        ],
    )


@pytest.fixture
def remote_node(tmp_path: Path) -> Iterator[tuple[Node, int]]:
    """A second Vesalius (DICOM only) holding REMOTE_HOLDS, which knows LOCAL at a port
    picked for it; yields the node and that port."""
    local_port = free_port()
    settings = node_settings(
        tmp_path / "remote",
        dicom={"ae_title": REMOTE_AET},
        peers=[peer("local", LOCAL_AET, local_port, ["store", "find", "move", "get"])],
    )
    with Node(settings) as remote:
        stock(remote, REMOTE_HOLDS)
        yield remote, local_port


@pytest.fixture
def pair(tmp_path: Path, remote_node: tuple[Node, int]) -> Iterator[Pair]:
    """The node under test, serving HTTP and running jobs, beside the remote."""
    remote, local_port = remote_node
    settings = local_settings(tmp_path, local_port, remote.dicom_port)
    with (
        Node(settings, http=True) as local,
        httpx.Client(base_url=f"{local.base_url}/api", timeout=60) as client,
    ):
        yield Pair(local, remote, client)


def test_list_peers(pair: Pair) -> None:
    answer = pair.client.get("/peers")
    assert answer.status_code == 200
    listed = {entry["name"]: entry for entry in answer.json()}
    assert set(listed) == {"by-get", "by-move", "dead"}
    assert listed["by-get"] == {
        "name": "by-get",
        "ae_title": REMOTE_AET,
        "host": "127.0.0.1",
        "port": pair.remote.dicom_port,
        "tls": False,
        "services": ["store", "find", "get"],
    }


def test_echo_answers_ok_or_the_reason(pair: Pair) -> None:
    alive = pair.client.post("/peers/by-get/echo")
    assert alive.status_code == 200
    assert alive.json()["ok"] is True
    dead = pair.client.post("/peers/dead/echo")
    assert dead.status_code == 200
    assert dead.json()["ok"] is False
    assert "could not be reached" in dead.json()["error"]
    unknown = pair.client.post("/peers/nobody/echo")
    assert unknown.status_code == 404
    assert "nobody" in unknown.json()["error"]


def test_send_stores_the_study_on_the_peer(pair: Pair) -> None:
    stock(pair.local, MR_SERIES[6:])
    sent = pair.uids(pair.local, MR_STUDY)
    assert len(sent) == 10 and not sent & pair.uids(pair.remote, MR_STUDY)

    answer = pair.client.post(f"/studies/{MR_STUDY}/send", json={"peer": "by-get"})
    assert answer.status_code == 201
    job = answer.json()
    assert job["kind"] == "send"
    assert job["state"] in ("pending", "running", "done")
    assert set(job) >= {"id", "kind", "state", "progress", "error", "result"}
    assert answer.headers["location"] == f"/api/jobs/{job['id']}"

    row = pair.wait_job(job["id"])
    assert (row.state, row.done, row.failed, row.total) == ("done", 10, 0, 10), row.error
    assert sent <= pair.uids(pair.remote, MR_STUDY)
    assert len(pair.uids(pair.remote, MR_STUDY)) == 16


def test_send_to_a_dead_peer_fails_the_job(pair: Pair) -> None:
    answer = pair.client.post(f"/studies/{CT_STUDY}/send", json={"peer": "dead"})
    assert answer.status_code == 404  # the local node does not hold CT_small
    stock(pair.local, [CT_SMALL])
    answer = pair.client.post(f"/studies/{CT_STUDY}/send", json={"peer": "dead"})
    assert answer.status_code == 201
    row = pair.wait_job(answer.json()["id"])
    assert row.state == "failed"
    assert "could not be reached" in row.error


def test_send_refuses_unknown_peer_and_study(pair: Pair) -> None:
    stock(pair.local, [CT_SMALL])
    unknown_peer = pair.client.post(f"/studies/{CT_STUDY}/send", json={"peer": "nobody"})
    assert unknown_peer.status_code == 404
    assert "nobody" in unknown_peer.json()["error"]
    unknown_study = pair.client.post("/studies/1.2.3.4/send", json={"peer": "by-get"})
    assert unknown_study.status_code == 404
    no_peer = pair.client.post(f"/studies/{CT_STUDY}/send", json={})
    assert no_peer.status_code in (400, 422)
    assert pair.local.archive.jobs.list() == []


def test_send_to_dcmtk_storescp(pair: Pair, tmp_path: Path) -> None:
    out = tmp_path / "storescp"
    out.mkdir()
    port = free_port()
    settings = local_settings(
        tmp_path / "second",
        free_port(),
        pair.remote.dicom_port,
        peers=[peer("dcmtk", "STORESCP", port, ["store"])],
    )
    with (
        dcmtk_server(
            port,
            tmp_path / "storescp.log",
            "storescp",
            "-aet",
            "STORESCP",
            "-od",
            str(out),
            str(port),
        ),
        Node(settings, http=True) as local,
    ):
        stock(local, MR_SERIES[:4])
        client = httpx.Client(base_url=f"{local.base_url}/api", timeout=60)
        assert client.post("/peers/dcmtk/echo").json() == {"ok": True, "error": None}
        job = client.post(f"/studies/{MR_STUDY}/send", json={"peer": "dcmtk"}).json()
        jobs = local.archive.jobs
        wait_for(lambda: jobs.get(job["id"]).state in FINISHED, timeout=60)  # type: ignore[union-attr]
        row = jobs.get(job["id"])
        client.close()
    assert row is not None and (row.state, row.done, row.total) == ("done", 4, 4), row
    assert len(list(out.iterdir())) == 4


def test_query_returns_the_peers_matches(pair: Pair) -> None:
    answer = pair.client.post(
        "/query", json={"peer": "by-get", "keys": {"PatientName": "Compressed*"}}
    )
    assert answer.status_code == 200
    matches = answer.json()
    assert isinstance(matches, list)
    by_study = {m["StudyInstanceUID"]: m for m in matches}
    assert set(by_study) == {CT_STUDY, MR_SMALL_STUDY}
    ct = by_study[CT_STUDY]
    assert ct["PatientName"] == "CompressedSamples^CT1"
    assert ct["PatientID"] == "1CT1"
    assert ct["NumberOfStudyRelatedInstances"] == 1
    assert "QueryRetrieveLevel" not in ct

    series = pair.client.post(
        "/query",
        json={"peer": "by-move", "level": "series", "keys": {"StudyInstanceUID": MR_STUDY}},
    ).json()
    assert [s["NumberOfSeriesRelatedInstances"] for s in series] == [6]
    assert series[0]["Modality"] == "MR"


def test_query_refuses_bad_requests(pair: Pair) -> None:
    bad_level = pair.client.post("/query", json={"peer": "by-get", "level": "FRAME"})
    assert bad_level.status_code == 400
    assert "FRAME" in bad_level.json()["error"]
    bad_key = pair.client.post("/query", json={"peer": "by-get", "keys": {"NoSuchKey": "x"}})
    assert bad_key.status_code == 400
    assert "NoSuchKey" in bad_key.json()["error"]
    unknown = pair.client.post("/query", json={"peer": "nobody"})
    assert unknown.status_code == 404
    dead = pair.client.post("/query", json={"peer": "dead"})
    assert dead.status_code == 502
    assert "could not be reached" in dead.json()["error"]


@pytest.mark.parametrize(("peer_name", "method"), [("by-get", "C-GET"), ("by-move", "C-MOVE")])
def test_retrieve_pulls_studies_from_the_peer(pair: Pair, peer_name: str, method: str) -> None:
    assert not pair.uids(pair.local, MR_STUDY)
    answer = pair.client.post(
        "/retrieve", json={"peer": peer_name, "studies": [MR_STUDY, CT_STUDY]}
    )
    assert answer.status_code == 201
    assert answer.json()["kind"] == "retrieve"

    row = pair.wait_job(answer.json()["id"])
    assert (row.state, row.done, row.failed, row.total) == ("done", 7, 0, 7), row.error
    assert pair.uids(pair.local, MR_STUDY) == pair.uids(pair.remote, MR_STUDY)
    assert pair.uids(pair.local, CT_STUDY) == pair.uids(pair.remote, CT_STUDY)
    assert f'"method": "{method}"' in row.result


def test_retrieve_by_move_from_a_peer_that_does_not_know_us(
    tmp_path: Path, remote_node: tuple[Node, int]
) -> None:
    remote, _local_port = remote_node
    settings = local_settings(tmp_path / "stranger", free_port(), remote.dicom_port, "STRANGER")
    with (
        Node(settings, http=True) as local,
        httpx.Client(base_url=f"{local.base_url}/api") as client,
    ):
        answer = client.post("/retrieve", json={"peer": "by-move", "studies": [CT_STUDY, MR_STUDY]})
        jobs = local.archive.jobs
        wait_for(lambda: jobs.get(answer.json()["id"]).state in FINISHED, timeout=60)  # type: ignore[union-attr]
        row = jobs.get(answer.json()["id"])
        assert local.archive.instances(study_uids=[CT_STUDY, MR_STUDY]) == []
    assert row is not None and row.state == "failed"
    assert "does not know STRANGER as a move destination (A801)" in row.error
    assert row.error.count("A801") == 1  # the second study is not tried


def test_retrieve_of_a_study_the_peer_lacks_fails(pair: Pair) -> None:
    answer = pair.client.post("/retrieve", json={"peer": "by-get", "studies": ["1.2.3.4"]})
    row = pair.wait_job(answer.json()["id"])
    assert row.state == "failed"
    assert "1.2.3.4" in row.error


def test_retrieve_refuses_bad_requests(pair: Pair) -> None:
    assert (
        pair.client.post("/retrieve", json={"peer": "nobody", "studies": ["1.2"]}).status_code
        == 404
    )
    empty = pair.client.post("/retrieve", json={"peer": "by-get", "studies": []})
    assert empty.status_code == 400
    wildcard = pair.client.post("/retrieve", json={"peer": "by-get", "studies": ["1.2.*"]})
    assert wildcard.status_code == 400
    assert pair.local.archive.jobs.list() == []


@pytest.fixture
def quiet_local(tmp_path: Path, remote_node: tuple[Node, int]) -> Iterator[tuple[Node, Node]]:
    """The node under test without HTTP, hence without a runner of its own."""
    remote, local_port = remote_node
    with Node(local_settings(tmp_path, local_port, remote.dicom_port)) as local:
        yield local, remote


def test_cancelled_before_it_starts_is_never_run(quiet_local: tuple[Node, Node]) -> None:
    local, _remote = quiet_local
    stock(local, MR_SERIES[6:])
    job = queue_send(local.archive.jobs, "by-get", [MR_STUDY])
    assert local.archive.cancel_job(job.id)
    runner = JobRunner(local.archive, DimseRemoteAEs(local.archive, local.settings))
    assert runner.run_once() is False
    assert local.archive.jobs.get(job.id).state == "cancelled"  # type: ignore[union-attr]


def test_cancelled_while_running_stops_between_instances(quiet_local: tuple[Node, Node]) -> None:
    local, remote = quiet_local
    stock(local, MR_SERIES[6:])
    queued = queue_send(local.archive.jobs, "by-get", [MR_STUDY])
    claimed = local.archive.jobs.claim(KINDS)
    assert claimed is not None
    job, kind, params = claimed
    assert (job.id, kind, params) == (queued.id, "send", {"peer": "by-get", "studies": [MR_STUDY]})
    assert local.archive.cancel_job(job.id)  # as /api/jobs/{id}/cancel does

    JobRunner(local.archive, DimseRemoteAEs(local.archive, local.settings)).run(job, kind, params)

    row = local.archive.jobs.get(job.id)
    assert row is not None and (row.state, row.done, row.total) == ("cancelled", 1, 10)
    assert len({i.sop_instance_uid for i in remote.archive.instances(study_uids=[MR_STUDY])}) == 7
