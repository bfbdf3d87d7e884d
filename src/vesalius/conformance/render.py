"""The statement rendered in the layout of PS3.2 Annex A, as Markdown, HTML or JSON.

Both text formats come from one list of blocks (headings, paragraphs, lists,
tables), so they say the same thing; every value is escaped for its format.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from dataclasses import dataclass

from vesalius.conformance.statement import SopClassRow, Statement

FORMATS = ("md", "html", "json")

SECTIONS = (
    "1 Conformance Statement Overview",
    "2 Table of Contents",
    "3 Introduction",
    "4 Networking",
    "4.1 Implementation Model",
    "4.2 AE Specifications",
    "4.3 Network Interfaces",
    "4.4 Configuration",
    "5 Media Interchange",
    "6 Support of Character Sets",
    "7 Security",
    "8 Annexes",
)
"""The headings of the PS3.2 Annex A template, all of which the document carries."""


@dataclass(frozen=True)
class Block:
    """A heading (``level``), paragraph, bullet list or table of the document."""

    kind: str
    text: str = ""
    level: int = 0
    items: tuple[str, ...] = ()
    header: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()


def _h(level: int, text: str) -> Block:
    return Block("heading", text, level)


def _p(text: str) -> Block:
    return Block("paragraph", text)


def _list(*items: str) -> Block:
    return Block("list", items=items)


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> Block:
    return Block("table", header=header, rows=tuple(rows))


def _yes(flag: bool) -> str:
    return "Yes" if flag else "No"


def blocks(statement: Statement) -> Iterator[Block]:
    """The document, block by block."""
    product = statement.product
    ae = statement.application_entity
    net = statement.network
    yield _h(1, f"DICOM Conformance Statement: {product['name']} {product['version']}")
    yield _h(2, SECTIONS[0])
    yield _p(
        f"{product['name']} is a DICOM archive: it stores what modalities and workstations send, "
        "answers their queries and retrievals, and commits to keeping what it holds. It also "
        "sends, queries and retrieves as a client. This statement is generated from the "
        "running configuration and the presentation contexts its Application Entity accepts."
    )
    yield _table(
        ("SOP Class", "UID", "User of Service (SCU)", "Provider of Service (SCP)"),
        [(r.name, r.uid, _yes(r.scu), _yes(r.scp)) for r in statement.sop_classes],
    )
    yield _h(2, SECTIONS[1])
    yield _list(*SECTIONS)
    yield _h(2, SECTIONS[2])
    yield _p(
        "Audience: integrators and buyers comparing this archive with other DICOM systems. "
        "Terms follow PS3.2 and PS3.7. References: DICOM PS3.2, PS3.4, PS3.7, PS3.8, PS3.10, "
        "PS3.15, PS3.18."
    )
    yield _h(2, SECTIONS[3])
    yield _h(3, SECTIONS[4])
    yield _p(
        f"One Application Entity, {ae['ae_title']}, listens on TCP port {net['port']} and "
        "serves every DIMSE service below on it. Received objects are written to disk and "
        "indexed before success is answered; queries are answered from the index; retrievals "
        "stream the stored files."
    )
    yield _h(3, SECTIONS[5])
    yield _p("SOP classes, with the transfer syntaxes accepted and proposed for each:")
    yield _table(
        (
            "SOP Class",
            "Role",
            "Accepted transfer syntaxes",
            "Proposed as SCU",
            "Extended negotiation",
        ),
        [_sop_row(r) for r in statement.sop_classes],
    )
    yield _p("Association policies:")
    yield _list(
        "Application Context Name: 1.2.840.10008.3.1.1.1",
        f"Maximum PDU size received: {ae['max_pdu_received']} bytes",
        f"Simultaneous associations accepted: {ae['max_associations']}",
        "Asynchronous operations: not supported (window 1/1)",
        f"Implementation Class UID: {product['implementation_class_uid']}",
        f"Implementation Version Name: {product['implementation_version_name']}",
        "Association acceptance: "
        + ("any calling AE title" if ae["accept_unknown_callers"] else "only configured peers"),
        "Association initiation: for send, C-MOVE sub-operations, retrieve, storage "
        "commitment reports and queries, toward configured peers",
        f"Duplicate SOP Instance UID: {ae['duplicate_policy']}",
        f"C-FIND answers at most {ae['max_query_results']} matches (0: no limit)",
    )
    yield _h(3, SECTIONS[6])
    yield _list(
        f"Protocol: {net['protocol']}",
        f"Listening on {net['host']}:{net['port']}",
        "TLS: " + (f"on port {net['tls_port']}" if net["tls"] else "not enabled"),
        *(f"{w['service']} ({w['standard']}) at {w['path']}" for w in statement.web_services),
        *(
            f"{o['interface']} on port {o['port']}: {o['messages']}"
            for o in statement.other_interfaces
        ),
    )
    yield _h(3, SECTIONS[7])
    yield _table(
        ("Application Entity", "AE Title", "TCP port"),
        [("archive", ae["ae_title"], str(net["port"]))]
        + [("known peer", peer, "as configured") for peer in ae["known_peers"]],
    )
    yield _p(
        "Every parameter is set in vesalius.toml or VESALIUS_* variables (docs/configuration.md)."
    )
    yield _h(2, SECTIONS[8])
    if statement.media:
        yield _table(
            ("Media Storage Application Profile", "Write", "Read"),
            [(m["profile"], m.get("write", ""), m.get("read", "")) for m in statement.media],
        )
    else:
        yield _p("No media storage application profile is supported.")
    yield _h(2, SECTIONS[9])
    yield _list(*statement.character_sets)
    yield _h(2, SECTIONS[10])
    security = statement.security
    yield _list(
        "TLS: " + ("enabled" if security["tls"] else "not enabled"),
        "Client certificates required: " + _yes(security["client_certificates_required"]),
        f"TLS profile: {security.get('tls_profile') or 'none'}",
        "HTTPS: " + _yes(security.get("https", False)),
        f"Association policy: {security['association_policy']}",
        f"Audit trail: {security.get('audit_trail', 'off')}",
    )
    yield _h(2, SECTIONS[11])
    yield _p("Transfer syntaxes named above:")
    yield _table(
        ("UID", "Name"), sorted((uid, name) for uid, name in statement.transfer_syntaxes.items())
    )
    yield _p("No private SOP classes, private transfer syntaxes or private attributes are defined.")


def _sop_row(row: SopClassRow) -> tuple[str, ...]:
    role = "/".join(r for r, on in (("SCU", row.scu), ("SCP", row.scp)) if on)
    return (
        f"{row.name} ({row.uid})",
        role,
        ", ".join(row.accepted_transfer_syntaxes),
        ", ".join(row.proposed_transfer_syntaxes) or "-",
        row.role_selection,
    )


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(statement: Statement) -> str:
    """The statement as Markdown."""
    out: list[str] = []
    for block in blocks(statement):
        if block.kind == "heading":
            out.append("#" * block.level + " " + block.text)
        elif block.kind == "paragraph":
            out.append(block.text)
        elif block.kind == "list":
            out.append("\n".join(f"- {item}" for item in block.items))
        else:
            lines = ["| " + " | ".join(_md_cell(h) for h in block.header) + " |"]
            lines.append("|" + " --- |" * len(block.header))
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows]
            out.append("\n".join(lines))
    return "\n\n".join(out) + "\n"


def html_document(statement: Statement) -> str:
    """The statement as a standalone HTML page."""
    escape = html.escape
    out = ['<!doctype html><html lang="en"><head><meta charset="utf-8">']
    out.append("<title>DICOM Conformance Statement</title></head><body>")
    for block in blocks(statement):
        if block.kind == "heading":
            out.append(f"<h{block.level}>{escape(block.text)}</h{block.level}>")
        elif block.kind == "paragraph":
            out.append(f"<p>{escape(block.text)}</p>")
        elif block.kind == "list":
            out.append("<ul>" + "".join(f"<li>{escape(i)}</li>" for i in block.items) + "</ul>")
        else:
            head = "".join(f"<th>{escape(h)}</th>" for h in block.header)
            body = "".join(
                "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>"
                for row in block.rows
            )
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    out.append("</body></html>")
    return "\n".join(out)


def render(statement: Statement, fmt: str) -> str:
    """The statement in ``fmt``: ``md``, ``html`` or ``json``."""
    if fmt == "md":
        return markdown(statement)
    if fmt == "html":
        return html_document(statement)
    if fmt == "json":
        return json.dumps(statement.as_json(), indent=2)
    raise ValueError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")
