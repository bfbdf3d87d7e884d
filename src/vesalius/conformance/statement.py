"""The conformance statement as data: built from the settings, the SOP-class registry and
the presentation contexts the AE offers, so that it cannot say what the AE does not do.

``Offered`` rows come from the DIMSE front door (``dimse.server.offered_contexts``)
and are handed in by whoever asks (the CLI, the HTTP app through the
composition root): this package reads no network code. ``render.py`` turns
the statement into Markdown, HTML or JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from pydicom.uid import UID

from vesalius import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME, __version__, sopclasses
from vesalius.settings import Settings


@dataclass(frozen=True, slots=True)
class Offered:
    """One presentation context the AE accepts: SOP class, transfer syntaxes, roles."""

    sop_class_uid: str
    transfer_syntaxes: tuple[str, ...]
    scu_role: bool
    scp_role: bool


SCU_SERVICES = (
    "verification", "storage", "find", "move", "get", "commitment", "worklist", "mpps", "print",
)  # fmt: skip
"""Services Vesalius also uses as SCU (``send``, ``find``, ``move``, ``get``, ``commit``,
``worklist query``, ``mpps``, ``print``)."""
MEDIA_PROFILES = (
    {
        "profile": "STD-GEN-CD",
        "write": "FSC (vesalius export --format dicomdir|iso)",
        "read": "FSR (vesalius import)",
    },
    {
        "profile": "STD-GEN-USB",
        "write": "FSC (vesalius export --format dicomdir|zip)",
        "read": "FSR (vesalius import)",
    },
)
"""General Purpose media written by ``media/`` and read by ``vesalius import`` (PS3.11)."""
CHARACTER_SETS = (
    "ISO_IR 6 (default)", "ISO_IR 100", "ISO_IR 101", "ISO_IR 109", "ISO_IR 110",
    "ISO_IR 144", "ISO_IR 127", "ISO_IR 126", "ISO_IR 138", "ISO_IR 148", "ISO_IR 166",
    "ISO_IR 13", "ISO_IR 192", "GB18030", "GBK", "ISO 2022 IR 6", "ISO 2022 IR 87",
    "ISO 2022 IR 159", "ISO 2022 IR 149", "ISO 2022 IR 58",
)  # fmt: skip
"""Specific Character Sets read in stored objects and C-FIND identifiers (pydicom's codecs)."""


@dataclass
class SopClassRow:
    """One SOP class of the statement, with what it is and how it is negotiated."""

    uid: str
    name: str
    service: str
    scu: bool
    scp: bool
    accepted_transfer_syntaxes: list[str]
    proposed_transfer_syntaxes: list[str]
    role_selection: str


@dataclass
class Statement:
    """Everything the rendered document says."""

    product: dict[str, str]
    application_entity: dict[str, Any]
    network: dict[str, Any]
    sop_classes: list[SopClassRow] = field(default_factory=list)
    transfer_syntaxes: dict[str, str] = field(default_factory=dict)
    character_sets: list[str] = field(default_factory=list)
    media: list[dict[str, str]] = field(default_factory=list)
    security: dict[str, Any] = field(default_factory=dict)
    web_services: list[dict[str, str]] = field(default_factory=list)
    other_interfaces: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The statement as JSON-able data (the ``json`` format)."""
        return asdict(self)


def _known_classes() -> dict[str, sopclasses.SopClass]:
    return {c.uid: c for c in sopclasses.all_sop_classes()}


def _proposed(service: str) -> list[str]:
    if service == "storage":
        return [
            "the stored transfer syntax",
            str(sopclasses.EXPLICIT_VR_LE),
            str(sopclasses.IMPLICIT_VR_LE),
        ]
    return [str(sopclasses.EXPLICIT_VR_LE), str(sopclasses.IMPLICIT_VR_LE)]


def _role_selection(row: Offered, service: str) -> str:
    if service == "storage" and row.scu_role:
        return "SCP/SCU role selection accepted: C-STORE back to a C-GET requestor"
    if service == "commitment":
        return "SCP/SCU role selection accepted: reports on a new association, either way"
    return "none"


def build_statement(settings: Settings, offered: list[Offered]) -> Statement:
    """The statement of ``settings`` with the contexts the AE ``offered``."""
    known = _known_classes()
    rows = []
    for context in offered:
        sop_class = known.get(context.sop_class_uid)
        name = sop_class.name if sop_class else sopclasses.sop_class_name(context.sop_class_uid)
        service = sop_class.service if sop_class else "storage"
        rows.append(
            SopClassRow(
                uid=context.sop_class_uid,
                name=name,
                service=service,
                scu=service in SCU_SERVICES,
                scp=True,
                accepted_transfer_syntaxes=list(context.transfer_syntaxes),
                proposed_transfer_syntaxes=_proposed(service) if service in SCU_SERVICES else [],
                role_selection=_role_selection(context, service),
            )
        )
    syntaxes = {ts: _syntax_name(ts) for row in rows for ts in row.accepted_transfer_syntaxes}
    dicom = settings.dicom
    return Statement(
        product={
            "name": "Vesalius",
            "version": __version__,
            "implementation_class_uid": IMPLEMENTATION_CLASS_UID,
            "implementation_version_name": IMPLEMENTATION_VERSION_NAME,
        },
        application_entity={
            "ae_title": dicom.ae_title,
            "port": dicom.port,
            "max_pdu_received": dicom.max_pdu,
            "max_associations": dicom.max_associations,
            "accept_unknown_callers": dicom.accept_unknown_callers,
            "known_peers": [p.ae_title for p in settings.peers],
            "duplicate_policy": dicom.duplicate_policy,
            "max_query_results": settings.query.max_results,
        },
        network={
            "protocol": "DICOM Upper Layer over TCP/IP (PS3.8)",
            "host": dicom.host,
            "port": dicom.port,
            "tls": dicom.tls.enabled,
            "tls_port": dicom.tls.port if dicom.tls.enabled else None,
        },
        sop_classes=rows,
        transfer_syntaxes=syntaxes,
        character_sets=list(CHARACTER_SETS),
        media=[dict(profile) for profile in MEDIA_PROFILES],
        security={
            "tls": dicom.tls.enabled,
            "client_certificates_required": bool(dicom.tls.enabled and dicom.tls.ca),
            "tls_profile": "BCP 195 non-downgrading (PS3.15 B.1)" if dicom.tls.enabled else None,
            "https": bool(settings.http.tls_cert),
            "audit_trail": _audit_trail(settings),
            "association_policy": (
                "any calling AE title"
                if dicom.accept_unknown_callers
                else "only the AE titles of [[peers]]"
            ),
        },
        web_services=_web_services(settings),
        other_interfaces=_other_interfaces(settings),
    )


def _audit_trail(settings: Settings) -> str:
    audit = settings.audit
    if not audit.enabled:
        return "off"
    syslog = f" and syslog to {audit.syslog_host}" if audit.syslog_host else ""
    return f"DICOM audit messages (PS3.15 A.5), local log{syslog}"


def _web_services(settings: Settings) -> list[dict[str, str]]:
    scheme = "https" if settings.http.tls_cert else "http"
    base = f"{scheme}://{settings.http.host}:{settings.http.port}"
    return [
        {"service": "QIDO-RS", "path": f"{base}/dicomweb", "standard": "PS3.18 10.6"},
        {"service": "WADO-RS", "path": f"{base}/dicomweb", "standard": "PS3.18 10.4"},
        {"service": "STOW-RS", "path": f"{base}/dicomweb", "standard": "PS3.18 10.5"},
        {"service": "WADO-URI", "path": f"{base}/wado", "standard": "PS3.18 9"},
    ]


def _other_interfaces(settings: Settings) -> list[dict[str, Any]]:
    hl7 = getattr(settings, "hl7", None)
    if hl7 is None or not getattr(hl7, "enabled", False):
        return []
    return [{"interface": "HL7 v2 over MLLP", "port": hl7.port, "messages": "orders in"}]


def _syntax_name(uid: str) -> str:
    name = UID(uid).name
    return name if name != uid else "unknown transfer syntax"
