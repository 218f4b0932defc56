"""Analytics speed: the emissions cube and its indicators for N enterprises x 6 years of monthly results.

Ours: the cube (``carbon.analytics.cube``) from the database (newest run per enterprise and year, joined to enterprises,
aggregated into an xarray Dataset) plus every indicator family (totals and year-on-year change by region; shares by
sector, scope and carrier; progress against an intensity target; peak estimates; LMDI; carbon-efficiency grades).
Baseline, same run: pandas reading the same result rows from the database (``pandas.read_sql`` through SQLAlchemy).
Ours reads Arrow-native (``carbon.arrow_read``: ADBC, on SQLite in helper processes started before the timing, as a
server starts them once; their start is printed apart).  Two rounds of both, the first also paying one-time
imports; the second is the figure.

    python benchmarks/analytics_cube.py [--enterprises 10000]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from sqlalchemy import insert, select

from carbon import arrow_read, db, reference
from carbon.analytics.cube import cube_from_results, enterprise_results
from carbon.analytics.decompose import lmdi
from carbon.analytics.grades import grade
from carbon.analytics.peak import estimate
from carbon.analytics.progress import target_progress
from carbon.models import AccountingRun, EmissionResult, Enterprise
from carbon.uscc import check_character

YEARS = range(2020, 2026)
CARRIERS = ["electricity", "natural_gas", "diesel"]


def seed(engine, n: int) -> int:
    """N enterprises with one run per year and monthly lines for three carriers; returns the line count."""
    rng = np.random.default_rng(0)
    divisions = reference.industry_divisions().index.to_numpy()
    admin = {"qingpu": "310118", "wujiang": "320509", "jiashan": "330421"}
    ents = []
    for i in range(n):
        region = reference.JURISDICTIONS[i % 3]
        first17 = f"91{admin[region]}{i:08d}0"
        ents.append(
            {
                "uscc": first17 + check_character(first17),
                "name": f"E{i}",
                "region_id": region,
                "industry_code": str(divisions[i % len(divisions)]),
                "division_code": str(divisions[i % len(divisions)]),
                "created_at": datetime.now(UTC),
            }
        )
    now = datetime.now(UTC)
    runs = [
        {
            "subject_kind": "enterprise",
            "subject_id": e["uscc"],
            "year": y,
            "basis": "location",
            "gwp_set": "AR5",
            "computed_at": now,
            "total_tco2e": 0.0,
            "scope1_tco2e": 0.0,
            "scope2_tco2e": 0.0,
            "energy_tce": 0.0,
            "flags_json": "[]",
            "trigger": "benchmark",
        }
        for e in ents
        for y in YEARS
    ]
    with engine.begin() as conn:
        conn.execute(insert(Enterprise), ents)
        conn.execute(insert(AccountingRun), runs)
        ids = conn.execute(select(AccountingRun.id, AccountingRun.subject_id)).all()
    run_ids = np.array([i for i, _ in ids])
    owners = np.array([s for _, s in ids])
    lines = pd.DataFrame(
        {
            "run_id": np.repeat(run_ids, 12 * len(CARRIERS)),
            "enterprise_uscc": np.repeat(owners, 12 * len(CARRIERS)),
            "carrier": np.tile(np.repeat(CARRIERS, 12), len(run_ids)),
            "month": np.tile(np.arange(1, 13), len(run_ids) * len(CARRIERS)),
        }
    )
    lines["quantity_canonical"] = rng.gamma(2, 500, len(lines))
    lines["emissions_tco2e"] = lines["quantity_canonical"] * 0.0005
    lines["energy_tce"] = lines["quantity_canonical"] * 0.0001229
    lines["factor_ids"] = "benchmark"
    lines["factor_reason"] = "benchmark"
    lines["rows_split"] = 0
    lines["region_id"] = lines["enterprise_uscc"].map({e["uscc"]: e["region_id"] for e in ents})  # no sites here
    with engine.begin() as conn:
        for lo in range(0, len(lines), 200_000):
            conn.execute(insert(EmissionResult), lines.iloc[lo : lo + 200_000].to_dict("records"))
    return len(lines)


def indicators(rows: pd.DataFrame, cube: xr.Dataset) -> dict:
    """Every indicator family from the cube and the enterprise rows: totals and YoY by region, shares by sector,
    scope and carrier, intensity progress against a target, peak estimates, LMDI 2024->2025 and grades.
    GDP and value added are synthetic (benchmark only)."""
    rng = np.random.default_rng(1)
    yearly = cube["emissions_tco2e"].groupby("time.year").sum(...)
    by_region = cube["emissions_tco2e"].groupby("time.year").sum(["time", "division", "carrier"]).to_pandas()
    out = {
        "yoy": (yearly / yearly.shift(year=1) - 1).values,
        "region": by_region,
        "sector": cube["emissions_tco2e"].groupby("sector").sum(...).values,
        "scope": cube["emissions_tco2e"].groupby("scope").sum(...).values,
        "carrier_energy": cube["energy_tce"].sum(["time", "region", "division"]).values,
    }
    gdp = pd.Series(np.linspace(1e7, 1.3e7, len(by_region)), index=by_region.index)
    for region in by_region.columns:
        intensity = by_region[region] / gdp
        out[f"progress_{region}"] = target_progress(intensity, 2020, 2025, 0.2, 2025, 0.8)
        out[f"peak_{region}"] = estimate(by_region[region])
    totals = rows.groupby(["enterprise_uscc", "division"], as_index=False)["emissions_tco2e"].sum()
    va = pd.DataFrame({"uscc": totals["enterprise_uscc"], "value_added_10k_cny": rng.gamma(2, 500, len(totals))})
    out["grades"] = grade(totals.rename(columns={"enterprise_uscc": "uscc", "division": "division_code"}), va)
    cells = {
        y: rows.loc[rows["year"] == y].groupby(["sector", "carrier"])[["emissions_tco2e", "energy_tce"]].sum()
        for y in (2024, 2025)
    }
    output = rows.groupby("sector")["emissions_tco2e"].size().astype(float)
    out["lmdi"] = lmdi(cells[2024], output, cells[2025], output * 1.05)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = db.make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        db.initialise(engine)
        n_lines = seed(engine, args.enterprises)
        t0 = time.perf_counter()
        arrow_read.start(engine)  # the SQLite reader's helper processes, once per process (as the engine's pool)
        t_start = time.perf_counter() - t0
        load = os.getloadavg()
        rounds = []
        for _ in range(2):  # the first round also pays one-time imports (xarray, dask) and warms both paths
            t0 = time.perf_counter()
            with engine.connect() as conn:
                base = pd.read_sql(
                    select(
                        EmissionResult.enterprise_uscc,
                        EmissionResult.carrier,
                        EmissionResult.month,
                        EmissionResult.quantity_canonical,
                        EmissionResult.emissions_tco2e,
                        EmissionResult.energy_tce,
                    ),
                    conn,
                )
            t_base = time.perf_counter() - t0
            base_total = float(base["emissions_tco2e"].sum())
            del base
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            t0 = time.perf_counter()
            rows = enterprise_results(engine)  # one read serves the cube and the enterprise-level indicators
            cube = cube_from_results(rows)
            ind = indicators(rows, cube)
            t_ours = time.perf_counter() - t0
            rounds.append((t_base, t_ours))
            del rows
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    ours_total = float(cube["emissions_tco2e"].sum())
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"load average before the timings: {' '.join(f'{x:.2f}' for x in load)}")
    print(
        f"enterprises: {args.enterprises:,} x {len(YEARS)} years, result lines: {n_lines:,}, cube cells: "
        f"{int(np.prod(list(cube.sizes.values()))):,}, years with YoY: {int(np.isfinite(ind['yoy']).sum())}, "
        f"grades: {len(ind['grades']):,}"
    )
    for i, (t_base, t_ours) in enumerate(rounds, 1):
        print(f"round {i}: pandas read_sql of the result rows (baseline): {t_base:7.2f} s")
        print(f"round {i}: cube + every indicator from the database:       {t_ours:7.2f} s", end="")
        print(f"   ratio {t_ours / t_base:.2f}x")
    print(f"starting the SQLite reader's helper processes (once per process, before round 1): {t_start:.2f} s")
    print(f"total tCO2e: baseline {base_total:.6f}, cube {ours_total:.6f}, relative difference "
          f"{abs(ours_total - base_total) / abs(base_total):.1e}")  # fmt: skip
    print(f"peak memory of the process: {peak / 1024:.0f} MB (before building the cube: {before / 1024:.0f} MB)")


if __name__ == "__main__":
    main()
