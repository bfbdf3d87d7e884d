"""Ingest: what ``Archive.store_file`` and ``Archive.store_dataset`` write, refuse and leave behind.

A stored instance is our File Meta Information (PS3.10 7.1) followed by the
data set exactly as it arrived. The checks that refuse an object (missing
UIDs, UIDs that differ from the C-STORE command, a free-space floor, an index
that fails) leave nothing behind: no blob, no index row, no journal entry.
Each test runs on the memory blob store and on disk, as ``vesalius serve``
opens the archive.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
import subprocess
import sys
import textwrap
import warnings
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.filebase import DicomBytesIO
from pydicom.filereader import read_preamble
from pydicom.filewriter import write_dataset

import vesalius
from conftest import CORPUS, corpus_rows, make_settings, require_tool
from vesalius import sopclasses
from vesalius.archive.archive import Archive
from vesalius.index.index import Index
from vesalius.model.errors import (
    ArchiveError,
    InvalidObject,
    OutOfResources,
    UidMismatch,
    UnsupportedSopClass,
)
from vesalius.model.origin import LOCAL, Origin
from vesalius.settings import Settings
from vesalius.storage.filesystem import FilesystemBlobStore
from vesalius.storage.memory import MemoryBlobStore

CT = "1.2.840.10008.5.1.4.1.1.2"
MWL_FIND = "1.2.840.10008.5.1.4.31"
IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
JPEG_2000 = "1.2.840.10008.1.2.4.91"
ROOT = "1.2.826.0.1.3680043.8.498.4242"
DIMSE = Origin("dimse", calling_aet="CT_SCANNER", called_aet="VESALIUS", address="127.0.0.1")
REQUIRED = ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID")
MB = 1024 * 1024

pytestmark = [
    pytest.mark.both_databases,
    pytest.mark.filterwarnings("ignore:Invalid value for VR:UserWarning"),
]


# -- making and reading objects -------------------------------------------------------


def make_dataset(number: int = 1, **values: object) -> Dataset:
    """A small CT data set with 8-bit native pixels; keyword arguments override."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = CT
    ds.SOPInstanceUID = f"{ROOT}.1.1.{number}"
    ds.StudyDate = "20240131"
    ds.Modality = "CT"
    ds.PatientName = "SECRET^PATIENT"
    ds.PatientID = "PID-777"
    ds.StudyInstanceUID = f"{ROOT}.1"
    ds.SeriesInstanceUID = f"{ROOT}.1.1"
    ds.InstanceNumber = number
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = 4
    ds.Columns = 4
    ds.BitsAllocated = 8
    ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.PixelData = bytes(range(16))
    for keyword, value in values.items():
        if value is None:
            delattr(ds, keyword)
        else:
            setattr(ds, keyword, value)
    return ds


def encode(ds: Dataset, transfer_syntax: str = EXPLICIT_LE) -> bytes:
    """The data set encoded in an uncompressed transfer syntax (or explicit LE for others)."""
    out = DicomBytesIO()
    out.is_little_endian = True
    out.is_implicit_VR = transfer_syntax == IMPLICIT_LE
    write_dataset(out, ds)
    return out.getvalue()


def part10(ds: Dataset, transfer_syntax: str = EXPLICIT_LE) -> bytes:
    """A Part 10 file of the data set, as pydicom writes one."""
    ds = ds.copy()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.get("SOPClassUID") or CT
    ds.file_meta.MediaStorageSOPInstanceUID = ds.get("SOPInstanceUID") or "1.2.3"
    ds.file_meta.TransferSyntaxUID = transfer_syntax
    out = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pydicom.dcmwrite(out, ds, enforce_file_format=True)
    return out.getvalue()


def dataset_offset(data: bytes) -> int:
    """Where the data set of a Part 10 file starts (after preamble, DICM and group 0002)."""
    stream = io.BytesIO(data)
    read_preamble(stream, False)
    position = stream.tell()
    while data[position : position + 2] == b"\x02\x00":
        vr = data[position + 4 : position + 6]
        if vr in (b"OB", b"OW", b"UN", b"SQ", b"UT", b"UC", b"UR"):
            length = struct.unpack_from("<I", data, position + 8)[0]
            position += 12 + length
        else:
            length = struct.unpack_from("<H", data, position + 6)[0]
            position += 8 + length
    return position


