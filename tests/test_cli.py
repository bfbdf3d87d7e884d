"""The ``vesalius`` command line as a user meets it: help, dump, ls, and serve's log and stop.

Every command runs as a subprocess of the installed entry point, in the
test's own folder, so that no stray ``./vesalius.toml`` is read.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from pydicom.dataset import Dataset

from conftest import VESALIUS, corpus_file, free_port, read, run_dcmtk, vesalius, wait_for

pytestmark = pytest.mark.slow

VERBS = ("serve", "import", "send", "echo", "dump", "ls")
TAG_LINE = re.compile(
    r"^(?P<indent>\s*)\((?P<tag>[0-9A-F]{4},[0-9A-F]{4})\)\s+(?P<keyword>\S+)\s+(?P<vr>[A-Z]{2})\b\s*(?P<value>.*)$"
)
SEG_FILE = "highdicom/seg_image_cr_binary.dcm"  # nested sequences and pixel data
MR_FILE = "dcm4che/MR-series/MR01.dcm"  # 256 x 256 x 16 bit: 128 KiB of pixel data
MR_SERIES = tuple(f"dcm4che/MR-series/MR{n:02d}.dcm" for n in range(1, 5))
OTHER_FILES = (
    "pydicom/test_files/MR_small.dcm",
    "pydicom/test_files/dicomdirtests/77654033/CT2/17106",
    "pydicom/test_files/dicomdirtests/77654033/CT2/17136",
    "pydicom/test_files/dicomdirtests/77654033/CR1/6154",
)


@pytest.fixture(autouse=True)
def _run_in_tmp_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Run every command in the test's folder."""
    monkeypatch.chdir(tmp_path)


# -- help -----------------------------------------------------------------------


def test_help_lists_every_verb() -> None:
    """``vesalius --help`` names serve, import, send, echo, dump and ls."""
    result = vesalius("--help")
    assert result.returncode == 0, result.stderr
    for verb in VERBS:
        assert re.search(rf"^\W*{verb}\b", result.stdout, re.MULTILINE), f"{verb} not listed"


@pytest.mark.parametrize("verb", VERBS)
def test_each_verb_has_help(verb: str) -> None:
    """``vesalius VERB --help`` exits 0 and shows that verb's usage."""
    result = vesalius(verb, "--help")
    assert result.returncode == 0, result.stderr
    assert f"vesalius {verb}" in result.stdout
    assert "--config" in result.stdout or verb == "dump"


def test_serve_help_shows_the_defaults() -> None:
    """The defaults written into the option help (port, data folder) reach the user."""
    result = vesalius("serve", "--help")
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "11112" in text, result.stdout
    assert "vesalius-data" in text, result.stdout


# -- dump -----------------------------------------------------------------------


def dump_lines(output: str) -> list[re.Match[str]]:
    """The element lines of a ``vesalius dump``."""
    return [m for m in map(TAG_LINE.match, output.splitlines()) if m]


def test_dump_prints_meta_and_data_set_elements() -> None:
    """Each line: tag, keyword, VR, value; meta information first, then the data set."""
    path = corpus_file(MR_FILE)
    dataset = read(path)
    result = vesalius("dump", str(path))
    assert result.returncode == 0, result.stderr
    lines = {m["tag"]: m for m in dump_lines(result.stdout)}
    syntax = lines["0002,0010"]
    assert (syntax["keyword"], syntax["vr"]) == ("TransferSyntaxUID", "UI")
    assert syntax["value"].strip() == dataset.file_meta.TransferSyntaxUID
    for tag, keyword, vr in (
        ("0008,0018", "SOPInstanceUID", "UI"),
        ("0010,0010", "PatientName", "PN"),
        ("0010,0020", "PatientID", "LO"),
        ("0028,0010", "Rows", "US"),
    ):
        line = lines[tag]
        assert (line["keyword"], line["vr"]) == (keyword, vr)
        assert line["value"].strip() == str(dataset[keyword].value)
    output = result.stdout
    assert output.index("(0002,0010)") < output.index("(0008,0018)")


def test_dump_summarises_pixel_data() -> None:
    """128 KiB of pixel data become one short line giving its size, never the bytes."""
    path = corpus_file(MR_FILE)
    size = len(read(path).PixelData)
    result = vesalius("dump", str(path))
    assert result.returncode == 0, result.stderr
    pixel = [m for m in dump_lines(result.stdout) if m["tag"] == "7FE0,0010"]
    assert len(pixel) == 1
    assert str(size) in pixel[0]["value"]
    assert len(pixel[0].group(0)) < 120
    assert len(result.stdout) < size // 4


