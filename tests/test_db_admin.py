"""The index database itself: the opening rule, ``vesalius db`` and ``vesalius migrate-index``.

An empty database is created at the newest revision; one behind the code is
refused by every verb (exit 1, one line naming ``vesalius db upgrade``) until
``db upgrade`` migrates it; one ahead of the code is refused too.
``migrate-index`` copies a filled SQLite index into a fresh PostgreSQL
database that then answers the same queries and takes new instances.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import func, select, text

from conftest import corpus_file, make_settings, vesalius
from postgres_support import fresh_database
from vesalius.archive.archive import Archive
from vesalius.archive.users import Users
from vesalius.index import migrate
from vesalius.index.copy import CopyError, copy_index
from vesalius.index.engine import database_url, make_engines
from vesalius.index.index import Index
from vesalius.index.tables import metadata
from vesalius.model.matching import dataset_from_keys, parse_identifier

OLD = "0007"
MR = [f"dcm4che/MR-series/MR{n:02d}.dcm" for n in range(1, 4)]
CT = "pydicom/test_files/dicomdirtests/77654033/CT2/17106"
LATE = "pydicom/test_files/MR_small.dcm"


def build_at(url: str, revision: str) -> None:
    """Create the schema of ``revision`` (an old one) in the empty database at ``url``."""
    _, writer = make_engines(url)
    try:
        config = migrate.alembic_config(writer)
        with writer.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        writer.dispose()


def revision_of(url: str) -> str | None:
    _, writer = make_engines(url)
    try:
        return migrate.current_revision(writer)
    finally:
        writer.dispose()


def row_counts(url: str) -> dict[str, int]:
    _, writer = make_engines(url)
    try:
        with writer.connect() as connection:
            return {
                table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
                for table in metadata.sorted_tables
            }
    finally:
        writer.dispose()


def files_of(folder: Path) -> dict[str, str]:
    """Relative path -> SHA-256 of every file under ``folder``."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(params=["sqlite", "postgresql"])
