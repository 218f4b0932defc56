"""Accounting throughput over N activity rows (default 10 million): the engine beside a plain-pandas floor and DuckDB.

Ours: the engine's full path (``carbon.ledger.compute``): split every row over local calendar months in
proportion to time, choose sourced factors per province and carrier, multiply, aggregate by enterprise, site,
jurisdiction, carrier and month.  Floor, same rows, same run: plain pandas multiplying each row by a per-carrier
constant and summing by enterprise, carrier and start month (no splitting, no factor choice).  Peer, same rows,
same run: the same full job as one DuckDB query over the same in-memory frame (split over months, join the
factors, multiply, aggregate), given the factors the engine's own ``choice_table`` picks for each year (so the
peer does no factor choice), fetched back as a pandas frame; written two ways (every row through
``generate_series``; only the rows that cross a month expanded) and the faster one taken as the peer.  DuckDB
uses its default thread count (all cores).  The script asserts that the engine's and the peer's totals
(emissions and energy, per year) and line counts agree (1e-9 relative) and prints the agreement.  Every figure
covers every row: the engine accounts each of the two years the rows span.  A last figure times what a
recalculation (``carbon.ledger.recalc``) computes for the ledger: the rows split once per year, then priced on
every basis (location, local, market).

    python benchmarks/accounting_throughput.py [--rows 10000000]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

import carbon
from carbon.factor_choice import BASES, choice_table
from carbon.ledger import compute, month_pieces, price
from factors import load_library

CARRIERS = ["electricity", "natural_gas", "diesel", "heat", "green_electricity"]
YEARS = (2023, 2024)  # the synthetic rows cover these two years; the engine accounts both
PROVINCES = [("CN-SH", "CN-GRID-EAST"), ("CN-JS", "CN-GRID-EAST"), ("CN-ZJ", "CN-GRID-EAST")]


def make_activity(n: int, seed: int = 0) -> pd.DataFrame:
    """Synthetic activity rows: 5,000 enterprises, monthly and mid-month periods across 2023-2024."""
    rng = np.random.default_rng(seed)
    ent = rng.integers(0, 5000, n)
    month = rng.integers(0, 24, n)
    start = (np.datetime64("2023-01", "M") + month.astype("timedelta64[M]")).astype("datetime64[s]")
    shift = np.where(rng.random(n) < 0.2, np.timedelta64(14, "D"), np.timedelta64(0, "D"))
    start = start + shift
    end = (start.astype("datetime64[M]") + np.timedelta64(1, "M")).astype("datetime64[s]") + shift
    prov = ent % 3
    return pd.DataFrame(
        {
            "enterprise_uscc": pd.Categorical.from_codes(ent, [f"E{i:05d}" for i in range(5000)]),
            "carrier": pd.Categorical.from_codes(rng.integers(0, len(CARRIERS), n), CARRIERS),
            "site_id": np.nan,  # meters on no site: each counts where its enterprise is registered
            "region_id": pd.Categorical.from_codes(prov, ["qingpu", "wujiang", "jiashan"]),
            "province": pd.Categorical.from_codes(prov, [p for p, _ in PROVINCES]),
            "grid": "CN-GRID-EAST",
            "start_local": start,
            "end_local": end,
            "quantity": rng.gamma(2.0, 5000.0, n),
        }
    )


def baseline(df: pd.DataFrame, per_carrier: dict[str, float]) -> pd.DataFrame:
    """Plain pandas: quantity x constant per carrier, summed by enterprise, carrier and start month."""
    factor = df["carrier"].map(per_carrier).astype("float64")
    out = df[["enterprise_uscc", "carrier"]].copy()
    out["month"] = df["start_local"].to_numpy().astype("datetime64[M]")
    out["tco2e"] = df["quantity"].to_numpy() * factor.to_numpy()
    return out.groupby(["enterprise_uscc", "carrier", "month"], observed=True)["tco2e"].sum().reset_index()


# the same job in SQL: pieces of every row over the local calendar months it touches, each the row's quantity in
# proportion to time, priced with the factors of its year, province and carrier, summed per line
EVERY_ROW_SQL = """
WITH pieces AS (
    SELECT enterprise_uscc, site_id, region_id, carrier, province, start_local, end_local, quantity,
           unnest(generate_series(date_trunc('month', start_local),
                                  date_trunc('month', end_local - INTERVAL 1 SECOND), INTERVAL 1 MONTH)) AS m
    FROM activity
), shares AS (
    SELECT *, quantity * (epoch(least(end_local, m + INTERVAL 1 MONTH)) - epoch(greatest(start_local, m)))
              / (epoch(end_local) - epoch(start_local)) AS q
    FROM pieces
)
SELECT s.enterprise_uscc, s.site_id, s.region_id, s.carrier, year(m) AS year, month(m) AS month,
       sum(q) AS quantity_canonical, sum(q * f.tco2e_per_unit) AS emissions_tco2e, sum(q * f.tce_per_unit) AS energy_tce