def test_dump_indents_sequence_items() -> None:
    """Elements inside a sequence item are indented deeper than the sequence."""
    path = corpus_file(SEG_FILE)
    dataset = read(path)
    result = vesalius("dump", str(path))
    assert result.returncode == 0, result.stderr
    lines = dump_lines(result.stdout)
    sequence = next(m for m in lines if m["keyword"] == "SegmentSequence")
    assert sequence["vr"] == "SQ"
    label = next(m for m in lines if m["keyword"] == "SegmentLabel")
    assert len(label["indent"]) > len(sequence["indent"])
    assert label["value"].strip() == dataset.SegmentSequence[0].SegmentLabel
    nested = next(
        i for i, m in enumerate(lines) if m["keyword"] == "SegmentedPropertyCategoryCodeSequence"
    )
    assert len(lines[nested]["indent"]) > len(sequence["indent"])
    code = lines[nested + 1]
    assert code["keyword"] == "CodeValue"
    assert len(code["indent"]) > len(lines[nested]["indent"])
    expected = dataset.SegmentSequence[0].SegmentedPropertyCategoryCodeSequence[0].CodeValue
    assert code["value"].strip() == expected
    top_level = next(m for m in lines if m["keyword"] == "SegmentsOverlap")
    assert top_level["indent"] == sequence["indent"]


def test_dump_json_is_dicom_json_that_round_trips() -> None:
    """``--json`` prints PS3.18 F.2 JSON; pydicom reads it back to the same values."""
    path = corpus_file(SEG_FILE)
    dataset = read(path)
    result = vesalius("dump", "--json", str(path))
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)

    def check(node: dict[str, object]) -> None:
        for key, value in node.items():
            assert re.fullmatch(r"[0-9A-F]{8}", key), key
            assert isinstance(value, dict) and "vr" in value, key
            if value["vr"] == "SQ":
                for item in value.get("Value", []):
                    check(item)

    check(document)
    assert document["00020010"]["Value"] == [dataset.file_meta.TransferSyntaxUID]
    back = Dataset.from_json(document)
    for keyword in (
        "SOPClassUID",
        "SOPInstanceUID",
        "PatientName",
        "StudyInstanceUID",
        "Rows",
        "Columns",
        "ImageType",
    ):
        assert back[keyword].value == dataset[keyword].value, keyword
    item_back = back.SegmentSequence[0]
    item = dataset.SegmentSequence[0]
    assert item_back.SegmentLabel == item.SegmentLabel
    assert (
        item_back.SegmentedPropertyCategoryCodeSequence[0].CodeValue
        == item.SegmentedPropertyCategoryCodeSequence[0].CodeValue
    )


@pytest.mark.parametrize(
    "content",
    [None, b"hello, this is a text file\nand not DICOM at all\n", bytes(range(256)) * 12],
    ids=["missing", "text", "binary"],
)
def test_dump_of_a_missing_or_non_dicom_file_fails(tmp_path: Path, content: bytes | None) -> None:
    """A missing file or one that is not DICOM: exit 1, one line on stderr, nothing dumped."""
    path = tmp_path / "input.bin"
    if content is not None:
        path.write_bytes(content)
    result = vesalius("dump", str(path))
    assert result.returncode == 1, result.stdout
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert str(path) in result.stderr
    assert not dump_lines(result.stdout)


# -- ls -------------------------------------------------------------------------


def table_rows(output: str) -> list[list[str]]:
    """The body rows of a rich table, cells stripped, blank cells filled from the row above."""
    rows: list[list[str]] = []
    for line in output.splitlines():
        if not line.startswith("│"):
            continue
        cells = [cell.strip() for cell in line.strip("│").split("│")]
        if rows:
            cells = [
                cell or (above if i < 5 else "")
                for i, (cell, above) in enumerate(zip(cells, rows[-1], strict=True))
            ]
        rows.append(cells)
    return rows


