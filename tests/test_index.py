"""The SQL index: its Alembic-made schema, instance rows, duplicates, and group commit.

``Index.open`` migrates an empty SQLite file to the newest revision (WAL,
durable commits, every matchable column indexed). ``add_instance`` files an
instance under its patient, study and series; a second copy of a SOP Instance
UID is a ``duplicate`` or, with ``overwrite``, ``replaced``. Concurrent writers
share commits through the ``GroupCommitter``, and one failing operation does
not fail the others of its batch.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from pydicom.dataset import Dataset
from sqlalchemy import Connection, inspect, select, text
from sqlalchemy.exc import IntegrityError

from conftest import wait_for
from vesalius.index import migrate
from vesalius.index.index import AddResult, Index
from vesalius.index.tables import (
    include_object,
    instances,
    metadata,
    patients,
    series,
    studies,
)
from vesalius.model.record import InstanceRecord, record_from_dataset

pytestmark = pytest.mark.both_databases

CT = "1.2.840.10008.5.1.4.1.1.2"
MR = "1.2.840.10008.5.1.4.1.1.4"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
ROOT = "1.2.826.0.1.3680043.8.498.77"

MATCHABLE = {
    "patients": ["patient_id", "patient_name", "patient_birth_date"],
    "studies": [
        "study_instance_uid",
        "study_date",
        "accession_number",
        "study_id",
        "referring_physician_name",
        "patient_pk",
    ],
    "series": ["series_instance_uid", "modality", "series_number", "study_pk"],
    "instances": ["sop_instance_uid", "sop_class_uid", "instance_number", "series_pk"],
}
"""Columns that C-FIND / QIDO-RS match on or that joins follow: each must lead an index."""


def make_record(
    instance: int,
    *,
    series_no: int = 1,
    study_no: int = 1,
    patient: str = "PID1",
    sop_class: str = CT,
) -> InstanceRecord:
    """The record of a small made-up instance, read as ingest reads one."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = f"{ROOT}.{study_no}.{series_no}.{instance}"
    ds.StudyInstanceUID = f"{ROOT}.{study_no}"
    ds.SeriesInstanceUID = f"{ROOT}.{study_no}.{series_no}"
    ds.PatientID = patient
    ds.PatientName = f"DOE^{patient}"
    ds.PatientBirthDate = "19700102"
    ds.PatientSex = "F"
    ds.StudyDate = "20240131"
    ds.StudyTime = "101500"
    ds.AccessionNumber = f"ACC{study_no}"
    ds.StudyID = f"S{study_no}"
    ds.StudyDescription = "CHEST"
    ds.ReferringPhysicianName = "WHO^CARES"
    ds.Modality = "CT"
    ds.SeriesNumber = series_no
    ds.SeriesDescription = "AXIAL"
    ds.BodyPartExamined = "CHEST"
    ds.InstanceNumber = instance
    ds.Rows = 512
    ds.Columns = 256
    ds.BitsAllocated = 16
    ds.ContentDate = "20240131"
    ds.ContentTime = "101501"
    return record_from_dataset(ds)


def add(
    index: Index, record: InstanceRecord, blob: str, *, overwrite: bool = False, size: int = 1000
) -> AddResult:
    """Index one instance as the archive does after writing its blob."""
    return index.add_instance(
        record,
        blob_name=blob,
        file_size=size,
        transfer_syntax_uid=EXPLICIT_LE,
        source_aet="MODALITY",
        overwrite=overwrite,
    )


def rows(index: Index, table: Any) -> list[dict[str, Any]]:
    """Every row of a table, as dicts."""
    with index.reader.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(select(table))]


@pytest.fixture
def index(tmp_path: Path, database_url: str) -> Iterator[Index]:
    """A fresh index (SQLite in a temporary data folder, or a new PostgreSQL database)."""
    opened = Index.open(database_url, tmp_path / "data")
    yield opened
    opened.close()


# -- schema -------------------------------------------------------------------------


def test_open_migrates_to_the_alembic_head(index: Index) -> None:
    head = ScriptDirectory.from_config(migrate.alembic_config(index.writer)).get_current_head()
    assert head is not None
    with index.writer.connect() as connection:
        versions = list(connection.exec_driver_sql("SELECT version_num FROM alembic_version"))
    assert [row[0] for row in versions] == [head]
    assert migrate.current_revision(index.writer) == head


