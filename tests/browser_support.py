"""A real browser against a real server, for the web UI tests.

``served`` starts ``vesalius serve`` (its own data folder, free ports) holding
the corpus files a test asks for; ``page`` opens Debian's Chromium through
Playwright, headless, with a fresh profile. Screenshots go to
``tests/artifacts/`` (git-ignored) through ``screenshot``.

Use in a test module::

    from browser_support import page, served, screenshot  # noqa: F401  (fixtures)
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conftest import ON_CI, VESALIUS, corpus_file, free_port, port_open, wait_for

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str:
    """Debian's Chromium; skip (fail on CI) when it or Playwright is missing."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    message = ""
    if found is None:
        message = "chromium is not installed (apt-get install chromium)"
    else:
        try:
            import playwright  # noqa: F401
        except ImportError:
            message = "playwright is not installed (make test installs it)"
    if message:
        if ON_CI:
            pytest.fail(message)
        pytest.skip(message)
    return str(found)


@dataclass
class Served:
    """A running ``vesalius serve``: where to reach it and what it holds."""

    process: subprocess.Popen[bytes]
    url: str
    dicom_port: int
    data_dir: Path
    log: Path

    def import_files(self, *relative: str) -> None:
        """Import corpus files into the running archive (``vesalius import``)."""
        paths = [str(corpus_file(name)) for name in relative]
        done = subprocess.run(
            [VESALIUS, "import", "--data-dir", str(self.data_dir), *paths],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr


@contextmanager
def serve_with_config(folder: Path, config: str) -> Iterator[Served]:
    """``vesalius serve --config`` (its own data folder, free loopback ports); stopped
    by its PID at the end. ``config`` is TOML text, such as ``[[peers]]`` blocks."""
    folder.mkdir(parents=True, exist_ok=True)
    http_port, dicom_port = free_port(), free_port()
    config_file = folder / "vesalius.toml"
    config_file.write_text(config, encoding="utf-8")
    data_dir = folder / "data"
    log = folder / "serve.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [
                VESALIUS, "serve", "--config", str(config_file), "--data-dir", str(data_dir),
                "--dicom-port", str(dicom_port), "--http-port", str(http_port),
                "--workers", "1", "--log-level", "WARNING",
            ],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )  # fmt: skip
    try:
        wait_for(lambda: process.poll() is not None or port_open(http_port), timeout=60)
        assert process.poll() is None, log.read_text(errors="replace")
        yield Served(process, f"http://127.0.0.1:{http_port}", dicom_port, data_dir, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """``vesalius serve`` on free loopback ports, stopped after the test."""
    with serve_with_config(tmp_path, "") as running:
        yield running


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Any]:
    """A new Chromium page (Playwright), headless, with a fresh profile."""
    executable = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=executable,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1400, "height": 900},
        )
        try:
            opened = context.pages[0] if context.pages else context.new_page()
            opened.set_default_timeout(15_000)
            yield opened
        finally:
            context.close()


def screenshot(page: Any, name: str) -> Path:
    """Save a screenshot of the page under tests/artifacts/ (git-ignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
