"""The HTTP listener starts with the node on its own port and serves the OpenAPI description."""

from __future__ import annotations

import json
import urllib.request

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
