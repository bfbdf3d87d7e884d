"""``RemoteAEs`` over DIMSE: echo, query, send and retrieve toward ``[[peers]]`` entries.

The core's protocol (``vesalius.archive.remote``) implemented with our SCU
(``scu`` and ``scu_query``), so that the HTTP front door reaches remote AEs
without importing this one.

- send: C-STORE the stored files of local studies, as ``vesalius send --study``;
- retrieve: C-GET when the peer's services include "get" (the instances
  arrive on our association and go into the archive), else C-MOVE to our own
  AE title (the peer opens an association to our listener, which stores them),
  as ``vesalius retrieve`` does.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from pydicom.dataset import Dataset

from vesalius.archive.archive import Archive
from vesalius.archive.jobs import Job
from vesalius.archive.remote import Cancelled, Outcome, RemoteError, peer_named
from vesalius.dimse import scu, scu_query, tls
from vesalius.dimse.commitment import deliver_report
from vesalius.dimse.scu_query import RetrieveReport
from vesalius.model.errors import ArchiveError, InvalidQuery
from vesalius.model.keys import DEFAULT_RETURN_KEYS, LEVELS, BadKey, identifier_for
from vesalius.model.origin import Origin
from vesalius.model.plain import plain_dataset
from vesalius.settings import Settings

LOG = logging.getLogger("vesalius.dimse.remote")

MOVE_DESTINATION_UNKNOWN = 0xA801
SUCCESS_OR_WARNING = (scu_query.SUCCESS, scu_query.WARNING)
NOT_MATCHES = frozenset(("QueryRetrieveLevel", "SpecificCharacterSet"))
"""Elements of a C-FIND answer that describe the message, not the match."""
MAX_ERRORS_KEPT = 20


class _Stop(Exception):
    """Raised from a progress callback to end a send that was cancelled."""


def _key_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return "\\".join(_key_text(item) for item in value)
    return str(value)


def identifier(level: str, keys: Mapping[str, object]) -> Dataset:
    """The C-FIND identifier: the level's usual return keys, then ``keys`` (which win).

    ``InvalidQuery`` for an unknown level, keyword or value.
    """
    level = level.upper()
    if level not in LEVELS:
        raise InvalidQuery(f"unknown level {level!r} (one of {', '.join(LEVELS)})")
    pairs = [f"{name}=" for name in DEFAULT_RETURN_KEYS[level]]
    pairs += [f"{key}={_key_text(value)}" for key, value in keys.items()]
    try:
        return identifier_for(pairs, level, defaults=False)
    except BadKey as exc:
        raise InvalidQuery(str(exc)) from None


class DimseRemoteAEs:
    """The remote AEs of ``settings`` (``[[peers]]``), called as ``settings.dicom.ae_title``."""

    def __init__(self, archive: Archive, settings: Settings) -> None:
        self.archive = archive
        self.settings = settings
        logging.getLogger("pynetdicom").setLevel(logging.CRITICAL)  # we report failures

    def target(self, peer: str) -> scu.Target:
        """Where ``peer`` listens (``UnknownPeer`` if not configured), and how it is called."""
        entry = peer_named(self.settings, peer)
        credentials = tls.for_peer(self.settings, entry)
        return scu.Target(
            entry.host, entry.port, entry.ae_title, self.settings.dicom.ae_title, credentials
        )

    def echo(self, peer: str) -> None:
        """C-ECHO the peer; ``RemoteError`` unless it answers success."""
        target = self.target(peer)
        try:
            status = scu.echo(target)
        except scu.ScuError as exc:
            raise RemoteError(str(exc)) from None
        if status != 0:
            raise RemoteError(f"{target} answered the C-ECHO with status {status:04X}")

    def find(self, peer: str, level: str, keys: Mapping[str, str]) -> list[dict[str, Any]]:
        """C-FIND the peer; each match as plain JSON values keyed by keyword."""
        query = identifier(level, keys)
        target = self.target(peer)
        try:
            matches = scu_query.find(target, query)
        except scu.ScuError as exc:
            raise RemoteError(str(exc)) from None
        return [plain_dataset(match, skip=NOT_MATCHES) for match in matches]

    # -- send ----------------------------------------------------------------
    def _outgoing(self, study_uids: Sequence[str]) -> list[scu.Outgoing]:
        items = []
        for instance in self.archive.instances(study_uids=list(study_uids)):
            path = self.archive.instance_path(instance)
            if path is None:
                raise ArchiveError("sending needs a blob store that keeps files")
            items.append(
                scu.Outgoing(
                    path,
                    instance.sop_class_uid,
                    instance.sop_instance_uid,
                    instance.transfer_syntax_uid,
                )
            )
        return items

    def send(self, job: Job, peer: str, study_uids: Sequence[str], cancelled: Cancelled) -> Outcome:
        """C-STORE every stored instance of these studies to the peer."""
        target = self.target(peer)
        items = self._outgoing(study_uids)
        outcome = Outcome(result={"peer": peer, "studies": list(study_uids)})
        if not items:
            outcome.errors.append(f"no instance of {', '.join(study_uids)} is stored here")
            return outcome
        job.progress(done=0, failed=0, warning=0, total=len(items))
        counts = {"done": 0, "failed": 0}

        def progress(item: scu.Outgoing, error: str | None) -> None:
            counts["failed" if error else "done"] += 1
            if error and len(outcome.errors) < MAX_ERRORS_KEPT:
                outcome.errors.append(f"{item.sop_instance_uid}: {error}")
            job.progress(done=counts["done"], failed=counts["failed"], warning=0)
            if cancelled():
                raise _Stop

        try:
            report = scu.send(target, items, progress)
        except _Stop:
            outcome.cancelled = True
            return outcome
        except scu.ScuError as exc:
            raise RemoteError(str(exc)) from None
        outcome.result.update(sent=len(report.sent), transcoded=len(report.transcoded))
        return outcome

    # -- retrieve --------------------------------------------------------------
    def _storer(self, target: scu.Target) -> scu_query.Receiver:
        origin = Origin(
            "dimse", calling_aet=target.ae_title, called_aet=target.calling_aet, address=target.host
        )

        def store(sop_class: str, sop_instance: str, syntax: str, data: bytes) -> None:
            self.archive.store_dataset(
                data, syntax, origin, sop_class_uid=sop_class, sop_instance_uid=sop_instance
            )

        return store

    def retrieve(
        self, job: Job, peer: str, study_uids: Sequence[str], cancelled: Cancelled
    ) -> Outcome:
        """Pull each study by C-GET (peer offers "get") or by C-MOVE to our own AE title."""
        target = self.target(peer)
        by_get = "get" in peer_named(self.settings, peer).services
        method = "C-GET" if by_get else "C-MOVE"
        outcome = Outcome(result={"peer": peer, "studies": list(study_uids), "method": method})
        before = {"done": 0, "failed": 0, "warning": 0, "total": 0}

        def counts(report: RetrieveReport) -> tuple[int, int, int]:
            done = max(report.completed, len(report.received))
            # a C-GET instance we could not store is one the peer counts as failed too
            return done, max(report.failed, len(report.refused)), report.warning

        def progress(report: RetrieveReport) -> None:
            done, failed, warning = counts(report)
            job.progress(
                done=before["done"] + done + warning,
                failed=before["failed"] + failed,
                warning=before["warning"] + warning,
                total=before["total"] + (report.total or done + failed + warning),
            )

        for uid in study_uids:
            if cancelled():
                outcome.cancelled = True
                return outcome
            query = identifier_for([f"StudyInstanceUID={uid}"], "STUDY", defaults=False)
            try:
                if by_get:
                    report = scu_query.get(target, query, self._storer(target), progress=progress)
                else:
                    destination = self.settings.dicom.ae_title
                    report = scu_query.move(target, query, destination, progress=progress)
            except scu.ScuError as exc:
                raise RemoteError(str(exc)) from None
            done, failed, warning = counts(report)
            before["done"] += done + warning
            before["failed"] += failed
            before["warning"] += warning
            before["total"] += done + failed + warning
            job.progress(**before)
            outcome.errors.extend(self._study_errors(target, uid, report, method))
            if report.status == MOVE_DESTINATION_UNKNOWN:
                break  # every other study would be refused the same way
        return outcome

    def _study_errors(
        self, target: scu.Target, uid: str, report: RetrieveReport, method: str
    ) -> list[str]:
        """What went wrong with one study, one line per problem (none when all came)."""
        service = "get" if method == "C-GET" else "move"
        status = report.status
        errors = [f"study {uid}: {i}: {reason}" for i, reason in report.refused[:MAX_ERRORS_KEPT]]
        if status == MOVE_DESTINATION_UNKNOWN:
            errors.append(
                f"{target} does not know {self.settings.dicom.ae_title} as a move destination "
                f"(A801): add this archive's AE title, address and DICOM port to the peer"
            )
        elif status is None:
            errors.append(f"study {uid}: {target} ended the {method} without a final status")
        elif status not in SUCCESS_OR_WARNING:
            described = scu_query.describe_status(status, service)
            comment = f": {report.comment}" if report.comment else ""
            errors.append(f"study {uid}: {target} answered {method} with {described}{comment}")
        elif report.completed + report.warning + report.failed + len(report.received) == 0:
            errors.append(f"study {uid}: {target} holds no instance of it")
        return errors

    def report_commitment(self, job: Job, params: dict[str, Any]) -> None:
        """Call the requester back with its storage commitment report (a new association)."""
        deliver_report(self.archive, self.settings, job, params)
