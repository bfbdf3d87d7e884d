"""``vesalius send`` and ``vesalius echo`` against a real DCMTK ``storescp``.

Every test runs the command line as a subprocess, exactly as a user would,
and looks at what the receiver wrote to disk: pixel data byte for byte when
the receiver accepts the stored syntax, decoded pixels when it had to be
decompressed on the way.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import UID

from conftest import (
    corpus_file,
    dcmtk_server,
    free_port,
    port_open,
    read,
    require_tool,
    vesalius,
)
from vesalius.app import Node

pytestmark = pytest.mark.slow

EXPLICIT_VR_LE = "1.2.840.10008.1.2.1"
IMPLICIT_VR_LE = "1.2.840.10008.1.2"

UNCOMPRESSED_FILES = (
    "pydicom/test_files/MR_small.dcm",  # explicit VR little endian
    "dcm4che/MR-series/MR01.dcm",  # implicit VR little endian
)
COMPRESSED_FILES = (
    "pylibjpeg-data/JPEGBaseline/JPEGBaseline_1s_1f_u_08_08.dcm",  # JPEG baseline, grey
    "pydicom/test_files/SC_rgb_dcmtk_+eb+cy+np.dcm",  # JPEG baseline, YBR colour
    "pydicom/test_files/SC_rgb_jpeg_gdcm.dcm",  # JPEG lossless SV1
    "pydicom/test_files/693_J2KI.dcm",  # JPEG 2000
    "pydicom/test_files/GDCMJ2K_TextGBR.dcm",  # JPEG 2000 lossless
    "pydicom-data/JLSL_08_07_0_1F.dcm",  # JPEG-LS lossless
    "pydicom-data/emri_small_RLE.dcm",  # RLE lossless, 10 frames
)
MR_SERIES = tuple(f"dcm4che/MR-series/MR{n:02d}.dcm" for n in range(1, 5))


@pytest.fixture(autouse=True)
def _run_in_tmp_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Run every command in the test's folder, so that no stray ./vesalius.toml is read."""
    monkeypatch.chdir(tmp_path)


def pixels(dataset: Dataset) -> np.ndarray:
    """The decoded pixel array (colour converted to RGB, as pydicom does by default)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dataset.pixel_array


@contextmanager
def storescp(out: Path, *options: str) -> Iterator[int]:
    """A DCMTK storescp writing into ``out``; yields its port, kills it by PID at the end."""
    require_tool("storescp")
    out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = out.parent / f"storescp-{port}.log"
    with dcmtk_server(port, log, "storescp", "-d", "-od", str(out), *options, str(port)):
        yield port


def received(out: Path) -> dict[str, Dataset]:
    """The files storescp wrote, by SOP Instance UID."""
    found = {}
    for path in out.iterdir():
        dataset = read(path)
        found[str(dataset.SOPInstanceUID)] = dataset
    return found


def by_uid(paths: list[Path]) -> dict[str, Dataset]:
    """The originals, by SOP Instance UID; they must not share one."""
    originals = {str(read(path).SOPInstanceUID): read(path) for path in paths}
    assert len(originals) == len(paths), "the chosen corpus files share a SOP Instance UID"
    return originals


def test_send_keeps_stored_syntax_and_pixel_bytes(tmp_path: Path) -> None:
    """A receiver that accepts every syntax gets each file's pixel data byte for byte."""
    paths = [corpus_file(name) for name in (*UNCOMPRESSED_FILES, *COMPRESSED_FILES)]
    originals = by_uid(paths)
    out = tmp_path / "received"
    with storescp(out, "+xa") as port:
        result = vesalius("send", "127.0.0.1", str(port), "--aec", "STORESCP", *map(str, paths))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"sent {len(paths)} " in result.stdout
    got = received(out)
    assert set(got) == set(originals)
    for uid, original in originals.items():
        copy = got[uid]
        syntax = original.file_meta.TransferSyntaxUID
        if syntax.is_compressed:
            assert copy.file_meta.TransferSyntaxUID == syntax, f"{uid} was transcoded"
        assert copy.PixelData == original.PixelData, f"pixel data of {uid} changed"


