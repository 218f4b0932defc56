"""grid accounts: utility accounts (户号) of enterprises, their meters, and the utility's statements per account and
billing period (restatements kept as history)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

CURRENT = sa.text("superseded_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "grid_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("utility", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("account_no", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("enterprise_uscc", sqlmodel.sql.sqltypes.AutoString(length=18), nullable=False),
        sa.Column("registered_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["enterprise_uscc"], ["enterprise.uscc"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("utility", "account_no", name="uq_grid_account"),
    )
    with op.batch_alter_table("grid_account", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grid_account_enterprise_uscc"), ["enterprise_uscc"], unique=False)

    op.create_table(
        "grid_account_meter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("meter_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["grid_account.id"]),
        sa.ForeignKeyConstraint(["meter_id"], ["meter.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("meter_id"),
    )
    with op.batch_alter_table("grid_account_meter", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grid_account_meter_account_id"), ["account_id"], unique=False)

    op.create_table(
        "grid_statement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("utility", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("account_no", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("account_name", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("energy_kwh", sa.Float(), nullable=False),
        sa.Column("energy_original", sa.Float(), nullable=False),
        sa.Column("unit_original", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("source_row", sa.Integer(), nullable=False),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("superseded_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["superseded_by"], ["grid_statement.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("grid_statement", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grid_statement_account_no"), ["account_no"], unique=False)
        batch_op.create_index(
            "uq_grid_statement_current",
            ["utility", "account_no", "period_start", "period_end"],
            unique=True,
            sqlite_where=CURRENT,
            postgresql_where=CURRENT,
        )


def downgrade() -> None:
    with op.batch_alter_table("grid_statement", schema=None) as batch_op:
        batch_op.drop_index("uq_grid_statement_current", sqlite_where=CURRENT, postgresql_where=CURRENT)
        batch_op.drop_index(batch_op.f("ix_grid_statement_account_no"))
    op.drop_table("grid_statement")
    with op.batch_alter_table("grid_account_meter", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grid_account_meter_account_id"))
    op.drop_table("grid_account_meter")
    with op.batch_alter_table("grid_account", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grid_account_enterprise_uscc"))
    op.drop_table("grid_account")