def test_ls_shows_patients_studies_series_with_counts(tmp_path: Path) -> None:
    """After an import, ``ls`` has one row per series with its patient, study and count."""
    paths = [corpus_file(name) for name in (*MR_SERIES, *OTHER_FILES)]
    data = tmp_path / "data"
    imported = vesalius("import", "--data-dir", str(data), *map(str, paths))
    assert imported.returncode == 0, imported.stdout + imported.stderr
    expected: dict[str, tuple[str, str, str, int]] = {}
    for path in paths:
        dataset = read(path)
        key = str(dataset.SeriesInstanceUID)
        patient, study, modality, count = expected.get(
            key, (str(dataset.PatientID), str(dataset.StudyInstanceUID), str(dataset.Modality), 0)
        )
        expected[key] = (patient, study, modality, count + 1)
    result = vesalius("ls", "--data-dir", str(data))
    assert result.returncode == 0, result.stderr
    rows = table_rows(result.stdout)
    assert len(rows) == len(expected), result.stdout
    found = sorted((row[0], row[4], row[6], int(row[8])) for row in rows)
    assert found == sorted(expected.values()), result.stdout
    patients = {value[0] for value in expected.values()}
    studies = {value[1] for value in expected.values()}
    summary = (
        f"{len(patients)} patients, {len(studies)} studies, {len(expected)} series, "
        f"{len(paths)} instances"
    )
    assert summary in result.stdout


# -- serve ----------------------------------------------------------------------


@contextmanager
def serving(tmp_path: Path, *options: str) -> Iterator[tuple[subprocess.Popen[bytes], int, Path]]:
    """``vesalius serve`` in its own session: (process, port, stderr file); killed if left."""
    port = free_port()
    log = tmp_path / f"serve-{port}.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [
                VESALIUS,
                "serve",
                "--data-dir",
                str(tmp_path / "data"),
                "--dicom-port",
                str(port),
                "--http-port",
                "0",
                *options,
            ],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )
    try:
        wait_for(lambda: process.poll() is not None or echo_ok(port), timeout=30, interval=0.1)
        assert process.poll() is None, log.read_text(errors="replace")
        yield process, port, log
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def echo_ok(port: int) -> bool:
    """True when echoscu (calling as POLLER) gets a C-ECHO answer on ``port``."""
    return (
        run_dcmtk("echoscu", "-aet", "POLLER", "127.0.0.1", str(port), timeout=10).returncode == 0
    )


def group_gone(pgid: int) -> bool:
    """True when no process of this process group is left."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def stop(process: subprocess.Popen[bytes]) -> int:
    """SIGTERM the server and return its exit code; every process of it must end."""
    process.send_signal(signal.SIGTERM)
    code = process.wait(timeout=20)
    wait_for(lambda: group_gone(process.pid), timeout=10)
    return code


def test_serve_logs_associations_and_stored_objects_and_stops_on_sigterm(tmp_path: Path) -> None:
    """INFO: one line per association and per stored object; SIGTERM ends every process, exit 0."""
    path = corpus_file("pydicom/test_files/MR_small.dcm")
    dataset = read(path)
    with serving(tmp_path, "--log-level", "INFO", "--workers", "2") as (process, port, log):
        sent = run_dcmtk(
            "storescu", "-aet", "LOGCHECK", "-aec", "VESALIUS", "127.0.0.1", str(port), str(path)
        )
        assert sent.returncode == 0, sent.stderr
        code = stop(process)
    assert code == 0
    lines = log.read_text(errors="replace").splitlines()
    associations = [line for line in lines if "LOGCHECK" in line and "association" in line.lower()]
    assert len(associations) == 1, lines
    line = associations[0]
    assert "127.0.0.1" in line
    assert re.search(r"\b\d+ context", line), line
    assert re.search(r"\b\d+(\.\d+)?\s*s\b", line), line
    stored = [line for line in lines if str(dataset.SOPInstanceUID) in line]
    assert len(stored) == 1, lines
    assert "MR Image Storage" in stored[0]
    assert "0000" in stored[0]
    pollers = [line for line in lines if "POLLER" in line]
    assert pollers, "the echo associations were not logged"


def test_serve_respects_log_level(tmp_path: Path) -> None:
    """``--log-level WARNING`` keeps the INFO lines (associations, stored objects) out."""
    path = corpus_file("pydicom/test_files/MR_small.dcm")
    dataset = read(path)
    with serving(tmp_path, "--log-level", "WARNING", "--workers", "1") as (process, port, log):
        sent = run_dcmtk(
            "storescu", "-aet", "QUIET", "-aec", "VESALIUS", "127.0.0.1", str(port), str(path)
        )
        assert sent.returncode == 0, sent.stderr
        code = stop(process)
    assert code == 0
    text = log.read_text(errors="replace")
    assert "QUIET" not in text
    assert str(dataset.SOPInstanceUID) not in text
    assert " INFO " not in text