def read_meta(blob: bytes) -> tuple[dict[int, tuple[bytes, bytes]], int, int]:
    """Group 0002 of a stored file, parsed by hand: ({element: (VR, value)}, group length
    position, end of group)."""
    assert blob[:128] == b"\x00" * 128, "preamble"
    assert blob[128:132] == b"DICM"
    elements: dict[int, tuple[bytes, bytes]] = {}
    position = 132
    after_group_length = 0
    while blob[position : position + 2] == b"\x02\x00":
        element = struct.unpack_from("<H", blob, position + 2)[0]
        vr = blob[position + 4 : position + 6]
        if vr in (b"OB", b"OW", b"UN", b"SQ", b"UT", b"UC", b"UR"):
            assert blob[position + 6 : position + 8] == b"\x00\x00"
            length = struct.unpack_from("<I", blob, position + 8)[0]
            start = position + 12
        else:
            length = struct.unpack_from("<H", blob, position + 6)[0]
            start = position + 8
        elements[element] = (vr, blob[start : start + length])
        position = start + length
        if element == 0x0000:
            after_group_length = position
    return elements, after_group_length, position


def text(value: bytes) -> str:
    """A UI/SH/AE value without its padding."""
    return value.rstrip(b"\x00 ").decode("ascii")


def stored_bytes(archive: Archive, uid: str) -> bytes:
    """The stored file of an instance."""
    with archive.open_instance(uid) as handle:
        return handle.read()


def journal_of(archive: Archive) -> list[str]:
    """Journal entries the blob store holds (pending writes and removals)."""
    if isinstance(archive.blobs, MemoryBlobStore):
        return sorted(archive.blobs.journal())
    assert isinstance(archive.blobs, FilesystemBlobStore)
    return sorted(os.listdir(archive.blobs.journal_dir))


def assert_nothing_stored(archive: Archive) -> None:
    """No blob, no index row, no journal entry, no stray file."""
    assert list(archive.blobs.names()) == []
    assert archive.index.counts() == {"patients": 0, "studies": 0, "series": 0, "instances": 0}
    assert journal_of(archive) == []
    if isinstance(archive.blobs, FilesystemBlobStore):
        stray = [p for p in archive.blobs.root.rglob("*") if p.is_file()]
        assert stray == []


# -- fixtures ------------------------------------------------------------------------------


def open_archive(kind: str, settings: Settings, blobs: MemoryBlobStore | None = None) -> Archive:
    """An archive with memory blobs (and a real SQLite index) or entirely on disk."""
    if kind == "disk":
        return Archive.open(settings)
    index = Index.open(settings.database.url, settings.data_dir)
    return Archive(settings, index, blobs or MemoryBlobStore())


@pytest.fixture(params=["memory", "disk"])
def kind(request: pytest.FixtureRequest) -> str:
    """Which blob store the archive under test uses."""
    return str(request.param)


@pytest.fixture
def store(kind: str, settings: Settings) -> Iterator[Archive]:
    """The archive under test, with the default (ignore) duplicate policy."""
    archive = open_archive(kind, settings)
    yield archive
    archive.close()


@pytest.fixture
def overwriting(kind: str, tmp_path: Path) -> Iterator[Archive]:
    """The archive under test with ``duplicate_policy = "overwrite"``."""
    archive = open_archive(
        kind, make_settings(tmp_path / "ow", dicom={"duplicate_policy": "overwrite"})
    )
    yield archive
    archive.close()


# -- corpus files ------------------------------------------------------------------------


