"""Who may associate, how many at once, what the A-ASSOCIATE-AC promises, and C-STORE statuses.

The server is a ``Node`` in this process; callers are DCMTK's ``echoscu`` and
pynetdicom SCUs, so every rejection and status is read off the wire.
"""

from __future__ import annotations

import socket
import warnings
from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_file_meta_info
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from pynetdicom import AE, _config
from pynetdicom.association import Association

from conftest import CORPUS, make_settings, run_dcmtk, wait_for
from vesalius.app import Node
from vesalius.archive.archive import Archive
from vesalius.settings import Peer, Settings

VERIFICATION = "1.2.840.10008.1.1"
CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
CT_FILE = "pydicom/test_files/dicomdirtests/77654033/CT2/17106"
PREAMBLE = b"\x00" * 128 + b"DICM"


def policy_settings(data_dir: Path, *peers: Peer, **dicom: object) -> Settings:
    """Test settings with these ``[dicom]`` values and ``[[peers]]`` entries."""
    settings = make_settings(data_dir, dicom=dict(dicom))
    settings.peers = list(peers)
    return settings


@pytest.fixture
def ct_file() -> Path:
    """A small explicit VR little endian CT image of the corpus."""
    path = CORPUS / CT_FILE
    if not path.is_file():
        pytest.skip(f"corpus file {CT_FILE} is missing")
    return path


@pytest.fixture
def chunked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let pynetdicom send files as they are on disk, with the command UIDs of their meta."""
    monkeypatch.setattr(_config, "STORE_SEND_CHUNKED_DATASET", True)


def scu(calling: str = "STORESCU") -> AE:
    """A pynetdicom SCU proposing verification and CT storage in explicit VR little endian."""
    ae = AE(ae_title=calling)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 10
    ae.add_requested_context(VERIFICATION)
    ae.add_requested_context(CT_IMAGE_STORAGE, [ExplicitVRLittleEndian])
    return ae


def associate(node: Node, calling: str = "STORESCU") -> Association:
    """An association with the node (established or not)."""
    return scu(calling).associate("127.0.0.1", node.dicom_port, ae_title="VESALIUS")


@pytest.fixture
def held(node: Node) -> Iterator[Association]:
    """An established association the test keeps open; released at the end."""
    assoc = associate(node)
    assert assoc.is_established
    yield assoc
    if assoc.is_established:
        assoc.release()


def echoscu(port: int, calling: str) -> tuple[int, str]:
    """``echoscu -aet calling``: its exit code and everything it printed."""
    result = run_dcmtk("echoscu", "-aet", calling, "-aec", "VESALIUS", "127.0.0.1", str(port))
    return result.returncode, result.stdout + result.stderr


def rejection(assoc: Association) -> tuple[int, int, int]:
    """(result, source, reason) of the A-ASSOCIATE-RJ an association request got."""
    assert assoc.is_rejected, "the association was not rejected"
    answer = assoc.acceptor.primitive
    return answer.result, answer.result_source, answer.diagnostic


def ct_dataset(path: Path) -> Dataset:
    """A CT of the corpus with fresh UIDs, so that each test stores a new instance."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dataset = pydicom.dcmread(path)
    dataset.SOPInstanceUID = generate_uid()
    dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    return dataset


def meta_bytes(instance_uid: str) -> bytes:
    """Preamble, ``DICM`` and a valid group 0002 for a CT in explicit VR little endian."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CT_IMAGE_STORAGE
    meta.MediaStorageSOPInstanceUID = instance_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    out = DicomBytesIO()
    out.is_little_endian = True
    out.is_implicit_VR = False
    write_file_meta_info(out, meta, enforce_standard=True)
    return PREAMBLE + out.getvalue()


def data_set_bytes(dataset: Dataset) -> bytes:
    """The data set of ``dataset`` encoded in explicit VR little endian, without meta."""
    out = DicomBytesIO()
    out.is_little_endian = True
    out.is_implicit_VR = False
    pydicom.filewriter.write_dataset(out, dataset)
    return out.getvalue()


def store(assoc: Association, what: Dataset | Path) -> Dataset:
    """C-STORE ``what`` and return the response status data set."""
    answer = assoc.send_c_store(what)
    assert "Status" in answer, "no C-STORE response"
    return answer


def assert_still_serving(node: Node, assoc: Association, ct_path: Path) -> None:
    """The same association stores a good instance, and a new one answers C-ECHO."""
    assert assoc.is_established, "the failed C-STORE ended the association"
    assert store(assoc, ct_dataset(ct_path)).Status == 0x0000
    fresh = associate(node)
    assert fresh.is_established
    assert fresh.send_c_echo().Status == 0x0000
    fresh.release()


def stored_instances(node: Node) -> int:
    """How many instances the node's index holds."""
    return node.archive.index.counts()["instances"]


# -- who may associate --------------------------------------------------------


@pytest.fixture
def closed_settings(tmp_path: Path) -> Settings:
    """Only KNOWN (from 127.0.0.1) and FARAWAY (from 127.0.0.2) may call."""
    return policy_settings(
        tmp_path / "data",
        Peer(name="known", ae_title="KNOWN", host="127.0.0.1", port=11113),
        Peer(name="faraway", ae_title="FARAWAY", host="127.0.0.2", port=11113),
        accept_unknown_callers=False,
    )


def test_a_known_caller_is_accepted(closed_settings: Settings) -> None:
    """A calling AE title of a ``[[peers]]`` entry, from its host, associates and echoes."""
    with Node(closed_settings) as node:
        code, output = echoscu(node.dicom_port, "KNOWN")
    assert code == 0, output


