"""The management API's local database over real HTTP: listings, filters, sorting, paging,
the hierarchy, deletion (rows, files, C-FIND), file download and the tag view.

A node on loopback holds five synthetic studies of four patients, two of whom
share the Patient ID ``P1`` under different issuers.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from pynetdicom import AE
from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind
from sqlalchemy import func, select

from conftest import corpus_file, make_settings
from vesalius.app import Node
from vesalius.archive.archive import Archive
from vesalius.index import metadata as kept_metadata
from vesalius.index.tables import instance_metadata

pytestmark = pytest.mark.both_databases

CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
MR_IMAGE = "1.2.840.10008.5.1.4.1.1.4"
US_IMAGE = "1.2.840.10008.5.1.4.1.1.6.1"
BASIC_TEXT_SR = "1.2.840.10008.5.1.4.1.1.88.11"
SOP_CLASS = {"CT": CT_IMAGE, "MR": MR_IMAGE, "US": US_IMAGE, "SR": BASIC_TEXT_SR}


@dataclass(frozen=True)
class Patient:
    patient_id: str
    name: str
    birth_date: str
    sex: str
    issuer: str = ""


@dataclass(frozen=True)
class Study:
    key: str
    patient: Patient
    date: str
    accession: str
    description: str
    series: tuple[tuple[str, int], ...]  # (modality, instances) per series, numbered from 1
    uid: str = ""


JOHN = Patient("P1", "DOE^JOHN", "19700101", "M")
ANNA = Patient("P2", "Smith^Anna", "19851231", "F")
JANE = Patient("P3", "doe^jane", "19900505", "F")
RICHARD = Patient("P1", "ROE^RICHARD", "19600606", "M", issuer="OTHER")
STUDIES = (
    Study("S1", JOHN, "20200315", "ACC1", "CHEST CT", (("CT", 3), ("CT", 2))),
    Study("S2", JOHN, "20210610", "ACC2", "BRAIN MR", (("MR", 2),)),
    Study("S3", ANNA, "20201120", "ACC3", "ABDOMEN", (("CT", 1), ("SR", 1))),
    Study("S4", JANE, "20190101", "ACC4", "NECK US", (("US", 1),)),
    Study("S5", RICHARD, "20220202", "ACC5", "KNEE CT", (("CT", 1),)),
)


def make_instance(
    study: Study,
    study_uid: str,
    series_uid: str,
    modality: str,
    series_number: int,
    instance_number: int,
) -> bytes:
    """A small Part 10 file of one image (or SR) of ``study``."""
    sop_uid = generate_uid()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SOP_CLASS[modality]
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = SOP_CLASS[modality]
    ds.SOPInstanceUID = sop_uid
    ds.PatientID = study.patient.patient_id
    ds.PatientName = study.patient.name
    ds.PatientBirthDate = study.patient.birth_date
    ds.PatientSex = study.patient.sex
    if study.patient.issuer:
        ds.IssuerOfPatientID = study.patient.issuer
    ds.StudyInstanceUID = study_uid
    ds.StudyDate = study.date
    ds.StudyTime = "101500"
    ds.AccessionNumber = study.accession
    ds.StudyDescription = study.description
    ds.StudyID = study.key
    ds.SeriesInstanceUID = series_uid
    ds.Modality = modality
    ds.SeriesNumber = series_number
    ds.InstanceNumber = instance_number
    if modality != "SR":
        ds.Rows = ds.Columns = 2
        ds.BitsAllocated = ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = 0
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.PixelData = bytes(range(8))
    buffer = io.BytesIO()
    pydicom.dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


@dataclass
class Loaded:
    """A node holding ``STUDIES``; UIDs by study key, series UIDs and instance UIDs by study."""

    node: Node
    client: httpx.Client
    studies: dict[str, str]
    series: dict[str, list[str]]
    instances: dict[str, list[list[str]]]

    def blob_paths(self, **uids: list[str]) -> list[Path]:
        """The files behind the stored instances of these studies/series/instances."""
        stored = self.node.archive.instances(**uids)
        paths = [self.node.archive.instance_path(item) for item in stored]
        assert all(path is not None for path in paths)
        return [path for path in paths if path is not None]


@pytest.fixture
def loaded(web_node: Node) -> Iterator[Loaded]:
    studies: dict[str, str] = {}
    series: dict[str, list[str]] = {}
    instances: dict[str, list[list[str]]] = {}
    for study in STUDIES:
        study_uid = generate_uid()
        studies[study.key] = study_uid
        series[study.key], instances[study.key] = [], []
        for number, (modality, count) in enumerate(study.series, start=1):
            series_uid = generate_uid()
            series[study.key].append(series_uid)
            uids = []
            for instance_number in range(1, count + 1):
                data = make_instance(
                    study, study_uid, series_uid, modality, number, instance_number
                )
                result = web_node.archive.store_file(data)
                assert result.outcome == "stored"
                uids.append(result.sop_instance_uid)
            instances[study.key].append(uids)
    with httpx.Client(base_url=f"{web_node.base_url}/api", timeout=30) as client:
        yield Loaded(web_node, client, studies, series, instances)


def keys_of(answer: httpx.Response, field: str = "StudyID") -> list[Any]:
    assert answer.status_code == 200, answer.text
    return [item[field] for item in answer.json()]


# -- listings -------------------------------------------------------------------
def test_studies_are_paged_newest_first_with_the_total(loaded: Loaded) -> None:
    first = loaded.client.get("/studies", params={"limit": 2})
    second = loaded.client.get("/studies", params={"limit": 2, "offset": 2})
    third = loaded.client.get("/studies", params={"limit": 2, "offset": 4})
    assert keys_of(first) == ["S5", "S2"]
    assert keys_of(second) == ["S3", "S1"]
    assert keys_of(third) == ["S4"]
    assert {page.headers["X-Total-Count"] for page in (first, second, third)} == {"5"}
    assert [item["id"] for item in first.json()] == [loaded.studies["S5"], loaded.studies["S2"]]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"PatientName": "doe*"}, {"S1", "S2", "S4"}),  # case-insensitive, as C-FIND
        ({"PatientName": "DOE^JANE"}, {"S4"}),
        ({"PatientID": "P1"}, {"S1", "S2", "S5"}),
        ({"StudyDate": "20200101-20201231"}, {"S1", "S3"}),
        ({"StudyDate": "20210101-"}, {"S2", "S5"}),
        ({"ModalitiesInStudy": "SR"}, {"S3"}),
        ({"ModalitiesInStudy": "CT", "PatientSex": "F"}, {"S3"}),
        ({"AccessionNumber": "ACC4"}, {"S4"}),
        ({"StudyDescription": "*CT"}, {"S1", "S5"}),
        ({"PatientBirthDate": "19851231"}, {"S3"}),
    ],
)
def test_study_filters_match_as_c_find(
    loaded: Loaded, params: dict[str, str], expected: set[str]
) -> None:
    answer = loaded.client.get("/studies", params=params)
    assert set(keys_of(answer)) == expected
    assert answer.headers["X-Total-Count"] == str(len(expected))


def test_studies_sort_by_any_indexed_attribute(loaded: Loaded) -> None:
    by_date = keys_of(loaded.client.get("/studies", params={"sort": "StudyDate"}))
    assert by_date == ["S4", "S1", "S3", "S2", "S5"]
    by_name = loaded.client.get("/studies", params={"sort": "PatientName,StudyDate"})
    assert keys_of(by_name) == ["S4", "S1", "S2", "S5", "S3"]  # DOE^JANE < DOE^JOHN < ROE < SMITH
    reverse = keys_of(loaded.client.get("/studies", params={"sort": "-AccessionNumber"}))
    assert reverse == ["S5", "S4", "S3", "S2", "S1"]


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "5000"},
        {"limit": "many"},
        {"offset": "-1"},
        {"sort": "NoSuchKeyword"},
        {"sort": "SeriesDescription"},  # below the study level
        {"NotAFilter": "x"},
        {"StudyDate": "yesterday"},
    ],
)
def test_bad_listing_parameters_are_400(loaded: Loaded, params: dict[str, str]) -> None:
    answer = loaded.client.get("/studies", params=params)
    assert answer.status_code == 400
    assert answer.json()["error"]


def test_study_object_is_keyed_by_dicom_keyword(loaded: Loaded) -> None:
    answer = loaded.client.get(f"/studies/{loaded.studies['S3']}")
    assert answer.status_code == 200
    study = answer.json()
    assert study["id"] == study["StudyInstanceUID"] == loaded.studies["S3"]
    assert study["PatientName"] == "Smith^Anna"
    assert study["PatientID"] == "P2"
    assert study["PatientBirthDate"] == "19851231"
    assert study["StudyDate"] == "20201120"
    assert study["AccessionNumber"] == "ACC3"
    assert sorted(study["ModalitiesInStudy"]) == ["CT", "SR"]
    assert study["NumberOfStudyRelatedSeries"] == 2
    assert study["NumberOfStudyRelatedInstances"] == 2
    single = loaded.client.get(f"/studies/{loaded.studies['S4']}").json()
    assert single["ModalitiesInStudy"] == ["US"]  # an array even with one value
    assert loaded.client.get("/studies/1.2.3.4.5").status_code == 404


def test_patients_sharing_an_id_are_told_apart(loaded: Loaded) -> None:
    answer = loaded.client.get("/patients")
    assert answer.status_code == 200
    patients = answer.json()
    assert answer.headers["X-Total-Count"] == "4"
    assert [p["PatientName"] for p in patients] == [
        "doe^jane",
        "DOE^JOHN",
        "ROE^RICHARD",
        "Smith^Anna",
    ]
    p1 = [p for p in patients if p["PatientID"] == "P1"]
    assert len(p1) == 2 and p1[0]["id"] != p1[1]["id"]
    for patient in p1:
        one = loaded.client.get(f"/patients/{patient['id']}").json()
        assert one == patient
    john = next(p for p in p1 if p["PatientName"] == "DOE^JOHN")
    assert john["NumberOfPatientRelatedStudies"] == 2
    assert john["NumberOfPatientRelatedInstances"] == 7
    richard = next(p for p in p1 if p["PatientName"] == "ROE^RICHARD")
    assert richard["IssuerOfPatientID"] == "OTHER"
    filtered = loaded.client.get("/patients", params={"PatientName": "*doe*"})
    assert sorted(keys_of(filtered, "PatientName")) == ["DOE^JOHN", "doe^jane"]
    assert loaded.client.get("/patients/999999").status_code == 404
    assert loaded.client.get("/patients/not-an-id").status_code == 404


def test_hierarchy_series_then_instances(loaded: Loaded) -> None:
    study_uid = loaded.studies["S1"]
    series = loaded.client.get(f"/studies/{study_uid}/series")
    assert series.headers["X-Total-Count"] == "2"
    assert [s["id"] for s in series.json()] == loaded.series["S1"]
    assert [s["SeriesNumber"] for s in series.json()] == [1, 2]
    assert [s["NumberOfSeriesRelatedInstances"] for s in series.json()] == [3, 2]
    assert {s["StudyInstanceUID"] for s in series.json()} == {study_uid}
    first_series = loaded.series["S1"][0]
    one = loaded.client.get(f"/series/{first_series}").json()
    assert one["Modality"] == "CT" and one["StudyInstanceUID"] == study_uid
    listed = loaded.client.get(
        f"/series/{first_series}/instances", params={"sort": "-InstanceNumber"}
    )
    items = listed.json()
    assert [i["InstanceNumber"] for i in items] == [3, 2, 1]
    assert [i["id"] for i in reversed(items)] == loaded.instances["S1"][0]
    paged = loaded.client.get(f"/series/{first_series}/instances", params={"limit": 1, "offset": 1})
    assert keys_of(paged, "InstanceNumber") == [2]
    assert paged.headers["X-Total-Count"] == "3"
    instance = loaded.client.get(f"/instances/{items[0]['id']}").json()
    assert instance["SOPClassUID"] == CT_IMAGE
    assert instance["SeriesInstanceUID"] == first_series
    assert instance["StudyInstanceUID"] == study_uid
    assert instance["TransferSyntaxUID"] == ExplicitVRLittleEndian
    path = loaded.blob_paths(sop_instance_uids=[items[0]["id"]])[0]
    assert instance["FileSize"] == path.stat().st_size
    assert instance["Rows"] == 2
    for missing in (
        "/series/1.2.3",
        "/series/1.2.3/instances",
        "/studies/1.2.3/series",
        "/instances/1.2.3",
    ):
        assert loaded.client.get(missing).status_code == 404, missing


# -- deletion ---------------------------------------------------------------------
def _c_find_studies(node: Node, study_uid: str) -> list[Dataset]:
    ae = AE(ae_title="TESTSCU")
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
    assoc = ae.associate("127.0.0.1", node.dicom_port, ae_title=node.settings.dicom.ae_title)
    assert assoc.is_established
    identifier = Dataset()
    identifier.QueryRetrieveLevel = "STUDY"
    identifier.StudyInstanceUID = study_uid
    found = []
    try:
        for status, answer in assoc.send_c_find(
            identifier, StudyRootQueryRetrieveInformationModelFind
        ):
            assert status is not None and status.Status in (0x0000, 0xFF00, 0xFF01)
            if status.Status in (0xFF00, 0xFF01):
                found.append(answer)
    finally:
        assoc.release()
    return found


def test_delete_instance_removes_row_and_file(loaded: Loaded) -> None:
    uid = loaded.instances["S1"][0][1]
    path = loaded.blob_paths(sop_instance_uids=[uid])[0]
    assert path.exists()
    assert loaded.client.delete(f"/instances/{uid}").status_code == 204
    assert not path.exists()
    assert loaded.client.get(f"/instances/{uid}").status_code == 404
    again = loaded.client.delete(f"/instances/{uid}")
    assert again.status_code == 404 and again.json()["error"]
    left = loaded.client.get(f"/series/{loaded.series['S1'][0]}").json()
    assert left["NumberOfSeriesRelatedInstances"] == 2


def test_delete_study_removes_files_empty_patient_and_c_find_match(loaded: Loaded) -> None:
    study_uid = loaded.studies["S3"]
    paths = loaded.blob_paths(study_uids=[study_uid])
    assert len(paths) == 2 and all(path.exists() for path in paths)
    assert len(_c_find_studies(loaded.node, study_uid)) == 1
    assert loaded.client.delete(f"/studies/{study_uid}").status_code == 204
    assert not any(path.exists() for path in paths)
    assert _c_find_studies(loaded.node, study_uid) == []
    assert len(_c_find_studies(loaded.node, loaded.studies["S4"])) == 1
    assert loaded.client.get(f"/studies/{study_uid}").status_code == 404
    assert loaded.client.delete(f"/studies/{study_uid}").status_code == 404
    names = keys_of(loaded.client.get("/patients"), "PatientName")
    assert "Smith^Anna" not in names and len(names) == 3  # her only study is gone
    assert loaded.client.get("/studies").headers["X-Total-Count"] == "4"
    journal = loaded.node.settings.data_dir / "storage" / ".journal"
    assert os.listdir(journal) == []


def test_delete_drops_the_kept_metadata_of_the_files(loaded: Loaded) -> None:
    study_uid = loaded.studies["S1"]
    blob_names = [item.blob_name for item in loaded.node.archive.instances(study_uids=[study_uid])]
    kept_metadata.keep(loaded.node.archive.index, {name: "{}" for name in blob_names})
    kept = select(func.count()).where(instance_metadata.c.blob_name.in_(blob_names))
    with loaded.node.archive.index.reader.connect() as connection:
        assert connection.execute(kept).scalar_one() == 5
    assert loaded.client.delete(f"/studies/{study_uid}").status_code == 204
    with loaded.node.archive.index.reader.connect() as connection:
        assert connection.execute(kept).scalar_one() == 0


def test_delete_series_keeps_the_study_until_its_last_series(loaded: Loaded) -> None:
    first, second = loaded.series["S1"]
    assert loaded.client.delete(f"/series/{first}").status_code == 204
    study = loaded.client.get(f"/studies/{loaded.studies['S1']}").json()
    assert study["NumberOfStudyRelatedSeries"] == 1
    assert study["NumberOfStudyRelatedInstances"] == 2
    assert loaded.client.delete(f"/series/{first}").status_code == 404
    assert loaded.client.delete(f"/series/{second}").status_code == 204
    assert loaded.client.get(f"/studies/{loaded.studies['S1']}").status_code == 404
    john = loaded.client.get("/patients", params={"PatientName": "DOE^JOHN"}).json()
    assert john[0]["NumberOfPatientRelatedStudies"] == 1  # S2 is still there


def test_delete_patient_leaves_the_other_patient_with_the_same_id(loaded: Loaded) -> None:
    patients = loaded.client.get("/patients", params={"PatientID": "P1"}).json()
    john = next(p for p in patients if p["PatientName"] == "DOE^JOHN")
    paths = loaded.blob_paths(study_uids=[loaded.studies["S1"], loaded.studies["S2"]])
    assert len(paths) == 7
    assert loaded.client.delete(f"/patients/{john['id']}").status_code == 204
    assert not any(path.exists() for path in paths)
    assert loaded.client.get(f"/patients/{john['id']}").status_code == 404
    assert loaded.client.delete(f"/patients/{john['id']}").status_code == 404
    assert keys_of(loaded.client.get("/studies", params={"PatientID": "P1"})) == ["S5"]
    counts = loaded.node.archive.index.counts()
    assert counts == {"patients": 3, "studies": 3, "series": 4, "instances": 4}


# -- crash between the index and the blobs ------------------------------------------
CRASHING_DELETE = """
import os, signal, sys
from pathlib import Path
from vesalius.settings import load_settings
from vesalius.archive.archive import Archive
from vesalius.index import metadata as kept_metadata
from vesalius.index.tables import instance_metadata