@cache
def normal_corpus_files() -> list[str]:
    """One conforming corpus file per transfer syntax: meta agrees with the data set."""
    chosen: dict[str, str] = {}
    for row in corpus_rows():
        syntax = row["transfer_syntax_name"]
        if row["valid"] != "yes" or syntax in chosen or syntax.startswith("("):
            continue
        path = CORPUS / row["path"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                ds = pydicom.dcmread(path, stop_before_pixels=True)
            except Exception:
                continue
            meta = ds.file_meta
            if all(str(ds.get(keyword, "") or "").strip() for keyword in REQUIRED) and (
                meta.get("MediaStorageSOPClassUID") == ds.SOPClassUID
                and meta.get("MediaStorageSOPInstanceUID") == ds.SOPInstanceUID
                and sopclasses.is_storage_sop_class(ds.SOPClassUID)
            ):
                chosen[syntax] = row["path"]
    return sorted(chosen.values())


def corpus_ids() -> list[str]:
    """Test ids: the chosen corpus files (a placeholder that skips without a corpus)."""
    return normal_corpus_files() or ["(no corpus)"]


@pytest.mark.parametrize("relative", corpus_ids())
def test_corpus_file_stored_with_ps310_meta_and_its_data_set_as_received(
    store: Archive, relative: str
) -> None:
    path = CORPUS / relative
    if not path.is_file():
        pytest.skip(f"the shared corpus is missing at {CORPUS}")
    original = path.read_bytes()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        header = pydicom.dcmread(path, stop_before_pixels=True)

    result = store.store_file(original, LOCAL)

    assert result.outcome == "stored"
    assert result.mended == ()
    blob = stored_bytes(store, header.SOPInstanceUID)
    meta, after_group_length, end = read_meta(blob)
    vr, value = meta[0x0000]
    assert vr == b"UL"
    assert struct.unpack("<I", value)[0] == end - after_group_length, "group length"
    assert meta[0x0001] == (b"OB", b"\x00\x01")
    assert meta[0x0002][0] == b"UI"
    assert text(meta[0x0002][1]) == header.SOPClassUID
    assert text(meta[0x0003][1]) == header.SOPInstanceUID
    assert text(meta[0x0010][1]) == header.file_meta.TransferSyntaxUID
    assert text(meta[0x0012][1]) == vesalius.IMPLEMENTATION_CLASS_UID
    assert meta[0x0013][0] == b"SH"
    assert text(meta[0x0013][1]) == vesalius.IMPLEMENTATION_VERSION_NAME
    assert 0x0016 not in meta, "no Source AE title for a local import"
    assert all(len(value) % 2 == 0 for _vr, value in meta.values())
    assert blob[end:] == original[dataset_offset(original) :], "data set re-encoded"
    assert result.size == len(blob)
    assert result.transfer_syntax_uid == header.file_meta.TransferSyntaxUID
    stored = store.index.instance(header.SOPInstanceUID)
    assert stored is not None
    assert stored.transfer_syntax_uid == header.file_meta.TransferSyntaxUID
    assert stored.file_size == len(blob)


def test_corpus_offers_several_transfer_syntaxes() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"the shared corpus is missing at {CORPUS}")
    assert len(normal_corpus_files()) >= 5


# -- DIMSE ingest -----------------------------------------------------------------------------


@pytest.mark.parametrize("syntax", [IMPLICIT_LE, EXPLICIT_LE])
def test_store_dataset_keeps_the_sender_and_the_received_syntax(
    store: Archive, syntax: str
) -> None:
    ds = make_dataset()
    body = encode(ds, syntax)
    result = store.store_dataset(
        body, syntax, DIMSE, sop_class_uid=CT, sop_instance_uid=ds.SOPInstanceUID
    )
    assert result.outcome == "stored"
    blob = stored_bytes(store, ds.SOPInstanceUID)
    meta, _after, end = read_meta(blob)
    assert text(meta[0x0016][1]) == "CT_SCANNER"
    assert meta[0x0016][0] == b"AE"
    assert text(meta[0x0010][1]) == syntax
    assert blob[end:] == body
    read_back = pydicom.dcmread(io.BytesIO(blob))
    assert read_back.file_meta.SourceApplicationEntityTitle == "CT_SCANNER"
    assert read_back.PatientName == "SECRET^PATIENT"
    assert read_back.PixelData == ds.PixelData


