"""Resolution of retrieve identifiers (PS3.4 C.4.2.2.1): every level of both models,
unique keys only, and the failures a C-MOVE / C-GET answers with A900 or C000."""

from __future__ import annotations

import pytest
from pydicom.dataset import Dataset
from pynetdicom import AE
from pynetdicom.sop_class import (
    PatientRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelMove,
)

from conftest import corpus_file
from vesalius import sopclasses
from vesalius.app import Node
from vesalius.archive.archive import Archive
from vesalius.model.errors import IdentifierMismatch, InvalidObject

pytestmark = pytest.mark.both_databases

MR_SERIES = tuple(f"dcm4che/MR-series/MR{n:02d}.dcm" for n in range(1, 4))
MR_STUDY = "1.113654.3.13.1026"
MR_SERIES_UID = "1.113654.5.14.1035"
MR_UIDS = ["1.113654.5.15.1504", "1.113654.5.15.1512", "1.113654.5.15.1513"]
SMALL = "pydicom/test_files/MR_small.dcm"
SMALL_STUDY = "1.3.6.1.4.1.5962.1.2.4.20040826185059.5457"
SMALL_UID = "1.3.6.1.4.1.5962.1.1.4.1.1.20040826185059.5457"

PATIENT_MOVE = sopclasses.PATIENT_ROOT_MOVE
STUDY_MOVE = sopclasses.STUDY_ROOT_MOVE
STUDY_GET = sopclasses.STUDY_ROOT_GET


def identifier(level: str, **keys: object) -> Dataset:
    """A retrieve identifier."""
    dataset = Dataset()
    dataset.QueryRetrieveLevel = level
    for keyword, value in keys.items():
        setattr(dataset, keyword, value)
    return dataset


@pytest.fixture
def stocked(archive: Archive) -> Archive:
    """Three MR images of one series and one other study (patient 4MR1)."""
    for name in (*MR_SERIES, SMALL):
        archive.store_file(corpus_file(name).read_bytes())
    return archive


def uids(archive: Archive, ident: Dataset, sop_class: str) -> list[str]:
    """The SOP Instance UIDs resolved, in order."""
    return [i.sop_instance_uid for i in archive.resolve_retrieve(ident, sop_class)]


def test_patient_level_patient_root(stocked: Archive) -> None:
    """PATIENT level takes a Patient ID (Patient Root only)."""
    assert uids(stocked, identifier("PATIENT", PatientID="583295"), PATIENT_MOVE) == MR_UIDS
    assert uids(stocked, identifier("PATIENT", PatientID="nobody"), PATIENT_MOVE) == []


@pytest.mark.parametrize("sop_class", [PATIENT_MOVE, STUDY_MOVE, STUDY_GET])
def test_study_level_takes_a_list(stocked: Archive, sop_class: str) -> None:
    """A backslash-separated list of studies retrieves all of them."""
    ident = identifier("STUDY", StudyInstanceUID=[MR_STUDY, SMALL_STUDY])
    assert sorted(uids(stocked, ident, sop_class)) == sorted([*MR_UIDS, SMALL_UID])
    assert uids(stocked, identifier("STUDY", StudyInstanceUID=MR_STUDY), sop_class) == MR_UIDS


def test_study_level_patient_id_narrows(stocked: Archive) -> None:
    """A Patient ID given below the PATIENT level narrows the studies."""
    ident = identifier("STUDY", PatientID="4MR1", StudyInstanceUID=[MR_STUDY, SMALL_STUDY])
    assert uids(stocked, ident, PATIENT_MOVE) == [SMALL_UID]


def test_series_level(stocked: Archive) -> None:
    """SERIES level: one study, a list of series."""
    ident = identifier("SERIES", StudyInstanceUID=MR_STUDY, SeriesInstanceUID=MR_SERIES_UID)
    assert uids(stocked, ident, STUDY_MOVE) == MR_UIDS
    wrong_study = identifier(
        "SERIES", StudyInstanceUID=SMALL_STUDY, SeriesInstanceUID=MR_SERIES_UID
    )
    assert uids(stocked, wrong_study, STUDY_MOVE) == []


