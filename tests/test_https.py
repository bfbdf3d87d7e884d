"""HTTPS: the web server with a certificate from the configuration."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conftest import make_settings
from pki_support import Pki, make_pki
from vesalius.app import Node


@pytest.fixture
def https_node(tmp_path: Path) -> Iterator[tuple[Node, Pki]]:
    pki = make_pki(tmp_path / "pki")
    http = {"port": 0, "host": "127.0.0.1",
            "tls_cert": str(pki.server.cert), "tls_key": str(pki.server.key)}  # fmt: skip
    with Node(make_settings(tmp_path / "data", http=http), http=True) as node:
        yield node, pki


def test_the_web_server_speaks_https_with_the_configured_certificate(
    https_node: tuple[Node, Pki],
) -> None:
    node, pki = https_node
    assert node.base_url.startswith("https://")
    answer = httpx.get(f"{node.base_url}/dicomweb/studies", verify=ssl.create_default_context(
        cafile=str(pki.ca)))  # fmt: skip
    assert answer.status_code == 200
    assert answer.json() == []
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{node.http_port}/dicomweb/studies", timeout=5)
    with pytest.raises(httpx.ConnectError):  # a certificate from another CA is not trusted
        httpx.get(f"{node.base_url}/dicomweb/studies", verify=ssl.create_default_context(
            cafile=str(pki.stranger.cert)))  # fmt: skip
