"""The management API's jobs and system parts over real HTTP: jobs listed, read and
cancelled; the system page, the health check and the Prometheus metrics."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator

import httpx
import pytest

from conftest import corpus_file
from vesalius import __version__
from vesalius.app import Node
from vesalius.archive.jobs import Jobs

MR_FILES = [f"dcm4che/MR-series/MR{number:02d}.dcm" for number in range(1, 5)]
SAMPLE = re.compile(
    r'^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?P<labels>\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})?'
    r" (?P<value>[-+]?(?:[0-9.]+(?:[eE][-+]?[0-9]+)?|\+Inf|-Inf|NaN))$"
)
COMMENT = re.compile(r"^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$")


@pytest.fixture
def api(web_node: Node) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{web_node.base_url}/api", timeout=30) as client:
        yield client


# -- jobs ---------------------------------------------------------------------------
@pytest.fixture
def jobs(web_node: Node) -> Jobs:
    """The node's job queue, its runner stopped: the jobs made by hand stay as made."""
    assert web_node.runner is not None
    web_node.runner.stop()
    return web_node.archive.jobs


def test_jobs_newest_first_filtered_and_paged(jobs: Jobs, api: httpx.Client) -> None:
    first = jobs.create("send", "to PACS2")
    second = jobs.create("retrieve", "from PACS2")
    third = jobs.create("send", "to PACS3")
    first.start(4)
    first.progress(done=4, failed=0, warning=0)
    first.done = 4
    first.finish("done", result={"sent": 4})
    listed = api.get("/jobs")
    assert listed.status_code == 200
    assert [job["id"] for job in listed.json()] == [third.id, second.id, first.id]
    assert listed.headers["X-Total-Count"] == "3"
    pending = api.get("/jobs", params={"state": "pending"})
    assert [job["id"] for job in pending.json()] == [third.id, second.id]
    assert pending.headers["X-Total-Count"] == "2"
    sends = api.get("/jobs", params={"kind": "send"}).json()
    assert [job["id"] for job in sends] == [third.id, first.id]
    page = api.get("/jobs", params={"limit": 1, "offset": 1}).json()
    assert [job["id"] for job in page] == [second.id]
    assert api.get("/jobs", params={"state": "sleeping"}).status_code == 400
    assert api.get("/jobs", params={"limit": 0}).status_code == 400


def test_job_shape(jobs: Jobs, api: httpx.Client) -> None:
    job = jobs.create("send", "to PACS2")
    job.start(3)
    job.done, job.failed = 2, 1
    job.finish("failed", error="1 of 3 instance(s) failed", result={"failed": ["1.2.3"]})
    answer = api.get(f"/jobs/{job.id}")
    assert answer.status_code == 200
    shown = answer.json()
    assert shown["id"] == job.id
    assert shown["kind"] == "send"
    assert shown["state"] == "failed"
    assert shown["progress"] == {"done": 2, "failed": 1, "warning": 0, "total": 3}
    assert shown["error"] == "1 of 3 instance(s) failed"
    assert shown["result"] == {"failed": ["1.2.3"]}
    assert shown["description"] == "to PACS2"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", shown["created"])
    assert shown["updated"] >= shown["created"]
    assert api.get("/jobs/999999").status_code == 404
    assert api.get("/jobs/abc").status_code == 400


def test_cancel_pending_and_running_jobs_but_not_finished_ones(
    jobs: Jobs, api: httpx.Client
) -> None:
    pending = jobs.create("send", "waiting")
    running = jobs.create("send", "working")
    running.start(10)
    finished = jobs.create("send", "over")
    finished.finish("done")

    answer = api.post(f"/jobs/{pending.id}/cancel")
    assert answer.status_code == 200 and answer.json()["state"] == "cancelled"
    assert jobs.claim(("send",)) is None  # a cancelled job is never taken by a runner

    answer = api.post(f"/jobs/{running.id}/cancel")
    assert answer.status_code == 200 and answer.json()["state"] == "cancelled"
    # The worker sees the flag through the core, and finishing does not undo the cancel.
    assert jobs.get(running.id).state == "cancelled"
    running.progress(done=5, failed=0, warning=0)
    running.done = 5
    running.finish("done")
    after = api.get(f"/jobs/{running.id}").json()
    assert after["state"] == "cancelled" and after["progress"]["done"] == 5

    refused = api.post(f"/jobs/{finished.id}/cancel")
    assert refused.status_code == 409 and "done" in refused.json()["error"]
    assert api.get(f"/jobs/{finished.id}").json()["state"] == "done"
    assert api.post(f"/jobs/{pending.id}/cancel").status_code == 409  # already cancelled
    assert api.post("/jobs/999999/cancel").status_code == 404


