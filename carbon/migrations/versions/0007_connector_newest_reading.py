"""a connector keeps the time of its newest reading, not a lag frozen at its last success: the lag is measured
against now when it is read, so it keeps growing while the connector fails

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from datetime import timedelta

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

STATE = sa.table(
    "connector_state",
    sa.column("name", sa.String()),
    sa.column("last_success_at", sa.DateTime(timezone=True)),
    sa.column("lag_seconds", sa.Float()),
    sa.column("newest_reading_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    with op.batch_alter_table("connector_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("newest_reading_at", sa.DateTime(timezone=True), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(STATE.c.name, STATE.c.last_success_at, STATE.c.lag_seconds).where(
            STATE.c.last_success_at.is_not(None), STATE.c.lag_seconds.is_not(None)
        )
    ).all()
    for name, success, lag in rows:  # the lag was measured at the last success: the reading it was measured from
        conn.execute(
            sa.update(STATE).where(STATE.c.name == name).values(newest_reading_at=success - timedelta(seconds=lag))
        )
    with op.batch_alter_table("connector_state", schema=None) as batch_op:
        batch_op.drop_column("lag_seconds")


def downgrade() -> None:
    with op.batch_alter_table("connector_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lag_seconds", sa.Float(), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(STATE.c.name, STATE.c.last_success_at, STATE.c.newest_reading_at).where(
            STATE.c.last_success_at.is_not(None), STATE.c.newest_reading_at.is_not(None)
        )
    ).all()
    for name, success, newest in rows:
        lag = max((success - newest).total_seconds(), 0.0)
        conn.execute(sa.update(STATE).where(STATE.c.name == name).values(lag_seconds=lag))
    with op.batch_alter_table("connector_state", schema=None) as batch_op:
        batch_op.drop_column("newest_reading_at")