def test_image_level(stocked: Archive) -> None:
    """IMAGE level: one study, one series, a list of instances."""
    ident = identifier(
        "IMAGE",
        StudyInstanceUID=MR_STUDY,
        SeriesInstanceUID=MR_SERIES_UID,
        SOPInstanceUID=MR_UIDS[1:],
    )
    assert uids(stocked, ident, PATIENT_MOVE) == MR_UIDS[1:]
    assert uids(stocked, ident, STUDY_GET) == MR_UIDS[1:]


@pytest.mark.parametrize(
    ("ident", "sop_class", "error", "words"),
    [
        (identifier("PATIENT", PatientID="583295"), STUDY_MOVE, IdentifierMismatch, "PATIENT"),
        (identifier("PATIENT"), PATIENT_MOVE, IdentifierMismatch, "PatientID"),
        (identifier("STUDY"), STUDY_MOVE, IdentifierMismatch, "StudyInstanceUID"),
        (identifier("SERIES", StudyInstanceUID=MR_STUDY), STUDY_MOVE, IdentifierMismatch, "Series"),
        (
            identifier("SERIES", SeriesInstanceUID=MR_SERIES_UID),
            STUDY_MOVE,
            IdentifierMismatch,
            "exactly one StudyInstanceUID",
        ),
        (
            identifier(
                "IMAGE",
                StudyInstanceUID=MR_STUDY,
                SeriesInstanceUID=[MR_SERIES_UID, "1.2"],
                SOPInstanceUID=MR_UIDS[0],
            ),
            STUDY_MOVE,
            IdentifierMismatch,
            "exactly one SeriesInstanceUID",
        ),
        (identifier("FRAME", StudyInstanceUID=MR_STUDY), STUDY_MOVE, InvalidObject, "FRAME"),
        (Dataset(), STUDY_MOVE, InvalidObject, "Query/Retrieve Level"),
        (identifier("STUDY", StudyInstanceUID=MR_STUDY), "1.2.3", InvalidObject, "not a Query"),
    ],
)
def test_bad_identifiers(
    stocked: Archive, ident: Dataset, sop_class: str, error: type[Exception], words: str
) -> None:
    """A missing unique key or a wrong level fails with a message that says which."""
    with pytest.raises(error, match=words):
        stocked.resolve_retrieve(ident, sop_class)


def test_failures_over_dimse(node: Node) -> None:
    """A wrong level answers A900 with an Error Comment; no level answers C000."""
    node.archive.store_file(corpus_file(SMALL).read_bytes())
    ae = AE(ae_title="RETRIEVER")
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelMove)
    ae.add_requested_context(PatientRootQueryRetrieveInformationModelGet)
    assoc = ae.associate("127.0.0.1", node.dicom_port, ae_title="VESALIUS")
    assert assoc.is_established
    try:
        got = list(
            assoc.send_c_get(
                identifier("IMAGE", StudyInstanceUID=SMALL_STUDY),
                PatientRootQueryRetrieveInformationModelGet,
            )
        )
        assert got[-1][0].Status == 0xA900
        assert "SeriesInstanceUID" in got[-1][0].ErrorComment
        no_level = Dataset()
        no_level.StudyInstanceUID = SMALL_STUDY
        got = list(assoc.send_c_get(no_level, PatientRootQueryRetrieveInformationModelGet))
        assert got[-1][0].Status == 0xC000
    finally:
        assoc.release()
    assert node.archive.jobs.list() == []


def test_move_failure_needs_a_known_destination(node: Node) -> None:
    """An unknown destination is A801 even when the identifier is bad as well."""
    ae = AE(ae_title="RETRIEVER")
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelMove)
    assoc = ae.associate("127.0.0.1", node.dicom_port, ae_title="VESALIUS")
    try:
        got = list(
            assoc.send_c_move(
                identifier("PATIENT"), "NOBODY", StudyRootQueryRetrieveInformationModelMove
            )
        )
    finally:
        assoc.release()
    assert got[-1][0].Status == 0xA801
