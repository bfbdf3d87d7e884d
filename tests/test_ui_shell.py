"""The workstation shell in a real browser: navigation and its placeholders, the hash
router (and the viewer behind it), keys that work everywhere, the help overlay, and how
a failed request is shown."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from browser_support import page, screenshot, served  # noqa: F401  (fixtures)

pytestmark = pytest.mark.slow  # a server and a browser per test

CT_SMALL = "pydicom/test_files/CT_small.dcm"
CT_STUDY = "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322"
CT_SERIES = "1.3.6.1.4.1.5962.1.3.1.1.20040119072730.12322"


def test_navigation_routes_and_placeholders(served: Any, page: Any) -> None:  # noqa: F811
    page.goto(f"{served.url}/")
    expect(page.locator("#nav a[aria-current='page']")).to_have_text("Database")
    expect(page.locator("#study-count")).to_be_visible()
    for label, route, landmark in [
        ("Query/Retrieve", "#/remote", "#remote-peer"),
        ("Import", "#/import", "#drop-zone"),
        ("Jobs", "#/jobs", "#jobs"),
        ("Worklist", "#/worklist", "#worklist"),
        ("Reports", "#/reports", "#report-study-uid"),
        ("Print", "#/print", "#print-jobs"),
        ("Database", "#/studies", "#studies"),
    ]:
        page.click(f"#nav a:has-text('{label}')")
        expect(page).to_have_url(re.compile(re.escape(route) + "$"))
        expect(page.locator(landmark)).to_be_visible()
        expect(page.locator("#nav a[aria-current='page']")).to_have_text(label)
    expect(page.locator("#nav .placeholder")).to_have_count(0)
    page.click("#nav a:has-text('Conformance')")
    statement = page.frame_locator("iframe.conformance-document")
    expect(statement.locator("h2").first).to_have_text("1 Conformance Statement Overview")
    expect(statement.locator("body")).to_contain_text("Storage Commitment Push Model SOP Class")
    page.goto(f"{served.url}/#/no-such-page")
    expect(page).to_have_url(re.compile("#/studies$"))
    page.click("#nav a:has-text('Viewer')")
    expect(page.locator(".page-empty")).to_contain_text("Open a series from the Database")


def test_the_viewer_route_mounts_the_viewer_and_unmounts_it(served: Any, page: Any) -> None:  # noqa: F811
    served.import_files(CT_SMALL)
    page.goto(f"{served.url}/#/studies")
    page.locator(f'tr.study[data-uid="{CT_STUDY}"] td.col-PatientName').click()
    page.locator(f'.series-card[data-uid="{CT_SERIES}"] a.open').click()
    expect(page).to_have_url(re.compile(rf"#/viewer\?study={CT_STUDY}&series={CT_SERIES}$"))
    viewer = page.locator("main .route-viewer")
    expect(viewer).not_to_be_empty()
    expect(viewer).not_to_contain_text("The viewer is not available")
    expect(page.locator("#nav a[aria-current='page']")).to_have_text("Viewer")
    screenshot(page, "shell-viewer")
    page.click("#nav a:has-text('Database')")
    expect(page.locator("main .route-viewer")).to_have_count(0)
    # the Viewer tab now goes back to the series last opened
    page.click("#nav a:has-text('Viewer')")
    expect(page).to_have_url(re.compile(rf"#/viewer\?study={CT_STUDY}&series={CT_SERIES}$"))


def test_help_lists_every_section_and_keys_change_page(served: Any, page: Any) -> None:  # noqa: F811
    page.goto(f"{served.url}/#/studies")
    expect(page.locator("#study-count")).to_be_visible()
    page.keyboard.press("?")
    help_dialog = page.locator("dialog#help")
    expect(help_dialog).to_be_visible()
    sections = help_dialog.locator(".help-section h3")
    expect(sections.first).to_have_text("General")
    for section in ("General", "Database", "Import", "Query/Retrieve", "Jobs", "Viewer"):
        expect(sections.filter(has_text=re.compile(f"^{re.escape(section)}$"))).to_have_count(1)
    expect(help_dialog.locator('.help-section[data-section="Database"]')).to_contain_text(
        "previous / next page"
    )
    screenshot(page, "shell-help")
    page.keyboard.press("?")
    expect(help_dialog).to_have_count(0)
    page.click("#help-button")
    expect(page.locator("dialog#help")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("dialog#help")).to_have_count(0)

    page.keyboard.press("g")
    page.keyboard.press("j")
    expect(page).to_have_url(re.compile("#/jobs$"))
    page.keyboard.press("g")
    page.keyboard.press("i")
    expect(page).to_have_url(re.compile("#/import$"))
    page.keyboard.press("g")
    page.keyboard.press("d")
    expect(page).to_have_url(re.compile("#/studies$"))
    page.keyboard.press("/")
    expect(page.locator("#study-search-PatientName")).to_be_focused()
    page.keyboard.type("?g")  # typed into the field, not taken as keys
    expect(page.locator("#study-search-PatientName")).to_have_value("?g")
    expect(page.locator("dialog#help")).to_have_count(0)


def test_a_failed_request_shows_the_servers_reason(served: Any, page: Any) -> None:  # noqa: F811
    served.import_files(CT_SMALL)
    page.goto(f"{served.url}/#/studies")
    row = page.locator(f'tr.study[data-uid="{CT_STUDY}"]')
    expect(row).to_be_visible()
    # someone else deletes the study meanwhile
    assert httpx.delete(f"{served.url}/api/studies/{CT_STUDY}").status_code == 204
    row.locator("button.delete").click()
    page.locator("dialog.confirm button.danger").click()
    banner = page.locator("#banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text(f"no study {CT_STUDY} stored")
    screenshot(page, "shell-error")
    banner.locator("button").click()
    expect(banner).to_be_hidden()
