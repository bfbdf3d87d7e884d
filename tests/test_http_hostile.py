"""Hostile input on the HTTP front door: the OpenAPI schema fuzzed, traversal, injection, bad STOW.

Schemathesis generates requests for every operation of the app's own OpenAPI
schema (a bounded, derandomized number per operation) and checks that none
answers a server error. The explicit cases plant a file outside the data
folder and try to read it through every path parameter, WADO-URI and the
static files; put SQL and ``<script>`` into QIDO-RS and listing queries; and
check that a refused STOW-RS stores nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from starlette.testclient import TestClient

from conftest import corpus_file, make_settings, read
from vesalius.archive.archive import Archive
from vesalius.archive.users import Users
from vesalius.dimse.remote import DimseRemoteAEs
from vesalius.web.app import create_app

MAX_EXAMPLES = 15
SHARDS = 4
SECRET = "VESALIUS-HOSTILE-SECRET-7f3a"
FILES = ("dcm4che/MR-series/MR01.dcm", "dcm4che/MR-series/MR02.dcm")
ADMIN = "hostile-admin"


class Site:
    """An app over an archive on disk holding two instances, a secret planted beside it."""

    def __init__(self, root: Path) -> None:
        self.secret = root / "secret.txt"
        self.secret.write_text(SECRET)
        self.settings = make_settings(root / "data")
        self.archive = Archive.open(self.settings)
        self.uids: dict[str, str] = {}
        for relative in FILES:
            path = corpus_file(relative)
            self.archive.store_file(path.read_bytes())
            stored = read(path)
            self.uids = {
                "study": stored.StudyInstanceUID,
                "series": stored.SeriesInstanceUID,
                "instance": stored.SOPInstanceUID,
            }
        users = Users(self.archive.index)
        users.add(ADMIN, "hostile-password-1", "admin")
        self.headers = {"Authorization": f"Bearer {users.issue_token(ADMIN)}"}
        remote = DimseRemoteAEs(self.archive, self.settings)  # no peers: each name is unknown
        self.app: FastAPI = create_app(self.archive, self.settings, remote=remote)
        self.client = TestClient(self.app, headers=self.headers, raise_server_exceptions=False)

    def counts(self) -> dict[str, int]:
        return dict(self.archive.index.counts())


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    built = Site(tmp_path)
    yield built
    built.client.close()
    built.archive.close()


# --- schemathesis over the whole schema -------------------------------------------------


@pytest.mark.parametrize("shard", range(SHARDS))
def test_no_operation_answers_a_server_error(site: Site, shard: int) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", site.app)
    operations = sorted(
        (result.ok() for result in schema.get_all_operations()), key=lambda op: op.label
    )
    mine = [op for index, op in enumerate(operations) if index % SHARDS == shard]
    assert mine
    failures: list[str] = []
    for operation in mine:
        tried = _fuzz_operation(operation, site.headers)
        failures += [f"{operation.label}: {failure}" for failure in tried]
    assert not failures, "\n".join(failures)


def _fuzz_operation(operation: Any, headers: dict[str, str]) -> list[str]:
    failures: list[str] = []

    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(operation.as_strategy())
    def run(case: Any) -> None:
        try:  # an exception the app lets out comes back from call(): a server error too
            response = case.call(headers=headers)
            case.validate_response(response, checks=[not_a_server_error])
        except Exception as failure:  # collect them all, one line each
            first = str(failure).strip().splitlines()[0] if str(failure).strip() else ""
            failures.append(
                f"{case.method} {case.formatted_path} {case.query}: "
                f"{type(failure).__name__} {first}"
            )

    run()
    return failures


HUGE = str(2**64 + 1)
OVERFLOWS = (
    f"/api/jobs?offset={HUGE}",
    f"/api/jobs/{HUGE}",
    f"/api/jobs/{HUGE}/cancel",
    f"/api/export/{HUGE}/download",
    f"/api/worklist/{HUGE}",
    f"/api/worklist?offset={HUGE}",
    f"/api/studies?offset={HUGE}",
    f"/api/patients?offset={HUGE}",
    f"/api/print-jobs?offset={HUGE}",
    f"/api/audit?offset={HUGE}",
    f"/dicomweb/studies?offset={HUGE}",
    f"/dicomweb/instances?limit={HUGE}",
)


@pytest.mark.parametrize("path", OVERFLOWS)
def test_numbers_past_64_bits_are_refused_not_failed(site: Site, path: str) -> None:
    # Found by the schema run: ids and offsets past 2**63 raised OverflowError in SQLite (500).
    method = "POST" if path.endswith("/cancel") else "GET"
    response = site.client.request(method, path)
    assert response.status_code in (200, 400, 404), (path, response.text[:200])
    if response.status_code == 400:
        assert "error" in response.json()


# --- path traversal ---------------------------------------------------------------------

TRAVERSALS = (
    "../../secret.txt",
    "..%2F..%2Fsecret.txt",
    "%2e%2e%2f%2e%2e%2fsecret.txt",
    "%252e%252e%252fsecret.txt",
    "..\\..\\secret.txt",
    "....//....//secret.txt",
)


def _traversals(site: Site) -> list[str]:
    absolute = str(site.secret)
    return [*TRAVERSALS, absolute, absolute.replace("/", "%2F"), "../" * 12 + "etc/passwd"]


def _leaks(body: bytes) -> bool:
    return SECRET.encode() in body or b"root:x:0:0" in body


def test_traversal_in_path_parameters_reads_nothing_outside(site: Site) -> None:
    templates = [
        (method.upper(), path)
        for path, item in site.app.openapi()["paths"].items()
        for method in item
        if "{" in path and method.lower() in ("get", "post")
    ]
    assert len(templates) > 30
    tried = 0
    for method, template in templates:
        for payload in _traversals(site):
            names = re.findall(r"{(\w+)}", template)
            for target in names:
                path = template
                for name in names:
                    value = payload if name == target else site.uids.get(name, "1")
                    path = path.replace("{" + name + "}", value)
                response = site.client.request(method, path)
                tried += 1
                assert response.status_code < 500, (method, path, response.text[:200])
                assert not _leaks(response.content), (method, path)
    assert tried > 200


def test_traversal_in_wado_uri_and_static_files_reads_nothing_outside(site: Site) -> None:
    for payload in _traversals(site):
        for parameter in ("studyUID", "seriesUID", "objectUID"):
            params = {"requestType": "WADO", **_wado_uids(site), parameter: payload}
            for content_type in ("application/dicom", "image/jpeg", ""):
                sent = {**params, "contentType": content_type} if content_type else params
                response = site.client.get("/wado", params=sent)
                assert response.status_code < 500, (sent, response.text[:200])
                assert not _leaks(response.content), sent
        for prefix in ("/", "/viewer/", "/static/", "/dicomweb/", "/api/"):
            response = site.client.get(prefix + payload)
            assert response.status_code < 500, (prefix, payload)
            assert not _leaks(response.content), (prefix, payload)


def test_raw_dot_segments_reach_no_file_outside(site: Site) -> None:
    # httpx folds "../" away in URLs it builds; a raw path reaches the app as sent.
    for raw in (
        b"/../secret.txt",
        b"/../../secret.txt",
        b"/%2e%2e/secret.txt",
        b"/..%2fsecret.txt",
    ):
        request = site.client.build_request("GET", "http://testserver/")
        request.url = request.url.copy_with(raw_path=raw)
        response = site.client.send(request)
        assert response.status_code < 500, raw
        assert not _leaks(response.content), raw


def _wado_uids(site: Site) -> dict[str, str]:
    return {
        "studyUID": site.uids["study"],
        "seriesUID": site.uids["series"],
        "objectUID": site.uids["instance"],
    }


# --- injection in query parameters -------------------------------------------------------

INJECTIONS = (
    "' OR '1'='1",
    "'; DROP TABLE studies; --",
    '" OR ""="',
    "1) OR (1=1",
    "%' OR 1=1 --",
    "\\' UNION SELECT * FROM users --",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
)
QUERY_KEYS = ("PatientName", "PatientID", "AccessionNumber", "StudyDescription", "Modality")


@pytest.mark.parametrize(
    "path", ["/dicomweb/studies", "/dicomweb/series", "/dicomweb/instances", "/api/studies"]
)
def test_injection_in_queries_neither_errs_nor_matches_nor_reflects(site: Site, path: str) -> None:
    before = site.counts()
    for payload in INJECTIONS:
        for key in (*QUERY_KEYS, "limit", "offset", "sort", "includefield", "orderby"):
            response = site.client.get(path, params={key: payload})
            assert response.status_code < 500, (path, key, payload, response.text[:200])
            if response.status_code == 200 and key in QUERY_KEYS:
                assert _matches(response.json()) == 0, (path, key, payload)
            _not_reflected_as_html(response, payload)
    assert site.counts() == before


def test_injection_in_worklist_and_audit_filters(site: Site) -> None:
    for payload in INJECTIONS:
        for path, key in (
            ("/api/worklist", "PatientName"),
            ("/api/worklist", "date"),
            ("/api/audit", "event"),
            ("/api/audit", "since"),
            ("/api/jobs", "state"),
        ):
            response = site.client.get(path, params={key: payload})
            assert response.status_code < 500, (path, key, payload, response.text[:200])
            _not_reflected_as_html(response, payload)


def _matches(body: Any) -> int:
    if isinstance(body, dict):
        for key in ("items", "studies", "results"):
            if isinstance(body.get(key), list):
                return len(body[key])
        return 0
    return len(body)


def _not_reflected_as_html(response: Any, payload: str) -> None:
    if "html" in response.headers.get("content-type", ""):
        assert "<script>" not in response.text and "<img" not in response.text, payload


# --- refused STOW-RS stores nothing ------------------------------------------------------

BOUNDARY = "hostile-boundary"


def _multipart(*parts: tuple[str, bytes]) -> bytes:
    body = b""
    for content_type, data in parts:
        body += f"--{BOUNDARY}\r\nContent-Type: {content_type}\r\n\r\n".encode() + data + b"\r\n"
    return body + f"--{BOUNDARY}--\r\n".encode()


def test_refused_stow_stores_nothing(site: Site) -> None:
    real = corpus_file("dcm4che/MR-series/MR03.dcm").read_bytes()
    stow = f'multipart/related; type="application/dicom"; boundary={BOUNDARY}'
    cases: list[tuple[str, str, bytes]] = [
        ("/dicomweb/studies", stow, _multipart(("application/dicom", b"DICM" + b"\xff" * 300))),
        ("/dicomweb/studies", stow, _multipart(("application/dicom", real[: len(real) // 3]))),
        ("/dicomweb/studies", stow, b"--" + BOUNDARY.encode() + b"\r\nno end"),
        ("/dicomweb/studies", "multipart/related; boundary=", b"--\r\n"),
        ("/dicomweb/studies", "application/dicom", real[:200]),
        ("/dicomweb/studies", "text/html", b"<script>alert(1)</script>"),
        ("/dicomweb/studies/1.2.3.4.5.6", stow, _multipart(("application/dicom", real))),
        ("/dicomweb/studies/..%2F..%2Fsecret", stow, _multipart(("application/dicom", real))),
    ]
    before = site.counts()
    for path, content_type, body in cases:
        response = site.client.post(path, content=body, headers={"Content-Type": content_type})
        assert response.status_code < 500, (path, content_type, response.text[:200])
        assert response.status_code != 200 or b"00081198" in response.content
        _not_reflected_as_html(response, "<script>")
        assert site.counts() == before, (path, content_type, response.status_code)
