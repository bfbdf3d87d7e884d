"""Pages of matches for browsing: the C-FIND SELECT, sorted, cut, counted, with row keys.

A user interface lists studies by date or name, a page at a time, and shows
how many there are in all. This module takes the one SELECT that answers a
``matching.Query`` (``index.query.build_select``: same conditions, same
return keys) and adds what browsing needs, all in SQL: an ORDER BY on
indexed attributes, LIMIT/OFFSET, a COUNT of every match, and the primary
key of each row (the opaque id of a patient, whose Patient ID alone is not
unique).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Engine, func, select

from vesalius.index import query as sql
from vesalius.index.tables import column_name, instances, patients, series, studies
from vesalius.model.errors import InvalidQuery, NotFound
from vesalius.model.matching import COMPUTED_KEYS, KEY_LEVELS, LEVELS, Level, Query

ROW_KEY = "_pk"
"""Label of the primary-key column added to each row of a page."""
FILE_KEYS = {
    "TransferSyntaxUID": instances.c.transfer_syntax_uid,
    "FileSize": instances.c.file_size,
}
"""Instance columns that are no C-FIND key but that a listing of instances shows."""


def _level_depth(level: str) -> int:
    return LEVELS.index(level)  # type: ignore[arg-type]


def sortable_keys(level: str) -> list[str]:
    """The attributes a listing at ``level`` can be sorted by: indexed, at or above it."""
    depth = _level_depth(level)
    return [
        keyword
        for keyword, key_level in KEY_LEVELS.items()
        if keyword not in COMPUTED_KEYS and _level_depth(key_level) <= depth
    ]


def _sort_column(keyword: str, level: str) -> Any:
    if keyword not in sortable_keys(level):
        allowed = ", ".join(sorted(sortable_keys(level)))
        raise InvalidQuery(f"cannot sort {level} by {keyword!r}; sort by one of {allowed}")
    if keyword == "PatientName":
        return patients.c.patient_name_norm  # as matching does: without regard to case
    return sql.TABLES[KEY_LEVELS[keyword]].c[column_name(keyword)]


def order_by(level: str, sort: Sequence[str]) -> list[ColumnElement[Any]]:
    """ORDER BY terms for ``["-StudyDate", "PatientName"]`` (``-``: descending).

    The level's primary key comes last, so that equal values keep one order
    and pages follow each other. ``InvalidQuery`` for an attribute that is
    not indexed at or above the level.
    """
    terms: list[ColumnElement[Any]] = []
    for item in sort:
        keyword = item.strip().lstrip("+-")
        if not keyword:
            continue
        column = _sort_column(keyword, level)
        terms.append(column.desc() if item.strip().startswith("-") else column.asc())
    terms.append(sql.TABLES[level].c.pk.asc())
    return terms


def page(
    engine: Engine,
    query: Query,
    *,
    sort: Sequence[str] = (),
    limit: int = 100,
    offset: int = 0,
    row_key: int | None = None,
) -> list[dict[str, Any]]:
    """One page of matches: a dict per row, keyword -> value, plus ``ROW_KEY``.

    ``row_key`` narrows the matches to the row of the level with that primary
    key (a patient by its id). Instance rows also carry ``FILE_KEYS``.
    """
    key = sql.TABLES[query.level].c.pk
    ordering = order_by(query.level, sort)
    # The page's keys first, on the bare match; then the answer's columns (counts and
    # modalities are subqueries) for those rows only, not for the ones skipped.
    keys = sql.build_select(dataclasses.replace(query, return_keys=()), engine.dialect.name)
    if row_key is not None:
        keys = keys.where(key == row_key)
    keys = keys.order_by(*ordering).limit(limit).offset(offset)
    statement = sql.build_select(query, engine.dialect.name).add_columns(key.label(ROW_KEY))
    if query.level == "IMAGE":
        statement = statement.add_columns(*(c.label(k) for k, c in FILE_KEYS.items()))
    statement = statement.where(key.in_(keys.scalar_subquery())).order_by(*ordering)
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(statement).mappings()]


def count(engine: Engine, query: Query, *, row_key: int | None = None) -> int:
    """How many rows match ``query`` in all (for a total beside a page)."""
    bare = sql.build_select(dataclasses.replace(query, return_keys=()), engine.dialect.name)
    if row_key is not None:
        bare = bare.where(sql.TABLES[query.level].c.pk == row_key)
    statement = select(func.count()).select_from(bare.subquery())
    with engine.connect() as connection:
        return int(connection.execute(statement).scalar_one())


_STUDIES = studies.join(patients, patients.c.pk == studies.c.patient_pk)
_SERIES = series.join(_STUDIES, studies.c.pk == series.c.study_pk)
_INSTANCES = instances.join(_SERIES, series.c.pk == instances.c.series_pk)
_LINEAGE: dict[str, tuple[Any, Any, tuple[Any, ...]]] = {
    "STUDY": (_STUDIES, studies.c.study_instance_uid, ()),
    "SERIES": (_SERIES, series.c.series_instance_uid, (studies.c.study_instance_uid,)),
    "IMAGE": (
        _INSTANCES,
        instances.c.sop_instance_uid,
        (studies.c.study_instance_uid, series.c.series_instance_uid),
    ),
}


def lineage(engine: Engine, level: Level, uid: str) -> dict[str, str]:
    """The unique keys of a stored study, series or instance and of the levels above it.

    ``{"PatientID", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"}``
    as far down as ``level``; ``NotFound`` when nothing has that UID.
    """
    if level not in _LINEAGE:
        raise InvalidQuery(f"no UID names a {level}")
    joined, unique, above = _LINEAGE[level]
    statement = (
        select(patients.c.patient_id, *above, unique).select_from(joined).where(unique == uid)
    )
    with engine.connect() as connection:
        row = connection.execute(statement).first()
    if row is None:
        raise NotFound(f"no {level.lower()} {uid} stored")
    keys = ("PatientID", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")
    return dict(zip(keys, (str(value) for value in row), strict=False))
