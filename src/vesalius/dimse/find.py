"""C-FIND SCP (Query/Retrieve, PS3.4 C.4.1): translate the identifier, query, stream pendings.

Matches are answered one Pending (FF00) at a time as the index produces them;
a C-CANCEL is honoured between two matches (FE00). The number of matches is
capped by ``[query] max_results``, after which the answer is plain Success
(docs/query.md explains the truncation).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pynetdicom.events import Event

from vesalius import sopclasses
from vesalius.archive.archive import Archive
from vesalius.dimse.status import SUCCESS, status_of
from vesalius.model.errors import InvalidQuery
from vesalius.model.matching import parse_identifier
from vesalius.settings import Settings

PENDING = 0xFF00
CANCELLED = 0xFE00


def handle_find(event: Event, archive: Archive, settings: Settings) -> Iterator[tuple[int, Any]]:
    """Answer a C-FIND request: pendings with identifiers, then a final status."""
    try:
        sop_class = str(event.request.AffectedSOPClassUID)
        model = sopclasses.INFORMATION_MODEL.get(sop_class)
        if model is None:
            raise InvalidQuery(f"SOP class {sop_class} is not a query information model")
        query = parse_identifier(
            event.identifier, model, case_insensitive_names=settings.query.case_insensitive_names
        )
        matches = archive.find(query)
    except Exception as error:
        yield _failure(error)
        return
    try:
        while True:
            if event.is_cancelled:
                yield CANCELLED, None
                return
            try:
                found = next(matches)
            except StopIteration:
                break
            yield PENDING, found
    except Exception as error:
        yield _failure(error)
        return
    finally:
        matches.close()
    yield SUCCESS, None


def _failure(error: BaseException) -> tuple[int, Any]:
    answer = status_of(error)
    return answer.Status, answer