FROM shares s JOIN factors f ON f.year = year(m) AND f.province = s.province::VARCHAR AND f.carrier = s.carrier::VARCHAR
GROUP BY ALL
"""
CROSSING_ONLY_SQL = """
WITH bounds AS (
    SELECT *, date_trunc('month', start_local) AS m0, date_trunc('month', end_local - INTERVAL 1 SECOND) AS m1
    FROM activity
), pieces AS (
    SELECT enterprise_uscc, site_id, region_id, carrier, province, m0 AS m, quantity AS q FROM bounds WHERE m0 = m1
    UNION ALL
    SELECT enterprise_uscc, site_id, region_id, carrier, province, m,
           quantity * (epoch(least(end_local, m + INTERVAL 1 MONTH)) - epoch(greatest(start_local, m)))
           / (epoch(end_local) - epoch(start_local))
    FROM (SELECT *, unnest(generate_series(m0, m1, INTERVAL 1 MONTH)) AS m FROM bounds WHERE m0 <> m1)
)
SELECT p.enterprise_uscc, p.site_id, p.region_id, p.carrier, year(m) AS year, month(m) AS month,
       sum(q) AS quantity_canonical, sum(q * f.tco2e_per_unit) AS emissions_tco2e, sum(q * f.tce_per_unit) AS energy_tce
FROM pieces p JOIN factors f ON f.year = year(m) AND f.province = p.province::VARCHAR AND f.carrier = p.carrier::VARCHAR
GROUP BY ALL
"""


def peer_factors(df: pd.DataFrame, factors: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """The engine's factor choices (``choice_table``) for the rows' provinces and carriers, one set per year."""
    combos = df[["province", "grid", "carrier"]].drop_duplicates().astype(str)
    chosen = [
        choice_table(factors, combos, year=y, basis="location", gwp_set="AR5", as_of=as_of).assign(year=y)
        for y in YEARS
    ]
    return pd.concat(chosen)[["year", "province", "carrier", "tco2e_per_unit", "tce_per_unit"]].astype(
        {"province": str, "carrier": str}
    )


def peer(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[pd.DataFrame, float]:
    """One run of a DuckDB query over the registered ``activity`` and ``factors``, fetched as a pandas frame."""
    t0 = time.perf_counter()
    out = con.sql(sql).df()
    return out, time.perf_counter() - t0


def agreement(lines: pd.DataFrame, theirs: pd.DataFrame) -> float:
    """Largest relative difference between two results' yearly totals (emissions and energy); line counts equal."""
    cols = ["emissions_tco2e", "energy_tce"]
    ours = lines.groupby("year")[cols].sum().sort_index()
    peers = theirs.groupby("year")[cols].sum().sort_index()
    assert list(ours.index) == list(peers.index), (ours.index, peers.index)
    assert len(lines) == len(theirs), f"{len(lines):,} lines against {len(theirs):,}"
    rel = float(((ours - peers).abs() / peers.abs()).to_numpy().max())
    assert rel <= 1e-9, f"totals differ by {rel:.2e} relative:\n{ours}\n{peers}"
    return rel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    args = parser.parse_args()
    factors = load_library()
    as_of = date(2026, 1, 1)
    df = make_activity(args.rows)
    con = duckdb.connect()
    threads = con.sql("SELECT current_setting('threads')").fetchall()[0][0]
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, load average "
        f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}; Python {platform.python_version()}, pandas "
        f"{pd.__version__}, numpy {np.__version__}, DuckDB {duckdb.__version__} ({threads} threads, its default)"
    )
    print(f"rows: {args.rows:,}; engine imported from {Path(carbon.__file__).parent}")

    t0 = time.perf_counter()
    base = baseline(df, {c: 0.0005 for c in CARRIERS})
    t_base = time.perf_counter() - t0

    t0 = time.perf_counter()
    runs = [compute(df, factors, year=y, basis="location", gwp_set="AR5", as_of=as_of)[0].assign(year=y) for y in YEARS]
    t_ours = time.perf_counter() - t0
    lines = pd.concat(runs, ignore_index=True)
    del runs

    con.register("activity", df)
    con.register("factors", peer_factors(df, factors, as_of))
    every_row, t_every_row = peer(con, EVERY_ROW_SQL)
    rel_every_row = agreement(lines, every_row)
    del every_row
    crossing, t_crossing = peer(con, CROSSING_ONLY_SQL)
    rel_crossing = agreement(lines, crossing)
    del crossing
    t_peer = min(t_every_row, t_crossing)

    t0 = time.perf_counter()  # as recalc: split once per year, price on every basis
    every = []
    for y in YEARS:
        pieces = month_pieces(df, y)
        every += [price(pieces, factors, year=y, basis=b, gwp_set="AR5", as_of=as_of)[0] for b in BASES]
        del pieces
    t_every = time.perf_counter() - t0
    n_every = sum(len(x) for x in every)
    del every

    def figure(label: str, seconds: float, what: str) -> None:
        print(f"{label:<58} {seconds:8.2f} s  {args.rows / seconds:14,.0f} rows/s  ({what})")

    figure("floor: plain pandas multiply + groupby (no split, no choice)", t_base, f"{len(base):,} groups")
    figure(
        "carbon engine: split + factor choice + multiply + sum",
        t_ours,
        f"{len(lines):,} lines, {lines['emissions_tco2e'].sum():,.0f} tCO2e",
    )
    figure("DuckDB peer: generate_series over every row", t_every_row, f"totals agree to {rel_every_row:.1e} rel.")
    figure("DuckDB peer: only rows crossing months expanded", t_crossing, f"totals agree to {rel_crossing:.1e} rel.")
    print(
        f"ratio DuckDB time / engine time: {t_peer / t_ours:.2f} (>= 1.0: the engine is at least as fast as the "
        f"faster DuckDB query); engine time / floor time: {t_ours / t_base:.2f}"
    )
    print(
        f"totals (emissions, energy per year) and line counts agree with both DuckDB queries: max relative "
        f"difference {max(rel_every_row, rel_crossing):.1e} (asserted <= 1e-9)"
    )
    figure(f"carbon engine, every basis ({', '.join(BASES)}; split once, as recalc)", t_every, f"{n_every:,} lines")
    print(f"load average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
