"""instance metadata: the DICOM JSON of stored files, kept once computed

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 09:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "instance_metadata",
        sa.Column("blob_name", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("blob_name"),
    )


def downgrade() -> None:
    op.drop_table("instance_metadata")