data_dir, study_uid, moment = sys.argv[1:4]
settings = load_settings(Path(os.devnull), {{"storage": {{"data_dir": data_dir}}}})
archive = Archive.open(settings)
die = lambda *_args: os.kill(os.getpid(), signal.SIGKILL)
if moment == "after-commit":
    archive.blobs.delete = die  # the rows are gone, the files not yet
else:
    original = archive.blobs.retire
    seen = []
    def retire(name):
        original(name)
        seen.append(name)
        if len(seen) == {count}:  # every blob journaled, the transaction not committed
            die()
    archive.blobs.retire = retire
archive.delete("STUDY", study_uid)
"""


@pytest.mark.parametrize("moment", ["after-commit", "before-commit"])
def test_a_delete_killed_midway_leaves_nothing_recovery_cannot_settle(
    tmp_path: Path, moment: str
) -> None:
    settings = make_settings(tmp_path / "data")
    study = STUDIES[0]
    study_uid, series_uid = generate_uid(), generate_uid()
    archive = Archive.open(settings)
    try:
        for number in range(1, 4):
            archive.store_file(make_instance(study, study_uid, series_uid, "CT", 1, number))
        paths = [archive.instance_path(i) for i in archive.instances(study_uids=[study_uid])]
    finally:
        archive.close()
    script = CRASHING_DELETE.format(count=len(paths))
    child = subprocess.run(
        [sys.executable, "-c", script, str(settings.data_dir), study_uid, moment],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert all(path is not None and path.exists() for path in paths)  # killed before unlinking
    archive = Archive.open(settings)
    try:
        kept, removed = archive.recover()
        stored = archive.instances(study_uids=[study_uid])
        if moment == "after-commit":
            assert (kept, removed) == (0, 3)
            assert stored == []
            assert not any(path is not None and path.exists() for path in paths)
        else:
            assert (kept, removed) == (3, 0)
            assert len(stored) == 3
            assert all(archive.read_instance(item) for item in stored)
        assert sorted(archive.blobs.names()) == sorted(archive.index.all_blob_names())
        assert os.listdir(settings.data_dir / "storage" / ".journal") == []
    finally:
        archive.close()


# -- file and tags -----------------------------------------------------------------
def test_download_is_the_stored_file(loaded: Loaded) -> None:
    uid = loaded.instances["S2"][0][0]
    answer = loaded.client.get(f"/instances/{uid}/file")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/dicom"
    assert answer.headers["content-disposition"] == f'attachment; filename="{uid}.dcm"'
    stored = loaded.blob_paths(sop_instance_uids=[uid])[0].read_bytes()
    assert answer.content == stored
    assert pydicom.dcmread(io.BytesIO(answer.content)).SOPInstanceUID == uid
    assert loaded.client.get("/instances/1.2.3/file").status_code == 404


def test_tags_of_a_real_file(web_node: Node) -> None:
    path = corpus_file("fo-dicom/JPEGwithIcon.dcm")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        original = pydicom.dcmread(path)
    result = web_node.archive.store_file(path.read_bytes())
    answer = httpx.get(f"{web_node.base_url}/api/instances/{result.sop_instance_uid}/tags")
    assert answer.status_code == 200
    tags = {item["tag"]: item for item in answer.json()}
    name = tags["(0010,0010)"]
    assert name["keyword"] == "PatientName" and name["vr"] == "PN"
    assert name["value"] == str(original.PatientName)
    assert tags["(0002,0010)"]["value"] == original.file_meta.TransferSyntaxUID
    icon = tags["(0088,0200)"]
    assert icon["vr"] == "SQ" and isinstance(icon["value"], list) and len(icon["value"]) == 1
    icon_tags = {item["keyword"]: item for item in icon["value"][0]}
    assert (
        icon_tags["PixelData"]["value"] == f"<{len(original.IconImageSequence[0].PixelData)} bytes>"
    )
    assert icon_tags["Rows"]["value"] == str(original.IconImageSequence[0].Rows)
    pixels = tags["(7FE0,0010)"]
    assert pixels["name"] == "Pixel Data"
    assert pixels["value"].startswith("<") and pixels["value"].endswith(" bytes>")
    assert int(pixels["value"][1:-7]) >= len(original.PixelData)
    assert all(len(str(item["value"])) < 2048 for item in answer.json())


def test_tags_report_native_pixel_data_length(loaded: Loaded) -> None:
    uid = loaded.instances["S1"][0][0]
    tags = {t["keyword"]: t for t in loaded.client.get(f"/instances/{uid}/tags").json()}
    assert tags["PixelData"]["value"] == "<8 bytes>"
    assert tags["PixelData"]["vr"] == "OW"
    assert tags["PatientName"]["value"] == "DOE^JOHN"
    assert loaded.client.get("/instances/1.2.3/tags").status_code == 404


def test_tags_show_long_values_in_sequences_as_sizes(web_node: Node) -> None:
    path = corpus_file("dicompyler-core/rtss.dcm")
    result = web_node.archive.store_file(path.read_bytes())
    answer = httpx.get(f"{web_node.base_url}/api/instances/{result.sop_instance_uid}/tags")
    assert answer.status_code == 200
    assert len(answer.content) < path.stat().st_size  # contours are not inlined
    contours = next(item for item in answer.json() if item["keyword"] == "ROIContourSequence")
    first_roi = {item["keyword"]: item for item in contours["value"][0]}
    first_contour = {item["keyword"]: item for item in first_roi["ContourSequence"]["value"][0]}
    shown = first_contour["ContourData"]["value"]
    assert shown.startswith("<") and shown.endswith(" bytes>") and int(shown[1:-7]) > 1024