@pytest.mark.parametrize(
    ("announced", "field"),
    [
        ({"sop_class_uid": "1.2.840.10008.5.1.4.1.1.4"}, "Class"),
        ({"sop_instance_uid": "9.9"}, "Instance"),
    ],
)
def test_store_dataset_refuses_uids_the_command_did_not_announce(
    store: Archive, announced: dict[str, str], field: str
) -> None:
    ds = make_dataset()
    command = {"sop_class_uid": CT, "sop_instance_uid": ds.SOPInstanceUID, **announced}
    with pytest.raises(UidMismatch) as caught:
        store.store_dataset(encode(ds), EXPLICIT_LE, DIMSE, **command)
    assert caught.value.dimse_status == 0xA900
    message = str(caught.value)
    assert f"SOP {field} UID" in message
    assert next(iter(announced.values())) in message
    assert_nothing_stored(store)


# -- refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize("keyword", REQUIRED)
@pytest.mark.parametrize("how", ["absent", "empty"])
def test_missing_uid_is_refused_with_its_name(store: Archive, keyword: str, how: str) -> None:
    ds = make_dataset(**{keyword: None if how == "absent" else ""})
    with pytest.raises(InvalidObject) as caught:
        store.store_file(part10(ds))
    assert keyword in str(caught.value)
    assert "missing" in str(caught.value)
    assert caught.value.dimse_status == 0xC000
    assert_nothing_stored(store)


def test_missing_uid_over_dimse_is_refused_too(store: Archive) -> None:
    ds = make_dataset(StudyInstanceUID=None)
    with pytest.raises(InvalidObject, match="StudyInstanceUID"):
        store.store_dataset(
            encode(ds), EXPLICIT_LE, DIMSE, sop_class_uid=CT, sop_instance_uid=ds.SOPInstanceUID
        )
    assert_nothing_stored(store)


def test_free_space_floor_refuses_and_writes_nothing(kind: str, tmp_path: Path) -> None:
    if kind == "disk":
        settings = make_settings(tmp_path / "d", dicom={"free_space_floor_mb": 10**9})
        archive = open_archive(kind, settings)
    else:
        settings = make_settings(tmp_path / "d", dicom={"free_space_floor_mb": 2})
        archive = open_archive(kind, settings, MemoryBlobStore(capacity=2 * MB + 100))
    try:
        with pytest.raises(OutOfResources) as caught:
            archive.store_file(part10(make_dataset()))
        assert caught.value.dimse_status == 0xA700
        assert "floor" in str(caught.value)
        assert_nothing_stored(archive)
    finally:
        archive.close()


def test_disk_full_while_writing_is_out_of_resources(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "d")
    archive = open_archive("memory", settings, MemoryBlobStore(capacity=300))
    try:
        with pytest.raises(OutOfResources) as caught:
            archive.store_file(part10(make_dataset()))
        assert caught.value.dimse_status == 0xA700
        assert_nothing_stored(archive)
    finally:
        archive.close()


REFUSING_TRIGGER = {
    "sqlite": [
        "CREATE TRIGGER refuse BEFORE INSERT ON instances "
        "BEGIN SELECT RAISE(ABORT, 'the index refuses'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'the index refuses'; END $$",
        "CREATE TRIGGER refuse BEFORE INSERT ON instances FOR EACH ROW EXECUTE FUNCTION refuse()",
    ],
}


def test_a_failing_index_write_revokes_the_blob(store: Archive) -> None:
    with store.index.writer.begin() as connection:
        for statement in REFUSING_TRIGGER[connection.dialect.name]:
            connection.exec_driver_sql(statement)
    with pytest.raises(ArchiveError, match="the index refuses"):
        store.store_file(part10(make_dataset()))
    assert_nothing_stored(store)


def test_a_non_storage_sop_class_is_refused(store: Archive) -> None:
    ds = make_dataset(SOPClassUID=MWL_FIND)
    with pytest.raises(UnsupportedSopClass) as caught:
        store.store_file(part10(ds))
    assert caught.value.dimse_status == 0x0122
    assert_nothing_stored(store)


