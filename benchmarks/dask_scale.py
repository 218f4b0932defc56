"""Memory stays bounded: a year of 15-minute readings (default 100 million: about 2,850 meters) written as the readings
Parquet dataset, and every enterprise's monthly results (location basis, AR5) computed from it by the engine
partition by partition (``carbon.partitioned``), side by side with DuckDB doing the same job in the same run.

- ours on Dask: ``LocalCluster(n_workers=2, processes=True, threads_per_worker=1, memory_limit="4GB")``;
- ours in process: dask's threaded scheduler in one process (a fresh one, so that its peak memory is its own);
- the peer: DuckDB (2 threads, ``memory_limit`` 4 GB) reading the same files: split over local months, join the
  factors the engine chose, aggregate by enterprise, jurisdiction, carrier and month.

Printed: rows/s, peak memory (each worker's own ``ru_maxrss``; the child process's for in process and DuckDB) and
the agreement of the totals (and of every line) to 1e-9 relative.  The readings are generated vectorised, one
partition (month x jurisdiction) at a time, straight into the dataset layout (no database), under ``--root``
(default: a new folder in /tmp, removed at the end unless ``--keep``; 100 million readings take about 1.5 GB).

    python benchmarks/dask_scale.py [--readings 100000000] [--workers 2] [--memory-limit 4GB] [--skip-in-process]
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import platform
import resource
import shutil
import tempfile
import time
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from carbon import readings_dataset as rd
from carbon.accounting import LOCAL_TZ
from carbon.factor_choice import choice_table
from carbon.partitioned import Partitioned, dask_client
from carbon.uscc import check_character

YEAR = 2024
INTERVALS = 366 * 96  # 15-minute intervals in 2024
REGIONS = [("qingpu", "CN-SH", "310118"), ("wujiang", "CN-JS", "320509"), ("jiashan", "CN-ZJ", "330421")]
CARRIERS = np.array(["electricity", "natural_gas", "heat"])
METERS_PER_ENTERPRISE = 3
AS_OF = date(2026, 1, 1)
BASIS = "location"


def meters_table(readings: int) -> pd.DataFrame:
    """The meters: enough for ``readings`` in a year, three per enterprise, enterprises spread over the three
    jurisdictions, 80 % electricity, 15 % gas, 5 % heat; in the dataset's sort order."""
    n = max(1, math.ceil(readings / INTERVALS))
    ent = np.arange(n) // METERS_PER_ENTERPRISE
    region = ent % 3
    codes = []
    for e in range(int(ent.max()) + 1):
        first17 = f"91{REGIONS[e % 3][2]}{e:08d}0"
        codes.append(first17 + check_character(first17))
    rng = np.random.default_rng(1)
    meters = pd.DataFrame(
        {
            "meter_id": np.arange(1, n + 1, dtype=np.int64),
            "enterprise_uscc": np.array(codes, dtype=object)[ent],
            "region": region,
            "carrier": CARRIERS[np.searchsorted([0.8, 0.95], rng.random(n), side="right")],
            "scale": rng.gamma(2.0, 20.0, n),
        }
    )
    meters["enterprise_slot"] = rd.enterprise_slot(meters["enterprise_uscc"])
    return meters.sort_values(["enterprise_slot", "enterprise_uscc", "meter_id"], kind="stable")


def partition_table(meters: pd.DataFrame, month: int, region: int, count: int, seed: int) -> pa.Table:
    """One partition's readings: every meter of the jurisdiction, the first ``count`` 15-minute intervals of the
    local month."""
    mine = meters.loc[meters["region"] == region]
    n_m = len(mine)
    k = np.tile(np.arange(count, dtype=np.int64), n_m)
    start0 = pd.Timestamp(year=YEAR, month=month, day=1, tz=LOCAL_TZ).tz_convert("UTC").as_unit("us")
    start = start0.value // 1000 + k * 900_000_000  # microseconds since the epoch
    rng = np.random.default_rng(seed)
    name, province, _ = REGIONS[region]
    quantity = np.repeat(mine["scale"].to_numpy(), count) * rng.gamma(3.0, 1 / 3.0, n_m * count)
    return pa.table(
        {
            "enterprise_uscc": pa.array(np.repeat(mine["enterprise_uscc"].to_numpy(), count), pa.string()),
            "site_id": pa.nulls(n_m * count, pa.int64()),
            "region_id": pa.array(np.full(n_m * count, name, dtype=object), pa.string()),
            "carrier": pa.array(np.repeat(mine["carrier"].to_numpy(), count), pa.string()),
            "period_start": pa.array(start, pa.timestamp("us", tz="UTC")),
            "period_end": pa.array(start + 900_000_000, pa.timestamp("us", tz="UTC")),
            "quantity_canonical": pa.array(quantity, pa.float64()),
            "province": pa.array(np.full(n_m * count, province, dtype=object), pa.string()),
            "grid": pa.array(np.full(n_m * count, "CN-GRID-EAST", dtype=object), pa.string()),
            "meter_id": pa.array(np.repeat(mine["meter_id"].to_numpy(), count), pa.int64()),
            "enterprise_slot": pa.array(np.repeat(mine["enterprise_slot"].to_numpy(), count), pa.uint16()),
        },
        schema=rd.SCHEMA,
    )


