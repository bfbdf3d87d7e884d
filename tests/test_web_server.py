"""The HTTP listener starts with the node on its own port and serves the OpenAPI description."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import httpx

from conftest import make_settings
from vesalius.app import Node


def test_http_listener_serves_openapi(web_node: Node) -> None:
    with urllib.request.urlopen(f"{web_node.base_url}/openapi.json", timeout=10) as answer:
        description = json.load(answer)
    assert answer.status == 200
    assert description["info"]["title"] == "Vesalius"
    assert web_node.http_port != web_node.dicom_port


def test_unknown_path_is_404(web_node: Node) -> None:
    request = urllib.request.Request(f"{web_node.base_url}/no/such/thing")
    try:
        urllib.request.urlopen(request, timeout=10)
    except urllib.error.HTTPError as error:
        assert error.code == 404
    else:
        raise AssertionError("an unknown path answered")


def test_cors_lets_a_configured_origin_in(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path / "data",
        http={"port": 0, "host": "127.0.0.1", "cors_origins": ["https://viewer.example.org"]},
    )
    with Node(settings, http=True) as node:
        preflight = httpx.options(
            f"{node.base_url}/dicomweb/studies",
            headers={
                "Origin": "https://viewer.example.org",
                "Access-Control-Request-Method": "GET",
            },
        )
        other = httpx.get(
            f"{node.base_url}/dicomweb/studies", headers={"Origin": "https://elsewhere.example"}
        )
    assert preflight.headers["access-control-allow-origin"] == "https://viewer.example.org"
    assert "access-control-allow-origin" not in other.headers


def test_no_cors_unless_configured(web_node: Node) -> None:
    answer = httpx.get(
        f"{web_node.base_url}/dicomweb/studies", headers={"Origin": "https://viewer.example.org"}
    )
    assert answer.status_code == 200 and "access-control-allow-origin" not in answer.headers
