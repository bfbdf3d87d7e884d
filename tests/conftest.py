"""Shared fixtures: settings in a temporary folder, archives, a node on loopback, real peers.

A test that needs a Debian tool (DCMTK, dicom3tools) asks ``tool("storescu")``:
it skips with the reason when the tool is missing, except under ``CI=true``,
where a missing tool fails the run.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset

import postgres_support
from vesalius.app import Node
from vesalius.archive.archive import Archive
from vesalius.index.index import Index
from vesalius.settings import Settings, load_settings
from vesalius.storage.memory import MemoryBlobStore

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
if not CORPUS.is_dir():
    CORPUS = Path(os.environ.get("VESALIUS_CORPUS", "/work/shared/corpus"))
ON_CI = os.environ.get("CI", "").lower() == "true"
VESALIUS = str(Path(sys.executable).with_name("vesalius"))
"""The ``vesalius`` command of the virtualenv the tests run in."""
DCMTK_ENV = {**os.environ, "TCP_NODELAY": "1"}


def corpus_rows() -> list[dict[str, str]]:
    """MANIFEST.csv of the shared corpus, one dict per file."""
    manifest = CORPUS / "MANIFEST.csv"
    if not manifest.exists():
        return []
    with manifest.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The read-only corpus folder."""
    if not CORPUS.is_dir():
        if ON_CI:
            pytest.fail(f"the shared corpus is missing at {CORPUS}")
        pytest.skip(f"the shared corpus is missing at {CORPUS}")
    return CORPUS


def require_tool(name: str) -> str:
    """The path of a Debian tool; skip (fail on CI) when it is not installed."""
    outside_venv = os.pathsep.join(
        folder
        for folder in os.environ.get("PATH", "").split(os.pathsep)
        if not os.path.abspath(folder).startswith(sys.prefix)  # pynetdicom has a "storescu" too
    )
    found = shutil.which(name, path=outside_venv)
    if found is None:
        message = f"{name} is not installed (apt-get install dcmtk dicom3tools)"
        if ON_CI:
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture
def tool() -> Callable[[str], str]:
    """``tool("storescu")`` -> path, or skip/fail as ``require_tool`` says."""
    return require_tool


