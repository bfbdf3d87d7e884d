"""``vesalius reindex`` and ``vesalius backup``: the operator's recovery tools (issue 14)."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest
from pydicom import dcmread
from pydicom.uid import generate_uid
from sqlalchemy import delete, make_url

import postgres_support
from conftest import DCMTK_ENV, corpus_file, make_settings, vesalius, wait_for
from vesalius.app import Node
from vesalius.archive import inuse
from vesalius.archive.archive import Archive
from vesalius.index.tables import patients
from vesalius.index.users import UserTable
from vesalius.model.matching import dataset_from_keys, parse_identifier
from vesalius.settings import Settings

pytestmark = pytest.mark.both_databases

MR = [f"dcm4che/MR-series/MR{n:02d}.dcm" for n in range(1, 9)]
OTHERS = [
    "dcm4che/test-data/CT-JPEGLosslessSV1.dcm",
    "dcm4che/test-data/YBR_FULL-RLE.dcm",
    "dcm4che/test-data/ovly_p01.dcm",
    "dcm4che/test-data/cplx_p02.dcm",
]
TINY = "pydicom/test_files/dicomdirtests/TINY_ALPHA/PT000000/ST000000/SE000000"
LATER = [f"{TINY}/IM{n:06X}" for n in range(20)]
"""Small CT files of another study: copies with new UIDs are stored while a backup runs."""
ROUNDS = 25


def copies_with_new_uids(folder: Path) -> list[Path]:
    """A folder per round, each with the LATER files under new SOP Instance UIDs."""
    rounds = []
    for number in range(ROUNDS):
        round_folder = folder / f"round{number:02d}"
        round_folder.mkdir(parents=True)
        for name in LATER:
            dataset = dcmread(corpus_file(name))
            dataset.SOPInstanceUID = generate_uid()
            dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
            dataset.save_as(round_folder / Path(name).name)
        rounds.append(round_folder)
    return rounds


QUERIES: list[tuple[str, dict[str, str]]] = [
    ("PATIENT", {"PatientID": "", "PatientName": "", "NumberOfPatientRelatedInstances": ""}),
    (
        "STUDY",
        {"StudyInstanceUID": "", "PatientName": "", "StudyDate": "", "ModalitiesInStudy": ""},
    ),
    ("STUDY", {"StudyInstanceUID": "", "PatientName": "DOE*", "NumberOfStudyRelatedSeries": ""}),
    ("SERIES", {"SeriesInstanceUID": "", "Modality": "", "NumberOfSeriesRelatedInstances": ""}),
    ("IMAGE", {"SOPInstanceUID": "", "SOPClassUID": "", "InstanceNumber": ""}),
]


def answers(archive: Archive, only_study: str | None = None) -> list[list[dict[str, Any]]]:
    """The answers of a few C-FIND-like queries, each sorted (relational, as QIDO asks)."""
    found = []
    for level, asked in QUERIES:
        keys = dict(asked)
        if only_study:
            if level == "PATIENT":
                continue
            keys["StudyInstanceUID"] = only_study
        model = "patient" if level == "PATIENT" else "study"
        query = parse_identifier(dataset_from_keys(level, keys), model, relational=True)
        rows = [answer.dataset().to_json_dict() for answer in archive.find(query, max_results=0)]
        found.append(sorted(rows, key=repr))
    return found


def fill(settings: Settings) -> tuple[dict[str, int], list[list[dict[str, Any]]]]:
    """A dozen corpus files and a user; the index's counts and query answers."""
    archive = Archive.open(settings)
    try:
        for name in MR + OTHERS:
            archive.store_file(corpus_file(name).read_bytes())
        UserTable(archive.index).put("alice", "hash", "admin", dt.datetime(2024, 1, 1))
        return archive.index.counts(), answers(archive)
    finally:
        archive.close()


def opened(settings: Settings) -> tuple[dict[str, int], list[list[dict[str, Any]]], list[str]]:
    archive = Archive.open(settings)
    try:
        users = [user.name for user in UserTable(archive.index).all()]
        return archive.index.counts(), answers(archive), users
    finally:
        archive.close()


def cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return vesalius(*args, "--data-dir", str(settings.data_dir), database_url=settings.database.url)


def test_reindex_rebuilds_a_damaged_index_and_keeps_the_users(settings: Settings) -> None:
    counts, before = fill(settings)
    assert counts["instances"] == 12
    storage = Path(settings.data_dir) / "storage"
    folder = next(p for p in storage.iterdir() if p.name != ".journal")
    (folder / "garbage.dcm").write_bytes(b"not a DICOM file at all")
    archive = Archive.open(settings)
    archive.index.committer.run(lambda connection: connection.execute(delete(patients)))
    assert archive.index.counts()["instances"] == 0
    archive.close()

    done = cli(settings, "reindex")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "read 13 file(s): indexed 12, 1 not indexed" in done.stdout
    assert f"not indexed {folder.name}/garbage.dcm" in done.stdout
    assert "kept from the old index: 1 users" in done.stdout
    assert (folder / "garbage.dcm").exists()  # reported, left alone

    after_counts, after, users = opened(settings)
    assert after_counts == counts
    assert after == before
    assert users == ["alice"]
    checked = cli(settings, "check")
    assert checked.returncode == 0  # the garbage file is too fresh to count as an orphan
    assert "checked 12 indexed instance(s) and 13 file(s): 0 finding(s)" in checked.stdout
    if not settings.database.url:
        kept = list(Path(settings.data_dir).glob("index.sqlite.before-reindex-*"))
        assert len(kept) == 1
    else:
        assert list(Path(settings.data_dir).glob("index.before-reindex-*.sqlite"))


