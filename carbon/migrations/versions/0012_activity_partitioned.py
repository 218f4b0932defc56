"""activity partitioned by month on PostgreSQL: RANGE (period_start), one partition per local calendar month
(carbon.partitions), the primary key (id, period_start); SQLite keeps its one table

Every row keeps its id and values; ids go on from the same sequence.  The keys, foreign keys (to batch, meter,
enterprise) and indexes are those of the plain table, the partial unique index uq_activity_current included (it
holds the partition key).  No table refers to activity.id by a foreign key (a frozen submission keeps the id as a
plain number), so none has to follow the primary key.

Revision ID: 0012_activity_partitioned
Revises: 0011
Create Date: 2027-01-10
"""

import numpy as np
import sqlalchemy as sa
import sqlmodel
from alembic import op

from carbon.accounting import LOCAL_TZ
from carbon.partitions import create_partitions

revision = "0012_activity_partitioned"
down_revision = "0011"
branch_labels = None
depends_on = None

COLUMNS = (
    "id, batch_id, meter_id, enterprise_uscc, carrier, period_start, period_end, quantity_canonical, "
    "quantity_original, unit_original, source_row, superseded_at, superseded_by_batch"
)
INDEXES = ("uq_activity_current", "ix_activity_enterprise_period", "ix_activity_batch_id")


def _create_activity(**table_kw: str) -> None:
    """The activity table without keys or indexes (added after its rows); ids from the existing sequence."""
    op.create_table(
        "activity",
        sa.Column(
            "id",
            sa.Integer(),
            server_default=sa.text("nextval('activity_id_seq'::regclass)"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("meter_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_uscc", sqlmodel.sql.sqltypes.AutoString(length=18), nullable=False),
        sa.Column("carrier", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("quantity_canonical", sa.Float(), nullable=False),
        sa.Column("quantity_original", sa.Float(), nullable=False),
        sa.Column("unit_original", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("source_row", sa.Integer(), nullable=False),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("superseded_by_batch", sa.Integer(), nullable=True),
        **table_kw,
    )
    op.execute("ALTER SEQUENCE activity_id_seq OWNED BY activity.id")  # kept when the old table is dropped


def _keys_and_indexes(primary_key: list[str]) -> None:
    op.create_primary_key("activity_pkey", "activity", primary_key)
    op.create_foreign_key("activity_batch_id_fkey", "activity", "batch", ["batch_id"], ["id"])
    op.create_foreign_key("activity_enterprise_uscc_fkey", "activity", "enterprise", ["enterprise_uscc"], ["uscc"])
    op.create_foreign_key("activity_meter_id_fkey", "activity", "meter", ["meter_id"], ["id"])
    op.create_foreign_key("activity_superseded_by_batch_fkey", "activity", "batch", ["superseded_by_batch"], ["id"])
    op.create_index("ix_activity_batch_id", "activity", ["batch_id"], unique=False)
    op.create_index("ix_activity_enterprise_period", "activity", ["enterprise_uscc", "period_start"], unique=False)
    op.create_index(
        "uq_activity_current",
        "activity",
        ["meter_id", "period_start", "period_end"],
        unique=True,
        postgresql_where=sa.text("superseded_at IS NULL"),
    )


def _set_aside(old: str) -> None:
    """Rename the current activity table to ``old``, its primary key's index with it; drop its other indexes."""
    op.execute(f"ALTER TABLE activity RENAME TO {old}")
    op.execute(f"ALTER INDEX activity_pkey RENAME TO {old}_pkey")
    for name in INDEXES:
        op.execute(f"DROP INDEX {name}")


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    _set_aside("activity_unpartitioned")
    _create_activity(postgresql_partition_by="RANGE (period_start)")
    months = conn.execute(
        sa.text("SELECT DISTINCT date_trunc('month', period_start AT TIME ZONE :tz) FROM activity_unpartitioned"),
        {"tz": LOCAL_TZ},
    ).scalars()
    create_partitions(conn, np.array(sorted(months), dtype="datetime64[M]"))
    op.execute(f"INSERT INTO activity ({COLUMNS}) SELECT {COLUMNS} FROM activity_unpartitioned")
    op.drop_table("activity_unpartitioned")
    _keys_and_indexes(["id", "period_start"])  # a partitioned table's unique keys hold its partition key


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    _set_aside("activity_partitioned")
    _create_activity()
    op.execute(f"INSERT INTO activity ({COLUMNS}) SELECT {COLUMNS} FROM activity_partitioned")
    op.drop_table("activity_partitioned")  # its partitions with it
    _keys_and_indexes(["id"])