def old_index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """(data dir, database URL) of an index left at revision ``OLD``; URL empty for SQLite."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    if request.param == "postgresql":
        with fresh_database(migrated=False) as url:
            build_at(url, OLD)
            yield data_dir, url
    else:
        build_at(database_url("", data_dir), OLD)
        yield data_dir, ""


# -- the opening rule ---------------------------------------------------------
def test_an_old_schema_is_refused_by_serve_until_db_upgrade(old_index: tuple[Path, str]) -> None:
    data_dir, url = old_index
    head = migrate.head_revision()
    assert head != OLD
    served = vesalius(
        "serve", "--data-dir", str(data_dir), "--dicom-port", "0", "--http-port", "0",
        database_url=url,
    )  # fmt: skip
    assert served.returncode == 1, served.stderr
    lines = served.stderr.strip().splitlines()
    assert lines == [
        f"vesalius: the index schema is at {OLD}, this Vesalius needs {head}: "
        'run "vesalius db upgrade"'
    ]
    index_url = database_url(url, data_dir)
    assert revision_of(index_url) == OLD

    current = vesalius("db", "current", "--data-dir", str(data_dir), database_url=url)
    assert current.returncode == 0, current.stderr
    assert OLD in current.stdout and "db upgrade" in current.stdout

    upgraded = vesalius("db", "upgrade", "--data-dir", str(data_dir), database_url=url)
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"was at {OLD}, now at {head}" in upgraded.stdout
    assert revision_of(index_url) == head

    current = vesalius("db", "current", "--data-dir", str(data_dir), database_url=url)
    assert current.stdout.strip() == f"{head} (the newest)"
    again = vesalius("db", "upgrade", "--data-dir", str(data_dir), database_url=url)
    assert again.returncode == 0 and "the newest" in again.stdout

    archive = Archive.open(make_settings(data_dir, database={"url": url}))
    archive.close()


def test_index_open_upgrades_an_old_schema_only_when_asked(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    build_at(database_url("", data_dir), OLD)
    with pytest.raises(migrate.SchemaError, match='run "vesalius db upgrade"'):
        Index.open("", data_dir)
    Index.open("", data_dir, upgrade=True).close()
    assert revision_of(database_url("", data_dir)) == migrate.head_revision()


def test_an_empty_postgresql_database_is_created_at_the_newest_revision(tmp_path: Path) -> None:
    with fresh_database(migrated=False) as url:
        _, engine = make_engines(url)
        assert migrate.schema_state(engine).empty
        engine.dispose()
        Index.open(url, tmp_path).close()
        assert revision_of(url) == migrate.head_revision()


def test_a_schema_newer_than_the_code_is_refused(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    Index.open("", data_dir).close()
    url = database_url("", data_dir)
    _, writer = make_engines(url)
    with writer.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    writer.dispose()
    for upgrade in (False, True):
        with pytest.raises(migrate.SchemaError, match="9999, which this Vesalius does not know"):
            Index.open("", data_dir, upgrade=upgrade)
    refused = vesalius("db", "upgrade", "--data-dir", str(data_dir))
    assert refused.returncode == 1
    assert "run a newer Vesalius" in refused.stderr
    assert revision_of(url) == "9999"


# -- migrate-index --------------------------------------------------------------
def _answers(archive: Archive, level: str, keys: dict[str, str]) -> list[dict[str, object]]:
    query = parse_identifier(dataset_from_keys(level, keys), "study", relational=True)
    found = [answer.dataset().to_json_dict() for answer in archive.find(query)]
    return sorted(found, key=repr)


QUERIES = [
    ("STUDY", {"PatientName": "*", "StudyInstanceUID": "", "ModalitiesInStudy": ""}),
    ("STUDY", {"PatientName": "DOE*", "StudyDate": "", "NumberOfStudyRelatedInstances": ""}),
    ("SERIES", {"StudyInstanceUID": "", "SeriesInstanceUID": "", "Modality": "MR"}),
    ("IMAGE", {"SOPInstanceUID": "", "InstanceNumber": "", "SOPClassUID": ""}),
]


def test_migrate_index_copies_a_sqlite_archive_to_postgresql(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    imported = vesalius(
        "import", "--data-dir", str(data_dir), *(str(corpus_file(p)) for p in [*MR, CT])
    )
    assert imported.returncode == 0, imported.stderr
    local = make_settings(data_dir)
    archive = Archive.open(local)
    Users(archive.index).add("alice", "correct horse", "admin")
    archive.close()
    sqlite_url = database_url("", data_dir)
    blobs_before = files_of(data_dir / "storage")
    assert len(blobs_before) >= len(MR) + 1

    with fresh_database(migrated=False) as url:
        copied = vesalius("migrate-index", "--from-data-dir", str(data_dir), "--to", url)
        assert copied.returncode == 0, copied.stderr
        source_counts, target_counts = row_counts(sqlite_url), row_counts(url)
        assert target_counts == source_counts
        assert source_counts["instances"] == len(MR) + 1
        assert source_counts["users"] == 1
        shown = {
            row[1]: row[3] for row in map(str.split, copied.stdout.splitlines()) if row[:1] == ["│"]
        }
        assert shown == {table: str(rows) for table, rows in source_counts.items()}
        assert revision_of(url) == migrate.head_revision()
        assert files_of(data_dir / "storage") == blobs_before
        assert revision_of(sqlite_url) == migrate.head_revision()

        on_sqlite = Archive.open(local)
        on_postgres = Archive.open(make_settings(data_dir, database={"url": url}))
        try:
            for level, keys in QUERIES:
                expected = _answers(on_sqlite, level, keys)
                assert expected, (level, keys)
                assert _answers(on_postgres, level, keys) == expected
            late = on_postgres.store_file(corpus_file(LATE).read_bytes())
            assert late.outcome == "stored"
            Users(on_postgres.index).add("bob", "correct horse", "viewer")
        finally:
            on_sqlite.close()
            on_postgres.close()
        after = row_counts(url)
        assert after["instances"] == source_counts["instances"] + 1
        assert after["users"] == 2


def test_migrate_index_refuses_a_non_empty_target_and_leaves_it_unchanged(tmp_path: Path) -> None:
    source_dir = tmp_path / "source"
    archive = Archive.open(make_settings(source_dir))
    archive.store_file(corpus_file(MR[0]).read_bytes())
    archive.close()
    with fresh_database() as url:
        target = Archive.open(make_settings(tmp_path / "target", database={"url": url}))
        Users(target.index).add("carol", "correct horse", "admin")
        target.close()
        before = row_counts(url)
        refused = vesalius("migrate-index", "--from-data-dir", str(source_dir), "--to", url)
        assert refused.returncode == 1
        assert "not empty (users 1)" in refused.stderr
        assert row_counts(url) == before


def test_migrate_index_refuses_a_source_behind_the_code(old_index: tuple[Path, str]) -> None:
    data_dir, url = old_index
    source = database_url(url, data_dir)
    target = data_dir.parent / "target"
    refused = vesalius("migrate-index", "--from", source, "--to-data-dir", str(target))
    assert refused.returncode == 1
    assert f"source: the index schema is at {OLD}" in refused.stderr
    assert 'run "vesalius db upgrade"' in refused.stderr
    assert not (target / "index.sqlite").exists()


def test_copy_index_goes_in_batches_and_back(tmp_path: Path) -> None:
    archive = Archive.open(make_settings(tmp_path / "a"))
    for relative in MR:
        archive.store_file(corpus_file(relative).read_bytes())
    archive.close()
    first, second = database_url("", tmp_path / "a"), database_url("", tmp_path / "b")
    seen: list[tuple[str, int]] = []
    report = copy_index(first, second, batch_rows=2, on_table=lambda *entry: seen.append(entry))
    assert {entry.table: entry.target_rows for entry in report} == row_counts(first)
    assert ("instances", len(MR)) in seen
    assert [name for name, _rows in seen] == [table.name for table in metadata.sorted_tables]
    with pytest.raises(CopyError, match="same database"):
        copy_index(first, f"sqlite:///{tmp_path / 'x' / '..' / 'a' / 'index.sqlite'}")
    with pytest.raises(CopyError, match="no index"):
        copy_index(database_url("", tmp_path / "none"), second)


def test_the_readme_and_docs_describe_the_verbs() -> None:
    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert "`vesalius db " in readme and "`vesalius migrate-index" in readme
    assert "docs/database.md" in readme
    doc = (root / "docs" / "database.md").read_text(encoding="utf-8")
    for words in ("vesalius db upgrade", "vesalius db current", "vesalius migrate-index"):
        assert words in doc
