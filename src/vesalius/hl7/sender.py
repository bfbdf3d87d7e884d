"""Completion messages out: the ``Outbox`` the job runner hands ``hl7`` jobs to.

Each delivery opens an MLLP connection to ``[hl7] ris_host``:``ris_port``,
sends the message that ``messages.completion_message`` builds from the job's
params, and waits up to ``[hl7] ack_timeout_s`` for the acknowledgement.
Anything but AA (or CA) raises ``RemoteError``, and the runner tries again
later (``archive.completion.defer_completion``).
"""

from __future__ import annotations

import logging
import socket
from typing import Any

from vesalius.archive.remote import RemoteError
from vesalius.hl7 import messages
from vesalius.hl7.mllp import decode, frame, read_reply
from vesalius.settings import Settings

LOG = logging.getLogger("vesalius.hl7")


def exchange(host: str, port: int, message: str, timeout: float) -> str:
    """Send one message over MLLP and return the answer's text; ``OSError`` or
    ``ConnectionError`` when the peer cannot be reached or does not answer in time."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(frame(message))
        return decode(read_reply(sock))


class MllpOutbox:
    """Delivers completion messages to the RIS of ``settings``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings.hl7

    def deliver(self, params: dict[str, Any]) -> str:
        """Send the completion message of ``params``; its control ID once acknowledged."""
        message, control_id = messages.completion_message(params, self.settings)
        where = f"{self.settings.ris_host}:{self.settings.ris_port}"
        try:
            reply = exchange(
                self.settings.ris_host, self.settings.ris_port, message, self.settings.ack_timeout_s
            )
        except (OSError, ConnectionError) as exc:
            raise RemoteError(f"{where}: {exc}") from None
        accepted, reason = messages.acknowledged(reply)
        if not accepted:
            raise RemoteError(f"{where} answered {reason}")
        LOG.info("completion message %s acknowledged by %s", control_id, where)
        return control_id
