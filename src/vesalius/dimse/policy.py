"""AE policies: which services a calling AE may use, and where it may C-MOVE to.

The association gate (``dimse.association``) decides, once per association,
what the caller may do (``CallerPolicy``): a ``[[peers]]`` entry grants its
``services`` and ``move_destinations`` to calls from its host's addresses
(from any address with ``check_address = false``); any other caller gets
``[dicom] unknown_caller_services``. Each request is then checked before its
service class sees it: a service the caller may not use answers 0x0124
(Refused: Not Authorized, PS3.7 C.5.x general status) and a C-MOVE to a
destination it may not use answers 0xA801 (Move Destination unknown,
PS3.4 C.4.2.1.4). C-ECHO, and N-EVENT-REPORTs (storage commitment results
for our own requests), are always served.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from pynetdicom.association import Association
from pynetdicom.dimse_primitives import (
    C_FIND,
    C_GET,
    C_MOVE,
    C_STORE,
    N_ACTION,
    N_CREATE,
    N_DELETE,
    N_GET,
    N_SET,
)

from vesalius import sopclasses

LOG = logging.getLogger("vesalius.dimse.policy")

NOT_AUTHORIZED = 0x0124
MOVE_DESTINATION_UNKNOWN = 0xA801


@dataclass(frozen=True, slots=True)
class CallerPolicy:
    """What one caller may do: its services, and its C-MOVE destinations (None: any)."""

    services: frozenset[str]
    move_destinations: frozenset[str] | None = None

    def allows_destination(self, ae_title: str) -> bool:
        """True when this caller may C-MOVE to ``ae_title``."""
        return self.move_destinations is None or ae_title.strip() in self.move_destinations


def service_of(msg: Any) -> str | None:
    """The service (as ``[[peers]] services`` names it) a request asks for; None for
    those always served (C-ECHO, N-EVENT-REPORT, C-CANCEL)."""
    sop_class = str(
        getattr(msg, "AffectedSOPClassUID", None) or getattr(msg, "RequestedSOPClassUID", "")
    )
    if isinstance(msg, C_STORE):
        return "store"
    if isinstance(msg, C_FIND):
        return "worklist" if sop_class == sopclasses.MODALITY_WORKLIST_FIND else "find"
    if isinstance(msg, C_MOVE):
        return "move"
    if isinstance(msg, C_GET):
        return "get"
    if isinstance(msg, N_ACTION):
        return "commitment" if sop_class == sopclasses.STORAGE_COMMITMENT_PUSH else "print"
    if isinstance(msg, N_CREATE | N_SET):
        return "mpps" if sop_class == sopclasses.MPPS else "print"
    if isinstance(msg, N_GET | N_DELETE):
        return "print"
    return None


def refusal(policy: CallerPolicy, msg: Any) -> int | None:
    """The failure status ``msg`` gets under ``policy``, or None to serve it."""
    service = service_of(msg)
    if service is None:
        return None
    if service not in policy.services:
        return NOT_AUTHORIZED
    if isinstance(msg, C_MOVE) and not policy.allows_destination(str(msg.MoveDestination or "")):
        return MOVE_DESTINATION_UNKNOWN
    return None


def _respond(assoc: Association, msg: Any, context_id: int, status: int) -> None:
    rsp = type(msg)()
    rsp.MessageIDBeingRespondedTo = msg.MessageID
    sop_class = getattr(msg, "AffectedSOPClassUID", None) or getattr(
        msg, "RequestedSOPClassUID", None
    )
    rsp.AffectedSOPClassUID = sop_class
    instance = getattr(msg, "AffectedSOPInstanceUID", None) or getattr(
        msg, "RequestedSOPInstanceUID", None
    )
    if instance and hasattr(rsp, "AffectedSOPInstanceUID"):
        rsp.AffectedSOPInstanceUID = instance
    rsp.Status = status
    assoc.dimse.send_msg(rsp, context_id)


_installed = False


def install() -> None:
    """Check every request of an association that carries a ``CallerPolicy`` before
    pynetdicom's service class serves it (idempotent)."""
    global _installed
    if _installed:
        return
    original = Association._serve_request

    def serve_request(self: Association, msg: Any, context_id: int) -> None:
        policy: CallerPolicy | None = getattr(self, "_vesalius_policy", None)
        status = refusal(policy, msg) if policy is not None and msg.is_valid_request else None
        if status is None:
            original(self, msg, context_id)
            return
        LOG.warning(
            "refused %s from %s: %s",
            msg.msg_type,
            self.requestor.ae_title.strip(),
            "move destination not allowed" if status == MOVE_DESTINATION_UNKNOWN else
            f"{service_of(msg)} not allowed",
        )  # fmt: skip
        _respond(self, msg, context_id, status)

    Association._serve_request = serve_request  # type: ignore[method-assign]
    _installed = True
