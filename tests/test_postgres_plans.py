"""On PostgreSQL, the SQL that C-FIND and QIDO-RS build is answered from indexes.

A few thousand studies are loaded with ``Index.add_instances_bulk``, the
tables analysed, and the planner asked (``EXPLAIN``) how it would run the
SELECT that ``index.query.build_select`` makes for the common queries of a
workstation: a name prefix (``DOE*``, ``text_pattern_ops``), a name suffix
(``*DOE``, trigram GIN), an exact PatientID, a one-month date range, and a
modality within a date range. Each plan must reach the big tables through the
expected index and never by a sequential scan, so each assertion fails when
its index is missing (migration 0010 for the first two).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydicom.dataset import Dataset
from sqlalchemy import Engine

import postgres_support
from vesalius.index.index import Index
from vesalius.index.query import build_select
from vesalius.index.tables import POSTGRES_INDEXES
from vesalius.model.matching import parse_identifier
from vesalius.model.record import record_from_values

STUDIES = 10_000
STUDIES_PER_PATIENT = 1
SERIES_PER_STUDY = 1
ROOT = "1.2.826.0.1.3680043.8.498.4242"
MODALITIES = ("CT", "MR", "US", "CR", "DX")
BIG_TABLES = {"patients", "studies", "series", "instances"}


def _study_values(number: int) -> dict[str, str]:
    """Patient and study attributes of study ``number``: one patient in 500 named
    DOE^..., one in 700 ...^DOE (for the leading wildcard)."""
    patient = number // STUDIES_PER_PATIENT
    if patient % 500 == 7:
        name = f"DOE^JOHN{patient}"
    elif patient % 700 == 11:
        name = f"JANE{patient}^DOE"
    else:
        name = f"NAME{patient:06d}^TEST"
    day = datetime.date(2015, 1, 1) + datetime.timedelta(days=(number * 7919) % 3650)
    return {
        "PatientID": f"P{patient:07d}",
        "PatientName": name,
        "PatientBirthDate": "19700101",
        "StudyInstanceUID": f"{ROOT}.{number}",
        "StudyDate": day.strftime("%Y%m%d"),
        "StudyTime": "101500",
        "AccessionNumber": f"A{number:08d}",
        "StudyID": str(number),
        "StudyDescription": "PLANS",
    }


def _items(first: int, last: int) -> Iterator[tuple[Any, str, int, str]]:
    for number in range(first, last):
        values = _study_values(number)
        for series_no in range(1, SERIES_PER_STUDY + 1):
            uid = f"{ROOT}.{number}.{series_no}"
            yield (
                record_from_values(
                    values
                    | {
                        "SeriesInstanceUID": uid,
                        "SeriesNumber": str(series_no),
                        "Modality": MODALITIES[(number + series_no) % len(MODALITIES)],
                        "SOPInstanceUID": f"{uid}.1",
                        "SOPClassUID": "1.2.840.10008.5.1.4.1.1.2",
                        "InstanceNumber": "1",
                    }
                ),
                f"plans/{number}/{series_no}",
                1,
                "1.2.840.10008.1.2.1",
            )


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A PostgreSQL index of ``STUDIES`` studies, vacuumed and analysed."""
    with postgres_support.fresh_database() as url:
        index = Index.open(url, Path(tmp_path_factory.mktemp("plans")))
        try:
            for first in range(0, STUDIES, 1000):
                index.add_instances_bulk(_items(first, min(first + 1000, STUDIES)))
            with index.writer.connect() as connection:
                # What autovacuum does after a load: statistics, and the GIN pending
                # lists merged (the planner counts their pages against the index).
                connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                    "VACUUM ANALYZE"
                )
            yield index.reader
        finally:
            index.close()


def _compiled(engine: Engine, keys: dict[str, str], level: str = "STUDY") -> Any:
    """The SELECT of the C-FIND ``keys`` (Study Root, at ``level``), compiled for psycopg."""
    identifier = Dataset()
    identifier.QueryRetrieveLevel = level
    for keyword in ("StudyInstanceUID", "PatientName", "PatientID", "StudyDate"):
        setattr(identifier, keyword, "")
    for keyword, value in keys.items():
        setattr(identifier, keyword, value)
    query = parse_identifier(identifier, "study")
    return build_select(query, "postgresql").compile(dialect=engine.dialect)


