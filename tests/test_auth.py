"""Users, roles, sessions and bearer tokens on the HTTP front door, over a real server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import requests
from dicomweb_client.api import DICOMwebClient

from conftest import corpus_file, free_port, make_settings, vesalius
from vesalius.app import Node
from vesalius.archive.users import Users
from vesalius.settings import Settings
from vesalius.web.auth import exposure_refusal, request_kind

pytestmark = pytest.mark.both_databases

MR = "dcm4che/MR-series/MR01.dcm"
ITEM = {"PatientName": "DOE^JOHN", "PatientID": "P1", "Modality": "CT"}


@pytest.fixture
def node_with_users(tmp_path: Path) -> Iterator[tuple[Node, dict[str, str]]]:
    """A node with one user per role; the bearer token of each, by role."""
    settings = make_settings(tmp_path / "data", http={"port": 0, "host": "127.0.0.1"})
    with Node(settings, http=True) as node:
        users = Users(node.archive.index)
        tokens = {}
        for role in ("viewer", "operator", "admin"):
            users.add(role, f"{role}-password", role)
            tokens[role] = users.issue_token(role)
        yield node, tokens


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_requests_are_classified_by_method_and_path() -> None:
    assert request_kind("GET", "/api/studies") == "read"
    assert request_kind("GET", "/dicomweb/studies") == "read"
    assert request_kind("GET", "/wado") == "read"
    assert request_kind("POST", "/api/query") == "read"
    assert request_kind("POST", "/dicomweb/studies") == "write"
    assert request_kind("POST", "/api/studies/1.2/send") == "write"
    assert request_kind("DELETE", "/api/studies/1.2") == "delete"
    assert request_kind("GET", "/api/users") == "admin"
    assert request_kind("GET", "/api/audit") == "admin"
    assert request_kind("GET", "/api/health") is None
    assert request_kind("POST", "/api/session") is None
    assert request_kind("GET", "/index.html") is None
    assert request_kind("GET", "/apiary") is None


def test_without_users_everything_stays_open(web_node: Node) -> None:
    assert httpx.get(f"{web_node.base_url}/api/studies").status_code == 200
    created = httpx.post(f"{web_node.base_url}/api/worklist", json=ITEM)
    assert created.status_code == 201


def _attempt(base: str, kind: str, headers: dict[str, str], admin: dict[str, str]) -> int:
    """Make one request of ``kind`` with ``headers``; the status it got."""
    if kind == "read":
        return httpx.get(f"{base}/dicomweb/studies", headers=headers).status_code
    if kind == "write":
        return httpx.post(f"{base}/api/worklist", json=ITEM, headers=headers).status_code
    if kind == "delete":
        item = httpx.post(f"{base}/api/worklist", json=ITEM, headers=admin).json()
        return httpx.delete(f"{base}/api/worklist/{item['id']}", headers=headers).status_code
    return httpx.get(f"{base}/api/users", headers=headers).status_code


SUCCESS = {"read": 200, "write": 201, "delete": 204, "admin": 200}
MAY = {
    "viewer": {"read"},
    "operator": {"read", "write"},
    "admin": {"read", "write", "delete", "admin"},
}


@pytest.mark.parametrize("kind", ["read", "write", "delete", "admin"])
def test_each_role_on_each_kind_of_endpoint(
    node_with_users: tuple[Node, dict[str, str]], kind: str
) -> None:
    node, tokens = node_with_users
    admin = bearer(tokens["admin"])
    assert _attempt(node.base_url, kind, {}, admin) == 401
    assert _attempt(node.base_url, kind, bearer("not-a-token"), admin) == 401
    for role, token in tokens.items():
        expected = SUCCESS[kind] if kind in MAY[role] else 403
        assert _attempt(node.base_url, kind, bearer(token), admin) == expected, role


def test_health_and_the_viewer_stay_open(node_with_users: tuple[Node, dict[str, str]]) -> None:
    node, _tokens = node_with_users
    assert httpx.get(f"{node.base_url}/api/health").status_code == 200
    assert httpx.get(f"{node.base_url}/").status_code == 200
    refused = httpx.get(f"{node.base_url}/api/studies")
    assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Bearer")


def test_cookie_sessions_need_the_csrf_token(node_with_users: tuple[Node, dict[str, str]]) -> None:
    node, _tokens = node_with_users
    with httpx.Client(base_url=node.base_url) as browser:
        wrong = browser.post("/api/session", json={"name": "operator", "password": "nope-nope"})
        assert wrong.status_code == 401
        login = browser.post(
            "/api/session", json={"name": "operator", "password": "operator-password"}
        )
        assert login.status_code == 200
        cookie = login.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        csrf = login.json()["csrf_token"]
        assert browser.get("/api/studies").status_code == 200
        assert browser.get("/api/session").json()["role"] == "operator"
        assert browser.post("/api/worklist", json=ITEM).status_code == 403
        forged = browser.post("/api/worklist", json=ITEM, headers={"X-CSRF-Token": "x" * 43})
        assert forged.status_code == 403
        made = browser.post("/api/worklist", json=ITEM, headers={"X-CSRF-Token": csrf})
        assert made.status_code == 201
        assert browser.delete("/api/session", headers={"X-CSRF-Token": csrf}).status_code == 204
        browser.cookies.clear()
        assert browser.get("/api/studies").status_code == 401


def test_a_bearer_token_works_with_dicomweb_client(
    node_with_users: tuple[Node, dict[str, str]],
) -> None:
    node, tokens = node_with_users
    stored = httpx.post(
        f"{node.base_url}/dicomweb/studies",
        content=b"",
        headers=bearer(tokens["viewer"]),
    )
    assert stored.status_code == 403
    node.archive.store_file(corpus_file(MR).read_bytes())
    session = requests.Session()
    session.headers.update(bearer(tokens["viewer"]))
    client = DICOMwebClient(f"{node.base_url}/dicomweb", session=session)
    studies = client.search_for_studies()
    assert len(studies) == 1
    anonymous = DICOMwebClient(f"{node.base_url}/dicomweb")
    with pytest.raises(requests.HTTPError) as refused:
        anonymous.search_for_studies()
    assert refused.value.response.status_code == 401


def test_removing_a_user_ends_its_tokens(node_with_users: tuple[Node, dict[str, str]]) -> None:
    node, tokens = node_with_users
    headers = bearer(tokens["viewer"])
    assert httpx.get(f"{node.base_url}/api/studies", headers=headers).status_code == 200
    Users(node.archive.index).remove("viewer")
    assert httpx.get(f"{node.base_url}/api/studies", headers=headers).status_code == 401


def test_user_verbs_add_a_user_and_print_a_working_token(web_node: Node) -> None:
    data_dir = str(web_node.settings.data_dir)
    database = web_node.settings.database.url
    added = vesalius("user", "add", "ana", "--role", "viewer", "--password", "s3cret-pw",
                     "--data-dir", data_dir, database_url=database)  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert httpx.get(f"{web_node.base_url}/api/studies").status_code == 401
    issued = vesalius("user", "token", "ana", "--data-dir", data_dir, database_url=database)
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip()
    assert httpx.get(f"{web_node.base_url}/api/studies", headers=bearer(token)).status_code == 200
    short = vesalius(
        "user", "add", "bob", "--password", "short", "--data-dir", data_dir, database_url=database
    )
    assert short.returncode == 1 and "8 characters" in short.stderr
    removed = vesalius("user", "rm", "ana", "--data-dir", data_dir, database_url=database)
    assert removed.returncode == 0, removed.stderr
    assert httpx.get(f"{web_node.base_url}/api/studies").status_code == 200
    unknown = vesalius("user", "rm", "ana", "--data-dir", data_dir, database_url=database)
    assert unknown.returncode == 1


def test_serve_refuses_an_open_non_loopback_address(tmp_path: Path) -> None:
    refused = vesalius(
        "serve", "--host", "0.0.0.0", "--http-port", str(free_port()),
        "--dicom-port", str(free_port()), "--data-dir", str(tmp_path / "data"),
    )  # fmt: skip
    assert refused.returncode == 1
    assert "allow_anonymous" in refused.stderr


def test_exposure_rules(tmp_path: Path) -> None:
    def settings(host: str, anonymous: bool = False) -> Settings:
        return make_settings(tmp_path, http={"host": host, "allow_anonymous": anonymous})

    assert exposure_refusal(settings("0.0.0.0"), users_exist=False) is not None
    assert exposure_refusal(settings("192.168.1.5"), users_exist=False) is not None
    assert exposure_refusal(settings("0.0.0.0"), users_exist=True) is None
    assert exposure_refusal(settings("0.0.0.0", anonymous=True), users_exist=False) is None
    assert exposure_refusal(settings("127.0.0.1"), users_exist=False) is None
    assert exposure_refusal(settings("::1"), users_exist=False) is None
    assert exposure_refusal(settings("localhost"), users_exist=False) is None
