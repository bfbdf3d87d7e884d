"""The worklist page in a real browser: items of /api/worklist by status, shown as text
only, a step a modality starts (MPPS) appearing without a reload, adding an item, and
opening the study of an item once its images are stored."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from pynetdicom import AE
from pynetdicom.sop_class import ModalityPerformedProcedureStep

from browser_support import page, screenshot, served  # noqa: F401  (fixtures)
from conftest import corpus_file

pytestmark = pytest.mark.slow  # a server and a browser per test

CT_SMALL = "pydicom/test_files/CT_small.dcm"
HOSTILE = "<b>EVIL</b>^<img src>"


def add_item(url: str, **fields: str) -> dict[str, Any]:
    body = {"PatientID": "P1", "Modality": "CT", "ScheduledProcedureStepStartDate": "20240315"}
    response = httpx.post(f"{url}/api/worklist", json={**body, **fields}, timeout=30)
    assert response.status_code == 201, response.text
    return response.json()


def start_step(dicom_port: int, item: dict[str, Any]) -> None:
    """An MPPS N-CREATE, as the modality would send it."""
    step = Dataset()
    scheduled = Dataset()
    scheduled.StudyInstanceUID = item["StudyInstanceUID"]
    scheduled.ScheduledProcedureStepID = item["ScheduledProcedureStepID"]
    step.ScheduledStepAttributesSequence = [scheduled]
    step.PerformedProcedureStepID = "1"
    step.PerformedStationAETitle = "CT1"
    step.PerformedProcedureStepStartDate = "20240315"
    step.PerformedProcedureStepStartTime = "1000"
    step.PerformedProcedureStepStatus = "IN PROGRESS"
    step.Modality = "CT"
    ae = AE(ae_title="CT1")
    ae.add_requested_context(ModalityPerformedProcedureStep)
    assoc = ae.associate("127.0.0.1", dicom_port, ae_title="VESALIUS")
    status, _ = assoc.send_n_create(step, ModalityPerformedProcedureStep, generate_uid())
    assoc.release()
    assert status.Status == 0


def test_items_by_status_as_text_and_live(served: Any, page: Any) -> None:  # noqa: F811
    first = add_item(served.url, PatientName="DOE^JOHN", AccessionNumber="ACC1")
    add_item(served.url, PatientName=HOSTILE, PatientID="P2")
    page.goto(f"{served.url}/#/worklist")
    rows = page.locator("#worklist tr.worklist-item")
    expect(rows).to_have_count(2)
    expect(page.locator("#worklist-count")).to_have_text("1–2 of 2 items")
    expect(rows.nth(1).locator("td.col-Patient")).to_have_text("<b>EVIL</b>, <img src>")
    assert page.locator("#worklist b, #worklist img").count() == 0
    expect(rows.first.locator(".worklist-status")).to_have_text("SCHEDULED")
    page.select_option("#worklist-status", "IN PROGRESS")
    expect(page.locator("#worklist tr.empty")).to_have_text("No worklist item.")
    start_step(served.dicom_port, first)
    expect(rows).to_have_count(1)  # the page refreshes itself
    expect(rows.first.locator("td.col-Accession")).to_have_text("ACC1")
    expect(rows.first.locator(".worklist-status")).to_have_text("IN PROGRESS")
    screenshot(page, "worklist")


def test_add_an_item_and_open_its_study(served: Any, page: Any) -> None:  # noqa: F811
    served.import_files(CT_SMALL)
    study = str(dcmread(corpus_file(CT_SMALL), stop_before_pixels=True).StudyInstanceUID)
    add_item(served.url, PatientName="CT^SMALL", StudyInstanceUID=study)
    page.goto(f"{served.url}/#/worklist")
    expect(page.locator("#worklist tr.worklist-item")).to_have_count(1)
    page.click("#worklist-add-button")
    page.fill("#worklist-add-PatientName", "NEW^PATIENT")
    page.fill("#worklist-add-PatientID", "N1")
    page.fill("#worklist-add-Modality", "MR")
    page.fill("#worklist-add-ScheduledProcedureStepStartDate", "2024-03-16")
    page.click("dialog button[type=submit]")
    expect(page.locator("dialog")).to_have_count(0)
    added = page.locator("#worklist tr.worklist-item", has_text="NEW, PATIENT")
    expect(added.locator("td.col-Date")).to_have_text("2024-03-16")
    expect(added.locator(".worklist-study")).to_have_text("no images yet")
    listed = httpx.get(f"{served.url}/api/worklist", params={"modality": "MR"}).json()
    assert [item["PatientID"] for item in listed] == ["N1"]
    stored = page.locator("#worklist tr.worklist-item", has_text="CT, SMALL")
    stored.locator("button.open-study").click()
    expect(page).to_have_url(re.compile(rf"#/viewer\?study={re.escape(study)}&series="))
