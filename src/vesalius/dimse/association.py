"""Who may associate, how many at once, and what we log about each association.

The gate is asked before presentation contexts are negotiated, so a refused
caller gets a proper A-ASSOCIATE-RJ (PS3.8 9.3.4): an unknown calling AE title
or a known one calling from another address is rejected permanently by the
service user (reason 3, calling AE title not recognised); too many
associations is a transient rejection by the service provider (reason 2,
local limit exceeded). The count is shared by every receiving process.
"""

from __future__ import annotations

import logging
import multiprocessing
import socket
import time
from collections.abc import Iterable
from typing import Any

from pynetdicom import evt
from pynetdicom.acse import ACSE
from pynetdicom.association import Association
from pynetdicom.events import Event

from vesalius.dimse.policy import CallerPolicy
from vesalius.model.origin import Origin
from vesalius.settings import SERVICES, Peer

LOG = logging.getLogger("vesalius.dimse.association")

REJECT_UNKNOWN_CALLER = (0x01, 0x01, 0x03)
REJECT_TOO_MANY = (0x02, 0x03, 0x02)


def origin_of(assoc: Association) -> Origin:
    """The origin of requests made on this association."""
    cached = getattr(assoc, "_vesalius_origin", None)
    if cached is None:
        cached = Origin(
            "dimse",
            calling_aet=assoc.requestor.ae_title.strip(),
            called_aet=assoc.acceptor.ae_title.strip(),
            address=assoc.requestor.address,
        )
        assoc._vesalius_origin = cached  # type: ignore[attr-defined]
    return cached


def _addresses(host: str) -> set[str]:
    try:
        return {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        LOG.warning("peer host %r does not resolve; calls from it will be refused", host)
        return set()


class AssociationGate:
    """Admits or refuses association requests by AE policy and a shared limit.

    ``policy_for`` says what an admitted caller may do (``dimse.policy``).
    """

    def __init__(
        self,
        *,
        accept_unknown_callers: bool,
        peers: Iterable[Peer],
        max_associations: int,
        unknown_caller_services: Iterable[str] = SERVICES,
    ) -> None:
        self.accept_unknown_callers = accept_unknown_callers
        self.max_associations = max_associations
        self._known: dict[str, set[str] | None] = {}
        self._policies: dict[str, CallerPolicy] = {}
        for peer in peers:
            if peer.check_address:
                addresses = self._known.get(peer.ae_title, set())
                if addresses is not None:
                    self._known[peer.ae_title] = addresses | _addresses(peer.host)
            else:
                self._known[peer.ae_title] = None  # from anywhere
            before = self._policies.get(peer.ae_title, CallerPolicy(frozenset(), frozenset()))
            destinations = (
                None
                if before.move_destinations is None or not peer.move_destinations
                else before.move_destinations | set(peer.move_destinations)
            )
            # A peer without an explicit services list may use every service, as before
            # policies existed; the default list only says what it offers.
            granted = peer.services if "services" in peer.model_fields_set else SERVICES
            self._policies[peer.ae_title] = CallerPolicy(
                before.services | set(granted), destinations
            )
        self._unknown = CallerPolicy(frozenset(unknown_caller_services))
        self._active = multiprocessing.Value("i", 0)

    def _is_known(self, calling_aet: str, address: str) -> bool:
        addresses = self._known.get(calling_aet, set())
        return calling_aet in self._known and (addresses is None or address in addresses)

    def policy_for(self, calling_aet: str, address: str) -> CallerPolicy:
        """What a caller may do: its peer entry's grants, else those of unknown callers."""
        calling_aet = calling_aet.strip()
        if self._is_known(calling_aet, address):
            return self._policies[calling_aet]
        return self._unknown

    def verdict(self, calling_aet: str, address: str) -> tuple[int, int, int] | None:
        """None to admit (and count) the caller, else the (result, source, reason) to reject."""
        if not self.accept_unknown_callers:
            calling = calling_aet.strip()
            if calling not in self._known:
                LOG.warning("rejected %s@%s: calling AE title not configured", calling_aet, address)
                return REJECT_UNKNOWN_CALLER
            if not self._is_known(calling, address):
                LOG.warning("rejected %s@%s: not its configured address", calling_aet, address)
                return REJECT_UNKNOWN_CALLER
        with self._active.get_lock():
            if self._active.value >= self.max_associations:
                LOG.warning(
                    "rejected %s@%s: %d associations open", calling_aet, address, self._active.value
                )
                return REJECT_TOO_MANY
            self._active.value += 1
        return None

    def release(self) -> None:
        """One admitted association has ended."""
        with self._active.get_lock():
            self._active.value = max(0, self._active.value - 1)

    @property
    def active(self) -> int:
        """Associations open now, across processes."""
        return int(self._active.value)


class GatedACSE(ACSE):
    """pynetdicom's ACSE, asking the gate before it negotiates as acceptor."""

    def __init__(self, assoc: Association, gate: AssociationGate) -> None:
        super().__init__(assoc)
        self._gate = gate

    def _negotiate_as_acceptor(self) -> None:
        request: Any = self.requestor.primitive
        calling = str(request.calling_ae_title).strip()
        rejection = self._gate.verdict(calling, self.assoc.requestor.address)
        if rejection is not None:
            self.assoc._vesalius_rejection = rejection  # type: ignore[attr-defined]
            self.send_reject(*rejection)
            evt.trigger(self.assoc, evt.EVT_REJECTED, {})
            self.assoc.kill()
            return
        self.assoc._vesalius_admitted = True  # type: ignore[attr-defined]
        self.assoc._vesalius_policy = self._gate.policy_for(  # type: ignore[attr-defined]
            calling, self.assoc.requestor.address
        )
        super()._negotiate_as_acceptor()


def on_open(event: Event) -> None:
    """Note when the connection opened; turn Nagle's algorithm off on it."""
    event.assoc._vesalius_started = time.monotonic()  # type: ignore[attr-defined]
    sock = getattr(event.assoc.dul.socket, "socket", None)
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def on_close(event: Event, gate: AssociationGate) -> None:
    """Log one line per association and give its slot back."""
    assoc = event.assoc
    if getattr(assoc, "_vesalius_admitted", False):
        gate.release()
    started = getattr(assoc, "_vesalius_started", time.monotonic())
    contexts = assoc.accepted_contexts
    LOG.info(
        "association %s@%s:%s %s, %d context(s) accepted, %.2fs",
        assoc.requestor.ae_title.strip() or "?",
        assoc.requestor.address,
        assoc.requestor.port,
        "established" if contexts else "not established",
        len(contexts),
        time.monotonic() - started,
    )
