"""C-ECHO SCP (Verification, PS3.4 A): the cheapest proof that we are here."""

from __future__ import annotations

from pynetdicom.events import Event

from vesalius.dimse.status import SUCCESS


def handle_echo(_event: Event) -> int:
    """Answer every C-ECHO with success."""
    return SUCCESS
