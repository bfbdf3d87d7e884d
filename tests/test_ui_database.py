"""The local database page (#/studies) in a real browser against a real server: the study
list and its search, sorting and paging, series with thumbnails, side by side, deleting,
downloads, values shown as text, and how fast the list of 10,000 studies appears."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import Any

import pydicom
import pytest
from playwright.sync_api import expect

from browser_support import page, screenshot, served  # noqa: F401  (fixtures)
from conftest import corpus_file
from ui_support import api, dicom_bytes, fill_studies, stow

pytestmark = pytest.mark.slow  # a server and a browser per test

MR_SERIES = [f"dcm4che/MR-series/MR{n:02d}.dcm" for n in range(1, 17)]
MR_STUDY = "1.113654.3.13.1026"
MR_SERIES_UID = "1.113654.5.14.1035"
CT_SMALL = "pydicom/test_files/CT_small.dcm"
CT_STUDY = "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322"
JAPANESE = "pydicom/charset_files/chrH31.dcm"
TWO_SERIES = [
    "pydicom/test_files/dicomdirtests/98892003/MR1/15820",
    "pydicom/test_files/dicomdirtests/98892003/MR2/15970",
]
TWO_SERIES_STUDY = "1.3.6.1.4.1.5962.1.1.0.0.0.1196533885.18148.0.427"
XSS = "<img src=x onerror=alert(1)>"


def rows(tab: Any) -> Any:
    """The study rows of the list."""
    return tab.locator("#studies tbody tr.study")


def row_of(tab: Any, study_uid: str) -> Any:
    """The row of one study."""
    return tab.locator(f'#studies tr.study[data-uid="{study_uid}"]')


def open_database(tab: Any, url: str) -> None:
    """The database page, once its list has come."""
    tab.goto(f"{url}/#/studies")
    expect(tab.locator("#study-count")).to_contain_text("studies")


def test_study_list_shows_the_patients_and_the_search_filters_them(served: Any, page: Any) -> None:  # noqa: F811
    served.import_files(*MR_SERIES, JAPANESE, CT_SMALL)
    open_database(page, served.url)
    expect(rows(page)).to_have_count(3)
    names = rows(page).locator("td.col-PatientName").all_inner_texts()
    assert sorted(names) == [
        "CompressedSamples, CT1",
        "DOE, J1",
        "Yamada, Tarou=山田, 太郎=やまだ, たろう",
    ]
    doe = row_of(page, MR_STUDY)
    expect(doe.locator("td.col-Images")).to_have_text("16")
    expect(doe.locator("td.col-Series")).to_have_text("1")
    expect(doe.locator("td.col-AccessionNumber")).to_have_text("MOF5026")
    expect(doe.locator("td.col-StudyDate")).to_have_text("2017-07-16 15:47")

    page.fill("#study-search-PatientName", "doe")  # found as you type, any case
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_have_attribute("data-uid", MR_STUDY)
    expect(page.locator("#study-count")).to_have_text("1–1 of 1 studies")
    screenshot(page, "database-search")

    page.fill("#study-search-PatientName", "tarou")  # anywhere in the name
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text("山田")

    page.click("text=Clear")
    expect(rows(page)).to_have_count(3)
    page.fill("#study-search-ModalitiesInStudy", "ct")
    page.press("#study-search-ModalitiesInStudy", "Enter")
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_have_attribute("data-uid", CT_STUDY)

    page.click("text=Clear")
    page.fill("#study-search-StudyDateFrom", "2017-01-01")
    page.fill("#study-search-StudyDateTo", "2017-12-31")
    page.press("#study-search-StudyDateTo", "Enter")
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_have_attribute("data-uid", MR_STUDY)

    page.click("text=Clear")
    page.select_option("#study-search-PatientSex", "O")
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_have_attribute("data-uid", CT_STUDY)

    page.click("text=Clear")
    page.fill("#study-search-PatientName", "nobody")
    expect(page.locator("#studies tr.empty")).to_have_text("No study matches.")


def test_a_study_expands_to_its_series_with_thumbnails_and_two_open_side_by_side(
    served: Any,  # noqa: F811
    page: Any,  # noqa: F811
) -> None:
    served.import_files(*MR_SERIES, *TWO_SERIES)
    open_database(page, served.url)
    row_of(page, MR_STUDY).locator("td.col-PatientName").click()
    card = page.locator(f'.series-card[data-uid="{MR_SERIES_UID}"]')
    expect(card).to_contain_text("16 images")
    expect(card.locator("a.open")).to_have_attribute(
        "href", f"#/viewer?study={MR_STUDY}&series={MR_SERIES_UID}"
    )
    thumbnail = card.locator("img.thumbnail")
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle()
    )
    assert thumbnail.evaluate("img => img.naturalWidth") > 0

    row_of(page, TWO_SERIES_STUDY).locator("button.expand").click()
    panel = page.locator(f'#studies tr.study[data-uid="{TWO_SERIES_STUDY}"] + tr.series-row')
    cards = panel.locator(".series-card")
    expect(cards).to_have_count(2)
    page.wait_for_function(
        "imgs => imgs.every(i => i.complete && i.naturalWidth > 0)",
        arg=cards.locator("img.thumbnail").element_handles(),
    )
    compare = panel.locator("a.compare")
    expect(compare).to_have_attribute("aria-disabled", "true")
    first, second = (cards.nth(n).get_attribute("data-uid") for n in range(2))
    cards.nth(0).locator("input.choose").check()
    cards.nth(1).locator("input.choose").check()
    expect(compare).to_have_attribute(
        "href", f"#/viewer?study={TWO_SERIES_STUDY}&series={first}&series2={second}"
    )
    screenshot(page, "database-series")
    compare.click()
    page.wait_for_url(re.compile(r"#/viewer\?.*series2="))
    expect(page.locator("main .route-viewer")).to_be_attached()
    # the router hands the two series to the viewer (or says that it is missing)
    expect(page.locator("main .route-viewer")).not_to_be_empty()
    page.go_back()
    expect(rows(page)).to_have_count(2)


def test_delete_asks_first_then_removes_the_study_and_a_series(served: Any, page: Any) -> None:  # noqa: F811
    served.import_files(CT_SMALL, *TWO_SERIES)
    open_database(page, served.url)
    expect(rows(page)).to_have_count(2)

    row_of(page, CT_STUDY).locator("button.delete").click()
    dialog = page.locator("dialog.confirm")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("CompressedSamples, CT1")
    screenshot(page, "database-delete-confirm")
    dialog.locator("text=Cancel").click()
    expect(dialog).to_have_count(0)
    assert api(served, f"/studies/{CT_STUDY}").status_code == 200

    row_of(page, CT_STUDY).locator("button.delete").click()
    page.locator("dialog.confirm button.danger").click()
    expect(row_of(page, CT_STUDY)).to_have_count(0)
    expect(rows(page)).to_have_count(1)
    assert api(served, f"/studies/{CT_STUDY}").status_code == 404

    row_of(page, TWO_SERIES_STUDY).locator("td.col-PatientName").click()
    cards = page.locator(".series-card")
    expect(cards).to_have_count(2)
    doomed = cards.nth(0).get_attribute("data-uid")
    cards.nth(0).locator("button.delete").click()
    expect(page.locator("dialog.confirm")).to_contain_text("Delete the series")
    page.locator("dialog.confirm button.danger").click()
    expect(cards).to_have_count(1)
    expect(row_of(page, TWO_SERIES_STUDY).locator("td.col-Series")).to_have_text("1")
    assert api(served, f"/series/{doomed}").status_code == 404
    assert api(served, f"/studies/{TWO_SERIES_STUDY}").status_code == 200


def test_a_patient_named_like_html_is_shown_as_text(served: Any, page: Any, tmp_path: Path) -> None:  # noqa: F811
    data = dicom_bytes(XSS, StudyDescription=XSS, SeriesDescription=XSS, PatientID=XSS)
    (tmp_path / "xss.dcm").write_bytes(data)
    assert stow(served, data).status_code == 200
    study_uid = pydicom.dcmread(io.BytesIO(data)).StudyInstanceUID
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    open_database(page, served.url)
    row = row_of(page, study_uid)
    expect(row.locator("td.col-PatientName")).to_have_text(XSS)
    expect(row.locator("td.col-PatientID")).to_have_text(XSS)
    expect(row.locator("td.col-StudyDescription")).to_have_text(XSS)
    row.click()
    expect(page.locator(".series-card .series-title")).to_have_text(f"#1 CT {XSS}")
    row.locator("button.delete").click()  # the name in a dialog too
    expect(page.locator("dialog.confirm strong")).to_contain_text(XSS)
    page.locator("dialog.confirm").locator("text=Cancel").click()
    row.locator("button.send").click()
    expect(page.locator("dialog.send strong")).to_contain_text(XSS)
    page.keyboard.press("Escape")
    page.fill("#study-search-PatientName", "<img")  # and searched for, as text
    expect(rows(page)).to_have_count(1)
    screenshot(page, "database-xss")

    assert page.locator("img[src='x']").count() == 0
    assert page.evaluate("document.body.innerHTML.includes('<img src=\"x\"')") is False
    assert dialogs == []


def test_zip_of_a_study_and_png_of_an_image_download_from_the_list(
    served: Any,  # noqa: F811
    page: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    served.import_files(*MR_SERIES)
    open_database(page, served.url)
    with page.expect_download() as download_info:
        row_of(page, MR_STUDY).locator("a.zip").click()
    download = download_info.value
    assert download.suggested_filename == f"{MR_STUDY}.zip"
    saved = tmp_path / "study.zip"
    download.save_as(saved)
    originals = {
        pydicom.dcmread(corpus_file(name)).SOPInstanceUID: corpus_file(name) for name in MR_SERIES
    }
    with zipfile.ZipFile(saved) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        assert names == [
            f"DOE^J1 (583295)/20170716 LEFT WRIST/107 MR/{n:04d}.dcm" for n in range(1, 17)
        ]
        for name in names:
            member = pydicom.dcmread(io.BytesIO(archive.read(name)))
            original = pydicom.dcmread(originals.pop(member.SOPInstanceUID))
            assert int(name[-8:-4]) == member.InstanceNumber
            assert member.PixelData == original.PixelData
    assert originals == {}

    row_of(page, MR_STUDY).click()
    with page.expect_download() as image_info:
        page.locator(f'.series-card[data-uid="{MR_SERIES_UID}"] button.png').click()
    image = tmp_path / "image.png"
    image_info.value.save_as(image)
    assert image_info.value.suggested_filename.endswith(".png")
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    screenshot(page, "database-downloads")


def test_ten_thousand_studies_list_fast_sort_and_page(served: Any, page: Any) -> None:  # noqa: F811
    fill_studies(served.data_dir, 10_000)
    timings = []
    for _ in range(3):  # a fresh load each time: modules, then the first page of studies
        page.goto("about:blank")
        page.goto(f"{served.url}/#/studies")
        expect(page.locator("#study-count")).to_have_text("1–50 of 10,000 studies")
        timings.append(page.evaluate("performance.getEntriesByName('studies-shown')[0].startTime"))
    expect(rows(page)).to_have_count(50)
    print(f"study list of 10,000 shown {sorted(timings)} ms after navigation")
    assert min(timings) < 300, timings

    page.fill("#study-search-PatientName", "NAME000123")
    expect(rows(page)).to_have_count(2)
    searched = page.evaluate("performance.getEntriesByName('studies-load')[0].duration")
    print(f"search over 10,000 studies: {searched:.0f} ms from request to rows shown")
    assert searched < 300

    page.click("text=Clear")
    expect(page.locator("#study-count")).to_have_text("1–50 of 10,000 studies")
    page.click("button.sort[data-sort='PatientName']")
    expect(rows(page).first.locator("td.col-PatientName")).to_have_text("NAME000000, TEST")
    expect(page.locator("th[aria-sort='ascending']")).to_contain_text("Patient name")
    page.click("button.sort[data-sort='PatientName']")
    expect(rows(page).first.locator("td.col-PatientName")).to_have_text("NAME004999, TEST")
    page.click("button.next-page")
    expect(page.locator("#study-count")).to_have_text("51–100 of 10,000 studies")
    expect(rows(page).first.locator("td.col-PatientName")).to_have_text("NAME004974, TEST")
    page.keyboard.press("]")  # the page keys
    expect(page.locator("#study-count")).to_have_text("101–150 of 10,000 studies")
    page.select_option(".pager select", "200")
    expect(rows(page)).to_have_count(200)
    expect(page.locator(".page-number")).to_have_text("Page 1 of 50")
    screenshot(page, "database-10000")
