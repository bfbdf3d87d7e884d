"""C-FIND SCP (Query/Retrieve, PS3.4 C.4.1): translate the identifier, query, stream pendings.

Matches are answered one Pending (FF00) at a time as the index produces them;
a C-CANCEL is honoured between two matches (FE00). The number of matches is
capped by ``[query] max_results``, after which the answer is plain Success
(docs/query.md explains the truncation).

The pendings of a little endian context leave as bytes (``pdata.send``): the
command set is the same for every one of them and the identifier is encoded
straight from the index row. Other transfer syntaxes, and every final status,
go through pynetdicom.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom.events import Event

from vesalius import sopclasses
from vesalius.archive.archive import Archive
from vesalius.archive.query import Answer
from vesalius.dimse import pdata
from vesalius.dimse.commandset import encode_command
from vesalius.dimse.status import SUCCESS, status_of
from vesalius.model.errors import InvalidQuery
from vesalius.model.matching import parse_identifier
from vesalius.settings import Settings

PENDING = 0xFF00
CANCELLED = 0xFE00
C_FIND_RSP = 0x8020
DATA_SET_PRESENT = 0x0001
MAX_QUEUED = 256
"""Pending answers encoded ahead of the socket, at most (a page of a listing fits)."""
_IMPLICIT_VR = {ImplicitVRLittleEndian: True, ExplicitVRLittleEndian: False}


def handle_find(event: Event, archive: Archive, settings: Settings) -> Iterator[tuple[int, Any]]:
    """Answer a C-FIND request: pendings with identifiers, then a final status."""
    try:
        sop_class = str(event.request.AffectedSOPClassUID)
        model = sopclasses.INFORMATION_MODEL.get(sop_class)
        if model is None:
            raise InvalidQuery(f"SOP class {sop_class} is not a query information model")
        query = parse_identifier(
            read_identifier(event),
            model,
            case_insensitive_names=settings.query.case_insensitive_names,
        )
        matches = archive.find(query)
    except Exception as error:
        yield _failure(error)
        return
    send_pending = _pending_sender(event, sop_class)
    try:
        while True:
            if event.is_cancelled:
                yield CANCELLED, None
                return
            try:
                found = next(matches)
            except StopIteration:
                break
            if send_pending is None:
                yield PENDING, found.dataset()
            else:
                send_pending(found)
    except Exception as error:
        yield _failure(error)
        return
    finally:
        matches.close()
    yield SUCCESS, None


def read_identifier(event: Any) -> Dataset:
    """The request's identifier; ``InvalidQuery`` when its encoding cannot be read.

    pynetdicom decodes it on first access, and pydicom reads some values (the
    character set) right away: their errors are the peer's, not ours.
    """
    try:
        return event.identifier
    except Exception as exc:
        raise InvalidQuery(f"identifier cannot be decoded: {exc}") from None


def _pending_sender(event: Event, sop_class: str) -> Callable[[Answer], None] | None:
    """A function sending one Pending answer as bytes, or None for pynetdicom's way."""
    implicit_vr = _IMPLICIT_VR.get(event.context.transfer_syntax)
    if implicit_vr is None:
        return None
    context_id = event.context.context_id
    command = encode_command(
        [
            (0x00000002, "UI", sop_class),
            (0x00000100, "US", C_FIND_RSP),
            (0x00000120, "US", event.request.MessageID),
            (0x00000800, "US", DATA_SET_PRESENT),
            (0x00000900, "US", PENDING),
        ]
    )

    def send_pending(answer: Answer) -> None:
        pdata.send(event.assoc, context_id, command, answer.encode(implicit_vr))
        pdata.wait_for_room(event.assoc, MAX_QUEUED)

    return send_pending


def _failure(error: BaseException) -> tuple[int, Any]:
    answer = status_of(error)
    return answer.Status, answer