def test_migrated_schema_is_the_one_the_code_declares(index: Index) -> None:
    with index.writer.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_object": include_object(connection.dialect.name)}
        )
        differences = compare_metadata(context, metadata)
    assert differences == []


@pytest.mark.sqlite_only
def test_sqlite_runs_in_wal_mode_with_full_sync(index: Index, tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "data" / "index.sqlite") as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with index.writer.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


@pytest.mark.parametrize("table", sorted(MATCHABLE))
def test_every_matchable_column_leads_an_index(index: Index, table: str) -> None:
    inspector = inspect(index.reader)
    leading = {found["column_names"][0] for found in inspector.get_indexes(table)}
    leading |= {found["column_names"][0] for found in inspector.get_unique_constraints(table)}
    missing = [column for column in MATCHABLE[table] if column not in leading]
    assert missing == []


def test_reopening_keeps_data_and_revision(tmp_path: Path) -> None:
    first = Index.open("", tmp_path / "data")
    add(first, make_record(1), "aa/bb/one.dcm")
    revision = migrate.current_revision(first.writer)
    first.close()
    second = Index.open("", tmp_path / "data")
    try:
        assert migrate.current_revision(second.writer) == revision
        assert second.counts()["instances"] == 1
    finally:
        second.close()


# -- rows -----------------------------------------------------------------------------


def test_add_instance_creates_the_four_levels_with_their_values(index: Index) -> None:
    record = make_record(7, series_no=3)
    assert add(index, record, "aa/bb/seven.dcm", size=4321) == AddResult("stored")

    [patient] = rows(index, patients)
    assert patient["patient_id"] == "PID1"
    assert patient["patient_name"] == "DOE^PID1"
    assert patient["patient_birth_date"] == "19700102"
    assert patient["patient_sex"] == "F"
    assert patient["issuer_of_patient_id"] == ""

    [study] = rows(index, studies)
    assert study["patient_pk"] == patient["pk"]
    assert study["study_instance_uid"] == f"{ROOT}.1"
    assert study["study_date"] == "20240131"
    assert study["study_time"] == "101500"
    assert study["accession_number"] == "ACC1"
    assert study["study_id"] == "S1"
    assert study["study_description"] == "CHEST"
    assert study["referring_physician_name"] == "WHO^CARES"

    [one_series] = rows(index, series)
    assert one_series["study_pk"] == study["pk"]
    assert one_series["series_instance_uid"] == f"{ROOT}.1.3"
    assert one_series["modality"] == "CT"
    assert one_series["series_number"] == 3
    assert one_series["series_description"] == "AXIAL"
    assert one_series["body_part_examined"] == "CHEST"

    [instance] = rows(index, instances)
    assert instance["series_pk"] == one_series["pk"]
    assert instance["sop_instance_uid"] == f"{ROOT}.1.3.7"
    assert instance["sop_class_uid"] == CT
    assert instance["instance_number"] == 7
    assert (instance["rows"], instance["columns"], instance["bits_allocated"]) == (512, 256, 16)
    assert instance["number_of_frames"] is None
    assert instance["content_date"] == "20240131"
    assert instance["specific_character_set"] == "ISO_IR 100"
    assert instance["transfer_syntax_uid"] == EXPLICIT_LE
    assert instance["file_size"] == 4321
    assert instance["blob_name"] == "aa/bb/seven.dcm"
    assert instance["source_aet"] == "MODALITY"
    assert instance["received_at"] is not None


def test_instances_share_their_patient_study_and_series(index: Index) -> None:
    add(index, make_record(1), "b/1")
    add(index, make_record(2), "b/2")
    add(index, make_record(1, series_no=2), "b/3")
    add(index, make_record(1, study_no=2), "b/4")
    add(index, make_record(1, study_no=3, patient="PID2"), "b/5")
    assert index.counts() == {"patients": 2, "studies": 3, "series": 4, "instances": 5}
    found = index.instances_of(study_uids=[f"{ROOT}.1"])
    assert [i.sop_instance_uid for i in found] == [
        f"{ROOT}.1.1.1",
        f"{ROOT}.1.1.2",
        f"{ROOT}.1.2.1",
    ]
    stored = index.instance(f"{ROOT}.2.1.1")
    assert stored is not None
    assert (stored.blob_name, stored.sop_class_uid, stored.file_size) == ("b/4", CT, 1000)
    assert index.instance(f"{ROOT}.9.9.9") is None
    assert index.all_blob_names() == {"b/1", "b/2", "b/3", "b/4", "b/5"}
    assert index.referenced_blobs(["b/2", "b/9", "b/5"]) == {"b/2", "b/5"}


