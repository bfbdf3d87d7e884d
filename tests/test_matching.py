"""C-FIND matching rules (PS3.4 C.2.2.2) against a small archive of hand-made data sets.

Every expected answer below was worked out by hand from the standard's text
and the fixture data, not by running the code.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian

from vesalius.archive.archive import Archive
from vesalius.dimse.find import handle_find
from vesalius.model.errors import InvalidQuery
from vesalius.model.matching import dataset_from_keys, normalize_name, parse_identifier
from vesalius.sopclasses import PATIENT_ROOT_FIND, STUDY_ROOT_FIND

pytestmark = pytest.mark.both_databases

CT = "1.2.840.10008.5.1.4.1.1.2"
MR = "1.2.840.10008.5.1.4.1.1.4"
SC = "1.2.840.10008.5.1.4.1.1.7"
ROOT = "1.2.826.0.1.3680043.10.999"

# study: (patient id, patient name, date, time, accession, [(modality, sop class, instances)])
STUDIES: dict[str, tuple[str, str, str, str, str, list[tuple[str, str, int]]]] = {
    "S1": ("P1", "DOE^JOHN", "20240105", "083000", "ACC1", [("CT", CT, 2), ("CT", CT, 1)]),
    "S2": ("P1", "DOE^JOHN", "20240215", "143000", "ACC2", [("MR", MR, 1)]),
    "S3": ("P2", "Doe^Jane", "20240131", "235959", "A_C3", [("CT", CT, 1), ("OT", SC, 1)]),
    "S4": ("P3", "SMITH^ANNA", "20231231", "120000", "A%C4", [("US", SC, 1)]),
    "S5": ("P4", "Müller^Hans", "20240301", "000000", "ACC5", [("MR", MR, 1)]),
    "S6": (
        "P5",
        "Yamada^Tarou=山田^太郎=やまだ^たろう",
        "20240105",
        "100000",
        "J1",
        [("OT", SC, 1)],
    ),
    "S7": ("P6", "O%BRIEN_X^PAT", "20240110", "110000", "X1", [("CR", SC, 1)]),
    "S8": ("P7", "OXBRIENYX^PAT", "20240107", "230000", "X2", [("CR", SC, 1)]),
}


def uid(*parts: object) -> str:
    return ".".join([ROOT, *(str(p) for p in parts)])


def study_uid(name: str) -> str:
    return uid(int(name[1:]))


def part10(**values: Any) -> bytes:
    ds = Dataset()
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def fill(archive: Archive) -> None:
    """Store the instances of ``STUDIES``: series uid = study.n, instance uid = series.m."""
    for name, (pid, pname, date, time, accession, series_list) in STUDIES.items():
        for number, (modality, sop_class, count) in enumerate(series_list, start=1):
            for instance in range(1, count + 1):
                archive.store_file(
                    part10(
                        SpecificCharacterSet="ISO_IR 192",
                        PatientID=pid,
                        PatientName=pname,
                        StudyInstanceUID=study_uid(name),
                        StudyDate=date,
                        StudyTime=time,
                        AccessionNumber=accession,
                        SeriesInstanceUID=f"{study_uid(name)}.{number}",
                        SeriesNumber=number,
                        Modality=modality,
                        SOPClassUID=sop_class,
                        SOPInstanceUID=f"{study_uid(name)}.{number}.{instance}",
                        InstanceNumber=instance,
                    )
                )


@pytest.fixture
def filled(archive: Archive) -> Archive:
    fill(archive)
    return archive


def find(
    archive: Archive, model: str, level: str, keys: dict[str, str], **kw: Any
) -> list[Dataset]:
    query = parse_identifier(dataset_from_keys(level, keys), model, **kw)
    return [answer.dataset() for answer in archive.find(query)]


def studies_of(answers: list[Dataset]) -> set[str]:
    by_uid = {study_uid(name): name for name in STUDIES}
    return {by_uid[a.StudyInstanceUID] for a in answers}


STUDY_LEVEL_CASES = [
    # single value
    ({"PatientID": "P1"}, {"S1", "S2"}),
    ({"AccessionNumber": "ACC2"}, {"S2"}),
    ({"StudyDate": "20240105"}, {"S1", "S6"}),
    ({"PatientID": "p1"}, set()),  # LO single values are case-sensitive
    # universal
    ({"PatientID": "", "StudyDate": ""}, set(STUDIES)),
    ({"PatientName": "*"}, set(STUDIES)),
    # wildcards; PN case-insensitive by default
    ({"PatientName": "DOE*"}, {"S1", "S2", "S3"}),
    ({"PatientName": "doe^j?hn"}, {"S1", "S2"}),
    ({"PatientName": "*ANNA"}, {"S4"}),
    ({"PatientName": "muller*"}, {"S5"}),  # accents folded too
    ({"AccessionNumber": "ACC*"}, {"S1", "S2", "S5"}),
    ({"AccessionNumber": "acc*"}, set()),
    ({"AccessionNumber": "A?C?"}, {"S1", "S2", "S3", "S4", "S5"}),
    # SQL's own % and _ are plain characters in DICOM values
    ({"AccessionNumber": "A_C*"}, {"S3"}),
    ({"AccessionNumber": "A%C4"}, {"S4"}),
    ({"PatientName": "O%BRIEN_X*"}, {"S7"}),
    ({"PatientName": "O%*"}, {"S7"}),
    # ranges
    ({"StudyDate": "20240101-20240131"}, {"S1", "S3", "S6", "S7", "S8"}),
    ({"StudyDate": "20240201-"}, {"S2", "S5"}),
    ({"StudyDate": "-20231231"}, {"S4"}),
    ({"StudyTime": "0800-1000"}, {"S1", "S6"}),  # 1000 includes 10:00:00
    ({"StudyTime": "2300-"}, {"S3", "S8"}),
    # combined date-time: from 2024-01-05 12:00 to 2024-01-10 09:00 (C.2.2.2.5.1)
    ({"StudyDate": "20240105-20240110", "StudyTime": "1200-0900"}, {"S8"}),
    ({"StudyDate": "20240105-", "StudyTime": "0900-"}, {"S2", "S3", "S5", "S6", "S7", "S8"}),
    # UID lists
    ({"StudyInstanceUID": f"{study_uid('S1')}\\{study_uid('S3')}"}, {"S1", "S3"}),
    # computed attributes
    ({"ModalitiesInStudy": "MR"}, {"S2", "S5"}),
    ({"ModalitiesInStudy": "CT", "StudyDate": "20240101-20240131"}, {"S1", "S3"}),
    ({"ModalitiesInStudy": "C?"}, {"S1", "S3", "S7", "S8"}),
    # PN component groups: ideographic, phonetic, group by group
    ({"PatientName": "山田^太郎"}, {"S6"}),
    ({"PatientName": "やまだ*"}, {"S6"}),
    ({"PatientName": "=山田*"}, {"S6"}),
    ({"PatientName": "YAMADA^TAROU=山田^太郎"}, {"S6"}),
    ({"PatientName": "Yamada*=やまだ*"}, set()),  # second group is the ideographic one
    ({"PatientName": "Yamada^Tarou"}, {"S6"}),
]


def _case_id(value: object) -> str:
    """A test id that is the same in every process (a set's order is not)."""
    return str(sorted(value)) if isinstance(value, set) else str(value)


@pytest.mark.parametrize(("keys", "expected"), STUDY_LEVEL_CASES, ids=_case_id)
def test_study_level_matching(filled: Archive, keys: dict[str, str], expected: set[str]) -> None:
    for model in ("patient", "study"):
        if model == "patient" and not keys.get("PatientID"):
            continue  # Patient Root needs the patient's unique key at STUDY level
        assert studies_of(find(filled, model, "STUDY", keys)) == expected


def test_names_case_sensitive_when_configured(filled: Archive) -> None:
    answers = find(filled, "study", "STUDY", {"PatientName": "DOE*"}, case_insensitive_names=False)
    assert studies_of(answers) == {"S1", "S2"}
    answers = find(
        filled, "study", "STUDY", {"PatientName": "Doe^Jane"}, case_insensitive_names=False
    )
    assert studies_of(answers) == {"S3"}


def test_patient_level(filled: Archive) -> None:
    answers = find(
        filled, "patient", "PATIENT", {"PatientName": "DOE*", "NumberOfPatientRelatedStudies": ""}
    )
    counts = {a.PatientID: int(a.NumberOfPatientRelatedStudies) for a in answers}
    assert counts == {"P1": 2, "P2": 1}
    answers = find(
        filled,
        "patient",
        "PATIENT",
        {
            "PatientID": "P1",
            "NumberOfPatientRelatedSeries": "",
            "NumberOfPatientRelatedInstances": "",
        },
    )
    assert [
        (int(a.NumberOfPatientRelatedSeries), int(a.NumberOfPatientRelatedInstances))
        for a in answers
    ] == [(3, 4)]


@pytest.mark.parametrize("model", ["patient", "study"])
def test_series_and_image_levels(filled: Archive, model: str) -> None:
    upper = {"PatientID": "P1"} if model == "patient" else {}
    s1 = study_uid("S1")
    answers = find(
        filled,
        model,
        "SERIES",
        {**upper, "StudyInstanceUID": s1, "Modality": "CT", "NumberOfSeriesRelatedInstances": ""},
    )
    assert {(a.SeriesInstanceUID, int(a.NumberOfSeriesRelatedInstances)) for a in answers} == {
        (f"{s1}.1", 2),
        (f"{s1}.2", 1),
    }
    answers = find(
        filled,
        model,
        "IMAGE",
        {**upper, "StudyInstanceUID": s1, "SeriesInstanceUID": f"{s1}.1", "InstanceNumber": "2"},
    )
    assert [a.SOPInstanceUID for a in answers] == [f"{s1}.1.2"]
    assert answers[0].QueryRetrieveLevel == "IMAGE"


def test_return_keys(filled: Archive) -> None:
    (answer,) = find(
        filled,
        "study",
        "STUDY",
        {
            "AccessionNumber": "ACC1",
            "ModalitiesInStudy": "",
            "SOPClassesInStudy": "",
            "NumberOfStudyRelatedSeries": "",
            "NumberOfStudyRelatedInstances": "",
            "StudyComments": "",  # not held by the index: returned empty
        },
    )
    assert answer.StudyInstanceUID == study_uid("S1")  # the level's unique key, unasked
    assert list(answer.ModalitiesInStudy) == ["CT"] or answer.ModalitiesInStudy == "CT"
    assert answer.SOPClassesInStudy == CT
    assert (int(answer.NumberOfStudyRelatedSeries), int(answer.NumberOfStudyRelatedInstances)) == (
        2,
        3,
    )
    assert answer["StudyComments"].is_empty
    assert answer.RetrieveAETitle == filled.settings.dicom.ae_title
    assert answer.InstanceAvailability == "ONLINE"
    assert "PatientName" not in answer and "StudyDate" not in answer


def test_sequence_item_matching(filled: Archive) -> None:
    identifier = dataset_from_keys("STUDY", {})
    item = Dataset()
    item.AccessionNumber = "ACC*"
    item.RequestedProcedureID = "anything"  # not held by the index: universal
    identifier.RequestAttributesSequence = [item]
    answers = [a.dataset() for a in filled.find(parse_identifier(identifier, "study"))]
    assert studies_of(answers) == {"S1", "S2", "S5"}
    returned = {a.RequestAttributesSequence[0].AccessionNumber for a in answers}
    assert returned == {"ACC1", "ACC2", "ACC5"}
    empty = dataset_from_keys("STUDY", {"PatientID": "P3"})
    empty.RequestAttributesSequence = []
    (answer,) = [a.dataset() for a in filled.find(parse_identifier(empty, "study"))]
    assert len(answer.RequestAttributesSequence) == 0


@pytest.mark.parametrize(
    ("model", "level", "keys", "message"),
    [
        ("patient", "STUDY", {"StudyDate": ""}, "PatientID"),
        ("study", "SERIES", {"Modality": "CT"}, "StudyInstanceUID"),
        ("study", "IMAGE", {"StudyInstanceUID": "1.2"}, "SeriesInstanceUID"),
        ("patient", "SERIES", {"StudyInstanceUID": "1.2"}, "PatientID"),
        ("study", "PATIENT", {"PatientID": "P1"}, "PATIENT"),
        ("study", "STUDY", {"Modality": "CT"}, "below"),
        ("study", "FRAME", {}, "FRAME"),
        ("study", "", {}, "Level"),
    ],
)
def test_invalid_identifiers(model: str, level: str, keys: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidQuery, match=message) as raised:
        parse_identifier(dataset_from_keys(level, keys), model)
    assert raised.value.dimse_status == 0xA900


def test_max_results_truncates(filled: Archive) -> None:
    assert len(find(filled, "study", "STUDY", {})) == 8
    query = parse_identifier(dataset_from_keys("STUDY", {}), "study")
    assert len(list(filled.find(query, max_results=3))) == 3


def test_normalize_name() -> None:
    assert normalize_name("Müller^Hans^^") == "MULLER^HANS"
    assert normalize_name("Yamada^Tarou=山田^太郎=") == "YAMADA^TAROU=山田^太郎"


def _event(keys: dict[str, str], sop_class: str, cancel_after: int | None = None) -> Any:
    state = {"sent": 0}

    class Event(SimpleNamespace):
        @property
        def is_cancelled(self) -> bool:
            return cancel_after is not None and state["sent"] >= cancel_after

    # Explicit big endian: the pendings come back through the handler as data sets.
    event = Event(
        identifier=dataset_from_keys("STUDY", keys),
        request=SimpleNamespace(AffectedSOPClassUID=sop_class),
        context=SimpleNamespace(transfer_syntax=ExplicitVRBigEndian, context_id=1),
    )
    return event, state


def _drive(handler: Iterator[tuple[int, Any]], state: dict[str, int]) -> list[int]:
    statuses = []
    for code, _ in handler:
        statuses.append(code)
        state["sent"] += 1
    return statuses


def test_handler_statuses(filled: Archive) -> None:
    settings = filled.settings
    event, state = _event({"PatientName": "DOE*"}, STUDY_ROOT_FIND)
    assert _drive(handle_find(event, filled, settings), state) == [0xFF00] * 3 + [0x0000]
    event, state = _event({}, STUDY_ROOT_FIND, cancel_after=2)
    assert _drive(handle_find(event, filled, settings), state) == [0xFF00, 0xFF00, 0xFE00]
    event, state = _event({"StudyDate": ""}, PATIENT_ROOT_FIND)  # no PatientID
    ((code, answer),) = list(handle_find(event, filled, settings))
    assert code == 0xA900 and "PatientID" in answer.ErrorComment
