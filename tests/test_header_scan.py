"""The header scanner reads the same indexed values as pydicom, on every corpus file."""

from __future__ import annotations

import io
import warnings
import zlib
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.filereader import read_dataset

from conftest import CORPUS, corpus_rows
from vesalius.archive.header import ScanError, Truncated, scan_values
from vesalius.archive.parse import parse_file
from vesalius.model.errors import ArchiveError
from vesalius.model.record import text_values
from vesalius.sopclasses import (
    DEFLATED_EXPLICIT_VR_LE,
    EXPLICIT_VR_BE,
    EXPLICIT_VR_LE,
    IMPLICIT_VR_LE,
)

FELL_BACK: list[str] = []
READABLE = [row["path"] for row in corpus_rows() if row["valid"] in {"yes", "malformed"}]


def _pydicom_values(body: bytes, syntax: str) -> dict[str, str]:
    implicit = syntax == IMPLICIT_VR_LE
    little = syntax != EXPLICIT_VR_BE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dataset = read_dataset(
            io.BytesIO(body),
            implicit,
            little,
            stop_when=lambda tag, _vr, _length: tag >> 16 >= 0x7FE0,
        )
        return text_values(dataset)


@pytest.mark.parametrize("relative", READABLE)
def test_scanner_agrees_with_pydicom(relative: str) -> None:
    data = (CORPUS / relative).read_bytes()
    try:
        parsed = parse_file(data)
    except ArchiveError:
        pytest.skip("refused before scanning (see the ingest tests)")
    body = bytes(parsed.body)
    syntax = parsed.transfer_syntax_uid
    if syntax == DEFLATED_EXPLICIT_VR_LE:
        body = zlib.decompressobj(-zlib.MAX_WBITS).decompress(body)
        syntax = EXPLICIT_VR_LE
    try:
        fast = scan_values(body, syntax == IMPLICIT_VR_LE, syntax != EXPLICIT_VR_BE)
    except ScanError:
        FELL_BACK.append(relative)
        return  # the caller falls back to pydicom: nothing to compare
    expected = _pydicom_values(body, syntax)
    differing = {
        keyword: (fast.get(keyword, ""), value)
        for keyword, value in expected.items()
        if fast.get(keyword, "") != value
    }
    assert not differing


def test_scanner_stops_before_pixel_data() -> None:
    """A data set whose pixel data is garbage still yields its header."""
    source = CORPUS / "pydicom" / "test_files" / "CT_small.dcm"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dataset = dcmread(source)
    parsed = parse_file(source.read_bytes())
    body = bytes(parsed.body)
    pixel_at = body.rfind(b"\xe0\x7f\x10\x00")
    garbage = body[:pixel_at] + b"\xe0\x7f\x10\x00OW\x00\x00\x04\x00\x00\x00" + b"junk"
    values = scan_values(garbage, False, True)
    assert values["SOPInstanceUID"] == dataset.SOPInstanceUID
    assert values["PatientName"] == str(dataset.PatientName)


def test_scanner_notices_a_data_set_cut_short() -> None:
    """Pixel data whose length runs past the end means the data set was truncated."""
    body = bytes(parse_file((CORPUS / "pydicom" / "test_files" / "CT_small.dcm").read_bytes()).body)
    with pytest.raises(Truncated):
        scan_values(body[:-100], False, True)
    with pytest.raises(Truncated):
        scan_values(body[:-100] + b"\x00", False, True)


def test_scanner_refuses_garbage() -> None:
    with pytest.raises(ScanError):
        scan_values(b"\x08\x00\x16\x00XX\x04\x001.2\x00" + bytes(range(200)), False, True)


def test_corpus_present_and_mostly_scanned() -> None:
    """The fast path serves nearly every real file; pydicom reads the odd ones."""
    assert Path(CORPUS).is_dir() and READABLE
    assert len(FELL_BACK) <= len(READABLE) // 20, FELL_BACK
