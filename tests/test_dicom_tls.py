"""DICOM over TLS: DCMTK's echoscu and storescu against the TLS port, our SCU against
DCMTK's storescp, and what a caller without the right credentials gets."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pydicom import dcmread
from pynetdicom import AE
from pynetdicom.sop_class import Verification

from conftest import (
    corpus_file,
    dcmtk_server,
    free_port,
    make_settings,
    run_dcmtk,
    vesalius,
    wait_for,
)
from pki_support import Pki, make_pki
from test_move_get import move
from vesalius.app import Node
from vesalius.conformance.statement import build_statement
from vesalius.dimse.server import offered_contexts
from vesalius.settings import load_settings

MR = "dcm4che/MR-series/MR01.dcm"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def tls_node(tmp_path: Path, pki: Pki) -> Iterator[Node]:
    """A node with its TLS listener on a free port; client certificates required."""
    tls = {"enabled": True, "port": 0, "cert": str(pki.server.cert),
           "key": str(pki.server.key), "ca": str(pki.ca)}  # fmt: skip
    with Node(make_settings(tmp_path / "data", dicom={"tls": tls})) as node:
        yield node


def dcmtk_tls(pki: Pki, client: str = "client") -> list[str]:
    credentials = getattr(pki, client)
    return ["+tls", str(credentials.key), str(credentials.cert), "+cf", str(pki.ca)]


def test_dcmtk_echo_and_store_over_tls(
    tls_node: Node, pki: Pki, tool: Callable[[str], str]
) -> None:
    tool("echoscu")
    port = str(tls_node.dicom_tls_port)
    echoed = run_dcmtk("echoscu", *dcmtk_tls(pki), "-aec", "VESALIUS", "127.0.0.1", port)
    assert echoed.returncode == 0, echoed.stderr
    stored = run_dcmtk(
        "storescu", *dcmtk_tls(pki), "-aec", "VESALIUS", "127.0.0.1", port, str(corpus_file(MR))
    )
    assert stored.returncode == 0, stored.stderr
    assert tls_node.archive.index.counts()["instances"] == 1


def test_a_plain_association_to_the_tls_port_fails_cleanly(tls_node: Node, pki: Pki) -> None:
    ae = AE(ae_title="PLAIN")
    ae.add_requested_context(Verification)
    ae.acse_timeout = 5
    assoc = ae.associate("127.0.0.1", tls_node.dicom_tls_port, ae_title="VESALIUS")
    assert not assoc.is_established
    # ...and the listener goes on: the plain port, and TLS with good credentials
    assert vesalius(
        "echo", "127.0.0.1", str(tls_node.dicom_tls_port), "--aec", "VESALIUS", "--tls",
        "--tls-ca", str(pki.ca), "--tls-cert", str(pki.client.cert),
        "--tls-key", str(pki.client.key),
    ).returncode == 0  # fmt: skip
    plain = vesalius("echo", "127.0.0.1", str(tls_node.dicom_port), "--aec", "VESALIUS")
    assert plain.returncode == 0, plain.stderr


def test_callers_without_a_trusted_certificate_are_refused(
    tls_node: Node, pki: Pki, tool: Callable[[str], str]
) -> None:
    tool("echoscu")
    port = str(tls_node.dicom_tls_port)
    stranger = run_dcmtk(
        "echoscu", *dcmtk_tls(pki, "stranger"), "-aec", "VESALIUS", "127.0.0.1", port
    )
    assert stranger.returncode != 0
    anonymous = vesalius("echo", "127.0.0.1", port, "--aec", "VESALIUS", "--tls",
                         "--tls-ca", str(pki.ca))  # fmt: skip
    assert anonymous.returncode != 0
    untrusted_server = vesalius(
        "echo", "127.0.0.1", port, "--aec", "VESALIUS", "--tls", "--tls-ca",
        str(pki.stranger.cert), "--tls-cert", str(pki.client.cert),
        "--tls-key", str(pki.client.key),
    )  # fmt: skip
    assert untrusted_server.returncode != 0
    assert tls_node.archive.index.counts()["instances"] == 0


def test_vesalius_send_over_tls_to_dcmtk_storescp(
    tmp_path: Path, pki: Pki, tool: Callable[[str], str]
) -> None:
    tool("storescp")
    port, received = free_port(), tmp_path / "received"
    received.mkdir()
    with dcmtk_server(
        port, tmp_path / "storescp.log", "storescp", "+tls", str(pki.server.key),
        str(pki.server.cert), "+cf", str(pki.ca), "-od", str(received), str(port),
    ):  # fmt: skip
        sent = vesalius(
            "send", "127.0.0.1", str(port), str(corpus_file(MR)), "--aec", "STORESCP",
            "--tls", "--tls-ca", str(pki.ca), "--tls-cert", str(pki.client.cert),
            "--tls-key", str(pki.client.key), "--data-dir", str(tmp_path / "data"),
        )  # fmt: skip
        assert sent.returncode == 0, sent.stderr
        wait_for(lambda: len(list(received.iterdir())) == 1, timeout=10)


def test_c_move_to_a_peer_marked_tls_goes_over_tls(
    tmp_path: Path, pki: Pki, tool: Callable[[str], str]
) -> None:
    tool("storescp")
    port, received = free_port(), tmp_path / "received"
    received.mkdir()
    own = {"cert": str(pki.client.cert), "key": str(pki.client.key), "ca": str(pki.ca)}
    settings = load_settings(Path(os.devnull), {
        "storage": {"data_dir": str(tmp_path / "data")},
        "dicom": {"port": 0, "host": "127.0.0.1", "free_space_floor_mb": 0, "workers": 1,
                  "tls": own},
        "peers": [{"name": "dest", "ae_title": "DEST", "host": "127.0.0.1", "port": port,
                   "tls": True}],
    })  # fmt: skip
    with (
        Node(settings) as node,
        dcmtk_server(
            port,
            tmp_path / "storescp.log",
            "storescp",
            "+tls",
            str(pki.server.key),
            str(pki.server.cert),
            "+cf",
            str(pki.ca),
            "-od",
            str(received),
            str(port),
        ),  # fmt: skip
    ):
        node.archive.store_file(corpus_file(MR).read_bytes())
        answers = move(node, "DEST", [str(dcmread(corpus_file(MR)).StudyInstanceUID)])
        assert answers[-1][0].Status == 0x0000
        wait_for(lambda: len(list(received.iterdir())) == 1, timeout=10)


def test_the_conformance_statement_names_the_tls_profile(tmp_path: Path, pki: Pki) -> None:
    tls = {"enabled": True, "port": 2762, "cert": str(pki.server.cert),
           "key": str(pki.server.key), "ca": str(pki.ca)}  # fmt: skip
    settings = make_settings(tmp_path / "data", dicom={"tls": tls})
    statement = build_statement(settings, offered_contexts(settings))
    assert statement.network["tls_port"] == 2762
    assert statement.security["client_certificates_required"] is True
    assert "BCP 195 non-downgrading" in statement.security["tls_profile"]
