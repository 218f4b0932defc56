"""a run without data keeps no totals (NULL, not 0); the date on which the ledger last read the rules in force

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TOTALS = ("total_tco2e", "scope1_tco2e", "scope2_tco2e", "energy_tce")


def upgrade() -> None:
    with op.batch_alter_table("accounting_run", schema=None) as batch_op:
        for col in TOTALS:
            batch_op.alter_column(col, existing_type=sa.Float(), nullable=True)
    # a run stored when its enterprise had no data left kept 0 totals: missing is not zero
    op.execute(
        "UPDATE accounting_run SET total_tco2e = NULL, scope1_tco2e = NULL, scope2_tco2e = NULL, energy_tce = NULL "
        "WHERE NOT EXISTS (SELECT 1 FROM emission_result WHERE emission_result.run_id = accounting_run.id)"
    )
    op.create_table(
        "ledger_clock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("priced_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute("INSERT INTO ledger_clock (id, priced_on) VALUES (1, NULL)")


def downgrade() -> None:
    op.drop_table("ledger_clock")
    op.execute(
        "UPDATE accounting_run SET total_tco2e = 0, scope1_tco2e = 0, scope2_tco2e = 0, energy_tce = 0 "
        "WHERE total_tco2e IS NULL"
    )
    with op.batch_alter_table("accounting_run", schema=None) as batch_op:
        for col in TOTALS:
            batch_op.alter_column(col, existing_type=sa.Float(), nullable=False)
