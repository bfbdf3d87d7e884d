"""``vesalius check``: every kind of disagreement between index and files, found and repaired."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from pydicom import dcmread
from sqlalchemy import update

from conftest import corpus_file, vesalius
from vesalius.archive.archive import Archive
from vesalius.archive.check import ORPHAN_AGE_S, check_archive
from vesalius.index.tables import patients

pytestmark = pytest.mark.both_databases

MR = [f"dcm4che/MR-series/MR{n:02d}.dcm" for n in range(1, 6)]


def uid_of(name: str) -> str:
    return str(dcmread(corpus_file(name), stop_before_pixels=True).SOPInstanceUID)


def damaged_archive(archive: Archive) -> dict[str, str]:
    """Store five images, then break the archive four ways; the kind -> instance UID."""
    for name in MR:
        archive.store_file(corpus_file(name).read_bytes())
    path_of = archive.blobs.path  # type: ignore[attr-defined]
    stored = {
        i.sop_instance_uid: i for i in archive.instances(sop_instance_uids=[uid_of(n) for n in MR])
    }
    missing, unreadable, orphan = uid_of(MR[0]), uid_of(MR[1]), uid_of(MR[2])
    os.remove(path_of(stored[missing].blob_name))
    Path(path_of(stored[unreadable].blob_name)).write_bytes(b"not a DICOM file at all")
    # an orphan: the file stays, its row goes (as if the index lost it)
    orphan_file = Path(path_of(stored[orphan].blob_name))
    kept = orphan_file.read_bytes()
    archive.delete("IMAGE", orphan)
    orphan_file.write_bytes(kept)
    old = time.time() - 2 * ORPHAN_AGE_S
    os.utime(orphan_file, (old, old))

    # a mismatch: the index says another Patient ID than the files
    def operation(connection: object) -> None:
        connection.execute(update(patients).values(patient_id="WRONG"))  # type: ignore[attr-defined]

    archive.index.committer.run(operation)
    return {"missing": missing, "unreadable": unreadable, "orphan": orphan}


def test_finds_each_kind_and_repairs_them(disk_archive: Archive) -> None:
    broken = damaged_archive(disk_archive)
    report = check_archive(disk_archive)
    kinds = {(f.kind, f.sop_instance_uid or "file") for f in report.findings}
    assert ("missing", broken["missing"]) in kinds
    assert ("unreadable", broken["unreadable"]) in kinds
    assert ("orphan", "file") in kinds
    mismatched = {f.sop_instance_uid for f in report.findings if f.kind == "mismatch"}
    assert mismatched == {uid_of(MR[3]), uid_of(MR[4])}
    assert not any(f.repaired for f in report.findings)

    repaired = check_archive(disk_archive, repair=True)
    assert repaired.unrepaired == []
    assert check_archive(disk_archive).findings == []
    indexed = {
        i.sop_instance_uid
        for i in disk_archive.instances(sop_instance_uids=[uid_of(n) for n in MR])
    }
    assert indexed == {broken["orphan"], uid_of(MR[3]), uid_of(MR[4])}
    damaged = Path(disk_archive.settings.data_dir) / "damaged"
    assert [p.read_bytes() for p in damaged.iterdir()] == [b"not a DICOM file at all"]


def test_a_fresh_file_is_not_taken_for_an_orphan(disk_archive: Archive) -> None:
    disk_archive.store_file(corpus_file(MR[0]).read_bytes())
    (instance,) = disk_archive.instances(sop_instance_uids=[uid_of(MR[0])])
    path = Path(disk_archive.blobs.path(instance.blob_name))  # type: ignore[attr-defined]
    kept = path.read_bytes()
    disk_archive.delete("IMAGE", instance.sop_instance_uid)
    path.write_bytes(kept)  # just written: perhaps a store in flight
    assert check_archive(disk_archive, repair=True).findings == []
    assert path.exists()


def test_cli_exit_codes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    imported = vesalius("import", "--data-dir", str(data), *[str(corpus_file(n)) for n in MR])
    assert imported.returncode == 0, imported.stderr
    clean = vesalius("check", "--data-dir", str(data))
    assert clean.returncode == 0 and "5 indexed instance(s)" in clean.stdout
    for blob in (data / "storage").rglob("*.dcm"):
        if ".journal" not in blob.parts:
            blob.unlink()
            break
    found = vesalius("check", "--data-dir", str(data))
    assert found.returncode == 2 and "missing" in found.stdout
    fixed = vesalius("check", "--repair", "--data-dir", str(data))
    assert fixed.returncode == 0 and "repaired" in fixed.stdout
    assert vesalius("check", "--data-dir", str(data)).returncode == 0
