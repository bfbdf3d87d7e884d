"""Browsing the archive a page at a time: C-FIND answers plus what a listing shows.

The answers are built as for C-FIND and QIDO-RS (``archive.query.response``)
from the rows of ``index.listing.page``, which adds sorting, paging and the
index key of each row to the one SELECT that matches a query.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from vesalius.archive.query import Answer, response
from vesalius.index import listing
from vesalius.index.index import Index
from vesalius.model.matching import Query


@dataclass(frozen=True, slots=True)
class Listed:
    """One row of a listing: the level's index key, its answer, and file facts of instances."""

    key: int
    answer: Answer
    files: dict[str, Any] = field(default_factory=dict)


def browse(
    index: Index,
    query: Query,
    *,
    retrieve_ae_title: str,
    sort: Sequence[str] = (),
    limit: int = 100,
    offset: int = 0,
    row_key: int | None = None,
) -> list[Listed]:
    """One page of matches of ``query``, in the order ``sort`` asks (see ``index.listing``)."""
    rows = listing.page(index.reader, query, sort=sort, limit=limit, offset=offset, row_key=row_key)
    return [
        Listed(
            int(row[listing.ROW_KEY]),
            response(query, row, retrieve_ae_title),
            {key: row[key] for key in listing.FILE_KEYS if key in row},
        )
        for row in rows
    ]
