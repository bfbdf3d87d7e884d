"""PostgreSQL pattern indexes: wildcard matching (DOE*, *DOE) served by indexes

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27 11:00:00.000000

On PostgreSQL only (SQLite's GLOB uses its plain indexes already):
``text_pattern_ops`` B-trees for prefix wildcards (``LIKE 'DOE%'``, whatever the
database's collation) and ``pg_trgm`` GIN indexes for leading wildcards
(``LIKE '%DOE%'``) on the patient name columns. ``pg_trgm`` is a trusted
extension (PostgreSQL 13 and later): the database owner may create it.
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

PATTERN = (
    ("patients", "patient_name_norm"),
    ("patients", "patient_name"),
    ("patients", "patient_id"),
    ("studies", "accession_number"),
    ("studies", "study_id"),
    ("studies", "study_description"),
    ("studies", "referring_physician_name"),
    ("worklist", "patient_name_norm"),
    ("worklist", "patient_id"),
    ("worklist", "accession_number"),
)
TRIGRAM = (
    ("patients", "patient_name_norm"),
    ("patients", "patient_name"),
)


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    if not _postgresql():
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for table, column in PATTERN:
        op.create_index(
            f"ix_{table}_{column}_pattern",
            table,
            [column],
            postgresql_ops={column: "text_pattern_ops"},
        )
    for table, column in TRIGRAM:
        op.create_index(
            f"ix_{table}_{column}_trgm",
            table,
            [column],
            postgresql_using="gin",
            postgresql_ops={column: "gin_trgm_ops"},
        )


def downgrade() -> None:
    if not _postgresql():
        return
    for table, column in TRIGRAM:
        op.drop_index(f"ix_{table}_{column}_trgm", table_name=table)
    for table, column in PATTERN:
        op.drop_index(f"ix_{table}_{column}_pattern", table_name=table)
    # pg_trgm stays: other objects of the database may use it.
