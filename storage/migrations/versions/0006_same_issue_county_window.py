"""same-issue candidates: a report's similarity key, and the county window index

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 07:00:00

Older reports keep a null key; the comparison computes theirs from the text.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.add_column(sa.Column("similarity_key", sa.Text(), nullable=True))
    op.create_index(
        "ix_report_county_created",
        "report",
        [sa.text("substr(region_code, 1, 6)"), "created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_report_county_created", table_name="report")
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.drop_column("similarity_key")
