"""Remote AEs as the core sees them: what the management API may ask of a ``[[peers]]`` entry.

The HTTP front door must not import the DIMSE one, and the core must not
import pynetdicom's network classes. So the core names what it needs here, as
the ``RemoteAEs`` protocol, the DIMSE side implements it
(``vesalius.dimse.remote``), and the composition root hands that
implementation to the HTTP app and to the job runner.

Sending and retrieving are durable jobs: ``queue_send`` and ``queue_retrieve``
record the request in the job row (its ``params``), and the runner
(``vesalius.archive.runner``) takes it from there, so this module is the one
place that knows the shape of those params.

Errors::

    ArchiveError
    +-- NotFound
    |   +-- UnknownPeer      404: no [[peers]] entry of that name
    +-- RemoteError          502: the peer could not be reached, refused, or failed
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from vesalius.archive.jobs import Job, Jobs
from vesalius.model.errors import ArchiveError, NotFound
from vesalius.settings import ConfigError, Peer, Settings

SEND = "send"
RETRIEVE = "retrieve"
COMMITMENT = "commitment"
KINDS = (SEND, RETRIEVE, COMMITMENT)
"""The kinds of job that go through a ``RemoteAEs``."""

Cancelled = Callable[[], bool]
"""Asked between instances (or studies): True when the job was cancelled meanwhile."""


class UnknownPeer(NotFound):
    """No ``[[peers]]`` entry has this name."""


class RemoteError(ArchiveError):
    """The remote AE could not be reached, refused the association, or answered a failure."""

    http_status = 502


@dataclass(slots=True)
class Outcome:
    """How a send or retrieve ended; its counts are in the job itself.

    ``errors`` holds the reasons of what failed (instances, studies), one line
    each; ``cancelled`` says the work stopped because the job was cancelled.
    """

    result: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    cancelled: bool = False


class RemoteAEs(Protocol):
    """What the core asks of remote AEs; each call names a ``[[peers]]`` entry.

    Every method raises ``UnknownPeer`` for a name not configured and
    ``RemoteError`` when the peer cannot be reached or refuses the work.
    """

    def echo(self, peer: str) -> None:
        """Verify that the peer answers (C-ECHO)."""
        ...

    def find(self, peer: str, level: str, keys: Mapping[str, str]) -> list[dict[str, Any]]:
        """Query the peer (C-FIND) at ``level`` with ``keys`` (keyword -> DICOM value
        string); each match as plain JSON values keyed by keyword. ``InvalidQuery``
        for an unknown level or key."""
        ...

    def send(self, job: Job, peer: str, study_uids: Sequence[str], cancelled: Cancelled) -> Outcome:
        """Store the instances of these local studies on the peer, counting in ``job``."""
        ...

    def retrieve(
        self, job: Job, peer: str, study_uids: Sequence[str], cancelled: Cancelled
    ) -> Outcome:
        """Pull these studies from the peer into the local archive, counting in ``job``."""
        ...

    def report_commitment(self, job: Job, params: dict[str, Any]) -> None:
        """Deliver the storage commitment report a ``commitment`` job owes its requester
        (``params`` as ``archive.commitment.owe_report`` made them) and finish the job;
        ``RemoteError`` when it could not be delivered this time."""
        ...


def peer_named(settings: Settings, name: str) -> Peer:
    """The ``[[peers]]`` entry called ``name``; ``UnknownPeer`` when there is none."""
    try:
        return settings.peer(name)
    except ConfigError as exc:
        raise UnknownPeer(str(exc).removeprefix("peers: ")) from None


def _studies(count: int) -> str:
    return f"{count} {'study' if count == 1 else 'studies'}"


def queue_send(jobs: Jobs, peer: str, study_uids: Sequence[str], owner: str = "") -> Job:
    """A pending job that sends these local studies to ``peer`` once a runner takes it."""
    return jobs.create(
        SEND,
        f"send {_studies(len(study_uids))} to {peer}",
        owner,
        params={"peer": peer, "studies": list(study_uids)},
    )


def queue_retrieve(jobs: Jobs, peer: str, study_uids: Sequence[str], owner: str = "") -> Job:
    """A pending job that pulls these studies from ``peer`` once a runner takes it."""
    return jobs.create(
        RETRIEVE,
        f"retrieve {_studies(len(study_uids))} from {peer}",
        owner,
        params={"peer": peer, "studies": list(study_uids)},
    )