def test_a_dicomdir_is_refused(store: Archive) -> None:
    dicomdirs = [
        row["path"]
        for row in corpus_rows()
        if row["sop_class_name"] == "Media Storage Directory Storage"
    ]
    if not dicomdirs:
        pytest.skip("no DICOMDIR in the corpus")
    with pytest.raises(UnsupportedSopClass, match="DICOMDIR"):
        store.store_file((CORPUS / dicomdirs[0]).read_bytes())
    assert_nothing_stored(store)


@pytest.mark.parametrize("damage", ["value-past-the-end", "fragments-without-delimiter"])
def test_a_truncated_data_set_is_refused(store: Archive, damage: str) -> None:
    """A data set cut short is not a DICOM object any reader can open: refuse it."""
    if damage == "value-past-the-end":
        data = part10(make_dataset(PixelData=bytes(4096), Rows=64, Columns=64))[:-1000]
    else:
        ds = make_dataset(PixelData=encapsulate([bytes(range(256)) * 8]))
        ds["PixelData"].VR = "OB"
        whole = part10(ds, JPEG_2000)
        assert whole.endswith(b"\xfe\xff\xdd\xe0\x00\x00\x00\x00")
        data = whole[:-8]
    with pytest.raises(InvalidObject):
        store.store_file(data)
    assert_nothing_stored(store)


def test_pixel_data_is_never_decoded(store: Archive) -> None:
    """Garbage fragments under a compressed syntax: stored as they came, never decoded."""
    garbage = hashlib.sha512(b"not a codestream").digest() * 64
    ds = make_dataset(PixelData=encapsulate([garbage, garbage[::-1]]), Rows=512, Columns=512)
    ds["PixelData"].VR = "OB"
    data = part10(ds, JPEG_2000)
    check = pydicom.dcmread(io.BytesIO(data))
    with pytest.raises(Exception), warnings.catch_warnings():  # noqa: B017 - any decoder error
        warnings.simplefilter("ignore")
        _ = check.pixel_array

    result = store.store_file(data)

    assert result.outcome == "stored"
    assert result.transfer_syntax_uid == JPEG_2000
    blob = stored_bytes(store, ds.SOPInstanceUID)
    assert blob[read_meta(blob)[2] :] == data[dataset_offset(data) :]


# -- duplicates --------------------------------------------------------------------------------


def test_duplicate_keeps_the_first_copy_untouched(store: Archive) -> None:
    first = part10(make_dataset())
    assert store.store_file(first).outcome == "stored"
    [name] = list(store.blobs.names())
    before = store.blobs.read(name)

    again = store.store_file(part10(make_dataset(PatientName="OTHER^NAME")))

    assert again.outcome == "duplicate"
    assert list(store.blobs.names()) == [name]
    assert store.blobs.read(name) == before
    assert journal_of(store) == []
    assert store.index.counts()["instances"] == 1
    assert pydicom.dcmread(store.open_instance(f"{ROOT}.1.1.1")).PatientName == "SECRET^PATIENT"


def test_overwrite_replaces_and_deletes_the_old_blob(overwriting: Archive) -> None:
    assert overwriting.store_file(part10(make_dataset())).outcome == "stored"
    [old] = list(overwriting.blobs.names())

    again = overwriting.store_file(part10(make_dataset(PatientName="NEW^NAME")))

    assert again.outcome == "replaced"
    [new] = list(overwriting.blobs.names())
    assert new != old
    assert not overwriting.blobs.exists(old)
    assert overwriting.index.all_blob_names() == {new}
    assert journal_of(overwriting) == []
    read_back = pydicom.dcmread(overwriting.open_instance(f"{ROOT}.1.1.1"))
    assert read_back.PatientName == "NEW^NAME"


