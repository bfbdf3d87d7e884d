"""QIDO-RS against a live node: dicomweb-client and plain HTTP, compared with C-FIND."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path
from xml.etree import ElementTree

import httpx
import pytest
from dicomweb_client.api import DICOMwebClient
from pydicom import dcmread

from conftest import corpus_file
from test_find import CHARSET_FILES, MR_SERIES, MR_STUDY, findscu
from vesalius.app import Node

pytestmark = pytest.mark.both_databases


@pytest.fixture
def loaded_web(web_node: Node) -> Node:
    for number in range(1, 17):
        web_node.archive.store_file(
            corpus_file(f"dcm4che/MR-series/MR{number:02d}.dcm").read_bytes()
        )
    for name in CHARSET_FILES:
        web_node.archive.store_file(corpus_file(f"pydicom/charset_files/{name}").read_bytes())
    return web_node


def client(node: Node) -> DICOMwebClient:
    return DICOMwebClient(url=f"{node.base_url}/dicomweb")


def value(answer: dict, tag: str) -> object:
    return (answer.get(tag, {}).get("Value") or [None])[0]


def test_studies_equal_c_find(loaded_web: Node, tmp_path: object) -> None:
    web = client(loaded_web).search_for_studies()
    dimse = findscu(
        loaded_web, tmp_path, "S", "QueryRetrieveLevel=STUDY", "StudyInstanceUID",
        "PatientName", "NumberOfStudyRelatedInstances",
    )  # fmt: skip
    assert {value(a, "0020000D") for a in web} == {a.StudyInstanceUID for a in dimse}
    counts = {value(a, "0020000D"): value(a, "00201208") for a in web}
    assert counts == {a.StudyInstanceUID: int(a.NumberOfStudyRelatedInstances) for a in dimse}
    mr = next(a for a in web if value(a, "0020000D") == MR_STUDY)
    assert value(mr, "00100010") == {"Alphabetic": "DOE^J1"}
    assert value(mr, "00081190") == f"{loaded_web.base_url}/dicomweb/studies/{MR_STUDY}"
    assert value(mr, "00080061") == "MR"


def test_matching_by_keyword_and_by_tag(loaded_web: Node) -> None:
    web = client(loaded_web)
    by_name = web.search_for_studies(search_filters={"PatientName": "doe*"})
    by_tag = web.search_for_studies(search_filters={"00100020": "583295"})
    assert [value(a, "0020000D") for a in by_name] == [MR_STUDY]
    assert [value(a, "0020000D") for a in by_tag] == [MR_STUDY]
    assert web.search_for_studies(search_filters={"PatientID": "nobody"}) == []


def test_series_and_instances_at_every_level(loaded_web: Node) -> None:
    web = client(loaded_web)
    (series,) = web.search_for_series(study_instance_uid=MR_STUDY)
    assert value(series, "0020000E") == MR_SERIES and value(series, "00201209") == 16
    everywhere = web.search_for_series(search_filters={"Modality": "MR"})
    assert [value(s, "0020000E") for s in everywhere] == [MR_SERIES]
    assert value(everywhere[0], "0020000D") == MR_STUDY  # study keys with a relational search
    in_series = web.search_for_instances(study_instance_uid=MR_STUDY, series_instance_uid=MR_SERIES)
    in_study = web.search_for_instances(study_instance_uid=MR_STUDY)
    anywhere = web.search_for_instances(search_filters={"SeriesInstanceUID": MR_SERIES})
    assert len(in_series) == len(in_study) == len(anywhere) == 16
    assert sorted(value(i, "00200013") for i in in_series) == list(range(1, 17))
    url = value(in_series[0], "00081190")
    assert url.startswith(f"{loaded_web.base_url}/dicomweb/studies/{MR_STUDY}/series/")


def test_includefield_and_paging(loaded_web: Node) -> None:
    web = client(loaded_web)
    (study,) = web.search_for_studies(
        search_filters={"PatientID": "583295"}, fields=["StudyDescription", "00080090"]
    )
    assert "00081030" in study and "00080090" in study
    (full,) = web.search_for_studies(search_filters={"PatientID": "583295"}, fields=["all"])
    assert "00200010" in full and "00081030" in full
    pages = [
        web.search_for_instances(study_instance_uid=MR_STUDY, limit=5, offset=offset)
        for offset in (0, 5, 10, 15)
    ]
    assert [len(page) for page in pages] == [5, 5, 5, 1]
    uids = [value(i, "00080018") for page in pages for i in page]
    assert len(set(uids)) == 16


def test_fuzzymatching_is_declined_in_a_warning(loaded_web: Node) -> None:
    answer = httpx.get(
        f"{loaded_web.base_url}/dicomweb/studies",
        params={"PatientName": "DOE*", "fuzzymatching": "true"},
    )
    assert answer.status_code == 200
    assert "fuzzymatching" in answer.headers["warning"]
    assert answer.headers["content-type"].startswith("application/dicom+json")


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"limit": "many"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"offset": "x"}, "offset"),
        ({"NoSuchAttribute": "1"}, "NoSuchAttribute"),
        ({"StudyDate": "2020-13"}, "StudyDate"),
        ({"ffff0001": "1"}, "ffff0001"),
    ],
)
def test_bad_parameters_are_400_with_a_reason(
    loaded_web: Node, params: dict[str, str], reason: str
) -> None:
    answer = httpx.get(f"{loaded_web.base_url}/dicomweb/studies", params=params)
    assert answer.status_code == 400
    assert reason in answer.json()["error"]


def test_unacceptable_media_type_is_406(loaded_web: Node) -> None:
    answer = httpx.get(f"{loaded_web.base_url}/dicomweb/studies", headers={"Accept": "image/png"})
    assert answer.status_code == 406


def test_xml_answers_on_request(loaded_web: Node) -> None:
    answer = httpx.get(
        f"{loaded_web.base_url}/dicomweb/studies",
        params={"PatientID": "583295"},
        headers={"Accept": 'multipart/related; type="application/dicom+xml"'},
    )
    assert answer.status_code == 200
    head = f"Content-Type: {answer.headers['content-type']}\r\n\r\n".encode()
    message = email.message_from_bytes(head + answer.content, policy=email.policy.HTTP)
    (part,) = list(message.iter_parts())
    assert part.get_content_type() == "application/dicom+xml"
    root = ElementTree.fromstring(part.get_payload(decode=True))
    namespace = "{http://dicom.nema.org/PS3.19/models/NativeDICOM}"
    uid = root.find(f"{namespace}DicomAttribute[@keyword='StudyInstanceUID']/{namespace}Value")
    assert uid is not None and uid.text == MR_STUDY


def test_accept_query_parameter_wins(loaded_web: Node) -> None:
    answer = httpx.get(
        f"{loaded_web.base_url}/dicomweb/studies",
        params={"accept": "application/json"},
        headers={"Accept": "image/png"},
    )
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"


def test_non_latin_names_in_utf8(loaded_web: Node) -> None:
    answers = client(loaded_web).search_for_studies(search_filters={"PatientName": "Yamada*"})
    names = [value(a, "00100010") for a in answers]
    assert {
        "Alphabetic": "Yamada^Tarou",
        "Ideographic": "山田^太郎",
        "Phonetic": "やまだ^たろう",
    } in names


def test_backslash_in_a_patient_id_is_answered(web_node: Node, tmp_path: Path) -> None:
    """A value with a backslash (several values) must not break the answers."""
    dataset = dcmread(corpus_file("dcm4che/MR-series/MR01.dcm"))
    dataset.PatientID = "A\\B"
    dataset.PatientName = "Müller^Hans"
    dataset.SpecificCharacterSet = "ISO_IR 100"
    path = tmp_path / "backslash.dcm"
    dataset.save_as(path)
    web_node.archive.store_file(path.read_bytes())
    answers = client(web_node).search_for_studies(fields=["PatientID"])
    assert [value(a, "00100020") for a in answers] == ["A"]
    assert answers[0]["00100020"]["Value"] == ["A", "B"]
    assert value(answers[0], "00100010") == {"Alphabetic": "Müller^Hans"}
