"""``vesalius find``, ``move``, ``get`` and ``retrieve`` against DCMTK's ``dcmqrscp``.

Each test starts its own ``dcmqrscp`` on a free port, with a configuration
file and a database folder under ``tmp_path`` filled from corpus files by
``dcmqridx``, runs the command line as a user would, and checks the values
printed or the instances that arrived (pixel data byte for byte).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from pydicom.dataset import Dataset
from pydicom.tag import Tag

from conftest import (
    corpus_file,
    dcmtk_server,
    free_port,
    read,
    require_tool,
    run_dcmtk,
    vesalius,
)
from test_move_get import node_settings, running_node
from test_send import storescp
from vesalius.app import Node
from vesalius.archive.archive import Archive
from vesalius.model.keys import BadKey, columns_for, identifier_for, parse_keys
from vesalius.settings import load_settings

pytestmark = pytest.mark.slow

MR_SERIES = tuple(f"dcm4che/MR-series/MR{n:02d}.dcm" for n in range(1, 5))
OTHERS = ("pydicom/test_files/CT_small.dcm", "pydicom/test_files/MR_small.dcm")
QR_AET = "QRSCP"


@pytest.fixture(autouse=True)
def _run_in_tmp_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Run every command in the test's folder, so that no stray ./vesalius.toml is read."""
    monkeypatch.chdir(tmp_path)


@contextmanager
def dcmqrscp(folder: Path, destinations: dict[str, int] | None = None) -> Iterator[int]:
    """A DCMTK Q/R SCP holding MR_SERIES and OTHERS; ``destinations`` are its move targets.

    Yields its port; stops it by PID at the end.
    """
    require_tool("dcmqrscp")
    database = folder / "db"
    database.mkdir(parents=True)
    copies = []
    for name in (*MR_SERIES, *OTHERS):
        copy = database / name.replace("/", "_")
        shutil.copyfile(corpus_file(name), copy)
        copies.append(str(copy))
    indexed = run_dcmtk("dcmqridx", str(database), *copies)
    assert indexed.returncode == 0, indexed.stderr
    port = free_port()
    hosts = "\n".join(
        f"dest{n} = ({aet}, 127.0.0.1, {dest_port})"
        for n, (aet, dest_port) in enumerate((destinations or {}).items())
    )
    config = folder / "dcmqrscp.cfg"
    config.write_text(
        f"NetworkTCPPort = {port}\nMaxPDUSize = 16384\nMaxAssociations = 16\n"
        f"HostTable BEGIN\n{hosts}\nHostTable END\n"
        "VendorTable BEGIN\nVendorTable END\n"
        f"AETable BEGIN\n{QR_AET} {database} RW (200, 1024mb) ANY\nAETable END\n",
        encoding="utf-8",
    )
    # Not --single-process: DCMTK 3.6.7 crashes after the first association in that mode.
    with dcmtk_server(port, folder / "dcmqrscp.log", "dcmqrscp", "-c", str(config), str(port)):
        yield port


def target(port: int) -> list[str]:
    """``HOST PORT --aec AET`` of the dcmqrscp on this port."""
    return ["127.0.0.1", str(port), "--aec", QR_AET]


def originals(names: tuple[str, ...] = MR_SERIES) -> dict[str, Dataset]:
    """Corpus files by SOP Instance UID."""
    return {str(read(corpus_file(n)).SOPInstanceUID): read(corpus_file(n)) for n in names}


def study_uid() -> str:
    """The Study Instance UID of MR_SERIES."""
    return str(read(corpus_file(MR_SERIES[0])).StudyInstanceUID)


def values(document: list[dict], keyword_tag: str) -> list[object]:
    """The first value of one attribute in each DICOM JSON object."""
    return [obj.get(keyword_tag, {}).get("Value", [None])[0] for obj in document]