REPLACER = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from vesalius.archive.archive import Archive
    from vesalius.settings import load_settings
    from vesalius.storage.filesystem import FilesystemBlobStore

    data_dir, first, second = sys.argv[1:4]
    settings = load_settings(Path(os.devnull), {
        "storage": {"data_dir": data_dir},
        "dicom": {"free_space_floor_mb": 0, "duplicate_policy": "overwrite"},
    })
    archive = Archive.open(settings)
    archive.store_file(Path(first).read_bytes())
    # Die (as under kill -9) the moment the old copy is about to be removed.
    FilesystemBlobStore.delete = lambda self, name: os._exit(0)
    archive.store_file(Path(second).read_bytes())
    os._exit(3)
    """
)


def test_a_crash_while_replacing_leaves_no_orphan_after_recovery(tmp_path: Path) -> None:
    first, second = tmp_path / "first.dcm", tmp_path / "second.dcm"
    first.write_bytes(part10(make_dataset()))
    second.write_bytes(part10(make_dataset(PatientName="NEW^NAME")))
    data_dir = tmp_path / "crash"
    child = subprocess.run(
        [sys.executable, "-c", REPLACER, str(data_dir), str(first), str(second)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == 0, child.stderr

    archive = Archive.open(make_settings(data_dir, dicom={"duplicate_policy": "overwrite"}))
    try:
        archive.recover()
        assert set(archive.blobs.names()) == archive.index.all_blob_names()
        assert journal_of(archive) == []
        read_back = pydicom.dcmread(archive.open_instance(f"{ROOT}.1.1.1"))
        assert read_back.PatientName == "NEW^NAME"
    finally:
        archive.close()


# -- where the blob goes ---------------------------------------------------------------------


def test_disk_path_carries_no_patient_data(disk_archive: Archive) -> None:
    ds = make_dataset()
    disk_archive.store_file(part10(ds))
    root = disk_archive.settings.data_dir / "storage"
    [path] = [p for p in root.rglob("*") if p.is_file()]
    relative = str(path.relative_to(root))
    digest = hashlib.sha256(ds.SOPInstanceUID.encode()).hexdigest()
    assert relative.startswith(f"{digest[:3]}/{digest[:32]}.")
    for secret in ("SECRET", "PATIENT", "PID-777", ds.StudyInstanceUID, ds.SOPInstanceUID):
        assert secret not in relative


# -- an outside validator ---------------------------------------------------------------------


def _dciodvfy(path: Path) -> tuple[list[str], list[str]]:
    """(errors, warnings) that dicom3tools' validator reports on a file."""
    tool = require_tool("dciodvfy")
    result = subprocess.run([tool, str(path)], capture_output=True, text=True, timeout=60)
    lines = (result.stdout + result.stderr).splitlines()
    return (
        [line for line in lines if line.startswith("Error")],
        [line for line in lines if line.startswith("Warning")],
    )


def _about_meta(line: str) -> bool:
    lowered = line.lower()
    return any(
        word in lowered
        for word in (
            "meta",
            "group 0x2 ",
            "(0x0002,",
            "mediastorage",
            "transfersyntax",
            "implementation",
            "preamble",
        )
    )


def test_dciodvfy_finds_no_fault_in_the_file_meta(disk_archive: Archive, tmp_path: Path) -> None:
    """Every conforming explicit VR CT of the corpus: no meta complaint, no new complaint."""
    cts = [
        CORPUS / row["path"]
        for row in corpus_rows()
        if row["valid"] == "yes"
        and row["sop_class_name"] == "CT Image Storage"
        and row["transfer_syntax_name"] == "Explicit VR Little Endian"
    ]
    checked = 0
    for original in cts:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            header = pydicom.dcmread(original, stop_before_pixels=True)
        if not all(str(header.get(keyword, "") or "").strip() for keyword in REQUIRED):
            continue
        disk_archive.store_file(original.read_bytes())
        stored = tmp_path / f"stored-{checked}.dcm"
        stored.write_bytes(stored_bytes(disk_archive, header.SOPInstanceUID))
        errors_before, warnings_before = _dciodvfy(original)
        errors_after, warnings_after = _dciodvfy(stored)
        assert [line for line in errors_after + warnings_after if _about_meta(line)] == [], original
        assert len(errors_after) <= len(errors_before), (original, errors_after)
        assert len(warnings_after) <= len(warnings_before), (original, warnings_after)
        checked += 1
    if not checked:
        pytest.skip("no conforming CT in the corpus")