def _plan(engine: Engine, keys: dict[str, str], level: str = "STUDY") -> list[dict[str, Any]]:
    """Every node of the plan of the C-FIND ``keys``, explained with the parameters the
    statement is run with."""
    compiled = _compiled(engine, keys, level)
    with engine.connect() as connection:
        plan = connection.exec_driver_sql(
            "EXPLAIN (FORMAT JSON) " + str(compiled), compiled.params
        ).scalar_one()[0]
    nodes, pending = [], [plan["Plan"]]
    while pending:
        node = pending.pop()
        nodes.append(node)
        pending.extend(node.get("Plans", []))
    return nodes


def _assert_indexed(nodes: list[dict[str, Any]], expected: str | set[str]) -> None:
    """No sequential scan of a big table, and one of the ``expected`` indexes used."""
    scans = [(n["Node Type"], n.get("Relation Name"), n.get("Index Name")) for n in nodes]
    sequential = [s for s in scans if s[0] == "Seq Scan" and s[1] in BIG_TABLES]
    assert sequential == [], scans
    wanted = {expected} if isinstance(expected, str) else expected
    assert wanted & {s[2] for s in scans}, scans


QUERIES = {
    "PatientName=DOE*": ({"PatientName": "DOE*"}, "ix_patients_patient_name_norm_pattern"),
    "PatientName=*DOE": ({"PatientName": "*DOE"}, "ix_patients_patient_name_norm_trgm"),
    "PatientID exact": (
        {"PatientID": "P0000123"},
        {"uq_patients_id_issuer", "ix_patients_patient_id_pattern"},
    ),
    "PatientID=P000012*": ({"PatientID": "P000012*"}, "ix_patients_patient_id_pattern"),
    "AccessionNumber=A0000123*": (
        {"AccessionNumber": "A0000123*"},
        "ix_studies_accession_number_pattern",
    ),
    "one-month StudyDate": ({"StudyDate": "20200301-20200331"}, "ix_studies_study_date"),
    "modality and date": (
        {"ModalitiesInStudy": "CT", "StudyDate": "20200301-20200331"},
        "ix_studies_study_date",
    ),
}


@pytest.mark.parametrize("name", list(QUERIES))
def test_postgresql_plan_uses_an_index(engine: Engine, name: str) -> None:
    keys, expected_index = QUERIES[name]
    _assert_indexed(_plan(engine, keys), expected_index)


def test_postgresql_modality_is_matched_through_the_series_index(engine: Engine) -> None:
    nodes = _plan(engine, {"ModalitiesInStudy": "CT", "StudyDate": "20200301-20200331"})
    used = {n.get("Index Name") for n in nodes}
    assert used & {"ix_series_modality_study_pk", "ix_series_study_pk"}, used


def test_postgresql_series_of_a_study_by_modality(engine: Engine) -> None:
    nodes = _plan(engine, {"StudyInstanceUID": f"{ROOT}.17", "Modality": "CT"}, "SERIES")
    _assert_indexed(nodes, "studies_study_instance_uid_key")


@pytest.mark.parametrize("pattern", ["DOE*", "*DOE"])
def test_postgresql_name_plans_need_the_indexes_of_migration_0010(
    engine: Engine, pattern: str
) -> None:
    """Not vacuous: without the PostgreSQL-only indexes, the same query scans the patients."""
    compiled = _compiled(engine, {"PatientName": pattern})
    with engine.connect() as connection, connection.begin() as transaction:
        for index in POSTGRES_INDEXES:
            connection.exec_driver_sql(f"DROP INDEX {index.name}")
        rows = connection.exec_driver_sql("EXPLAIN " + str(compiled), compiled.params)
        plan = "\n".join(row[0] for row in rows)
        transaction.rollback()
    assert "Seq Scan on patients" in plan, plan


@pytest.mark.parametrize(
    ("pattern", "matches"),
    [
        ("DOE*", lambda name: name.startswith("DOE")),
        ("*DOE", lambda name: name.endswith("DOE")),
        ("doe^john7", lambda name: name == "DOE^JOHN7"),
    ],
)
def test_postgresql_indexed_name_matching_finds_what_it_should(
    engine: Engine, pattern: str, matches: Any
) -> None:
    compiled = _compiled(engine, {"PatientName": pattern})
    with engine.connect() as connection:
        found = connection.exec_driver_sql(str(compiled), compiled.params).all()
    expected = [n for n in range(STUDIES) if matches(_study_values(n)["PatientName"])]
    assert expected
    assert len(found) == len(expected)
