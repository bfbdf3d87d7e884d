"""worklist and mpps: modality worklist items and performed procedure steps

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _text(name: str, length: int = 64) -> sa.Column:
    return sa.Column(name, sa.String(length=length), nullable=False, server_default="")


def upgrade() -> None:
    op.create_table(
        "worklist",
        sa.Column("pk", sa.Integer(), nullable=False),
        _text("patient_id"),
        _text("issuer_of_patient_id"),
        _text("patient_name", 324),
        _text("patient_name_norm", 324),
        _text("accession_number"),
        _text("requested_procedure_id"),
        sa.Column("study_instance_uid", sa.String(length=64), nullable=False),
        _text("scheduled_station_ae_title", 16),
        _text("modality", 16),
        _text("scheduled_procedure_step_start_date", 16),
        _text("scheduled_procedure_step_start_time", 32),
        _text("scheduled_procedure_step_start_datetime", 48),
        _text("scheduled_performing_physician_name", 324),
        _text("scheduled_procedure_step_id"),
        _text("scheduled_procedure_step_status", 16),
        _text("placer_order_number_imaging_service_request"),
        _text("filler_order_number_imaging_service_request"),
        _text("mpps_uid"),
        sa.Column("dataset", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("pk"),
    )
    for name, columns in (
        ("ix_worklist_patient_id", ["patient_id"]),
        ("ix_worklist_patient_name_norm", ["patient_name_norm"]),
        ("ix_worklist_accession_number", ["accession_number"]),
        ("ix_worklist_study_instance_uid", ["study_instance_uid"]),
        (
            "ix_worklist_station_start",
            ["scheduled_station_ae_title", "scheduled_procedure_step_start_datetime"],
        ),
        ("ix_worklist_start", ["scheduled_procedure_step_start_datetime"]),
        ("ix_worklist_status", ["scheduled_procedure_step_status"]),
        ("ix_worklist_placer_order", ["placer_order_number_imaging_service_request"]),
        ("ix_worklist_filler_order", ["filler_order_number_imaging_service_request"]),
    ):
        op.create_index(name, "worklist", columns, unique=False)
    op.create_table(
        "mpps",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("sop_instance_uid", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        _text("study_instance_uid"),
        sa.Column("worklist_pk", sa.Integer(), nullable=True),
        _text("performed_station_ae_title", 16),
        sa.Column("dataset", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["worklist_pk"], ["worklist.pk"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint("sop_instance_uid"),
    )
    op.create_index("ix_mpps_study_instance_uid", "mpps", ["study_instance_uid"], unique=False)
    op.create_index("ix_mpps_worklist_pk", "mpps", ["worklist_pk"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_mpps_worklist_pk", table_name="mpps")
    op.drop_index("ix_mpps_study_instance_uid", table_name="mpps")
    op.drop_table("mpps")
    for name in (
        "ix_worklist_filler_order",
        "ix_worklist_placer_order",
        "ix_worklist_status",
        "ix_worklist_start",
        "ix_worklist_station_start",
        "ix_worklist_study_instance_uid",
        "ix_worklist_accession_number",
        "ix_worklist_patient_name_norm",
        "ix_worklist_patient_id",
    ):
        op.drop_index(name, table_name="worklist")
    op.drop_table("worklist")
