"""The conformance statement says what the AE negotiates, no more and no less.

The proof proposes presentation contexts with plain pynetdicom (not with the
project's AE builder) to a running node: every SOP class and transfer syntax
pair the statement lists as accepted is accepted, and pairs it does not list
are rejected.
"""

from __future__ import annotations

import json
from importlib import resources
from itertools import islice
from pathlib import Path

import httpx
import jsonschema
import pytest
from pydicom.uid import AllTransferSyntaxes
from pynetdicom import AE, build_context
from pynetdicom.presentation import PresentationContext

from conftest import make_settings, vesalius
from vesalius.app import Node
from vesalius.conformance.render import SECTIONS

MAX_CONTEXTS = 127
MADE_UP_SYNTAX = "1.2.3.4.5.6.7"
VERIFICATION = "1.2.840.10008.1.1"
IMPLICIT_VR_LE = "1.2.840.10008.1.2"
UNLISTED_CLASSES = ("1.2.840.10008.5.1.4.1.1.9999", "1.2.3.4.5.6.7.8")


def statement_json(node: Node) -> dict:
    answer = httpx.get(f"{node.base_url}/api/conformance", params={"format": "json"})
    assert answer.status_code == 200
    return answer.json()


def negotiate(node: Node, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], bool]:
    """Propose each (SOP class, transfer syntax) pair in its own context; which were accepted."""
    outcome: dict[tuple[str, str], bool] = {}
    pairs_iter = iter(pairs)
    while batch := list(islice(pairs_iter, MAX_CONTEXTS)):
        ae = AE(ae_title="PROBE")
        # An anchor the node accepts, so that an all-refused batch still associates.
        contexts: list[PresentationContext] = [build_context(VERIFICATION, [IMPLICIT_VR_LE])]
        for sop_class, syntax in batch:
            contexts.append(build_context(sop_class, [syntax]))
        assoc = ae.associate(
            "127.0.0.1", node.dicom_port, contexts=contexts, ae_title=node.settings.dicom.ae_title
        )
        assert assoc.is_established, "the node refused the whole association"
        try:
            accepted = {
                (str(cx.abstract_syntax), str(cx.transfer_syntax[0]))
                for cx in assoc.accepted_contexts
            }
        finally:
            assoc.release()
        for pair in batch:
            outcome[pair] = pair in accepted
    return outcome


def test_every_listed_pair_is_accepted_and_unlisted_ones_refused(web_node: Node) -> None:
    statement = statement_json(web_node)
    listed = [
        (row["uid"], syntax)
        for row in statement["sop_classes"]
        for syntax in row["accepted_transfer_syntaxes"]
    ]
    assert len(listed) > 1000  # every storage class times its syntaxes, and the rest
    outcome = negotiate(web_node, listed)
    refused = [pair for pair, ok in outcome.items() if not ok]
    assert refused == []
    listed_set = set(listed)
    classes = sorted({uid for uid, _ in listed})
    candidates = [*AllTransferSyntaxes, MADE_UP_SYNTAX]
    unlisted = [(uid, str(ts)) for uid in classes[::5] for ts in candidates]
    unlisted += [(uid, "1.2.840.10008.1.2.1") for uid in UNLISTED_CLASSES]
    unlisted = [pair for pair in unlisted if pair not in listed_set]
    assert len(unlisted) > 100
    outcome = negotiate(web_node, unlisted)
    assert [pair for pair, ok in outcome.items() if ok] == []


def test_json_form_validates_against_the_schema(web_node: Node) -> None:
    schema = json.loads(
        resources.files("vesalius.conformance").joinpath("schema.json").read_text("utf-8")
    )
    statement = statement_json(web_node)
    jsonschema.validate(statement, schema)
    assert statement["application_entity"]["ae_title"] == web_node.settings.dicom.ae_title
    broken = {**statement, "sop_classes": [{"uid": "not a uid"}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_markdown_and_html_carry_every_section_of_the_template(web_node: Node) -> None:
    markdown = httpx.get(f"{web_node.base_url}/api/conformance", params={"format": "md"}).text
    page = httpx.get(f"{web_node.base_url}/api/conformance").text
    headings = [line.lstrip("#").strip() for line in markdown.splitlines() if line.startswith("#")]
    for section in SECTIONS:
        assert section in headings
        assert section in page
    assert "Storage Commitment Push Model SOP Class" in markdown
    assert page.startswith("<!doctype html>")


def test_the_statement_follows_the_configuration(tmp_path: Path) -> None:
    plain = vesalius("conformance", "--format", "json", "--data-dir", str(tmp_path / "a"))
    config = tmp_path / "vesalius.toml"
    config.write_text(
        '[dicom]\nae_title = "OTHERAE"\naccept_unknown_callers = false\n'
        "[dicom.tls]\nenabled = true\nport = 2799\n"
    )
    changed = vesalius(
        "conformance", "--format", "json", "--config", str(config), "--data-dir", str(tmp_path)
    )
    assert plain.returncode == 0 and changed.returncode == 0, plain.stderr + changed.stderr
    before, after = json.loads(plain.stdout), json.loads(changed.stdout)
    assert before["network"]["tls"] is False and after["network"]["tls_port"] == 2799
    assert after["application_entity"]["ae_title"] == "OTHERAE"
    assert after["security"]["association_policy"] == "only the AE titles of [[peers]]"


def test_bad_format_is_refused(tmp_path: Path) -> None:
    done = vesalius("conformance", "--format", "pdf", "--data-dir", str(tmp_path))
    assert done.returncode == 1 and "--format" in done.stderr
    with Node(make_settings(tmp_path / "d", http={"port": 0}), http=True) as node:
        answer = httpx.get(f"{node.base_url}/api/conformance", params={"format": "pdf"})
    assert answer.status_code == 400
