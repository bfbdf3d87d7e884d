"""The DIMSE front door's audit hooks: every audit message of an association is made here.

- C-STORE received: one DICOM Instances Transferred message per association
  (action C), listing each study with its SOP classes and instance counts, sent
  when the connection closes (``audit.trail.Tally`` counts the stored instances).
- C-FIND (query/retrieve and worklist): one Query message per request, with
  the identifier as received (base64) and its transfer syntax.
- C-MOVE and C-GET: one DICOM Instances Transferred message (action R) per
  request, once its sub-operations are done.
- An association refused because the calling AE is not allowed: a Security
  Alert (Node Authentication).

``server.handler_table`` wraps its handlers with these; nothing else here
changes what a service answers.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator
from typing import Any

from pydicom.dataset import Dataset
from pynetdicom import evt
from pynetdicom.association import Association
from pynetdicom.events import Event

from vesalius.archive.archive import Archive
from vesalius.audit import messages
from vesalius.audit.messages import Participant, Study
from vesalius.audit.trail import tally_of, trail_of, with_patients
from vesalius.dimse.association import REJECT_UNKNOWN_CALLER, origin_of

LOG = logging.getLogger("vesalius.dimse.audit")
PENDING = 0xFF00
CANCELLED = 0xFE00
WARNING = 0xB000


def _caller(assoc: Association) -> Participant:
    origin = origin_of(assoc)
    return Participant(origin.calling_aet, True, origin.address)


def _us(assoc: Association, archive: Archive) -> Participant:
    origin = origin_of(assoc)
    ae_title = origin.called_aet or archive.settings.dicom.ae_title
    return Participant(ae_title, False, archive.settings.dicom.host)


def _guarded(record: Callable[[], None]) -> None:
    """Run ``record``; an audit failure is logged, never passed to the DIMSE service."""
    try:
        record()
    except Exception:
        LOG.exception("audit message not recorded")


def on_close(event: Event, archive: Archive) -> None:
    """EVT_CONN_CLOSE: what this association stored, as one Transferred message."""
    assoc = event.assoc
    studies = tally_of(archive).take(origin_of(assoc))
    if not studies:
        return

    def record() -> None:
        trail = trail_of(archive)
        trail.record(
            messages.instances_transferred(
                trail.source,
                _caller(assoc),
                _us(assoc, archive),
                with_patients(archive, studies),
                action="C",
            )
        )

    _guarded(record)


def on_rejected(event: Event, archive: Archive) -> None:
    """EVT_REJECTED: a caller the AE policy does not know is a Security Alert."""
    assoc = event.assoc
    if getattr(assoc, "_vesalius_rejection", None) != REJECT_UNKNOWN_CALLER:
        return
    primitive: Any = assoc.requestor.primitive
    calling = str(getattr(primitive, "calling_ae_title", "") or "").strip()

    def record() -> None:
        trail = trail_of(archive)
        trail.record(
            messages.security_alert(
                trail.source,
                messages.NODE_AUTHENTICATION,
                calling or "unknown",
                f"association from {calling}@{assoc.requestor.address} refused by AE policy",
                who=Participant(calling, True, assoc.requestor.address),
            )
        )

    _guarded(record)


def audited_find(handler: Callable[[Event], Iterator[Any]], archive: Archive) -> Callable[..., Any]:
    """``handler`` (a C-FIND handler), with one Query message per request."""

    def handle_find(event: Event) -> Iterator[Any]:
        failed = False
        try:
            for item in handler(event):
                status = item[0] if isinstance(item, tuple) else None
                if isinstance(status, int) and status not in (PENDING, CANCELLED, 0):
                    failed = True
                yield item
        finally:
            _guarded(lambda: _record_query(event, archive, failed))

    return handle_find


def _record_query(event: Event, archive: Archive, failed: bool) -> None:
    identifier = event.request.Identifier
    raw = identifier.getvalue() if isinstance(identifier, io.BytesIO) else b""
    trail = trail_of(archive)
    trail.record(
        messages.query(
            trail.source,
            _caller(event.assoc),
            _us(event.assoc, archive),
            str(event.request.AffectedSOPClassUID),
            raw,
            transfer_syntax_uid=str(event.context.transfer_syntax),
            outcome=messages.MINOR_FAILURE if failed else messages.SUCCESS,
        )
    )


def audited_retrieve(
    handler: Callable[..., Iterator[Any]], archive: Archive, *, move: bool
) -> Callable[..., Iterator[Any]]:
    """``handler`` (C-MOVE or C-GET), with one Transferred message (action R) per request."""

    def handle_retrieve(event: Event, *args: Any) -> Iterator[Any]:
        classes: dict[str, int] = {}
        failed = False
        try:
            for item in handler(event, *args):
                if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], int):
                    status, dataset = item
                    if status == PENDING and isinstance(dataset, Dataset):
                        uid = str(dataset.get("SOPClassUID", ""))
                        classes[uid] = classes.get(uid, 0) + 1
                    elif status not in (PENDING, CANCELLED, 0, WARNING):
                        failed = True
                yield item
        finally:
            if classes or failed:
                _guarded(lambda: _record_retrieve(event, archive, move, classes, failed))

    return handle_retrieve


def _retrieved_studies(event: Event, archive: Archive, classes: dict[str, int]) -> list[Study]:
    try:
        identifier = event.identifier
    except Exception:
        return []
    uids = identifier.get("StudyInstanceUID", "")
    if not uids and identifier.get("SeriesInstanceUID"):
        series = identifier.SeriesInstanceUID
        first = series[0] if isinstance(series, list | tuple) else series
        try:
            uids = archive.lineage("SERIES", str(first)).get("StudyInstanceUID", "")
        except Exception:
            uids = ""
    studies = [Study(str(uid)) for uid in ([uids] if isinstance(uids, str) else uids) if uid]
    if len(studies) == 1:
        studies[0].sop_classes.update(classes)
    return with_patients(archive, studies)


def _record_retrieve(
    event: Event, archive: Archive, move: bool, classes: dict[str, int], failed: bool
) -> None:
    assoc = event.assoc
    caller = _caller(assoc)
    destination = (event.move_destination or "").strip() if move else caller.user_id
    trail = trail_of(archive)
    trail.record(
        messages.instances_transferred(
            trail.source,
            _us(assoc, archive),
            Participant(destination, not move, caller.address if not move else ""),
            _retrieved_studies(event, archive, classes),
            action="R",
            outcome=messages.MINOR_FAILURE if failed else messages.SUCCESS,
        )
    )


def handlers(archive: Archive) -> list[tuple[Any, ...]]:
    """The notification handlers the audit adds to the handler table."""
    return [
        (evt.EVT_CONN_CLOSE, on_close, [archive]),
        (evt.EVT_REJECTED, on_rejected, [archive]),
    ]