def test_an_unknown_caller_is_rejected_permanently(closed_settings: Settings) -> None:
    """An AE title not in ``[[peers]]``: rejected-permanent, service-user, AE not recognised."""
    with Node(closed_settings) as node:
        code, output = echoscu(node.dicom_port, "STRANGER")
        assoc = associate(node, "STRANGER")
    assert code != 0
    assert "Association Rejected" in output
    assert "Rejected Permanent" in output
    assert "Source: Service User" in output
    assert "Calling AE Title Not Recognized" in output
    assert rejection(assoc) == (0x01, 0x01, 0x03)


def test_a_known_title_from_another_host_is_rejected(closed_settings: Settings) -> None:
    """FARAWAY is configured at 127.0.0.2; the same title calling from 127.0.0.1 is refused."""
    with Node(closed_settings) as node:
        code, output = echoscu(node.dicom_port, "FARAWAY")
        assoc = associate(node, "FARAWAY")
    assert code != 0
    assert "Calling AE Title Not Recognized" in output
    assert rejection(assoc) == (0x01, 0x01, 0x03)


def test_unknown_callers_are_accepted_by_default(node: Node) -> None:
    """With the default ``accept_unknown_callers = true`` any calling AE title associates."""
    code, output = echoscu(node.dicom_port, "ANYBODY")
    assert code == 0, output


# -- how many at once ---------------------------------------------------------


def test_association_limit_rejects_transiently_then_recovers(tmp_path: Path) -> None:
    """``max_associations = 1``: a second caller hears local-limit-exceeded until the first ends."""
    settings = policy_settings(tmp_path / "data", max_associations=1)
    with Node(settings) as node:
        first = associate(node)
        assert first.is_established
        second = associate(node)
        code, output = echoscu(node.dicom_port, "ECHOSCU")
        assert rejection(second) == (0x02, 0x03, 0x02)
        assert code != 0
        assert "Rejected Transient" in output
        assert "Source: Service Provider" in output
        assert "Local Limit Exceeded" in output
        first.release()
        wait_for(lambda: node.gate.active == 0)
        third = associate(node)
        assert third.is_established
        assert third.send_c_echo().Status == 0x0000
        third.release()


# -- what the A-ASSOCIATE-AC says, and the accepted socket ------------------------------


@pytest.mark.parametrize("max_pdu", [16384, 65536])
def test_the_acceptor_advertises_the_configured_max_pdu(tmp_path: Path, max_pdu: int) -> None:
    """The Maximum Length sub-item of the A-ASSOCIATE-AC is ``[dicom] max_pdu``."""
    settings = policy_settings(tmp_path / "data", max_pdu=max_pdu)
    with Node(settings) as node:
        assoc = associate(node)
        assert assoc.is_established
        advertised = assoc.acceptor.maximum_length
        assoc.release()
    assert advertised == max_pdu


def test_accepted_sockets_have_tcp_nodelay(node: Node, held: Association) -> None:
    """The server side of an accepted connection has Nagle's algorithm off."""
    server = node.dicom.server
    wait_for(lambda: len(server.active_associations) > 0)
    sock = server.active_associations[0].dul.socket.socket
    assert sock is not None
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


# -- C-STORE statuses -----------------------------------------------------------


def test_uid_mismatch_answers_a900(
    node: Node, held: Association, ct_file: Path, tmp_path: Path, chunked: None
) -> None:
    """A data set whose SOP Instance UID is not the command's is refused with A900."""
    dataset = ct_dataset(ct_file)
    announced = generate_uid()
    path = tmp_path / "mismatch.dcm"
    path.write_bytes(meta_bytes(announced) + data_set_bytes(dataset))
    answer = store(held, path)
    assert answer.Status == 0xA900
    assert str(answer.get("ErrorComment", "")).strip(), "no Error Comment"
    assert node.archive.index.instance(announced) is None
    assert node.archive.index.instance(str(dataset.SOPInstanceUID)) is None
    assert_still_serving(node, held, ct_file)


def test_unparsable_data_set_answers_c000(
    node: Node, held: Association, ct_file: Path, tmp_path: Path, chunked: None
) -> None:
    """Valid meta information followed by garbage is refused with C000 (cannot understand)."""
    uid = generate_uid()
    path = tmp_path / "garbage.dcm"
    path.write_bytes(meta_bytes(uid) + b"\x08\x00\x18\x00UI\xff\x7f" + b"\xa5" * 510)
    answer = store(held, path)
    assert answer.Status == 0xC000
    assert str(answer.get("ErrorComment", "")).strip(), "no Error Comment"
    assert node.archive.index.instance(uid) is None
    assert stored_instances(node) == 0
    assert_still_serving(node, held, ct_file)


def test_free_space_floor_answers_a700_and_writes_nothing(tmp_path: Path, ct_file: Path) -> None:
    """Below ``free_space_floor_mb`` a C-STORE answers A700, and neither blob nor row is left."""
    data = tmp_path / "data"
    settings = policy_settings(data, free_space_floor_mb=10**9)
    dataset = ct_dataset(ct_file)
    with Node(settings) as node:
        assoc = associate(node)
        assert assoc.is_established
        answer = store(assoc, dataset)
        assert answer.Status == 0xA700
        assert str(answer.get("ErrorComment", "")).strip(), "no Error Comment"
        assert assoc.is_established
        assert assoc.send_c_echo().Status == 0x0000
        assoc.release()
        assert stored_instances(node) == 0
    storage = data / "storage"
    leftovers = [p for p in storage.rglob("*") if p.is_file()] if storage.exists() else []
    assert leftovers == [], f"files written despite A700: {leftovers}"
    archive = Archive.open(settings)
    try:
        assert archive.index.instance(str(dataset.SOPInstanceUID)) is None
    finally:
        archive.close()
