"""DICOM media: DICOMDIR File-sets checked by DCMTK and dicom3tools, ISO images read back
with pycdlib, and import of media (ours, the corpus's, one with a missing file)."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pycdlib
import pydicom
import pytest
from pydicom.fileset import FileSet

from conftest import CORPUS, corpus_file, make_settings, require_tool, run_dcmtk, vesalius
from ui_support import dicom_bytes
from vesalius.archive.archive import Archive
from vesalius.index.index import StoredInstance
from vesalius.media import ExportRequest, Selection, Tracker
from vesalius.media import export as make
from vesalius.media.reading import references

DICOMDIR_SET = "pydicom/test_files/dicomdirtests"
MIXED = [
    "pydicom-data/RG3_J2KR.dcm",  # JPEG 2000: transcoded for STD-GEN-CD
    "pydicom/test_files/examples_ybr_color.dcm",  # 30 frames, JPEG baseline
    "dcmqi/segmentations/ct-3slice/01.dcm",  # Implicit VR Little Endian
    "pydicom/test_files/test-SR.dcm",  # an SR DOCUMENT record
    "dcm4che/MR-series/MR01.dcm",
    "dcm4che/MR-series/MR02.dcm",
    "dcm4che/MR-series/MR03.dcm",
]
FILE_ID = re.compile(r"^[A-Z0-9_]{1,8}$")


def stock(data_dir: Path, relatives: list[str]) -> list[str]:
    """Import corpus files with the CLI; their Study Instance UIDs."""
    paths = [str(corpus_file(relative)) for relative in relatives]
    result = vesalius("import", "--data-dir", str(data_dir), *paths)
    assert result.returncode == 0, result.stdout + result.stderr
    return sorted(
        {pydicom.dcmread(path, stop_before_pixels=True).StudyInstanceUID for path in paths}
    )


def export(data_dir: Path, studies: list[str], fmt: str, out: Path, *options: str) -> str:
    """``vesalius export`` of these studies; its standard output."""
    selection = [argument for uid in studies for argument in ("--study", uid)]
    result = vesalius("export", "--data-dir", str(data_dir), *selection, "--format", fmt,
                      "--out", str(out), *options, timeout=180)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def referenced(root: Path) -> dict[str, Path]:
    """SOP Instance UID -> file of every record of a File-set's DICOMDIR."""
    found = {}
    for reference in references((root / "DICOMDIR").read_bytes()):
        assert all(FILE_ID.match(part) for part in reference.file_id), reference.file_id
        found[reference.sop_instance_uid] = root.joinpath(*reference.file_id)
    return found


def every_instance(archive: Archive) -> list[StoredInstance]:
    """Every stored instance of an archive."""
    studies = sorted({str(row["study_instance_uid"]) for row in archive.index.series_overview()})
    return archive.instances(study_uids=studies)


def stored_uids(data_dir: Path) -> dict[str, bytes]:
    """SOP Instance UID -> pixel data of every instance in an archive folder."""
    archive = Archive.open(make_settings(data_dir))
    try:
        found = {}
        for instance in every_instance(archive):
            ds = pydicom.dcmread(io.BytesIO(archive.read_instance(instance)))
            found[instance.sop_instance_uid] = ds.get("PixelData", b"")
        return found
    finally:
        archive.close()


def complaints(output: str) -> list[str]:
    """DCMTK's error and warning lines, but for the keys it says it invents."""
    invented = ("inventing", "using alternative")
    return [
        line
        for line in output.splitlines()
        if line.startswith(("E:", "W:")) and not any(word in line for word in invented)
    ]


