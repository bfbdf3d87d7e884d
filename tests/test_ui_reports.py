"""The Reports page in a real browser: key images and a length picked in the viewer go
into the editor, the saved report is shown as the server renders it, and its thumbnails
open the viewer at that image; a received SR is shown with what it says escaped."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from playwright.sync_api import expect

from browser_support import page, screenshot, served  # noqa: F401  (fixtures)
from conftest import corpus_file, read
from reporting_support import MR_FILES, MR_SERIES, MR_STUDY, mr_paths

pytestmark = pytest.mark.slow  # a server and a browser per test

TEST_SR = "pydicom/test_files/test-SR.dcm"


def field(tab: Any, name: str) -> Any:
    """One overlay line of the viewer (image, window, ...)."""
    return tab.locator(".vw-viewport").first.locator(f'[data-field="{name}"]')


def test_key_images_and_a_length_from_the_viewer_make_a_report(
    served: Any,  # noqa: F811
    page: Any,  # noqa: F811
) -> None:
    served.import_files(*MR_FILES)
    second = str(read(mr_paths()[1]).SOPInstanceUID)
    page.goto(f"{served.url}/#/viewer?study={MR_STUDY}&series={MR_SERIES}&instance={second}")
    viewport = page.locator(".vw-viewport").first
    expect(viewport).to_have_attribute("data-state", "ready")
    expect(field(page, "image")).to_have_text("Image 2 / 4")  # opened at that instance

    page.keyboard.press("k")
    expect(page.locator(".vw-key-image")).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("l")
    box = page.locator(".vw-canvas").first.bounding_box()
    start = (box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.5)
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(start[0] + box["width"] * 0.3, start[1], steps=6)
    page.mouse.up()
    zoom_text = field(page, "zoom").inner_text()
    screenshot(page, "reports-viewer-length")

    page.click("a.vw-report")
    expect(page).to_have_url(re.compile(r"#/reports\?study=.*&new=1$"))
    editor = page.locator("#report-editor")
    expect(editor).to_be_visible()
    measurement = page.locator("#report-measurements li").first
    expect(measurement.locator(".m-name")).to_have_value("Length")
    expect(measurement.locator(".m-unit")).to_have_value("mm")  # the MR gives its pixel spacing
    length = float(measurement.locator(".m-value").input_value())
    # the line's ends, in image pixels: 30 % of the canvas at the viewer's zoom, level
    along = measurement.locator(".m-points").inner_text()
    (x0, y0), (x1, y1) = [
        tuple(map(float, p.split(", "))) for p in re.findall(r"\(([^)]*)\)", along)
    ]
    zoom = float(zoom_text.rstrip("%").split()[-1]) / 100
    assert abs((x1 - x0) - box["width"] * 0.3 / zoom) < 1.5, (along, zoom_text)
    assert abs(y1 - y0) < 0.01
    spacing = [float(v) for v in read(mr_paths()[1]).PixelSpacing]
    assert abs(length - (x1 - x0) * spacing[1]) < 0.02, (length, spacing)
    expect(measurement.locator(".m-image")).to_have_value(second)
    ticked = page.locator("#report-key-images input:checked")
    expect(ticked).to_have_count(1)
    expect(ticked).to_have_attribute("value", second)

    page.fill("#report-title", "MRI Report")
    page.locator("#report-sections .section-text").nth(1).fill("No fracture <seen>.")
    page.click("#report-findings + button.add-row")
    page.locator("#report-findings .finding").first.fill("SCT:4147007:Mass")
    screenshot(page, "reports-editor")
    page.click("#report-save")

    expect(page).to_have_url(re.compile(r"#/reports\?study=.*&report="))
    expect(page.locator("#report-list .report-item")).to_have_count(2)  # the SR and the KOS
    document = page.frame_locator("#report-document")
    expect(document.locator("h1")).to_have_text("MRI Report")
    expect(document.locator("body")).to_contain_text("No fracture <seen>.")
    expect(document.locator("body")).to_contain_text("Mass (SCT:4147007)")
    expect(document.locator("body")).to_contain_text(f"{length:.2f}".rstrip("0").rstrip("."))
    screenshot(page, "reports-document")

    thumbnail = document.locator(f'figure a[href*="instance={second}"]').first
    href = thumbnail.get_attribute("href") or ""
    assert parse_qs(urlparse(href.replace("/#/viewer", "/viewer")).query)["series"] == [MR_SERIES]
    thumbnail.click()
    expect(page).to_have_url(re.compile(rf"#/viewer\?study={MR_STUDY}&series={MR_SERIES}"))
    expect(field(page, "image")).to_have_text("Image 2 / 4")

    reports = httpx.get(f"{served.url}/api/studies/{MR_STUDY}/reports").json()
    assert sorted(r["DocumentTitle"] for r in reports) == ["MRI Report", "Of Interest"]
    # saved: the viewer's picks are gone from the next report
    page.goto(f"{served.url}/#/reports?study={MR_STUDY}&new=1")
    expect(page.locator("#report-editor")).to_be_visible()
    expect(page.locator("#report-key-images input:checked")).to_have_count(0)
    expect(page.locator("#report-measurements li")).to_have_count(0)


def test_a_received_sr_is_listed_and_shown(served: Any, page: Any) -> None:  # noqa: F811
    served.import_files(TEST_SR)
    sr = read(corpus_file(TEST_SR))
    page.goto(f"{served.url}/#/studies")
    page.locator(f'tr.study[data-uid="{sr.StudyInstanceUID}"] td.col-PatientName').click()
    page.locator("a.button.reports").click()
    expect(page).to_have_url(re.compile(r"#/reports\?study="))
    expect(page.locator("#report-list .report-title")).to_have_text(["Diagnosis"])
    document = page.frame_locator("#report-document")
    expect(document.locator("h1")).to_have_text("Diagnosis")
    expect(document.locator("body")).to_contain_text('&%$§"!()<>{}/;')
    expect(document.locator("body")).to_contain_text("Sample Code 1 (99_OFFIS_DCMTK:2222)")
    expect(document.locator("script")).to_have_count(0)
    screenshot(page, "reports-received")