def test_send_uncompressed_file_goes_out_as_stored(tmp_path: Path) -> None:
    """An implicit VR file goes to a receiver that accepts implicit VR as it is, not re-encoded.

    The sender's contract: an object goes out as stored when the receiver
    accepts its syntax, and only compressed objects are counted as decompressed.
    """
    path = corpus_file("dcm4che/MR-series/MR01.dcm")
    original = read(path)
    assert original.file_meta.TransferSyntaxUID == IMPLICIT_VR_LE
    out = tmp_path / "received"
    with storescp(out, "+xa") as port:
        result = vesalius("send", "127.0.0.1", str(port), "--aec", "STORESCP", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "(0 decompressed)" in result.stdout, result.stdout
    copy = received(out)[str(original.SOPInstanceUID)]
    assert copy.file_meta.TransferSyntaxUID == IMPLICIT_VR_LE


def test_send_decompresses_for_an_uncompressed_only_receiver(tmp_path: Path) -> None:
    """Compressed files reach a receiver that takes only uncompressed syntaxes, decoded."""
    paths = [corpus_file(name) for name in COMPRESSED_FILES]
    originals = by_uid(paths)
    out = tmp_path / "received"
    with storescp(out, "+xe") as port:
        result = vesalius("send", "127.0.0.1", str(port), "--aec", "STORESCP", *map(str, paths))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"sent {len(paths)} " in result.stdout
    assert f"({len(paths)} decompressed)" in result.stdout
    got = received(out)
    assert set(got) == set(originals), "a decompressed copy must keep its SOP Instance UID"
    for uid, original in originals.items():
        copy = got[uid]
        assert not UID(copy.file_meta.TransferSyntaxUID).is_compressed, uid
        expected = pixels(original)
        actual = pixels(copy)
        assert actual.shape == expected.shape, uid
        assert np.array_equal(actual, expected), f"decoded pixels of {uid} differ"


def test_send_study_from_the_local_archive(tmp_path: Path) -> None:
    """``send --study UID --data-dir D`` sends that study's instances, and only those."""
    series = [corpus_file(name) for name in MR_SERIES]
    other = corpus_file("pydicom/test_files/MR_small.dcm")
    study_uid = str(read(series[0]).StudyInstanceUID)
    assert str(read(other).StudyInstanceUID) != study_uid
    data = tmp_path / "data"
    imported = vesalius("import", "--data-dir", str(data), *map(str, [*series, other]))
    assert imported.returncode == 0, imported.stdout + imported.stderr
    out = tmp_path / "received"
    with storescp(out) as port:
        result = vesalius(
            "send",
            "127.0.0.1",
            str(port),
            "--aec",
            "STORESCP",
            "--study",
            study_uid,
            "--data-dir",
            str(data),
        )
    assert result.returncode == 0, result.stdout + result.stderr
    got = received(out)
    assert set(got) == {str(read(path).SOPInstanceUID) for path in series}
    for path in series:
        original = read(path)
        copy = got[str(original.SOPInstanceUID)]
        assert copy.StudyInstanceUID == study_uid
        assert copy.PixelData == original.PixelData


def test_send_to_a_peer_named_in_the_config(tmp_path: Path) -> None:
    """``send --peer NAME`` calls the host, port and AE title of that ``[[peers]]`` entry."""
    path = corpus_file("pydicom/test_files/MR_small.dcm")
    out = tmp_path / "received"
    with storescp(out) as port:
        config = tmp_path / "vesalius.toml"
        config.write_text(
            "[dicom]\n"
            'ae_title = "OURSELVES"\n'
            "\n[[peers]]\n"
            'name = "film-room"\n'
            'ae_title = "FILMROOM"\n'
            'host = "127.0.0.1"\n'
            f"port = {port}\n",
            encoding="utf-8",
        )
        result = vesalius(
            "send",
            "--peer",
            "film-room",
            "--config",
            str(config),
            "--data-dir",
            str(tmp_path / "data"),
            str(path),
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FILMROOM@127.0.0.1" in result.stdout
    assert set(received(out)) == {str(read(path).SOPInstanceUID)}
    log = (tmp_path / f"storescp-{port}.log").read_text(errors="replace")
    assert "Called Application Name:     FILMROOM" in log
    assert "Calling Application Name:    OURSELVES" in log


def test_send_lists_each_failed_file_and_exits_2(tmp_path: Path) -> None:
    """A non-DICOM file and a missing one fail alone: the rest is sent, the failures listed."""
    good = corpus_file("pydicom/test_files/MR_small.dcm")
    text = tmp_path / "notes.txt"
    text.write_text("this is not DICOM\n", encoding="utf-8")
    missing = tmp_path / "missing.dcm"
    out = tmp_path / "received"
    with storescp(out) as port:
        result = vesalius(
            "send",
            "127.0.0.1",
            str(port),
            "--aec",
            "STORESCP",
            str(text),
            str(good),
            str(missing),
        )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "sent 1 " in result.stdout
    assert "failed 2" in result.stdout
    failures = [line for line in result.stdout.splitlines() if line.strip().startswith("failed")]
    assert len(failures) == 2, result.stdout
    assert any(str(text) in line for line in failures)
    assert any(str(missing) in line for line in failures)
    assert set(received(out)) == {str(read(good).SOPInstanceUID)}


def test_send_to_an_unreachable_target_exits_1_with_one_line(tmp_path: Path) -> None:
    """Nobody listening: exit 1 and one line on stderr saying why."""
    port = free_port()
    assert not port_open(port)
    path = corpus_file("pydicom/test_files/MR_small.dcm")
    result = vesalius("send", "127.0.0.1", str(port), "--aec", "NOBODY", str(path))
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "NOBODY@127.0.0.1" in lines[0]
    assert "sent" not in result.stdout


def test_echo_succeeds_against_a_node_and_a_peer_entry(node: Node, tmp_path: Path) -> None:
    """``vesalius echo`` exits 0 against a listening AE, by address and by ``--peer``."""
    port = str(node.dicom_port)
    direct = vesalius("echo", "127.0.0.1", port, "--aec", "VESALIUS")
    assert direct.returncode == 0, direct.stdout + direct.stderr
    assert "C-ECHO succeeded" in direct.stdout
    config = tmp_path / "peers.toml"
    config.write_text(
        f'[[peers]]\nname = "self"\nae_title = "VESALIUS"\nhost = "127.0.0.1"\nport = {port}\n',
        encoding="utf-8",
    )
    by_name = vesalius("echo", "--peer", "self", "--config", str(config))
    assert by_name.returncode == 0, by_name.stdout + by_name.stderr


def test_echo_fails_with_exit_1_when_nobody_listens() -> None:
    """``vesalius echo`` to a closed port exits 1 with one line on stderr."""
    port = free_port()
    result = vesalius("echo", "127.0.0.1", str(port), "--aec", "NOBODY")
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "NOBODY@127.0.0.1" in result.stderr
    assert "C-ECHO succeeded" not in result.stdout
