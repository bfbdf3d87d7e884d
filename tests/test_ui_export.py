"""The "Export…" dialog of the database page in a real browser: format and options, the
job's progress, and the file it made downloaded from the dialog."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pydicom
import pytest
from playwright.sync_api import expect

from browser_support import page, screenshot, served  # noqa: F401  (fixtures)
from ui_support import dicom_bytes, stow

pytestmark = pytest.mark.slow  # a server and a browser per test

MR_SERIES = [f"dcm4che/MR-series/MR{n:02d}.dcm" for n in range(1, 5)]
MR_STUDY = "1.113654.3.13.1026"
XSS = "<img src=x onerror=alert(1)>"


def open_export(tab: Any, url: str, study_uid: str) -> Any:
    """The database page, then the export dialog of one study."""
    tab.goto(f"{url}/#/studies")
    row = tab.locator(f'#studies tr.study[data-uid="{study_uid}"]')
    row.locator("button.export").click()
    dialog = tab.locator("dialog.export")
    expect(dialog).to_be_visible()
    return dialog


def test_export_pictures_from_the_dialog_and_download_them(
    served: Any,  # noqa: F811
    page: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    served.import_files(*MR_SERIES)
    dialog = open_export(page, served.url, MR_STUDY)
    dialog.locator("#export-format").select_option("jpeg")
    expect(dialog.locator('[data-option="quality"]')).to_be_visible()
    expect(dialog.locator('[data-option="profile"]')).to_be_hidden()
    dialog.locator("#export-format").select_option("png")
    expect(dialog.locator('[data-option="quality"]')).to_be_hidden()
    dialog.locator("#export-window").fill("500,1000")
    dialog.locator("#export-annotate").check()
    dialog.locator("button.primary", has_text="Export").click()
    link = dialog.locator("a.download")
    expect(link).to_be_visible(timeout=30_000)
    expect(dialog.locator(".job-progress")).to_have_attribute("data-state", "done")
    expect(dialog.locator(".job-counts")).to_have_text("4 of 4")
    screenshot(page, "export-dialog")
    with page.expect_download() as download_info:
        link.click()
    saved = tmp_path / "pictures.zip"
    download_info.value.save_as(saved)
    assert download_info.value.suggested_filename.endswith("-png.zip")
    with zipfile.ZipFile(saved) as archive:
        names = sorted(archive.namelist())
        assert [name.rsplit("/", 1)[-1] for name in names] == [f"{n:04d}.png" for n in range(1, 5)]
        assert all(archive.read(name)[:8] == b"\x89PNG\r\n\x1a\n" for name in names)


def test_a_bad_window_is_refused_in_the_dialog_and_names_show_as_text(
    served: Any,  # noqa: F811
    page: Any,  # noqa: F811
) -> None:
    data = dicom_bytes(XSS)
    assert stow(served, data).status_code == 200
    study = pydicom.dcmread(io.BytesIO(data)).StudyInstanceUID
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    dialog = open_export(page, served.url, study)
    expect(dialog.locator("strong")).to_contain_text(XSS)
    dialog.locator("#export-format").select_option("gif")
    dialog.locator("#export-window").fill("wide")
    dialog.locator("button.primary", has_text="Export").click()
    expect(dialog.locator(".error")).to_contain_text("centre and a width")
    assert page.locator("img[src='x']").count() == 0
    assert dialogs == []
