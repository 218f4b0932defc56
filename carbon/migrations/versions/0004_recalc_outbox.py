"""recalculation outbox; enterprises keep the time of their last change

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recalc_due",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_uscc", sqlmodel.sql.sqltypes.AutoString(length=18), nullable=True),
        sa.Column("year_from", sa.Integer(), nullable=True),
        sa.Column("year_to", sa.Integer(), nullable=True),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("accounting_run", schema=None) as batch_op:
        batch_op.create_index(
            "ix_accounting_run_newest", ["subject_kind", "basis", "gwp_set", "subject_id", "year"], unique=False
        )
    with op.batch_alter_table("enterprise", schema=None) as batch_op:
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
    # results stored before the outbox existed may be behind on some basis: owe one full recalculation
    op.execute(
        "INSERT INTO recalc_due (enterprise_uscc, year_from, year_to, reason, created_at) "
        "SELECT NULL, NULL, NULL, 'schema 0004: every basis brought up to date', CURRENT_TIMESTAMP "
        "WHERE EXISTS (SELECT 1 FROM accounting_run)"
    )


def downgrade() -> None:
    with op.batch_alter_table("accounting_run", schema=None) as batch_op:
        batch_op.drop_index("ix_accounting_run_newest")
    with op.batch_alter_table("enterprise", schema=None) as batch_op:
        batch_op.drop_column("updated_at")
    op.drop_table("recalc_due")
