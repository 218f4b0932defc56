"""a file (its SHA-256) is stored at most once per enterprise, also when two uploads of it race

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

STORED = sa.text("status = 'stored'")


def upgrade() -> None:
    # a second stored batch of the same bytes (left by such a race before this index) is marked as what it is;
    # its rows, if any, stay as they are
    op.execute(
        "UPDATE batch SET status = 'duplicate_file' WHERE status = 'stored' AND EXISTS (SELECT 1 FROM batch AS earlier "
        "WHERE earlier.enterprise_uscc = batch.enterprise_uscc AND earlier.sha256 = batch.sha256 "
        "AND earlier.status = 'stored' AND earlier.id < batch.id)"
    )
    op.create_index(
        "uq_batch_stored_file",
        "batch",
        ["enterprise_uscc", "sha256"],
        unique=True,
        sqlite_where=STORED,
        postgresql_where=STORED,
    )


def downgrade() -> None:
    op.drop_index("uq_batch_stored_file", table_name="batch")
    op.execute("UPDATE batch SET status = 'stored' WHERE status = 'duplicate_file'")
