"""Logging in to the workstation once the server has users, and its CSRF token at work."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.sync_api import expect

from browser_support import page, screenshot, served  # noqa: F401  (fixtures)
from conftest import vesalius

CT_SMALL = "pydicom/test_files/CT_small.dcm"
CT_STUDY = "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322"


def test_login_then_delete_with_the_sessions_csrf_token(served: Any, page: Any) -> None:  # noqa: F811
    added = vesalius(
        "user", "add", "ada", "--role", "admin", "--password", "correct horse",
        "--data-dir", str(served.data_dir),
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    served.import_files(CT_SMALL)
    assert httpx.get(f"{served.url}/api/studies").status_code == 401

    page.goto(f"{served.url}/")
    login = page.locator("dialog.login")
    expect(login).to_be_visible()
    login.locator("input[name=name]").fill("ada")
    login.locator("input[name=password]").fill("wrong password")
    login.locator("button[type=submit]").click()
    expect(login).to_contain_text("Wrong user name or password")
    login.locator("input[name=password]").fill("correct horse")
    login.locator("button[type=submit]").click()

    row = page.locator(f'tr.study[data-uid="{CT_STUDY}"]')
    expect(row).to_have_count(1)
    expect(page.locator("#logout")).to_contain_text("ada")
    screenshot(page, "login-done")
    row.locator("button.delete").click()
    page.locator("dialog.confirm button.danger").click()  # a DELETE that needs the token
    expect(row).to_have_count(0)
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    without_token = httpx.delete(
        f"{served.url}/api/studies/{CT_STUDY}", cookies=cookies
    )  # the cookie alone is not enough
    assert without_token.status_code == 403
    listed = httpx.get(f"{served.url}/api/studies", cookies=cookies)
    assert listed.status_code == 200 and listed.json() == []