@pytest.mark.sqlite_only
def test_reindex_of_a_corrupt_sqlite_file(settings: Settings) -> None:
    counts, before = fill(settings)
    index = Path(settings.data_dir) / "index.sqlite"
    for leftover in (Path(f"{index}-wal"), Path(f"{index}-shm")):
        leftover.unlink(missing_ok=True)
    index.write_bytes(b"this is not a database " * 100)

    done = cli(settings, "reindex")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "the old index could not be read" in done.stdout
    after_counts, after, users = opened(settings)
    assert (after_counts, after, users) == (counts, before, [])
    (kept,) = Path(settings.data_dir).glob("index.sqlite.before-reindex-*")
    assert kept.read_bytes().startswith(b"this is not a database")
    assert cli(settings, "check").returncode == 0


@pytest.mark.sqlite_only
def test_reindex_refuses_while_a_server_uses_the_data_dir(settings: Settings) -> None:
    fill(settings)
    with inuse.serving(Path(settings.data_dir)):
        done = cli(settings, "reindex")
    assert done.returncode == 1
    assert "vesalius serve uses" in done.stderr
    assert not list(Path(settings.data_dir).glob("index.sqlite.before-reindex-*"))


def manifest_lines(dest: Path) -> list[tuple[str, int, str]]:
    lines = (dest / "blobs.manifest").read_text(encoding="utf-8").splitlines()
    return [(path, int(size), digest) for path, size, digest in (ln.split("\t") for ln in lines)]


def restore(dest: Path, source: Settings, target_dir: Path, target_url: str) -> None:
    """What README.txt says: the files of the manifest copied, the index put back."""
    for relative, _size, _digest in manifest_lines(dest):
        copy = target_dir / relative
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(Path(source.data_dir) / relative, copy)
    if (dest / "index.pgdump").exists():
        libpq = make_url(target_url).set(drivername="postgresql").render_as_string(False)
        subprocess.run(
            ["pg_restore", "--no-owner", "-d", libpq, str(dest / "index.pgdump")], check=True
        )
    else:
        shutil.copy2(dest / "index.sqlite", target_dir / "index.sqlite")


def test_backup_while_a_node_stores_then_restore(
    settings: Settings, tmp_path: Path, tool: Any
) -> None:
    storescu = tool("storescu")
    counts, _ = fill(settings)
    mr_study = str(dcmread(corpus_file(MR[0]), stop_before_pixels=True).StudyInstanceUID)
    rounds = copies_with_new_uids(tmp_path / "later")
    dest = tmp_path / "backup"
    with Node(settings) as node:
        stop = threading.Event()
        stored = []

        def keep_storing() -> None:
            for folder in rounds:
                if stop.is_set():
                    return
                files = sorted(str(path) for path in folder.iterdir())
                done = subprocess.run(
                    [storescu, "-aec", "VESALIUS", "127.0.0.1", str(node.dicom_port), *files],
                    env=DCMTK_ENV,
                    capture_output=True,
                    timeout=60,
                    check=False,
                )
                stored.append(done.returncode)

        storing = threading.Thread(target=keep_storing)
        storing.start()
        wait_for(lambda: bool(stored))  # the first round is in; more follow during the backup
        try:
            done = cli(settings, "backup", str(dest))
        finally:
            stop.set()
            storing.join(timeout=90)
        assert done.returncode == 0, done.stdout + done.stderr
        assert stored and set(stored) == {0}

    lines = manifest_lines(dest)
    assert len(lines) >= counts["instances"] + len(LATER)  # at least the first round
    for relative, size, digest in lines:
        data = (Path(settings.data_dir) / relative).read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (size, digest)
    assert "rsync" in (dest / "README.txt").read_text(encoding="utf-8")

    empty = (
        postgres_support.fresh_database(migrated=False)
        if settings.database.url
        else contextlib.nullcontext("")
    )
    with empty as url:
        restored = make_settings(tmp_path / "restored", database={"url": url})
        restore(dest, settings, Path(restored.data_dir), url)
        checked = cli(restored, "check")
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "0 finding(s)" in checked.stdout
        archive = Archive.open(restored)
        try:
            assert archive.index.counts()["instances"] == len(lines)
            assert answers(archive, mr_study) == answers_of(settings, mr_study)
        finally:
            archive.close()


def answers_of(settings: Settings, study: str) -> list[list[dict[str, Any]]]:
    archive = Archive.open(settings)
    try:
        return answers(archive, study)
    finally:
        archive.close()
