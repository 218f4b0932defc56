"""Shared fixtures: a fresh, initialised database on SQLite always and on PostgreSQL when configured."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy import Engine, create_engine, text

from carbon import db
from factors import load_library
from tests.chromium import browser  # noqa: F401  (a fixture for the browser tests)
from tests.mqtt_broker import broker  # noqa: F401  (a fixture for the connector tests)
from tests.platform_server import platform  # noqa: F401  (a fixture for the connector tests)
from tests.reporting_fixture import reporting_cycle  # noqa: F401  (a fixture for the reporting tests)

# Property and fuzz tests: deterministic by default (a fixed seed, no example database: the same examples on
# every run, so a fault fails every time); CARBON_FUZZ=long runs ten thousand random examples per test and keeps
# the failures it finds in .hypothesis/ to replay.  Known failures are kept as @example in the tests themselves.  No
# deadline: a test never asserts how long something took, and a loaded machine must not fail one.
settings.register_profile("ci", derandomize=True, database=None, max_examples=60, print_blob=True, deadline=None)
settings.register_profile("long", max_examples=10_000, derandomize=False, deadline=None)
settings.load_profile("long" if os.environ.get("CARBON_FUZZ") == "long" else "ci")

PG_URL = os.environ.get("CARBON_TEST_PG_URL")


@pytest.fixture(autouse=True)
def _main_module_put_back() -> Iterator[None]:
    """Streamlit runs a page as the ``__main__`` module and leaves it there; a process started later by spawn (a Dask
    worker) would run that page again as its main module and die.  Every test ends with the real one back."""
    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main


PG_SKIP = (
    "CARBON_TEST_PG_URL is not set: PostgreSQL tests skipped (set it, e.g. postgresql://postgres@127.0.0.1:5432/test)"
)


def _pg_schema_url(schema: str) -> str:
    assert PG_URL is not None
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


def _admin_engine() -> Engine:
    assert PG_URL is not None
    url = PG_URL.replace("postgresql://", "postgresql+psycopg://", 1)
    return create_engine(url, isolation_level="AUTOCOMMIT")


@contextmanager
def pg_schema(prefix: str) -> Iterator[str]:
    """A fresh PostgreSQL schema (skips without ``CARBON_TEST_PG_URL``); its URL, dropped afterwards."""
    if not PG_URL:
        pytest.skip(PG_SKIP)
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield _pg_schema_url(schema)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database URL: a SQLite file, or a fresh PostgreSQL schema dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'carbon.db'}"
        return
    with pg_schema("t") as url:
        yield url


@pytest.fixture(scope="session")
def library():
    """The shipped factor library, validated."""
    return load_library()


@pytest.fixture
def engine(db_url: str, library) -> Iterator[Engine]:
    """An initialised database (schema, regions, industries, factors), as ``carbon init`` leaves it."""
    eng = db.make_engine(db_url)
    db.initialise(eng, library)
    yield eng
    eng.dispose()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def zone_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The small dashboard zone of ``tests/zone_fixture.py``, built once per module and database kind."""
    from tests.zone_fixture import build

    folder = tmp_path_factory.mktemp("zone")
    if request.param == "sqlite":
        yield build(f"sqlite:///{folder / 'zone.db'}", folder)
        return
    with pg_schema("z") as url:
        yield build(url, folder)
