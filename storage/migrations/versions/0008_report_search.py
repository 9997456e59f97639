"""full-text search over reports: search terms and the database's index over them

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 10:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage import search

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("report", sa.Column("search_terms", sa.Text(), nullable=True))
    connection = op.get_bind()
    search.install(connection)
    search.reindex(connection)


def downgrade() -> None:
    connection = op.get_bind()
    search.uninstall(connection)
    # A plain DROP COLUMN (SQLite 3.35+): batch mode would rebuild the table and lose the
    # expression index ix_report_county_created, which it cannot reflect.
    op.execute("ALTER TABLE report DROP COLUMN search_terms")