@pytest.fixture(scope="module")
def cd_set(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """An archive of mixed objects and its STD-GEN-CD File-set (data dir, File-set root)."""
    base = tmp_path_factory.mktemp("cd")
    studies = stock(base / "data", MIXED)
    export(base / "data", studies, "dicomdir", base / "media", "--profile", "STD-GEN-CD")
    return base / "data", base / "media"


def test_cd_fileset_lists_every_instance_in_explicit_little_endian(
    cd_set: tuple[Path, Path],
) -> None:
    data_dir, root = cd_set
    files = referenced(root)
    assert set(files) == set(stored_uids(data_dir))
    for path in files.values():
        meta = pydicom.dcmread(path, stop_before_pixels=True).file_meta
        assert meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian
    # pydicom follows the record offsets: the tree is linked as written
    fileset = FileSet(root / "DICOMDIR")
    assert len(fileset) == len(files)
    assert {str(instance.SOPInstanceUID) for instance in fileset} == set(files)


def test_dciodvfy_finds_no_error_in_our_dicomdir(cd_set: tuple[Path, Path]) -> None:
    dciodvfy = require_tool("dciodvfy")
    result = subprocess.run([dciodvfy, str(cd_set[1] / "DICOMDIR")], capture_output=True, text=True)
    report = result.stdout + result.stderr
    assert "BasicDirectory" in report  # it recognised the IOD
    errors = [line for line in report.splitlines() if line.startswith("Error")]
    assert errors == [], report


def test_dcmdump_reads_the_dicomdir_and_every_referenced_file(cd_set: tuple[Path, Path]) -> None:
    _data_dir, root = cd_set
    listing = run_dcmtk("dcmdump", str(root / "DICOMDIR"), errors="replace")
    assert listing.returncode == 0, listing.stderr
    assert listing.stdout.count('"Directory Record" IMAGE') >= 5
    for path in referenced(root).values():
        dumped = run_dcmtk("dcmdump", "-q", str(path), errors="replace")
        assert dumped.returncode == 0 and not dumped.stderr, (path, dumped.stderr)


def test_dcmmkdir_accepts_our_files_and_reads_our_offsets(
    cd_set: tuple[Path, Path], tmp_path: Path
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(cd_set[1], copy)
    files = sorted(str(path.relative_to(copy)) for path in referenced(copy).values())
    # updating our DICOMDIR makes DCMTK follow every offset in it; a broken one warns
    update = run_dcmtk("dcmmkdir", "-Pgp", "+I", "+U", "--no-backup", "-v", files[0], cwd=copy)
    output = update.stdout + update.stderr
    assert update.returncode == 0, output
    assert "updating DICOMDIR" in output
    assert complaints(output) == []
    after = run_dcmtk("dcmdump", str(copy / "DICOMDIR"), errors="replace").stdout
    assert after.count("ReferencedSOPInstanceUIDInFile") == len(files)
    # then every file conforms to the General Purpose CD-R profile (transfer syntax, file IDs);
    # +I: like us, DCMTK invents the type 1 keys that the SR file lacks (Patient ID...)
    check = run_dcmtk(
        "dcmmkdir", "-Pgp", "+I", "-w", "--no-backup", "+D", "CHECKDIR", *files, cwd=copy
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert complaints(check.stdout + check.stderr) == []


def test_round_trip_usb_set_into_a_fresh_archive(tmp_path: Path) -> None:
    studies = stock(tmp_path / "data", MIXED)
    export(tmp_path / "data", studies, "dicomdir", tmp_path / "usb")
    result = vesalius("import", "--data-dir", str(tmp_path / "fresh"), str(tmp_path / "usb"))
    assert result.returncode == 0, result.stdout
    before, after = stored_uids(tmp_path / "data"), stored_uids(tmp_path / "fresh")
    assert set(after) == set(before)
    assert all(after[uid] == before[uid] for uid in before)  # as stored, compressed or not


def test_round_trip_cd_set_keeps_the_decoded_pixels(
    cd_set: tuple[Path, Path], tmp_path: Path
) -> None:
    data_dir, root = cd_set
    result = vesalius("import", "--data-dir", str(tmp_path / "fresh"), str(root / "DICOMDIR"))
    assert result.returncode == 0, result.stdout
    original = Archive.open(make_settings(data_dir))
    fresh = Archive.open(make_settings(tmp_path / "fresh"))
    try:
        uids = {instance.sop_instance_uid for instance in every_instance(original)}
        assert {instance.sop_instance_uid for instance in every_instance(fresh)} == uids
        for instance in every_instance(original):
            if "PixelData" not in pydicom.dcmread(io.BytesIO(original.read_instance(instance))):
                continue
            (copy,) = fresh.instances(sop_instance_uids=[instance.sop_instance_uid])
            assert copy.transfer_syntax_uid == pydicom.uid.ExplicitVRLittleEndian
            first = pydicom.dcmread(io.BytesIO(original.read_instance(instance)))
            second = pydicom.dcmread(io.BytesIO(fresh.read_instance(copy)))
            assert (first.pixel_array == second.pixel_array).all()
    finally:
        original.close()
        fresh.close()


def test_import_finds_files_whose_names_were_lowered_or_dotted(
    cd_set: tuple[Path, Path], tmp_path: Path
) -> None:
    copy = tmp_path / "mounted"
    shutil.copytree(cd_set[1], copy)
    for path in sorted(copy.rglob("*"), key=lambda p: -len(p.parts)):
        renamed = path.name.lower() + ("." if path.is_file() and path.name != "DICOMDIR" else "")
        path.rename(path.with_name(renamed))
    assert (copy / "dicomdir").is_file()
    result = vesalius("import", "--data-dir", str(tmp_path / "fresh"), str(copy))
    assert result.returncode == 0, result.stdout
    assert f"stored {len(referenced(cd_set[1]))}," in result.stdout


@pytest.mark.parametrize(
    ("folder", "count"), [(DICOMDIR_SET, 31), (f"{DICOMDIR_SET}/TINY_ALPHA", 50)]
)
def test_corpus_media_import_the_files_their_dicomdir_lists(
    tmp_path: Path, folder: str, count: int
) -> None:
    root = CORPUS / folder
    if not (root / "DICOMDIR").is_file():
        pytest.skip(f"corpus set {folder} is missing")
    listed = {
        reference.sop_instance_uid for reference in references((root / "DICOMDIR").read_bytes())
    }
    assert len(listed) == count
    result = vesalius("import", "--data-dir", str(tmp_path / "data"), str(root))
    assert result.returncode == 0, result.stdout
    assert f"stored {count}, duplicate 0, rejected 0" in result.stdout
    assert set(stored_uids(tmp_path / "data")) == listed


def test_a_dicomdir_without_its_files_reports_each_missing_one(tmp_path: Path) -> None:
    dicomdir = corpus_file("fo-dicom/DICOMDIR")
    result = vesalius("import", "--data-dir", str(tmp_path / "data"), str(dicomdir))
    assert result.returncode == 2
    assert "stored 0, duplicate 0, rejected 0, missing 20" in result.stdout
    assert "missing  " in result.stdout and "MR1_RLE" in result.stdout


def test_our_set_with_one_file_deleted_reports_that_file(
    cd_set: tuple[Path, Path], tmp_path: Path
) -> None:
    copy = tmp_path / "damaged"
    shutil.copytree(cd_set[1], copy)
    files = referenced(copy)
    gone_uid, gone = sorted(files.items())[0]
    gone.unlink()
    result = vesalius("import", "--data-dir", str(tmp_path / "data"), str(copy))
    assert result.returncode == 2
    assert f"stored {len(files) - 1}, duplicate 0, rejected 0, missing 1" in result.stdout
    assert str(gone.relative_to(copy)) in result.stdout and gone_uid in result.stdout


def test_iso_image_reads_back_with_pycdlib_and_imports(tmp_path: Path) -> None:
    studies = stock(tmp_path / "data", MIXED[:2] + MIXED[4:])
    image = tmp_path / "study.iso"
    export(tmp_path / "data", studies, "iso", image, "--with-viewer", "--label", "TEST_CD")
    iso = pycdlib.PyCdlib()
    iso.open(str(image))
    try:
        assert iso.pvd.volume_identifier.decode().strip() == "TEST_CD"
        buffer = io.BytesIO()
        iso.get_file_from_iso_fp(buffer, iso_path="/DICOMDIR.;1")
        listed = references(buffer.getvalue())
        for reference in listed:
            member = io.BytesIO()
            iso.get_file_from_iso_fp(member, iso_path="/" + "/".join(reference.file_id) + ".;1")
            ds = pydicom.dcmread(io.BytesIO(member.getvalue()), stop_before_pixels=True)
            assert ds.SOPInstanceUID == reference.sop_instance_uid
            assert ds.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian  # CD
        page = io.BytesIO()
        iso.get_file_from_iso_fp(page, iso_path="/INDEX.HTM;1")
        assert b"PT000000/ST000000/SE000000/IM000000" in page.getvalue()
    finally:
        iso.close()
    assert {reference.sop_instance_uid for reference in listed} == set(
        stored_uids(tmp_path / "data")
    )
    result = vesalius("import", "--data-dir", str(tmp_path / "fresh"), str(image))
    assert result.returncode == 0, result.stdout
    assert set(stored_uids(tmp_path / "fresh")) == set(stored_uids(tmp_path / "data"))


def test_invented_keys_and_escaped_names_on_the_medium(archive: Archive, tmp_path: Path) -> None:
    data = dicom_bytes("<b>DOE</b>^JANE", StudyID="", PatientID="", InstanceNumber=None)
    archive.store_file(data)
    study = pydicom.dcmread(io.BytesIO(data)).StudyInstanceUID
    target = tmp_path / "media.zip"
    request = ExportRequest(Selection(studies=(study,)), "zip", with_viewer=True)
    make(archive, request, target, Tracker())
    with zipfile.ZipFile(target) as zipped:
        names = zipped.namelist()
        assert {"DICOMDIR", "INDEX.HTM", "PT000000/ST000000/SE000000/IM000000"} <= set(names)
        page = zipped.read("INDEX.HTM").decode()
        directory = pydicom.dcmread(io.BytesIO(zipped.read("DICOMDIR")))
    assert "<b>DOE" not in page and "&lt;b&gt;DOE&lt;/b&gt;^JANE" in page
    records = {record.DirectoryRecordType: record for record in directory.DirectoryRecordSequence}
    assert records["PATIENT"].PatientID == "UNKNOWN1"
    assert records["STUDY"].StudyID == "1"
    assert records["IMAGE"].InstanceNumber == 1
