"""Database engine from configuration, schema migrations (Alembic) and reference-data seeding."""

from __future__ import annotations

import os
from importlib import resources
from typing import Any

import pandas as pd
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, insert, inspect, make_url, select, update
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlmodel import Session

from carbon import outbox, reference
from carbon.errors import FactorDataError, InputError
from carbon.models import Factor, IndustryDivision, Region

DEFAULT_URL = "sqlite:///carbon.db"


def database_url(explicit: str | None = None) -> str:
    """``--db`` if given, else ``CARBON_DATABASE_URL``, else ``carbon.db`` in the working directory."""
    return explicit or os.environ.get("CARBON_DATABASE_URL") or DEFAULT_URL


SQLITE_WRITER_WAIT_S = 300  # how long a write waits for another import's write lock (readers never wait: WAL)
SQLITE_WAL_KEPT_BYTES = 64 * 1024 * 1024  # the WAL file is truncated to this after a checkpoint


def sqlite_pragmas(dbapi_conn: Any, _record: Any = None) -> None:
    """Foreign keys on; the WAL journal, so that readers are never blocked by an import's write transaction (it
    is kept in the database file: set once, it stays); full synchronous writes (a commit survives a power cut)."""
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    if cur.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        cur.execute("PRAGMA journal_mode=WAL")  # an in-memory database stays "memory"
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute(f"PRAGMA journal_size_limit={SQLITE_WAL_KEPT_BYTES}")  # a large import's WAL shrinks back after it
    cur.close()


def make_engine(url: str | None = None) -> Engine:
    """Create an engine; SQLite gets foreign keys on, the WAL journal and a busy timeout (``sqlite_pragmas``)."""
    url = database_url(url)
    try:
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"timeout": SQLITE_WRITER_WAIT_S})
            event.listen(engine, "connect", sqlite_pragmas)
            return engine
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        return create_engine(url)
    except (ArgumentError, NoSuchModuleError) as exc:
        raise InputError(
            "无法识别数据库地址；示例：sqlite:///carbon.db 或 postgresql://user@host:5432/dbname",
            "Cannot read the database URL; e.g. sqlite:///carbon.db or postgresql://user@host:5432/dbname",
            reason=str(exc).splitlines()[0],
        ) from None


def alembic_config(engine: Engine) -> Config:
    """Alembic configuration pointing at the migrations shipped inside the package."""
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("carbon").joinpath("migrations")))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (harmless when already there)."""
    command.upgrade(alembic_config(engine), "head")


def seed_reference(engine: Engine) -> None:
    """Insert or refresh regions and industry divisions from the package data."""
    regions = reference.regions().reset_index()
    divisions = reference.industry_divisions().reset_index()
    with Session(engine) as session:
        for row in regions.itertuples(index=False):  # the zone first: jurisdictions refer to it
            session.merge(
                Region(
                    id=row.id,
                    name_zh=row.name_zh,
                    name_en=row.name_en,
                    admin_code=row.admin_code or None,
                    province=row.province or None,
                    grid=row.grid or None,
                    parent_id=row.parent or None,
                )
            )
            session.flush()
        for row in divisions.itertuples(index=False):
            session.merge(
                IndustryDivision(
                    code=row.code, section=row.section, name_zh=row.name_zh, name_en=row.name_en, sector=row.sector
                )
            )
        session.commit()


def load_factor_library(engine: Engine, library: pd.DataFrame) -> int:
    """Load the validated shipped factor library into the ``factor`` table in one transaction; returns its size.

    Its records not yet stored are added and its stored ones brought up to date; no record is ever deleted: stored
    results cite factor ids, and releases imported with ``carbon factors import`` live beside the library.  The
    library together with the records kept beside it must still be sound (``factors.loader.record_problems``: no
    two records valid for the same key and period), else ``FactorDataError`` and nothing changes.  Owes a
    recalculation: stored results may rest on records that changed."""
    from factors.loader import record_problems, stored_as_library, stored_records

    records = stored_records(library)
    records = records.astype(object).where(records.notna(), None).to_dict("records")
    with engine.begin() as conn:
        stored = pd.read_sql(select(Factor), conn)
        kept = stored_as_library(stored.loc[~stored["id"].isin(library["id"])])
        problems = record_problems(pd.concat([kept, library.assign(file_row=library.get("file_row", 0))]))
        if problems:
            raise FactorDataError(
                f"因子库与已导入的因子有{len(problems)}处冲突，未载入",
                f"The factor library conflicts with imported factors in {len(problems)} place(s); nothing was loaded",
                problems="; ".join(problems[:20]),
            )
        known = set(stored["id"])
        if added := [r for r in records if r["id"] not in known]:
            conn.execute(insert(Factor), added)
        for r in records:
            if r["id"] in known:
                conn.execute(update(Factor).where(Factor.id == r["id"]).values(**r))
        outbox.owe(conn, "carbon init: factor library loaded")  # stored results may rest on records that changed
    return len(records)


def initialise(engine: Engine, library: pd.DataFrame | None = None) -> int:
    """What ``carbon init`` does: migrate, seed reference tables, load the factor library; returns its size."""
    from factors import load_library

    library = load_library() if library is None else library
    migrate(engine)
    seed_reference(engine)
    return load_factor_library(engine, library)


def display_url(explicit: str | None = None) -> str:
    """The database URL with any password masked, for messages."""
    return make_url(database_url(explicit)).render_as_string(hide_password=True)


def schema_exists(engine: Engine) -> bool:
    """True when ``carbon init`` has been run against this database."""
    return inspect(engine).has_table("enterprise")
