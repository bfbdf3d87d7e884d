"""Import in a real browser against a real server: files dropped on the page, chosen with
the file input, or a folder; each goes to STOW-RS and its result is shown."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from browser_support import page, screenshot, served  # noqa: F401  (fixtures)
from conftest import corpus_file
from ui_support import api, dicom_bytes, study_uids

pytestmark = pytest.mark.slow  # a server and a browser per test

MR_STUDY = "1.113654.3.13.1026"
CT_SMALL = "pydicom/test_files/CT_small.dcm"
CT_STUDY = "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322"

DROP = """([files, target]) => {
  const transfer = new DataTransfer();
  for (const file of files) {
    const bytes = Uint8Array.from(atob(file.data), (c) => c.charCodeAt(0));
    transfer.items.add(new File([bytes], file.name, { type: "application/dicom" }));
  }
  const at = document.querySelector(target);
  const send = (type) =>
    at.dispatchEvent(
      new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: transfer }),
    );
  send("dragenter");
  send("dragover");
  const overlayShown = !document.getElementById("drop-overlay").hidden;
  const taken = !send("drop");  // false: the page called preventDefault, it took the files
  return { overlayShown, taken };
}"""


def summary(tab: Any) -> Any:
    """The line that counts the import's files."""
    return tab.locator("#import-summary")


def test_files_dropped_on_the_database_page_are_stored_and_listed(served: Any, page: Any) -> None:  # noqa: F811
    page.goto(f"{served.url}/#/studies")
    expect(page.locator("#study-count")).to_have_text("0–0 of 0 studies")
    files = [
        {
            "name": name,
            "data": base64.b64encode(
                corpus_file(f"dcm4che/MR-series/{name}").read_bytes()
            ).decode(),
        }
        for name in ("MR01.dcm", "MR02.dcm")
    ]
    files.append({"name": "notes.txt", "data": base64.b64encode(b"not DICOM at all").decode()})
    dropped = page.evaluate(DROP, [files, "#studies"])
    assert dropped == {"overlayShown": True, "taken": True}
    page.wait_for_url("**/#/import")
    expect(summary(page)).to_have_text("3 of 3 files done: 2 stored, 1 refused.")
    expect(page.locator("#import-progress")).to_have_js_property("value", 3)
    expect(page.locator("#drop-overlay")).to_be_hidden()
    results = page.locator("#import-results tbody tr")
    expect(results.filter(has_text="MR01.dcm").locator(".file-result")).to_have_text("stored")
    expect(results.filter(has_text="notes.txt").locator(".file-result")).to_contain_text(
        "refused: cannot be understood"
    )
    screenshot(page, "import-drop")

    assert study_uids(served) == {MR_STUDY}
    assert api(served, f"/studies/{MR_STUDY}").json()["NumberOfStudyRelatedInstances"] == 2
    page.click("a:has-text('Show the studies')")
    expect(page.locator(f'#studies tr.study[data-uid="{MR_STUDY}"]')).to_contain_text("DOE, J1")


def test_files_chosen_with_the_file_input_are_stored(served: Any, page: Any) -> None:  # noqa: F811
    page.goto(f"{served.url}/#/import")
    expect(summary(page)).to_have_text("No file imported yet.")
    page.set_input_files("#import-files", [str(corpus_file(CT_SMALL))])
    expect(summary(page)).to_have_text("1 of 1 files done: 1 stored, 0 refused.")
    assert study_uids(served) == {CT_STUDY}

    # the same file again: the archive keeps one copy and says it is stored
    page.set_input_files("#import-files", [str(corpus_file(CT_SMALL))])
    expect(summary(page)).to_have_text("2 of 2 files done: 2 stored, 0 refused.")
    assert api(served, f"/studies/{CT_STUDY}").json()["NumberOfStudyRelatedInstances"] == 1
    screenshot(page, "import-input")


def exam_folder(root: Path, names: list[str]) -> Path:
    """A folder of DICOM files (one study each, named by patient) in nested subfolders."""
    (root / "series1" / "deeper").mkdir(parents=True)
    places = [root / "a.dcm", root / "series1" / "b.dcm", root / "series1" / "deeper" / "c.dcm"]
    for path, name in zip(places, names, strict=True):
        path.write_bytes(dicom_bytes(name, PatientID=name))
    return root


def test_dropped_folder_is_walked(served: Any, page: Any, tmp_path: Path) -> None:  # noqa: F811
    names = ["DROPPED^A", "DROPPED^B", "DROPPED^C"]
    folder = exam_folder(tmp_path / "exam", names)
    page.goto(f"{served.url}/#/studies")
    expect(page.locator("#study-count")).to_have_text("0–0 of 0 studies")
    # a real drag of a folder from outside the browser, as the OS would start it
    devtools = page.context.new_cdp_session(page)
    data = {"items": [], "files": [str(folder)], "dragOperationsMask": 1}
    for kind in ("dragEnter", "dragOver", "drop"):
        devtools.send("Input.dispatchDragEvent", {"type": kind, "x": 400, "y": 300, "data": data})
    page.wait_for_url("**/#/import")
    expect(summary(page)).to_have_text("3 of 3 files done: 3 stored, 0 refused.")
    expect(page.locator("#import-results")).to_contain_text("exam/series1/deeper/c.dcm")
    screenshot(page, "import-folder-drop")
    listed = api(served, "/studies").json()
    assert sorted(study["PatientName"] for study in listed) == names


def test_folder_input_imports_a_folder(served: Any, page: Any, tmp_path: Path) -> None:  # noqa: F811
    names = ["CHOSEN^A", "CHOSEN^B", "CHOSEN^C"]
    folder = exam_folder(tmp_path / "exam", names)
    page.goto(f"{served.url}/#/import")
    page.set_input_files("#import-folder", str(folder))
    expect(summary(page)).to_have_text("3 of 3 files done: 3 stored, 0 refused.")
    expect(page.locator("#import-results")).to_contain_text("exam/series1/deeper/c.dcm")
    listed = api(served, "/studies").json()
    assert sorted(study["PatientName"] for study in listed) == names