# -- system, health ----------------------------------------------------------------------
def _store_mr(node: Node) -> int:
    return sum(node.archive.store_file(corpus_file(name).read_bytes()).size for name in MR_FILES)


def test_system_describes_the_node(web_node: Node, api: httpx.Client) -> None:
    stored_bytes = _store_mr(web_node)
    answer = api.get("/system")
    assert answer.status_code == 200
    system = answer.json()
    settings = web_node.settings
    assert system["version"] == __version__
    assert system["ae_title"] == settings.dicom.ae_title
    assert system["dicom"]["host"] == settings.dicom.host
    assert system["http"] == {"host": settings.http.host, "port": web_node.http_port}
    assert system["data_dir"] == str(settings.data_dir)
    assert system["counts"] == {"patients": 1, "studies": 1, "series": 1, "instances": 4}
    storage = system["storage"]
    assert storage["stored_bytes"] == stored_bytes
    assert 0 < storage["disk_free_bytes"] <= storage["disk_total_bytes"]
    assert 0 < storage["disk_used_bytes"] <= storage["disk_total_bytes"]


def test_health(web_node: Node, api: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    answer = api.get("/health")
    assert answer.status_code == 200 and answer.json() == {"status": "ok"}

    def broken() -> None:
        raise OSError("database is locked")

    monkeypatch.setattr(web_node.archive, "check_health", broken)
    answer = api.get("/health")
    assert answer.status_code == 503 and answer.json()["status"] == "unavailable"


# -- metrics -----------------------------------------------------------------------------
def parse_metrics(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Samples of a Prometheus text exposition; fails on a line that is not one."""
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for line in text.splitlines():
        if line.startswith("#"):
            assert COMMENT.match(line), line
            continue
        found = SAMPLE.match(line)
        assert found, f"not a sample line: {line!r}"
        labels = frozenset(
            re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', found["labels"] or "")
        )
        samples[(found["name"], labels)] = float(found["value"].replace("+Inf", "inf"))
    return samples


def sample(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_in_prometheus_format_count_objects_and_requests(
    web_node: Node, api: httpx.Client
) -> None:
    stored_bytes = _store_mr(web_node)
    first = api.get("/metrics")
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("text/plain; version=0.0.4")
    before = parse_metrics(first.text)
    assert sample(before, "vesalius_objects", level="instances") == 4
    assert sample(before, "vesalius_objects", level="studies") == 1
    assert sample(before, "vesalius_storage_bytes") == stored_bytes
    assert sample(before, "vesalius_disk_free_bytes") > 0

    for _ in range(3):
        assert api.get("/system").status_code == 200
    assert api.get("/studies/1.2.3").status_code == 404
    assert api.get("/no/such/path").status_code == 404
    after = parse_metrics(api.get("/metrics").text)

    requests = "vesalius_http_requests_total"
    route = "/api/system"
    assert (
        sample(after, requests, method="GET", route=route, status="200")
        == sample(before, requests, method="GET", route=route, status="200") + 3
    )
    assert (
        sample(after, requests, method="GET", route="/api/studies/{study_uid}", status="404") == 1
    )
    assert sample(after, requests, method="GET", route="unmatched", status="404") == 1
    assert sample(after, requests, method="GET", route="/api/metrics", status="200") >= 1
    histogram = "vesalius_http_request_duration_seconds"
    count = sample(after, f"{histogram}_count", method="GET", route=route)
    assert count >= 3
    buckets = sorted(
        (float(dict(labels)["le"].replace("+Inf", "inf")), value)
        for (name, labels), value in after.items()
        if name == f"{histogram}_bucket" and dict(labels).get("route") == route
    )
    assert buckets[-1] == (float("inf"), count)
    assert all(a[1] <= b[1] for a, b in itertools.pairwise(buckets))  # cumulative
    assert sample(after, f"{histogram}_sum", method="GET", route=route) > 0