def write_config(path: Path, qr_port: int, services: list[str], **dicom: object) -> Path:
    """A vesalius.toml naming the dcmqrscp as peer ``qr``."""
    lines = ["[dicom]", *(f"{k} = {json.dumps(v)}" for k, v in dicom.items())]
    lines += [
        "[[peers]]",
        'name = "qr"',
        f'ae_title = "{QR_AET}"',
        'host = "127.0.0.1"',
        f"port = {qr_port}",
        f"services = {json.dumps(services)}",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# -- -k parsing --------------------------------------------------------------


def test_keys_take_the_dictionary_vr() -> None:
    identifier = parse_keys(
        ["PatientName=DOE*", "StudyDate=20240101-20241231", "0020,0013=", "(0028,0010)=512"]
    )
    assert identifier["PatientName"].VR == "PN"
    assert str(identifier.PatientName) == "DOE*"
    assert identifier["StudyDate"].VR == "DA"
    assert identifier[Tag(0x00200013)].VR == "IS"
    assert identifier[Tag(0x00200013)].value is None
    assert identifier.Rows == 512 and identifier["Rows"].VR == "US"
    assert parse_keys(["ReferencedSeriesSequence="])["ReferencedSeriesSequence"].VR == "SQ"


def test_identifier_adds_level_and_unique_key_and_defaults() -> None:
    identifier = identifier_for(["PatientName=DOE*"], "study")
    assert identifier.QueryRetrieveLevel == "STUDY"
    assert "StudyInstanceUID" in identifier
    defaults = identifier_for([], "STUDY")
    assert "ModalitiesInStudy" in defaults and "NumberOfStudyRelatedInstances" in defaults
    assert [t for t in columns_for(["StudyDate=", "PatientName="], "STUDY")] == [
        Tag(0x00080020),
        Tag(0x00100010),
        Tag(0x0020000D),
    ]


@pytest.mark.parametrize("bad", ["NoSuchKeyword=1", "Rows=many", "zzzz,0010=1"])
def test_bad_keys_are_refused(bad: str) -> None:
    with pytest.raises(BadKey):
        parse_keys([bad])


# -- find ----------------------------------------------------------------------


def test_find_study_table(tmp_path: Path) -> None:
    with dcmqrscp(tmp_path / "qr") as port:
        result = vesalius(
            "find",
            *target(port),
            "-k",
            "PatientName=DOE*",
            "-k",
            "StudyDate=20170101-20171231",
            "-k",
            "StudyDescription=",
        )
    assert result.returncode == 0, result.stderr
    assert "1 match(es) at STUDY level" in result.stdout
    assert "DOE^J1" in result.stdout
    assert "LEFT WRIST" in result.stdout
    assert study_uid() in result.stdout
    assert "CompressedSamples" not in result.stdout
    header = next(line for line in result.stdout.splitlines() if "StudyDate" in line)
    order = ("PatientName", "StudyDate", "StudyDescription", "StudyInstanceUID")
    assert [header.index(name) for name in order] == sorted(header.index(n) for n in order)


def test_find_study_json_with_default_keys(tmp_path: Path) -> None:
    with dcmqrscp(tmp_path / "qr") as port:
        result = vesalius("find", *target(port), "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    expected = {str(read(corpus_file(n)).StudyInstanceUID) for n in (*MR_SERIES, *OTHERS)}
    assert set(values(document, "0020000D")) == expected
    names = {v["Alphabetic"] for v in values(document, "00100010")}  # type: ignore[index]
    assert "DOE^J1" in names


def test_find_series_level_study_root(tmp_path: Path) -> None:
    first = read(corpus_file(MR_SERIES[0]))
    with dcmqrscp(tmp_path / "qr") as port:
        result = vesalius(
            "find",
            *target(port),
            "--level",
            "SERIES",
            "-k",
            f"StudyInstanceUID={first.StudyInstanceUID}",
            "-k",
            "Modality=",
            "--json",
        )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert values(document, "0020000E") == [str(first.SeriesInstanceUID)]
    assert values(document, "00080060") == [str(first.Modality)]


def test_find_image_level_patient_root(tmp_path: Path) -> None:
    first = read(corpus_file(MR_SERIES[0]))
    with dcmqrscp(tmp_path / "qr") as port:
        result = vesalius(
            "find",
            *target(port),
            "--model",
            "patient",
            "--level",
            "IMAGE",
            "-k",
            f"PatientID={first.PatientID}",
            "-k",
            f"StudyInstanceUID={first.StudyInstanceUID}",
            "-k",
            f"SeriesInstanceUID={first.SeriesInstanceUID}",
            "-k",
            "0020,0013=",
            "--json",
        )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    wanted = originals()
    assert set(values(document, "00080018")) == set(wanted)
    numbers = {str(ds.SOPInstanceUID): int(ds.InstanceNumber) for ds in wanted.values()}
    for obj in document:
        assert int(obj["00200013"]["Value"][0]) == numbers[obj["00080018"]["Value"][0]]


def test_find_patient_level(tmp_path: Path) -> None:
    with dcmqrscp(tmp_path / "qr") as port:
        result = vesalius(
            "find", *target(port), "--level", "PATIENT", "-k", "PatientName=Compressed*"
        )
    assert result.returncode == 0, result.stderr
    assert "2 match(es) at PATIENT level" in result.stdout
    assert "CompressedSamples^CT1" in result.stdout and "CompressedSamples^MR1" in result.stdout


def test_find_unreachable_peer_fails_in_one_line(tmp_path: Path) -> None:
    result = vesalius("find", "127.0.0.1", str(free_port()), "--aec", QR_AET)
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "could not be reached" in result.stderr


def test_find_bad_key_fails_in_one_line(tmp_path: Path) -> None:
    result = vesalius("find", "127.0.0.1", "104", "-k", "NoSuchThing=1")
    assert result.returncode == 1
    assert "unknown DICOM keyword" in result.stderr


# -- move ----------------------------------------------------------------------


def test_move_to_storescp(tmp_path: Path) -> None:
    out = tmp_path / "received"
    with (
        storescp(out) as store_port,
        dcmqrscp(tmp_path / "qr", {"STORESCP": store_port}) as port,
    ):
        result = vesalius(
            "move", *target(port), "--dest", "STORESCP", "-k", f"StudyInstanceUID={study_uid()}"
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"completed {len(MR_SERIES)}, failed 0" in result.stdout
    arrived = {str(read(p).SOPInstanceUID): read(p) for p in out.iterdir()}
    wanted = originals()
    assert set(arrived) == set(wanted)
    for uid, original in wanted.items():
        assert arrived[uid].PixelData == original.PixelData


def test_move_to_a_vesalius_node(tmp_path: Path, node: Node) -> None:
    aet = node.settings.dicom.ae_title
    with dcmqrscp(tmp_path / "qr", {aet: node.dicom_port}) as port:
        result = vesalius(
            "move",
            *target(port),
            "--dest",
            aet,
            "--level",
            "SERIES",
            "-k",
            f"StudyInstanceUID={study_uid()}",
            "-k",
            f"SeriesInstanceUID={read(corpus_file(MR_SERIES[0])).SeriesInstanceUID}",
        )
    assert result.returncode == 0, result.stdout + result.stderr
    stored = node.archive.instances(study_uids=[study_uid()])
    assert {i.sop_instance_uid for i in stored} == set(originals())


def test_move_to_unknown_destination_shows_the_status(tmp_path: Path) -> None:
    with dcmqrscp(tmp_path / "qr") as port:
        result = vesalius(
            "move", *target(port), "--dest", "NOWHERE", "-k", f"StudyInstanceUID={study_uid()}"
        )
    assert result.returncode in (1, 2)
    assert "A801" in result.stdout + result.stderr


def test_move_needs_a_destination() -> None:
    result = vesalius("move", "127.0.0.1", "104", "-k", "StudyInstanceUID=1.2.3")
    assert result.returncode == 1
    assert "--dest" in result.stderr


# -- get -----------------------------------------------------------------------


def test_get_into_a_folder(tmp_path: Path) -> None:
    out = tmp_path / "got"
    with dcmqrscp(tmp_path / "qr") as port:
        result = vesalius(
            "get", *target(port), "-k", f"StudyInstanceUID={study_uid()}", "--out", str(out)
        )
    assert result.returncode == 0, result.stdout + result.stderr
    wanted = originals()
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{uid}.dcm" for uid in wanted)
    for uid, original in wanted.items():
        got = read(out / f"{uid}.dcm")
        assert got.file_meta.MediaStorageSOPInstanceUID == uid
        assert got.PixelData == original.PixelData


def test_get_into_the_archive(tmp_path: Path) -> None:
    data = tmp_path / "local"
    with dcmqrscp(tmp_path / "qr") as port:
        result = vesalius(
            "get",
            *target(port),
            "--level",
            "IMAGE",
            "-k",
            f"StudyInstanceUID={study_uid()}",
            "-k",
            f"SeriesInstanceUID={read(corpus_file(MR_SERIES[0])).SeriesInstanceUID}",
            "-k",
            f"SOPInstanceUID={read(corpus_file(MR_SERIES[1])).SOPInstanceUID}",
            "--into-archive",
            "--data-dir",
            str(data),
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "completed 1, failed 0" in result.stdout
    archive = Archive.open(load_settings(None, {"storage": {"data_dir": str(data)}}))
    try:
        stored = archive.instances(study_uids=[study_uid()])
        assert len(stored) == 1
        original = read(corpus_file(MR_SERIES[1]))
        assert stored[0].sop_instance_uid == original.SOPInstanceUID
        written = tmp_path / "written.dcm"
        written.write_bytes(archive.read_instance(stored[0]))
        assert read(written).PixelData == original.PixelData
    finally:
        archive.close()


def test_get_needs_one_destination() -> None:
    result = vesalius("get", "127.0.0.1", "104", "-k", "StudyInstanceUID=1.2.3")
    assert result.returncode == 1
    assert "--out DIR or --into-archive" in result.stderr


# -- retrieve ------------------------------------------------------------------


def test_retrieve_by_get(tmp_path: Path) -> None:
    data = tmp_path / "local"
    with dcmqrscp(tmp_path / "qr") as port:
        config = write_config(tmp_path / "vesalius.toml", port, ["find", "move", "get"])
        result = vesalius(
            "retrieve",
            "--peer",
            "qr",
            "--study",
            study_uid(),
            "--config",
            str(config),
            "--data-dir",
            str(data),
        )
    assert result.returncode == 0, result.stdout + result.stderr
    archive = Archive.open(load_settings(None, {"storage": {"data_dir": str(data)}}))
    try:
        stored = archive.instances(study_uids=[study_uid()])
        assert {i.sop_instance_uid for i in stored} == set(originals())
    finally:
        archive.close()


def test_retrieve_by_move_into_the_running_server(tmp_path: Path, node: Node) -> None:
    aet = node.settings.dicom.ae_title
    with dcmqrscp(tmp_path / "qr", {aet: node.dicom_port}) as port:
        config = write_config(
            tmp_path / "vesalius.toml", port, ["find", "move"], ae_title=aet, port=node.dicom_port
        )
        result = vesalius(
            "retrieve",
            "--peer",
            "qr",
            "--study",
            study_uid(),
            "--config",
            str(config),
            "--data-dir",
            str(node.settings.data_dir),
        )
    assert result.returncode == 0, result.stdout + result.stderr
    stored = node.archive.instances(study_uids=[study_uid()])
    assert {i.sop_instance_uid for i in stored} == set(originals())


def test_retrieve_by_move_without_a_server_says_so(tmp_path: Path) -> None:
    with dcmqrscp(tmp_path / "qr") as port:
        config = write_config(tmp_path / "vesalius.toml", port, ["find", "move"], port=free_port())
        result = vesalius(
            "retrieve", "--peer", "qr", "--study", study_uid(), "--config", str(config)
        )
    assert result.returncode == 1
    assert "vesalius serve" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_retrieve_by_move_to_an_unknown_destination(tmp_path: Path, node: Node) -> None:
    with dcmqrscp(tmp_path / "qr") as port:
        config = write_config(tmp_path / "vesalius.toml", port, ["move"], port=node.dicom_port)
        result = vesalius(
            "retrieve", "--peer", "qr", "--study", study_uid(), "--config", str(config)
        )
    assert result.returncode == 1
    assert "A801" in result.stderr


# -- against a second Vesalius ---------------------------------------------------


def test_move_from_a_vesalius_node_to_storescp(tmp_path: Path) -> None:
    out = tmp_path / "received"
    files = [corpus_file(name) for name in MR_SERIES]
    with (
        storescp(out) as store_port,
        running_node(node_settings(tmp_path / "data", ("STORESCP", store_port)), files) as node,
    ):
        result = vesalius(
            "move",
            "127.0.0.1",
            str(node.dicom_port),
            "--aec",
            node.settings.dicom.ae_title,
            "--dest",
            "STORESCP",
            "-k",
            f"StudyInstanceUID={study_uid()}",
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"completed {len(MR_SERIES)}, failed 0" in result.stdout
    arrived = {str(read(p).SOPInstanceUID): read(p) for p in out.iterdir()}
    wanted = originals()
    assert set(arrived) == set(wanted)
    for uid, original in wanted.items():
        assert arrived[uid].PixelData == original.PixelData


def test_get_from_a_vesalius_node_into_another_archive(tmp_path: Path) -> None:
    data = tmp_path / "local"
    files = [corpus_file(name) for name in MR_SERIES]
    with running_node(node_settings(tmp_path / "data"), files) as node:
        result = vesalius(
            "get",
            "127.0.0.1",
            str(node.dicom_port),
            "--aec",
            node.settings.dicom.ae_title,
            "-k",
            f"StudyInstanceUID={study_uid()}",
            "--into-archive",
            "--data-dir",
            str(data),
        )
    assert result.returncode == 0, result.stdout + result.stderr
    archive = Archive.open(load_settings(None, {"storage": {"data_dir": str(data)}}))
    try:
        stored = {i.sop_instance_uid: i for i in archive.instances(study_uids=[study_uid()])}
        wanted = originals()
        assert set(stored) == set(wanted)
        for uid, original in wanted.items():
            written = tmp_path / f"{uid}.dcm"
            written.write_bytes(archive.read_instance(stored[uid]))
            assert read(written).PixelData == original.PixelData
    finally:
        archive.close()


def test_find_against_a_vesalius_node(tmp_path: Path) -> None:
    files = [corpus_file(name) for name in (*MR_SERIES, *OTHERS)]
    with running_node(node_settings(tmp_path / "data"), files) as node:
        result = vesalius(
            "find",
            "127.0.0.1",
            str(node.dicom_port),
            "--aec",
            node.settings.dicom.ae_title,
            "-k",
            "PatientName=DOE*",
            "-k",
            "NumberOfStudyRelatedInstances=",
            "--json",
        )
    assert result.returncode == 0, result.stdout + result.stderr
    document = json.loads(result.stdout)
    assert values(document, "0020000D") == [study_uid()]
    assert [int(str(v)) for v in values(document, "00201208")] == [len(MR_SERIES)]
