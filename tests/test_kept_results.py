"""Results kept by a long-running reader (``carbon.analytics.cube.keep_results``, used by the dashboard server):
always the same figures as a fresh read, never stale after new data or a register change, and read once."""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pandas as pd
import pytest
from sqlalchemy import Engine, event, func, insert, select

from carbon import arrow_read
from carbon.analytics import cube
from carbon.enterprises import add_enterprise, update_enterprise
from carbon.intake import receive_files, settle
from carbon.models import AccountingRun, EmissionResult
from tests.helpers import uscc, write_template

A, B = uscc(151), uscc(152, "320509")
YEAR_SETS = [None, [2023], [2022, 2023], [2023, 2022, 2023], [2021], [2021, 2023], []]


@contextmanager
def counting(engine: Engine) -> Iterator[list[str]]:
    """The reads of result lines (``emission_result``) while inside: through the engine, or Arrow-native
    (``carbon.arrow_read``, one read in one or more parts)."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        if "FROM emission_result" in statement:
            seen.append(statement)

    original = arrow_read._fetch

    def fetch(target, sqls):
        if any("FROM emission_result" in sql for sql in sqls):
            seen.append(sqls[0])
        return original(target, sqls)

    event.listen(engine, "before_cursor_execute", record)
    arrow_read._fetch = fetch
    try:
        yield seen
    finally:
        arrow_read._fetch = original
        event.remove(engine, "before_cursor_execute", record)


def kept(fn: Callable[[], object]) -> object:
    """Run ``fn`` in a fresh context with results kept in a new store (nothing leaks into other tests)."""
    store: dict = {}

    def run() -> object:
        cube.keep_results(store)
        return fn()

    return contextvars.Context().run(run)


def fresh(engine: Engine, years: list[int] | None, basis: str = "location") -> pd.DataFrame:
    """What a reader without kept results gets (a context of its own)."""
    return contextvars.Context().run(cube.enterprise_results, engine, basis, years=years)


def equal(got: pd.DataFrame, read: pd.DataFrame) -> None:
    """Exactly the same rows, values and dtypes, in year order (a read's own order is the database's); an empty
    answer has the same columns (typed as the store read them, where a read of no rows leaves them untyped)."""
    assert got["year"].is_monotonic_increasing and got.index.equals(pd.RangeIndex(len(got)))
    key = ["year", "enterprise_uscc", "carrier", "month"]
    pd.testing.assert_frame_equal(
        got.sort_values(key, kind="stable", ignore_index=True),
        read.sort_values(key, kind="stable", ignore_index=True),
        check_exact=True,
        check_dtype=len(read) > 0,
    )


def same(engine: Engine, years: list[int] | None, basis: str = "location") -> None:
    """The kept answer (called inside ``kept``) is exactly a fresh read."""
    equal(cube.enterprise_results(engine, basis, years=years), fresh(engine, years, basis))


@pytest.fixture
def two(engine, tmp_path) -> Engine:
    add_enterprise(engine, code=A, name="青浦化工", region="qingpu", industry="26")
    add_enterprise(engine, code=B, name="吴江物流", region="wujiang", industry="5430")
    rows = [f"E1,电力,{y}-{m:02d}-01,{y}-{m + 1:02d}-01,{1000 * m + y},kWh" for y in (2022, 2023) for m in range(1, 12)]
    receive_files(engine, [write_template(tmp_path / "a.csv", rows)], A, actor="test")
    receive_files(engine, [write_template(tmp_path / "b.csv", ["D1,柴油,2023-02-01,2023-03-01,10,t"])], B, actor="test")
    return engine


def test_kept_results_are_exactly_what_a_fresh_read_gives(two):
    def check() -> None:
        for years in YEAR_SETS:
            same(two, years)
        for basis in ("market", "local"):
            same(two, [2023], basis)
            same(two, None, basis)

    kept(check)


def test_each_year_is_read_once_while_the_ledger_is_unchanged(two):
    def check() -> None:
        with counting(two) as reads:
            cube.enterprise_results(two, years=[2023])
            assert len(reads) == 1
            cube.enterprise_results(two, years=[2023])
            cube.enterprise_results(two, years=[2022, 2023])  # only 2022 is read
            assert len(reads) == 2
            cube.enterprise_results(two)  # every year: read once, then complete
            cube.enterprise_results(two)
            cube.enterprise_results(two, years=[2021, 2022])  # 2021 has no results: known from the complete read
            cube.build_cube(two)
            assert len(reads) == 3
            cube.enterprise_results(two, "market", years=[2023])  # another basis is read for itself
            assert len(reads) == 4

    kept(check)
    with counting(two) as reads:  # without keep_results (the CLI, tests, benchmarks) every call reads
        cube.enterprise_results(two, years=[2023])
        cube.enterprise_results(two, years=[2023])
        assert len(reads) == 2


def test_new_data_and_register_changes_are_never_served_stale(two, tmp_path):
    def check() -> None:
        before = cube.enterprise_results(two)
        receive_files(
            two, [write_template(tmp_path / "c.csv", ["D1,柴油,2023-03-01,2023-04-01,20,t"])], B, actor="test"
        )
        after = cube.enterprise_results(two)
        assert len(after) == len(before) + 1
        for years in YEAR_SETS:
            same(two, years)
        update_enterprise(two, A, region="jiashan")  # where its results are counted changes at once
        settle(two)
        now = cube.enterprise_results(two)
        assert set(now.loc[now["enterprise_uscc"] == A, "region"]) == {"jiashan"}
        for years in YEAR_SETS:
            same(two, years)

    kept(check)


def copy_run(engine: Engine, enterprise: str, year: int, new_id: int, scale: float) -> None:
    """Store a copy of the enterprise's newest location run of ``year`` under the id ``new_id``, its emissions times
    ``scale``: a run as a concurrent writer would commit it."""
    runs, lines = AccountingRun.__table__, EmissionResult.__table__
    with engine.begin() as conn:
        newest = conn.execute(
            select(func.max(runs.c.id)).where(
                runs.c.subject_id == enterprise, runs.c.year == year, runs.c.basis == "location"
            )
        ).scalar_one()
        run = dict(conn.execute(select(runs).where(runs.c.id == newest)).mappings().one())
        conn.execute(insert(runs).values({**run, "id": new_id}))
        rows = conn.execute(select(lines).where(lines.c.run_id == newest)).mappings().all()
        copies = [{**{k: v for k, v in r.items() if k != "id"}, "run_id": new_id} for r in rows]
        conn.execute(insert(lines), [{**c, "emissions_tco2e": c["emissions_tco2e"] * scale} for c in copies])


def test_a_run_committed_after_a_newer_one_is_not_missed(two):
    """Two writers: the run with the higher id commits first, the one with the lower id after it was read."""
    with two.connect() as conn:
        top = conn.execute(select(func.max(AccountingRun.id))).scalar_one()
    copy_run(two, B, 2023, top + 10, 1.0)

    def check() -> None:
        before = cube.enterprise_results(two, years=[2023])
        copy_run(two, A, 2023, top + 5, 2.0)  # A's newest 2023 run now, though not the newest id
        after = cube.enterprise_results(two, years=[2023])
        a_before = before.loc[before["enterprise_uscc"] == A, "emissions_tco2e"].sum()
        assert after.loc[after["enterprise_uscc"] == A, "emissions_tco2e"].sum() == pytest.approx(2 * a_before)
        same(two, [2023])

    kept(check)


def test_a_store_over_its_limit_keeps_nothing_and_answers_as_read(two, monkeypatch):
    monkeypatch.setattr(cube, "KEEP_ROWS", 5)
    answers = [fresh(two, years) for years in YEAR_SETS]

    def check() -> None:
        with counting(two) as reads:
            for years, answer in zip(YEAR_SETS, answers, strict=True):
                equal(cube.enterprise_results(two, years=years), answer)
            assert len(reads) == len([y for y in YEAR_SETS if y != []])  # every asking call read again

    kept(check)
