"""AE policies per peer: the services a calling AE may use and where it may C-MOVE to.

Real associations on loopback: DCMTK's storescu and findscu, and pynetdicom SCUs,
read each refusal off the wire.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from pynetdicom import AE
from pynetdicom.sop_class import (
    CTImageStorage,
    ModalityWorklistInformationFind,
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelMove,
    Verification,
)

from conftest import corpus_file, make_settings, run_dcmtk
from vesalius.app import Node
from vesalius.dimse.policy import NOT_AUTHORIZED, CallerPolicy, refusal, service_of
from vesalius.settings import Peer

CT = "pydicom/test_files/dicomdirtests/77654033/CT2/17106"


def peer(name: str, services: list[str], **extra: object) -> Peer:
    return Peer(
        name=name.lower(),
        ae_title=name,
        host=str(extra.pop("host", "127.0.0.1")),
        port=11113,
        services=services,  # type: ignore[arg-type]
        **extra,  # type: ignore[arg-type]
    )


@pytest.fixture
def policy_node(tmp_path: Path) -> Iterator[Node]:
    """STORER may only store; MOVER may move to DEST1 only; unknown callers may only find."""
    settings = make_settings(tmp_path / "data", dicom={"unknown_caller_services": ["find"]})
    settings.peers = [
        peer("STORER", ["store"]),
        peer("MOVER", ["move"], move_destinations=["DEST1"]),
        peer("DEST1", ["store"]),
        peer("DEST2", ["store"]),
    ]
    with Node(settings) as node:
        yield node


def scu(calling: str) -> AE:
    ae = AE(ae_title=calling)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 10
    for context in (
        Verification,
        CTImageStorage,
        StudyRootQueryRetrieveInformationModelFind,
        StudyRootQueryRetrieveInformationModelMove,
        ModalityWorklistInformationFind,
    ):
        ae.add_requested_context(context)
    return ae


def ct() -> Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dataset = pydicom.dcmread(corpus_file(CT))
    dataset.SOPInstanceUID = generate_uid()
    return dataset


def study_query() -> Dataset:
    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    query.StudyInstanceUID = ""
    return query


def test_services_are_named_by_message_and_sop_class() -> None:
    from pynetdicom.dimse_primitives import C_ECHO, C_FIND, N_ACTION, N_CREATE

    find = C_FIND()
    find.AffectedSOPClassUID = "1.2.840.10008.5.1.4.31"
    assert service_of(find) == "worklist"
    find.AffectedSOPClassUID = "1.2.840.10008.5.1.4.1.2.2.1"
    assert service_of(find) == "find"
    action = N_ACTION()
    action.RequestedSOPClassUID = "1.2.840.10008.1.20.1"
    assert service_of(action) == "commitment"
    create = N_CREATE()
    create.AffectedSOPClassUID = "1.2.840.10008.3.1.2.3.3"
    assert service_of(create) == "mpps"
    assert service_of(C_ECHO()) is None
    assert refusal(CallerPolicy(frozenset({"find"})), create) == NOT_AUTHORIZED
    assert refusal(CallerPolicy(frozenset({"mpps"})), create) is None


def test_a_known_ae_may_use_only_its_services(policy_node: Node) -> None:
    assoc = scu("STORER").associate("127.0.0.1", policy_node.dicom_port, ae_title="VESALIUS")
    assert assoc.is_established
    try:
        assert assoc.send_c_echo().Status == 0x0000
        assert assoc.send_c_store(ct()).Status == 0x0000
        answers = list(assoc.send_c_find(study_query(), StudyRootQueryRetrieveInformationModelFind))
        assert [status.Status for status, _ in answers] == [NOT_AUTHORIZED]
        assert assoc.is_established
    finally:
        assoc.release()
    assert policy_node.archive.index.counts()["instances"] == 1


def test_unknown_callers_get_the_unknown_caller_services(policy_node: Node) -> None:
    policy_node.archive.store_file(corpus_file(CT).read_bytes())
    assoc = scu("STRANGER").associate("127.0.0.1", policy_node.dicom_port, ae_title="VESALIUS")
    assert assoc.is_established
    try:
        assert assoc.send_c_store(ct()).Status == NOT_AUTHORIZED
        answers = list(assoc.send_c_find(study_query(), StudyRootQueryRetrieveInformationModelFind))
        assert [status.Status for status, _ in answers] == [0xFF00, 0x0000]
        item = Dataset()
        item.PatientName = ""
        worklist = list(assoc.send_c_find(item, ModalityWorklistInformationFind))
        assert [status.Status for status, _ in worklist] == [NOT_AUTHORIZED]
    finally:
        assoc.release()
    assert policy_node.archive.index.counts()["instances"] == 1


def test_c_move_only_to_the_callers_destinations(policy_node: Node) -> None:
    assoc = scu("MOVER").associate("127.0.0.1", policy_node.dicom_port, ae_title="VESALIUS")
    assert assoc.is_established
    model = StudyRootQueryRetrieveInformationModelMove
    try:
        query = study_query()
        query.StudyInstanceUID = "1.2.3.4"
        elsewhere = list(assoc.send_c_move(query, "DEST2", model))
        assert [status.Status for status, _ in elsewhere] == [0xA801]
        allowed = list(assoc.send_c_move(query, "DEST1", model))
        assert [status.Status for status, _ in allowed] == [0x0000]
        unknown = list(assoc.send_c_move(query, "NOWHERE", model))
        assert [status.Status for status, _ in unknown] == [0xA801]
    finally:
        assoc.release()


def test_dcmtk_storescu_of_a_find_only_caller_is_refused(policy_node: Node) -> None:
    refused = run_dcmtk(
        "storescu", "-v", "-aet", "STRANGER", "-aec", "VESALIUS",
        "127.0.0.1", str(policy_node.dicom_port), str(corpus_file(CT)),
    )  # fmt: skip
    assert refused.returncode != 0
    assert "Status: 0x124" in refused.stdout + refused.stderr
    assert policy_node.archive.index.counts()["instances"] == 0
    allowed = run_dcmtk(
        "storescu", "-aet", "STORER", "-aec", "VESALIUS",
        "127.0.0.1", str(policy_node.dicom_port), str(corpus_file(CT)),
    )  # fmt: skip
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert policy_node.archive.index.counts()["instances"] == 1


def test_an_unknown_ae_is_rejected_when_only_peers_may_call(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", dicom={"accept_unknown_callers": False})
    settings.peers = [
        peer("ANYWHERE", ["find"], host="192.0.2.1", check_address=False),
        peer("PINNED", ["find"], host="192.0.2.1"),
    ]
    with Node(settings) as node:
        port = str(node.dicom_port)
        stranger = run_dcmtk("echoscu", "-aet", "STRANGER", "-aec", "VESALIUS", "127.0.0.1", port)
        assert stranger.returncode != 0
        assert "Calling AE Title Not Recognized" in stranger.stdout + stranger.stderr
        pinned = run_dcmtk("echoscu", "-aet", "PINNED", "-aec", "VESALIUS", "127.0.0.1", port)
        assert pinned.returncode != 0
        anywhere = run_dcmtk("echoscu", "-aet", "ANYWHERE", "-aec", "VESALIUS", "127.0.0.1", port)
        assert anywhere.returncode == 0, anywhere.stdout + anywhere.stderr
