"""Alembic environment: runs migrations on the engine handed over by ``carbon.db.migrate``."""

from alembic import context
from sqlalchemy import create_engine
from sqlmodel import SQLModel

import carbon.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from carbon.partitions import not_a_partition

config = context.config
target_metadata = SQLModel.metadata

engine = config.attributes.get("engine") or create_engine(config.get_main_option("sqlalchemy.url"))
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=not_a_partition,  # activity's monthly partitions on PostgreSQL are not the models' tables
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
