"""same-issue candidates: index the county part of the region code with created_at

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-02 07:00:00

Written alongside another branch's 0005: whichever lands second sets ``down_revision`` to
"0005" so the chain stays linear.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_report_county_created",
        "report",
        [sa.text("substr(region_code, 1, 6)"), "created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_report_county_created", table_name="report")