def write_dataset(root: str, readings: int) -> rd.Manifest:
    """Generate the readings partition by partition into the dataset layout, with its manifest."""
    meters = meters_table(readings)
    fs, base = rd.filesystem(root)
    manifest = rd.Manifest(jurisdictions_sha256="synthetic")
    per_meter = min(INTERVALS, math.ceil(readings / len(meters)))
    done = 0
    for month in range(1, 13):
        start = pd.Timestamp(year=YEAR, month=month, day=1)
        in_month = int((start + pd.offsets.MonthBegin(1) - start) / pd.Timedelta(minutes=15))
        count = max(0, min(in_month, per_meter - done))
        done += count
        if not count:
            break
        for region in range(3):
            key = rd.partition_key(YEAR, month, REGIONS[region][0])
            table = partition_table(meters, month, region, count, seed=month * 10 + region)
            manifest.partitions[key] = rd.write_partition_table(fs, base, key, table)
    rd.write_manifest(fs, base, manifest)
    return manifest


def factors() -> pd.DataFrame:
    from factors import load_library

    return load_library()


def choices() -> pd.DataFrame:
    """The engine's factor choices (location basis) for the provinces and carriers of the readings."""
    pairs = pd.DataFrame(
        [(p, "CN-GRID-EAST", c) for _, p, _ in REGIONS for c in CARRIERS], columns=["province", "grid", "carrier"]
    )
    return choice_table(factors(), pairs, year=YEAR, basis=BASIS, gwp_set="AR5", as_of=AS_OF)