def run_dcmtk(*args: str, timeout: float = 120, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run a DCMTK tool with TCP_NODELAY=1 and capture its output."""
    command = [require_tool(args[0]), *args[1:]]
    return subprocess.run(
        command, env=DCMTK_ENV, capture_output=True, text=True, timeout=timeout, **kwargs
    )


def vesalius(
    *args: str, timeout: float = 60, database_url: str = ""
) -> subprocess.CompletedProcess[str]:
    """Run the ``vesalius`` command line and capture its output (on ``database_url`` if given)."""
    env = {**os.environ, "VESALIUS_DATABASE__URL": database_url} if database_url else None
    return subprocess.run(
        [VESALIUS, *args], capture_output=True, text=True, timeout=timeout, check=False, env=env
    )


def corpus_file(relative: str) -> Path:
    """A corpus file; skip when the corpus is not there."""
    path = CORPUS / relative
    if not path.is_file():
        pytest.skip(f"corpus file {relative} is missing")
    return path


def read(path: Path) -> Dataset:
    """A DICOM file, read without pydicom's warnings about odd values."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(path)


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(condition: Callable[[], bool], timeout: float = 20.0, interval: float = 0.02) -> None:
    """Wait until ``condition()`` is true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout}s: {condition}")
        time.sleep(interval)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


@contextmanager
def dcmtk_server(port: int, log: Path, *command: str) -> Iterator[subprocess.Popen[bytes]]:
    """A DCMTK server (storescp, dcmqrscp...) listening on ``port``; killed by PID at the end."""
    with log.open("w") as output:
        process = subprocess.Popen(
            [require_tool(command[0]), *command[1:]],
            env=DCMTK_ENV,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for(lambda: process.poll() is not None or port_open(port), timeout=10)
            assert process.poll() is None, f"{command[0]} did not start"
            yield process
        finally:
            process.kill()
            process.wait(timeout=10)


SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"


def secondary_capture(
    study: str, series: str, *, pixels: int = 4, patient: str = "Test^Patient"
) -> tuple[str, bytes]:
    """A Secondary Capture of ``pixels`` x ``pixels`` random bytes as Part 10 (explicit
    little endian), with a fresh SOP Instance UID: that UID and the file's bytes."""
    uid = pydicom.uid.generate_uid()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SECONDARY_CAPTURE
    meta.MediaStorageSOPInstanceUID = uid
    meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    dataset = Dataset()
    dataset.file_meta = meta
    dataset.SOPClassUID = SECONDARY_CAPTURE
    dataset.SOPInstanceUID = uid
    dataset.PatientName = patient
    dataset.PatientID = patient.split("^", maxsplit=1)[0].upper()
    dataset.StudyInstanceUID = study
    dataset.SeriesInstanceUID = series
    dataset.Modality = "OT"
    dataset.SamplesPerPixel = 1
    dataset.PhotometricInterpretation = "MONOCHROME2"
    dataset.Rows = dataset.Columns = pixels
    dataset.BitsAllocated = dataset.BitsStored = 8
    dataset.HighBit = 7
    dataset.PixelRepresentation = 0
    dataset.PixelData = os.urandom(pixels * pixels)
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return uid, buffer.getvalue()


def make_settings(data_dir: Path, **sections: dict[str, Any]) -> Settings:
    """Settings for a test: data in ``data_dir``, DICOM on a free loopback port, no floor."""
    overrides: dict[str, Any] = {
        "storage": {"data_dir": str(data_dir)},
        "dicom": {"port": 0, "host": "127.0.0.1", "free_space_floor_mb": 0, "workers": 1},
    }
    for section, values in sections.items():
        overrides.setdefault(section, {}).update(values)
    return load_settings(Path(os.devnull), overrides)


BACKENDS = ("sqlite", "postgresql")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marked = metafunc.definition.get_closest_marker
    if (
        "backend" in metafunc.fixturenames
        and marked("both_databases")
        and not marked("sqlite_only")
    ):
        metafunc.parametrize("backend", BACKENDS, indirect=True)


def pytest_sessionfinish(session: pytest.Session) -> None:
    postgres_support.drop_template()


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """The index database of the test: SQLite unless marked ``both_databases``."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture
def database_url(backend: str) -> Iterator[str]:
    """The index URL for the test's backend: empty (SQLite in the data dir) or a new database."""
    if backend == "postgresql":
        with postgres_support.fresh_database() as url:
            yield url
    else:
        yield ""


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Default test settings in a temporary data folder."""
    return make_settings(tmp_path / "data", database={"url": database_url})


@pytest.fixture
def archive(settings: Settings) -> Iterator[Archive]:
    """An archive with a real SQLite index and an in-memory blob store."""
    index = Index.open(settings.database.url, settings.data_dir)
    archive = Archive(settings, index, MemoryBlobStore())
    yield archive
    archive.close()


@pytest.fixture
def disk_archive(settings: Settings) -> Iterator[Archive]:
    """An archive on disk, as ``vesalius serve`` opens it."""
    archive = Archive.open(settings)
    yield archive
    archive.close()


@pytest.fixture
def node(settings: Settings) -> Iterator[Node]:
    """A Vesalius node listening on a free loopback port, in this process."""
    with Node(settings) as running:
        yield running


@pytest.fixture
def web_settings(tmp_path: Path, database_url: str) -> Settings:
    """Test settings with the HTTP listener on a free loopback port too."""
    return make_settings(
        tmp_path / "data", http={"port": 0, "host": "127.0.0.1"}, database={"url": database_url}
    )


@pytest.fixture
def web_node(web_settings: Settings) -> Iterator[Node]:
    """A Vesalius node serving DICOM and HTTP on free loopback ports, in this process."""
    with Node(web_settings, http=True) as running:
        yield running
