"""Send, query/retrieve and jobs in a real browser: the server under test is a
``vesalius serve`` started with ``[[peers]]``; the peer is a second ``vesalius serve``
(the ``served`` fixture), reached over DICOM. Jobs are followed in the page until done."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from browser_support import Served, page, screenshot, served  # noqa: F401  (fixtures)
from conftest import free_port
from ui_support import api, peer_block, serve_with_config, study_uids

pytestmark = pytest.mark.slow  # a server and a browser per test

MR_SERIES = [f"dcm4che/MR-series/MR{n:02d}.dcm" for n in range(1, 17)]
MR_STUDY = "1.113654.3.13.1026"
CT_SMALL = "pydicom/test_files/CT_small.dcm"
CT_STUDY = "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322"


@pytest.fixture
def stalled() -> Iterator[socket.socket]:
    """A listening socket that takes TCP connections and never answers them (a hung
    peer); closing it resets the connections it holds."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    try:
        yield listener
    finally:
        listener.close()


@pytest.fixture
def local(served: Served, tmp_path: Path, stalled: socket.socket) -> Iterator[Served]:  # noqa: F811
    """The server under test: AE LOCAL, with ``served`` as peer "pacs2" (C-STORE, C-FIND,
    C-GET), a peer where nothing listens ("dead") and one that never answers ("stalled")."""
    config = '[dicom]\nae_title = "LOCAL"\n\n' + "\n".join(
        (
            peer_block("pacs2", "VESALIUS", served.dicom_port, ["store", "find", "get"]),
            peer_block("dead", "NOBODY", free_port(), ["store", "find", "get"]),
            peer_block("stalled", "HUNG", stalled.getsockname()[1], ["store"]),
        )
    )
    with serve_with_config(tmp_path / "local", config) as running:
        yield running


def test_send_a_study_to_a_peer_and_follow_its_job(local: Served, served: Any, page: Any) -> None:  # noqa: F811
    local.import_files(*MR_SERIES)
    assert study_uids(served) == set()
    page.goto(f"{local.url}/#/studies")
    page.locator(f'tr.study[data-uid="{MR_STUDY}"] button.send').click()
    dialog = page.locator("dialog.send")
    expect(dialog).to_contain_text("DOE, J1")
    expect(dialog.locator("#send-peer option")).to_have_count(3)
    dialog.locator("#send-peer").select_option("pacs2")
    dialog.locator("button:has-text('Send')").click()
    progress = dialog.locator(".job-progress")
    expect(progress).to_have_attribute("data-state", "done", timeout=60_000)
    expect(progress.locator(".job-counts")).to_have_text("16 of 16")
    expect(progress.locator("progress")).to_have_js_property("value", 16)
    screenshot(page, "remote-send")
    assert study_uids(served) == {MR_STUDY}
    assert api(served, f"/studies/{MR_STUDY}").json()["NumberOfStudyRelatedInstances"] == 16

    dialog.locator("a:has-text('Jobs')").click()
    job = page.locator("#jobs tr.job").first
    expect(job).to_have_attribute("data-state", "done")
    expect(job).to_contain_text("send")
    expect(job.locator(".job-progress")).to_contain_text("16 of 16")
    expect(job.locator("button.cancel")).to_have_count(0)  # nothing to cancel when done


def test_query_a_peer_and_retrieve_a_study(local: Served, served: Any, page: Any) -> None:  # noqa: F811
    served.import_files(*MR_SERIES, CT_SMALL)
    page.goto(f"{local.url}/#/remote")
    expect(page.locator("#remote-peer option")).to_have_count(2)  # "stalled" does no C-FIND

    page.select_option("#remote-peer", "dead")
    page.click("#remote-search-PatientName")
    page.keyboard.press("Enter")
    expect(page.locator(".remote-status .error")).to_be_visible(timeout=60_000)

    page.select_option("#remote-peer", "pacs2")
    page.fill("#remote-search-PatientName", "doe")
    page.keyboard.press("Enter")
    matches = page.locator("#remote-results tr.match")
    expect(matches).to_have_count(1)
    match = matches.first
    expect(match).to_have_attribute("data-uid", MR_STUDY)
    expect(match).to_contain_text("DOE, J1")
    expect(match.locator(".col-images")).to_have_text("16")
    expect(match.locator(".here")).to_have_text("")

    match.locator("input.choose").check()
    page.click("button.retrieve")
    progress = page.locator("#remote-jobs .job-progress").first
    expect(progress).to_have_attribute("data-state", "done", timeout=60_000)
    expect(progress.locator(".job-counts")).to_have_text("16 of 16")
    expect(match.locator(".here")).to_have_text("✓")
    screenshot(page, "remote-retrieve")
    assert study_uids(local) == {MR_STUDY}
    assert api(local, f"/studies/{MR_STUDY}").json()["NumberOfStudyRelatedInstances"] == 16

    page.click("text=Clear")  # every study of the peer
    expect(matches).to_have_count(2)
    expect(page.locator("#remote-count")).to_have_text("2 studies on pacs2")
    page.click("#remote-jobs a:has-text('Show in the database')")
    expect(page.locator(f'tr.study[data-uid="{MR_STUDY}"]')).to_be_visible()


def test_jobs_page_cancels_a_running_job(local: Served, page: Any, stalled: socket.socket) -> None:  # noqa: F811
    local.import_files(CT_SMALL)
    answer = httpx.post(f"{local.url}/api/studies/{CT_STUDY}/send", json={"peer": "stalled"})
    assert answer.status_code == 201, answer.text
    job_id = answer.json()["id"]
    page.goto(f"{local.url}/#/jobs")
    row = page.locator(f'#jobs tr.job[data-id="{job_id}"]')
    expect(row).to_have_attribute("data-state", "running", timeout=30_000)
    screenshot(page, "jobs-running")
    row.locator("button.cancel").click()
    expect(row).to_have_attribute("data-state", "cancelled")
    expect(row.locator("button.cancel")).to_have_count(0)
    assert api(local, f"/jobs/{job_id}").json()["state"] == "cancelled"
    stalled.close()  # the hung association ends, so the server stops at once
