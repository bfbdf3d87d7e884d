"""C-FIND / QIDO-RS matching in SQL: a ``matching.Query`` becomes one SELECT on indexed columns.

Rows are streamed from one cursor in chunks (never all loaded), each row a
mapping keyword -> value for the keys the query returns. Counts and the
modalities / SOP classes of a study are correlated subqueries over the
foreign-key indexes, computed only when asked for.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Engine,
    Select,
    and_,
    exists,
    func,
    literal,
    or_,
    select,
)

from vesalius.index.tables import column_name, instances, patients, series, studies
from vesalius.model.matching import (
    COMPUTED_KEYS,
    KEY_LEVELS,
    LEVELS,
    SEQUENCE_ITEM_KEYS,
    Condition,
    Query,
    has_wildcard,
    normalize_name,
)

CHUNK = 500
"""Rows fetched from the cursor at a time."""
TABLES = {"PATIENT": patients, "STUDY": studies, "SERIES": series, "IMAGE": instances}
HIGH_SENTINEL = "\U0010ffff"
"""Appended to an upper bound so that a shorter bound includes longer values (1200 < 120030)."""


def _column(keyword: str) -> Any:
    """The column that holds an indexed attribute."""
    level = KEY_LEVELS[keyword]
    return TABLES[level].c[column_name(keyword)]


def glob_pattern(value: str) -> str:
    """A DICOM wildcard value as an SQLite GLOB pattern (``*`` and ``?`` are GLOB's own)."""
    return value.replace("[", "[[]")


def like_pattern(value: str) -> str:
    """A DICOM wildcard value as a LIKE pattern with ``\\`` escaping ``%``, ``_`` and itself."""
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")


def literal_prefix(value: str) -> str:
    """The characters before the first wildcard."""
    for index, char in enumerate(value):
        if char in "*?":
            return value[:index]
    return value


def _wildcard(column: Any, value: str, dialect: str) -> ColumnElement[bool]:
    """Case-sensitive wildcard matching that an index serves.

    SQLite: GLOB, with a range on the literal prefix for the index. PostgreSQL:
    LIKE alone, whose literal prefix the planner turns into a range over a
    ``text_pattern_ops`` index (byte order, right under any collation, where a
    ``>=`` range would follow the database's collation).
    """
    if dialect != "sqlite":
        return column.like(like_pattern(value), escape="\\")
    match = column.op("GLOB")(glob_pattern(value))
    prefix = literal_prefix(value)
    if prefix:
        match = and_(column >= prefix, column < prefix + HIGH_SENTINEL, match)
    return match


def _range(column: Any, low: str, high: str) -> ColumnElement[bool]:
    parts = [column != ""]
    if low:
        parts.append(column >= low)
    if high:
        parts.append(column <= high + HIGH_SENTINEL)
    return and_(*parts)


def _name(condition: Condition, query: Query, dialect: str) -> ColumnElement[bool]:
    """PN matching of an indexed attribute (``match_name``), on the folded name column when
    there is one."""
    folded = query.case_insensitive_names
    if folded and condition.keyword == "PatientName":
        column: Any = patients.c.patient_name_norm
    elif folded:
        column = func.upper(_column(condition.keyword))
    else:
        column = _column(condition.keyword)
    return match_name(column, condition.value, dialect, folded=folded)


def match_name(column: Any, value: str, dialect: str, *, folded: bool) -> ColumnElement[bool]:
    """PN matching on ``column``: per component group, case-insensitive when ``folded``
    (``column`` then holds or computes the folded name, see ``normalize_name``).

    A value without ``=`` matches the alphabetic group when it is plain ASCII,
    any group otherwise (ideographic and phonetic names are rarely ASCII); a
    value with ``=`` matches group by group, an empty group universally. A
    wildcard never reaches across groups.
    """
    value = normalize_name(value) if folded else value
    groups = [_group(column, number, dialect) for number in range(3)]
    if "=" in value:
        wanted = value.split("=")[:3]
        parts = [_group_match(g, v, dialect) for g, v in zip(groups, wanted, strict=False) if v]
        match: ColumnElement[bool] = and_(*parts) if parts else literal(True)
        alphabetic = wanted[0]
    elif value.isascii():
        match, alphabetic = _group_match(groups[0], value, dialect), value
    else:
        return or_(*(_group_match(g, value, dialect) for g in groups))
    leading = _leading_group(column, alphabetic, dialect)
    return match if leading is None else and_(leading, match)


def _leading_group(column: Any, value: str, dialect: str) -> ColumnElement[bool] | None:
    """What the whole PN ``column`` satisfies when its first group matches ``value``, as
    a condition that an index of the column serves (None: no such condition).

    SQLite: the range of the literal prefix. PostgreSQL: ``LIKE 'value%'`` (the
    column starts with its first group), served by a ``text_pattern_ops`` index
    for a literal prefix and by a trigram index for a leading wildcard.
    """
    if dialect == "sqlite":
        prefix = literal_prefix(value)
        if not prefix:
            return None
        return and_(column >= prefix, column < prefix + HIGH_SENTINEL)
    if not value:
        return None
    pattern = like_pattern(value)
    return column.like(pattern if value.endswith("*") else pattern + "%", escape="\\")


def _group(column: Any, number: int, dialect: str) -> Any:
    """Component group ``number`` (0: alphabetic, 1: ideographic, 2: phonetic) of a PN column."""
    if dialect != "sqlite":
        return func.split_part(column, "=", number + 1)
    rest = column + literal("==")
    for _ in range(number):
        rest = func.substr(rest, func.instr(rest, "=") + 1)
    return func.substr(rest, 1, func.instr(rest, "=") - 1)


def _group_match(group: Any, value: str, dialect: str) -> ColumnElement[bool]:
    if not has_wildcard(value):
        return group == value
    if dialect == "sqlite":
        return group.op("GLOB")(glob_pattern(value))
    return group.like(like_pattern(value), escape="\\")


def match_value(condition: Condition, column: Any, dialect: str) -> ColumnElement[bool]:
    """The SQL condition of a non-PN ``condition`` on ``column``: UID list, range, wildcard or
    single value."""
    if condition.kind == "list":
        return column.in_(condition.values)
    if condition.kind == "range":
        return _range(column, condition.low, condition.high)
    if condition.kind == "wildcard":
        return _wildcard(column, condition.value, dialect)
    if column.type.python_type is int:
        try:
            return column == int(condition.value)
        except ValueError:
            return literal(False)
    return column == condition.value


def where(condition: Condition, query: Query, dialect: str) -> ColumnElement[bool]:
    """The SQL condition of one matching condition."""
    if condition.kind == "sequence":
        return and_(*(where(item, query, dialect) for item in condition.items))
    if condition.kind == "datetime":
        return _range(studies.c.study_datetime, condition.low, condition.high)
    if condition.vr == "PN" and condition.kind in ("single", "wildcard"):
        return _name(condition, query, dialect)
    keyword = condition.keyword
    if keyword == "ModalitiesInStudy":
        return exists().where(
            series.c.study_pk == studies.c.pk, match_value(condition, series.c.modality, dialect)
        )
    if keyword == "SOPClassesInStudy":
        return exists().where(
            series.c.study_pk == studies.c.pk,
            instances.c.series_pk == series.c.pk,
            match_value(condition, instances.c.sop_class_uid, dialect),
        )
    if keyword in COMPUTED_KEYS:
        return match_value(condition, _computed(keyword, dialect), dialect)
    return match_value(condition, _column(keyword), dialect)


def _count(*conditions: ColumnElement[bool], table: Any) -> Any:
    return select(func.count()).select_from(table).where(*conditions).scalar_subquery()


def _distinct_list(column: Any, dialect: str, *conditions: ColumnElement[bool]) -> Any:
    if dialect == "sqlite":
        # SQLite's DISTINCT aggregates take no separator; codes and UIDs hold no comma.
        aggregate = func.replace(func.group_concat(column.distinct()), ",", "\\")
    else:
        aggregate = func.string_agg(column.distinct(), literal("\\"))
    return select(aggregate).where(*conditions).scalar_subquery()


_INNER_STUDIES = studies.alias("inner_studies")
_INNER_SERIES = series.alias("inner_series")
_INNER_INSTANCES = instances.alias("inner_instances")


def _computed(keyword: str, dialect: str) -> Any:
    """The correlated subquery that computes one attribute of the levels below.

    Its tables are aliases, so that it correlates only with the outer level's
    row even when the outer query joins the same tables (a series-level query
    asking for NumberOfStudyRelatedSeries, say).
    """
    inner_studies, inner_series, inner_instances = _INNER_STUDIES, _INNER_SERIES, _INNER_INSTANCES
    of_patient = inner_studies.c.patient_pk == patients.c.pk
    of_study = inner_series.c.study_pk == studies.c.pk
    series_of_study = inner_series.c.study_pk == inner_studies.c.pk
    instances_of_series = inner_instances.c.series_pk == inner_series.c.pk
    if keyword == "NumberOfPatientRelatedStudies":
        return _count(of_patient, table=inner_studies)
    if keyword == "NumberOfPatientRelatedSeries":
        return _count(of_patient, table=inner_studies.join(inner_series, series_of_study))
    if keyword == "NumberOfPatientRelatedInstances":
        joined = inner_studies.join(inner_series, series_of_study).join(
            inner_instances, instances_of_series
        )
        return _count(of_patient, table=joined)
    if keyword == "NumberOfStudyRelatedSeries":
        return _count(of_study, table=inner_series)
    if keyword == "NumberOfStudyRelatedInstances":
        return _count(of_study, table=inner_series.join(inner_instances, instances_of_series))
    if keyword == "NumberOfSeriesRelatedInstances":
        return _count(inner_instances.c.series_pk == series.c.pk, table=inner_instances)
    if keyword == "ModalitiesInStudy":
        return _distinct_list(inner_series.c.modality, dialect, of_study)
    if keyword == "SOPClassesInStudy":
        joined_where = (of_study, instances_of_series)
        return _distinct_list(inner_instances.c.sop_class_uid, dialect, *joined_where)
    raise KeyError(keyword)


def _from_level(level: str) -> Any:
    """The level's table joined with the tables of every level above it."""
    joined: Any = TABLES[level]
    if LEVELS.index(level) >= 3:  # type: ignore[arg-type]
        joined = joined.join(series, series.c.pk == instances.c.series_pk)
    if LEVELS.index(level) >= 2:  # type: ignore[arg-type]
        joined = joined.join(studies, studies.c.pk == series.c.study_pk)
    if LEVELS.index(level) >= 1:  # type: ignore[arg-type]
        joined = joined.join(patients, patients.c.pk == studies.c.patient_pk)
    return joined


def build_select(
    query: Query, dialect: str, limit: int = 0, offset: int = 0, ordered: bool = False
) -> Select[Any]:
    """The one SELECT that answers ``query``: a row per match, columns labelled by keyword.

    ``ordered`` sorts the matches in the order they were first stored, so that
    pages cut by ``offset`` and ``limit`` follow each other.
    """
    depth = LEVELS.index(query.level)
    wanted: dict[str, Any] = {}
    for key in query.return_keys:
        level = KEY_LEVELS.get(key.keyword)
        if level is None or LEVELS.index(level) > depth:
            continue
        if key.keyword in COMPUTED_KEYS:
            wanted[key.keyword] = _computed(key.keyword, dialect).label(key.keyword)
        else:
            wanted[key.keyword] = _column(key.keyword).label(key.keyword)
    for key in query.return_keys:
        for item in key.items:
            mapped = _sequence_column(key.keyword, item.keyword, depth)
            if mapped is not None:
                wanted[f"{key.keyword}.{item.keyword}"] = mapped.label(
                    f"{key.keyword}.{item.keyword}"
                )
    columns = list(wanted.values()) or [TABLES[query.level].c.pk]
    statement = select(*columns).select_from(_from_level(query.level))
    statement = statement.where(*(where(c, query, dialect) for c in query.conditions))
    if ordered or offset:
        statement = statement.order_by(TABLES[query.level].c.pk)
    if limit:
        statement = statement.limit(limit)
    if offset:
        statement = statement.offset(offset)
    return statement


def _sequence_column(sequence: str, item: str, depth: int) -> Any | None:
    mapped = SEQUENCE_ITEM_KEYS.get((sequence, item))
    if mapped is None or LEVELS.index(KEY_LEVELS[mapped]) > depth:
        return None
    return _column(mapped)


def run(
    engine: Engine, query: Query, limit: int = 0, offset: int = 0, ordered: bool = False
) -> Iterator[dict[str, Any]]:
    """Stream the matching rows, ``limit`` at most (0: all) after skipping ``offset``,
    fetched ``CHUNK`` at a time (``ordered``: see ``build_select``).

    The cursor is closed when the caller stops early (generator closed).
    """
    statement = build_select(query, engine.dialect.name, limit, offset, ordered)
    with engine.connect() as connection:
        result = connection.execution_options(stream_results=True, yield_per=CHUNK).execute(
            statement
        )
        try:
            for partition in result.mappings().partitions(CHUNK):
                yield from (dict(row) for row in partition)
        finally:
            result.close()
