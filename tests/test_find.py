"""C-FIND over the network: DCMTK findscu and pynetdicom against a Vesalius node.

The node holds real corpus files: a 16-image MR study (DOE^J1), and
character-set files with Japanese (ISO 2022 IR 87), Chinese (UTF-8) and
Korean (ISO 2022 IR 149) patient names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRBigEndian
from pynetdicom import AE
from pynetdicom.sop_class import (
    PatientRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelFind,
)

from conftest import corpus_file, run_dcmtk
from vesalius.app import Node
from vesalius.model.record import record_from_values

pytestmark = pytest.mark.both_databases

MR_STUDY = "1.113654.3.13.1026"
MR_SERIES = "1.113654.5.14.1035"
CHARSET_FILES = ("chrH31.dcm", "chrX1.dcm", "chrKoreanMulti.dcm", "chrJapMulti.dcm")
KOREAN_STUDY = "1.3.51.0.7.11986030739.15242.20106.39861.48967.23056.44419"
JAPANESE_STUDY = "1.3.51.0.7.11986030739.15242.20106.39861.48967.23056.44420"
H31_STUDY = "1.3.6.1.4.1.5962.1.2.0.1175775771.5702.0"
X1_STUDY = "1.3.6.1.4.1.5962.1.2.0.1175775771.5711.0"


@pytest.fixture
def loaded(node: Node) -> Node:
    for number in range(1, 17):
        node.archive.store_file(corpus_file(f"dcm4che/MR-series/MR{number:02d}.dcm").read_bytes())
    for name in CHARSET_FILES:
        node.archive.store_file(corpus_file(f"pydicom/charset_files/{name}").read_bytes())
    return node


def findscu(node: Node, folder: Path, model: str, *keys: str) -> list[Dataset]:
    """Run findscu with ``-X`` and read back the response identifiers it wrote."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("rsp*.dcm"):
        old.unlink()
    args = [f"-{model}", "-X", "-od", str(folder)]
    for key in keys:
        args += ["-k", key]
    done = run_dcmtk(
        "findscu", *args, "-aec", node.settings.dicom.ae_title, "127.0.0.1", str(node.dicom_port)
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return [dcmread(path) for path in sorted(folder.glob("rsp*.dcm"))]


@pytest.mark.parametrize(
    ("model", "keys", "expected"),
    [
        ("P", ["QueryRetrieveLevel=PATIENT", "PatientName=doe*", "PatientID"], {"583295"}),
        ("P", ["QueryRetrieveLevel=STUDY", "PatientID=583295", "StudyDate"], {MR_STUDY}),
        ("S", ["QueryRetrieveLevel=STUDY", "StudyDate=20170101-20171231"], {MR_STUDY}),
        (
            "S",
            ["QueryRetrieveLevel=STUDY", "StudyDate=20080504", "StudyTime=1700-1800"],
            {KOREAN_STUDY, JAPANESE_STUDY},
        ),
        (
            "S",
            ["QueryRetrieveLevel=STUDY", f"StudyInstanceUID={MR_STUDY}\\{H31_STUDY}"],
            {MR_STUDY, H31_STUDY},
        ),
        ("S", ["QueryRetrieveLevel=STUDY", "ModalitiesInStudy=CR"], {KOREAN_STUDY, JAPANESE_STUDY}),
        (
            "S",
            ["QueryRetrieveLevel=SERIES", f"StudyInstanceUID={MR_STUDY}", "Modality=M?"],
            {MR_SERIES},
        ),
        (
            "P",
            [
                "QueryRetrieveLevel=SERIES",
                "PatientID=583295",
                f"StudyInstanceUID={MR_STUDY}",
                "SeriesInstanceUID",
            ],
            {MR_SERIES},
        ),
    ],
)
def test_findscu_levels_and_models(
    loaded: Node, tmp_path: Path, model: str, keys: list[str], expected: set[str]
) -> None:
    answers = findscu(loaded, tmp_path, model, *keys)
    level = next(k for k in keys if k.startswith("QueryRetrieveLevel=")).split("=")[1]
    unique = {"PATIENT": "PatientID", "STUDY": "StudyInstanceUID", "SERIES": "SeriesInstanceUID"}
    assert {a.get(unique[level]) for a in answers} == expected
    assert all(a.QueryRetrieveLevel == level for a in answers)
    assert all(a.RetrieveAETitle == loaded.settings.dicom.ae_title for a in answers)


def test_findscu_image_level_with_counts(loaded: Node, tmp_path: Path) -> None:
    answers = findscu(
        loaded, tmp_path, "S",
        "QueryRetrieveLevel=IMAGE", f"StudyInstanceUID={MR_STUDY}",
        f"SeriesInstanceUID={MR_SERIES}", "InstanceNumber=5", "SOPInstanceUID",
    )  # fmt: skip
    assert len(answers) == 1 and int(answers[0].InstanceNumber) == 5
    (study,) = findscu(
        loaded, tmp_path, "S",
        "QueryRetrieveLevel=STUDY", "PatientID=583295", "NumberOfStudyRelatedInstances",
        "NumberOfStudyRelatedSeries", "ModalitiesInStudy", "StudyDescription",
    )  # fmt: skip
    assert int(study.NumberOfStudyRelatedInstances) == 16
    assert int(study.NumberOfStudyRelatedSeries) == 1
    assert study.ModalitiesInStudy == "MR"
    assert study.StudyInstanceUID == MR_STUDY


def test_findscu_non_latin_names(loaded: Node, tmp_path: Path) -> None:
    # UTF-8 in the identifier: the ideographic group of chrH31 (stored in ISO 2022 IR 87)
    answers = findscu(
        loaded, tmp_path, "S",
        "QueryRetrieveLevel=STUDY", "SpecificCharacterSet=ISO_IR 192", "PatientName=山田*",
    )  # fmt: skip
    assert {a.StudyInstanceUID for a in answers} == {H31_STUDY}
    assert str(answers[0].PatientName) == "Yamada^Tarou=山田^太郎=やまだ^たろう"
    assert answers[0].SpecificCharacterSet == "ISO_IR 192"
    # A Latin-1 requester gets the Korean name in UTF-8, which ISO_IR 100 cannot carry.
    (korean,) = findscu(
        loaded, tmp_path, "S",
        "QueryRetrieveLevel=STUDY", "SpecificCharacterSet=ISO_IR 100", "PatientID=2008-3",
        "PatientName",
    )  # fmt: skip
    assert korean.SpecificCharacterSet == "ISO_IR 192"
    assert str(korean.PatientName) == "김희중"
    (chinese,) = findscu(
        loaded, tmp_path, "P",
        "QueryRetrieveLevel=PATIENT", "SpecificCharacterSet=ISO_IR 192", "PatientName=wang*",
    )  # fmt: skip
    assert str(chinese.PatientName) == "Wang^XiaoDong=王^小東"


def test_findscu_failure_status(loaded: Node) -> None:
    done = run_dcmtk(
        "findscu", "-v", "-P", "-k", "QueryRetrieveLevel=STUDY", "-k", "StudyDate",
        "-aec", loaded.settings.dicom.ae_title, "127.0.0.1", str(loaded.dicom_port),
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert "Error: DataSetDoesNotMatchSOPClass" in output, output  # A900


def _associate(node: Node, model: Any) -> Any:
    ae = AE(ae_title="FINDTEST")
    ae.add_requested_context(model)
    assoc = ae.associate("127.0.0.1", node.dicom_port, ae_title=node.settings.dicom.ae_title)
    assert assoc.is_established
    return assoc


def test_iso2022_identifier_and_answer(loaded: Node) -> None:
    """A Korean name sent in ISO 2022 IR 149 matches, and comes back in that set."""
    assoc = _associate(loaded, StudyRootQueryRetrieveInformationModelFind)
    try:
        identifier = Dataset()
        identifier.SpecificCharacterSet = ["", "ISO 2022 IR 149"]
        identifier.QueryRetrieveLevel = "STUDY"
        identifier.PatientName = "김희중"
        identifier.StudyInstanceUID = ""
        answers = [
            found
            for status, found in assoc.send_c_find(
                identifier, StudyRootQueryRetrieveInformationModelFind
            )
            if status and status.Status == 0xFF00
        ]
    finally:
        assoc.release()
    assert [a.StudyInstanceUID for a in answers] == [KOREAN_STUDY]
    assert list(answers[0].SpecificCharacterSet) == ["", "ISO 2022 IR 149"]
    assert str(answers[0].PatientName) == "김희중"


def test_c_cancel(node: Node) -> None:
    """After C-CANCEL the SCP stops between matches and answers Cancel (FE00)."""
    root = "1.2.826.0.1.3680043.10.998"
    records = [
        (
            record_from_values(
                {
                    "PatientID": f"C{n}",
                    "PatientName": "CANCEL^ME",
                    "StudyInstanceUID": f"{root}.{n}",
                    "SeriesInstanceUID": f"{root}.{n}.1",
                    "SOPInstanceUID": f"{root}.{n}.1.1",
                    "SOPClassUID": "1.2.840.10008.5.1.4.1.1.7",
                }
            ),
            f"fake-{n}",
            1,
            "1.2.840.10008.1.2.1",
        )
        for n in range(5000)
    ]
    node.archive.index.add_instances_bulk(records)
    assoc = _associate(node, PatientRootQueryRetrieveInformationModelFind)
    try:
        identifier = Dataset()
        identifier.QueryRetrieveLevel = "PATIENT"
        identifier.PatientName = "CANCEL*"
        identifier.PatientID = ""
        statuses = []
        responses = assoc.send_c_find(
            identifier, PatientRootQueryRetrieveInformationModelFind, msg_id=7
        )
        for status, _found in responses:
            statuses.append(status.Status)
            if len(statuses) == 1:
                assoc.send_c_cancel(7, assoc.accepted_contexts[0].context_id)
    finally:
        assoc.release()
    assert statuses[-1] == 0xFE00
    assert len(statuses) < 5001


@pytest.mark.parametrize(
    ("proposal", "accepted"),
    [
        ("-xi", "LittleEndianImplicit"),
        ("-xe", "LittleEndianExplicit"),
    ],
)
def test_findscu_in_each_uncompressed_transfer_syntax(
    loaded: Node, tmp_path: Path, proposal: str, accepted: str
) -> None:
    """Answers are the same whichever syntax the query context uses (and which encoder)."""
    keys = ["QueryRetrieveLevel=IMAGE", f"StudyInstanceUID={MR_STUDY}"]
    keys += [f"SeriesInstanceUID={MR_SERIES}", "SOPInstanceUID", "InstanceNumber"]
    args = ["-S", proposal, "-d", "-X", "-od", str(tmp_path)]
    for key in [*keys, "PatientName", "SeriesDescription"]:
        args += ["-k", key]
    done = run_dcmtk(
        "findscu", *args, "-aec", loaded.settings.dicom.ae_title, "127.0.0.1",
        str(loaded.dicom_port),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Accepted Transfer Syntax: ={accepted}" in done.stdout + done.stderr
    answers = [dcmread(path) for path in sorted(tmp_path.glob("rsp*.dcm"))]
    assert sorted(int(a.InstanceNumber) for a in answers) == list(range(1, 17))
    assert {str(a.PatientName) for a in answers} == {"DOE^J1"}


def test_big_endian_context_answers_through_pydicom(loaded: Node) -> None:
    """A query context in explicit VR big endian gets the same answers."""
    ae = AE(ae_title="BIGENDIAN")
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind, ExplicitVRBigEndian)
    assoc = ae.associate("127.0.0.1", loaded.dicom_port, ae_title=loaded.settings.dicom.ae_title)
    assert assoc.is_established
    try:
        assert assoc.accepted_contexts[0].transfer_syntax[0] == ExplicitVRBigEndian
        identifier = Dataset()
        identifier.QueryRetrieveLevel = "SERIES"
        identifier.StudyInstanceUID = MR_STUDY
        identifier.SeriesInstanceUID = ""
        identifier.NumberOfSeriesRelatedInstances = ""
        answers = [
            found
            for status, found in assoc.send_c_find(
                identifier, StudyRootQueryRetrieveInformationModelFind
            )
            if status.Status == 0xFF00
        ]
    finally:
        assoc.release()
    assert [(a.SeriesInstanceUID, int(a.NumberOfSeriesRelatedInstances)) for a in answers] == [
        (MR_SERIES, 16)
    ]