def test_same_sop_instance_again_is_a_duplicate(index: Index) -> None:
    record = make_record(1)
    add(index, record, "c/first")
    assert add(index, record, "c/second", size=2) == AddResult("duplicate")
    [instance] = rows(index, instances)
    assert instance["blob_name"] == "c/first"
    assert instance["file_size"] == 1000
    assert index.counts()["instances"] == 1


def test_overwrite_points_the_row_at_the_new_blob(index: Index) -> None:
    add(index, make_record(1), "c/first")
    moved = make_record(1, series_no=2, sop_class=MR)  # same SOP Instance UID... in a new series
    moved.instance["SOPInstanceUID"] = f"{ROOT}.1.1.1"
    result = add(index, moved, "c/second", overwrite=True, size=2)
    assert result == AddResult("replaced", "c/first")
    [instance] = rows(index, instances)
    assert instance["blob_name"] == "c/second"
    assert instance["file_size"] == 2
    assert instance["sop_class_uid"] == MR
    [new_series] = [s for s in rows(index, series) if s["series_instance_uid"] == f"{ROOT}.1.2"]
    assert instance["series_pk"] == new_series["pk"]
    assert index.all_blob_names() == {"c/second"}


# -- group commit ------------------------------------------------------------------------


def test_concurrent_adds_share_commits(index: Index) -> None:
    threads, per_thread = 8, 50
    start = threading.Barrier(threads)
    errors: list[BaseException] = []
    outcomes: list[str] = []

    def worker(number: int) -> None:
        start.wait()
        try:
            for i in range(per_thread):
                record = make_record(i + 1, series_no=number + 1)
                outcomes.append(add(index, record, f"g/{number}/{i}").outcome)
        except BaseException as error:
            errors.append(error)

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=120)
    assert errors == []
    total = threads * per_thread
    assert outcomes.count("stored") == total
    assert index.counts() == {"patients": 1, "studies": 1, "series": threads, "instances": total}
    assert index.committer.operations == total
    assert index.committer.commits < total, "no batch held more than one operation"


def test_a_failing_operation_does_not_fail_its_batch(index: Index) -> None:
    """Three adds share one batch; the middle one reuses a blob name (a unique column)."""
    committer = index.committer
    leader_in = threading.Event()
    release = threading.Event()

    def blocking(connection: Connection) -> None:
        leader_in.set()
        release.wait(30)
        connection.execute(text("SELECT 1"))

    results: dict[str, object] = {}

    def call(label: str, record: InstanceRecord, blob: str) -> None:
        try:
            results[label] = add(index, record, blob)
        except Exception as error:
            results[label] = error

    leader = threading.Thread(target=committer.run, args=(blocking,))
    leader.start()
    assert leader_in.wait(30)
    followers = [
        threading.Thread(target=call, args=("good-1", make_record(1), "f/shared")),
        threading.Thread(
            target=call, args=("bad", make_record(1, study_no=2, patient="PID9"), "f/shared")
        ),
        threading.Thread(target=call, args=("good-2", make_record(2), "f/other")),
    ]
    for thread in followers:
        thread.start()
    # The three wait behind the leader's open transaction, so they form the next batch.
    wait_for(lambda: len(committer._queue) == 3)
    release.set()
    leader.join(30)
    for thread in followers:
        thread.join(30)

    assert results["good-1"] == AddResult("stored")
    assert results["good-2"] == AddResult("stored")
    assert isinstance(results["bad"], IntegrityError)
    assert {i["sop_instance_uid"] for i in rows(index, instances)} == {
        f"{ROOT}.1.1.1",
        f"{ROOT}.1.1.2",
    }
    # Nothing of the failed operation survived: not its patient, study or series.
    assert [p["patient_id"] for p in rows(index, patients)] == ["PID1"]
    assert [s["study_instance_uid"] for s in rows(index, studies)] == [f"{ROOT}.1"]
