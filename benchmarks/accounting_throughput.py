"""Accounting throughput over N activity rows (default 10 million), beside a plain-pandas baseline.

Ours: the engine's full path (``carbon.ledger.compute``): split every row over calendar months in
proportion to time, choose sourced factors per province and carrier, multiply, aggregate by
enterprise, carrier and month.  Baseline, same rows, same run: plain pandas multiplying each row by a
per-carrier constant and summing by enterprise, carrier and start month (no splitting, no factor choice).
Both cover every row: the engine accounts each of the two years the rows span.  A second figure times what a
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

import numpy as np
import pandas as pd

from carbon.factor_choice import BASES
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    args = parser.parse_args()
    factors = load_library()
    df = make_activity(args.rows)
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, pandas {pd.__version__}, numpy {np.__version__}"
    )
    print(f"rows: {args.rows:,}")

    t0 = time.perf_counter()
    base = baseline(df, {c: 0.0005 for c in CARRIERS})
    t_base = time.perf_counter() - t0

    t0 = time.perf_counter()
    runs = [compute(df, factors, year=y, basis="location", gwp_set="AR5", as_of=date(2026, 1, 1))[0] for y in YEARS]
    t_ours = time.perf_counter() - t0
    lines = pd.concat(runs)

    t0 = time.perf_counter()  # as recalc: split once per year, price on every basis
    every = []
    for y in YEARS:
        pieces = month_pieces(df, y)
        every += [price(pieces, factors, year=y, basis=b, gwp_set="AR5", as_of=date(2026, 1, 1))[0] for b in BASES]
        del pieces
    t_every = time.perf_counter() - t0
    n_every = sum(len(x) for x in every)
    del every

    print(
        f"baseline (plain pandas multiply + groupby): {t_base:8.2f} s  {args.rows / t_base:14,.0f} rows/s "
        f"({len(base):,} groups)"
    )
    print(
        f"carbon engine (split + factor choice + sum): {t_ours:8.2f} s  {args.rows / t_ours:14,.0f} rows/s "
        f"({len(lines):,} lines, {lines['emissions_tco2e'].sum():,.0f} tCO2e)"
    )
    print(f"ratio engine/baseline time: {t_ours / t_base:.2f}x")
    print(
        f"carbon engine, every basis ({', '.join(BASES)}; split once, as recalc): {t_every:8.2f} s  "
        f"{args.rows / t_every:14,.0f} rows/s ({n_every:,} lines)  ratio {t_every / t_base:.2f}x"
    )


if __name__ == "__main__":
    main()