def peak_mib() -> float:
    """This process's peak resident memory, MiB (Linux: ``ru_maxrss`` in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ours(root: str, workers: int, memory_limit: str) -> dict[str, Any]:
    """The engine on Dask (``workers`` > 0: a local cluster) or in process; lines, seconds, peak memory."""
    manifest = rd.require_manifest(root)
    lib = factors()
    opts = {"bases": (BASIS,), "gwp_set": "AR5", "as_of": AS_OF}
    with dask_client(workers or None, memory_limit=memory_limit) as client:
        t0 = time.perf_counter()
        lines = Partitioned(client, root=root).dataset_lines(manifest, YEAR, None, lib, **opts)[BASIS][0]
        seconds = time.perf_counter() - t0
        peaks = client.run(peak_mib) if client is not None else {"in process": peak_mib()}
    return {"lines": lines, "seconds": seconds, "peaks": peaks}


def _in_child(root: str, out: str) -> None:
    got = ours(root, 0, "")
    got["lines"].to_parquet(out)
    with open(out + ".json", "w") as f:
        json.dump({"seconds": got["seconds"], "peaks": got["peaks"]}, f)


def duckdb_peer(root: str, table: str, out: str) -> None:
    """DuckDB (2 threads, 4 GB): read the files, split over local months, join the chosen factors, aggregate."""
    import duckdb

    con = duckdb.connect(config={"threads": 2, "memory_limit": "4GB"})
    con.register("choice", pd.read_parquet(table))
    t0 = time.perf_counter()
    sql = f"""
    WITH r AS (
        SELECT enterprise_uscc, region_id, carrier, province, quantity_canonical AS q,
               make_timestamp(epoch_us(period_start) + 28800000000::BIGINT) AS s,  -- Asia/Shanghai: UTC+8, no DST
               make_timestamp(epoch_us(period_end) + 28800000000::BIGINT) AS e
        FROM read_parquet('{root}/year=*/month=*/region=*/*.parquet')
    ), one AS (  -- rows inside one month
        SELECT enterprise_uscc, region_id, carrier, province, date_trunc('month', s) AS m, q
        FROM r WHERE date_trunc('month', s) = date_trunc('month', e - INTERVAL 1 SECOND)
    ), several AS (  -- rows across months: each month's part in proportion to time
        SELECT enterprise_uscc, region_id, carrier, province, m,
               q * (epoch(least(e, m + INTERVAL 1 MONTH)) - epoch(greatest(s, m))) / (epoch(e) - epoch(s)) AS q
        FROM (SELECT *, unnest(generate_series(date_trunc('month', s), date_trunc('month', e - INTERVAL 1 SECOND),
                                               INTERVAL 1 MONTH)) AS m
              FROM r WHERE date_trunc('month', s) <> date_trunc('month', e - INTERVAL 1 SECOND))
    ), pieces AS (SELECT * FROM one UNION ALL SELECT * FROM several)
    SELECT p.enterprise_uscc, p.region_id, p.carrier, month(p.m) AS month,
           sum(p.q) AS quantity_canonical, sum(p.q * c.tco2e_per_unit) AS emissions_tco2e,
           sum(p.q * c.tce_per_unit) AS energy_tce
    FROM pieces p JOIN choice c ON c.province = p.province AND c.carrier = p.carrier
    WHERE year(p.m) = {YEAR}
    GROUP BY ALL ORDER BY ALL
    """
    lines = con.execute(sql).df()
    seconds = time.perf_counter() - t0
    lines.to_parquet(out)
    with open(out + ".json", "w") as f:
        json.dump({"seconds": seconds, "peaks": {"duckdb": peak_mib()}}, f)


def in_fresh_process(target: Any, *args: Any) -> None:
    ctx = multiprocessing.get_context("spawn")
    p = ctx.Process(target=target, args=args)
    p.start()
    p.join()
    if p.exitcode != 0:
        raise RuntimeError(f"{target.__name__} failed (exit {p.exitcode})")


def _read(out: str) -> dict[str, Any]:
    with open(out + ".json") as f:
        return {**json.load(f), "lines": pd.read_parquet(out)}


def agreement(a: pd.DataFrame, b: pd.DataFrame) -> tuple[float, float]:
    """Relative difference of the total tCO2e, and the largest of any (enterprise, jurisdiction, carrier, month)."""
    key = ["enterprise_uscc", "region_id", "carrier", "month"]
    ga = a.groupby(key, observed=True)["emissions_tco2e"].sum()
    gb = b.assign(month=b["month"].astype("int64")).groupby(key, observed=True)["emissions_tco2e"].sum()
    both = pd.concat([ga.rename("a"), gb.rename("b")], axis=1)
    if both.isna().any().any():
        return math.inf, math.inf
    total = abs(ga.sum() - gb.sum()) / abs(gb.sum())
    return float(total), float(((both["a"] - both["b"]).abs() / both["b"].abs()).max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readings", type=int, default=100_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-limit", default="4GB")
    parser.add_argument("--root", help="where to write the dataset (default: a new folder in /tmp)")
    parser.add_argument("--keep", action="store_true", help="keep the dataset")
    parser.add_argument("--skip-in-process", action="store_true")
    args = parser.parse_args()
    root = args.root or tempfile.mkdtemp(prefix="carbon-dask-scale-", dir="/tmp")
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, pandas {pd.__version__}; load average {os.getloadavg()}"
    )
    try:
        t0 = time.perf_counter()
        manifest = write_dataset(root, args.readings)
        size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(root) for f in fs)
        n = manifest.rows
        print(
            f"readings: {n:,} ({len(meters_table(args.readings)):,} meters, {len(manifest.partitions)} partitions, "
            f"{size / 2**30:.2f} GiB Parquet) written in {time.perf_counter() - t0:.1f} s; basis {BASIS}, AR5"
        )
        results = {}
        got = ours(root, args.workers, args.memory_limit)
        results[f"ours, Dask LocalCluster {args.workers}x{args.memory_limit}"] = got
        if not args.skip_in_process:
            out = os.path.join(root, "_in_process.parquet")
            in_fresh_process(_in_child, root, out)
            results["ours, in process (threads)"] = _read(out)
        table = os.path.join(root, "_choices.parquet")
        choices()[["province", "carrier", "tco2e_per_unit", "tce_per_unit"]].to_parquet(table)
        out = os.path.join(root, "_duckdb.parquet")
        in_fresh_process(duckdb_peer, root, table, out)
        results["peer: DuckDB 2 threads, 4GB"] = peer = _read(out)
        print(f"{'':46s} {'seconds':>8s} {'rows/s':>12s} {'vs DuckDB':>9s}  peak MiB (each process)   total rel. diff")
        for name, r in results.items():
            total, worst = agreement(r["lines"], peer["lines"])
            peaks = ", ".join(f"{v:,.0f}" for v in r["peaks"].values())
            print(
                f"{name:46s} {r['seconds']:8.1f} {n / r['seconds']:12,.0f} {peer['seconds'] / r['seconds']:9.2f}  "
                f"{peaks:24s}  {total:.1e} (worst line {worst:.1e})"
                + ("" if total <= 1e-9 and worst <= 1e-9 else "  DISAGREES")
            )
        print(f"load average after: {os.getloadavg()}")
    finally:
        if not args.keep and not args.root:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
