"""sites (厂区) between enterprise and meter, each in its own jurisdiction; a result line carries the jurisdiction
it counts in, and so does a frozen submission's line and activity row

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "site",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_uscc", sqlmodel.sql.sqltypes.AutoString(length=18), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("region_id", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_uscc"],
            ["enterprise.uscc"],
        ),
        sa.ForeignKeyConstraint(
            ["region_id"],
            ["region.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("enterprise_uscc", "name"),
    )
    with op.batch_alter_table("site", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_site_enterprise_uscc"), ["enterprise_uscc"], unique=False)
        batch_op.create_index(batch_op.f("ix_site_region_id"), ["region_id"], unique=False)

    with op.batch_alter_table("meter", schema=None) as batch_op:
        batch_op.add_column(sa.Column("site_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_meter_site_id"), ["site_id"], unique=False)
        batch_op.create_foreign_key("fk_meter_site_id_site", "site", ["site_id"], ["id"])

    # every line stored so far counted where its enterprise is registered (there were no sites): say so
    with op.batch_alter_table("emission_result", schema=None) as batch_op:
        batch_op.add_column(sa.Column("site_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("region_id", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
    op.execute(
        "UPDATE emission_result SET region_id = "
        "(SELECT enterprise.region_id FROM enterprise WHERE enterprise.uscc = emission_result.enterprise_uscc)"
    )
    with op.batch_alter_table("emission_result", schema=None) as batch_op:
        batch_op.alter_column("region_id", existing_type=sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False)

    # a frozen version keeps the site and jurisdiction of its lines and activity rows (None: submitted before sites)
    for table in ("submission_line", "submission_activity"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("site_id", sa.Integer(), nullable=True))
            batch_op.add_column(sa.Column("region_id", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))


def downgrade() -> None:
    for table in ("submission_activity", "submission_line"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("region_id")
            batch_op.drop_column("site_id")
    with op.batch_alter_table("emission_result", schema=None) as batch_op:
        batch_op.drop_column("region_id")
        batch_op.drop_column("site_id")
    with op.batch_alter_table("meter", schema=None) as batch_op:
        batch_op.drop_constraint("fk_meter_site_id_site", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_meter_site_id"))
        batch_op.drop_column("site_id")
    with op.batch_alter_table("site", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_site_region_id"))
        batch_op.drop_index(batch_op.f("ix_site_enterprise_uscc"))
    op.drop_table("site")
