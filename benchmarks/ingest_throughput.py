"""Ingest speed: N 15-minute readings (long CSV, valid) into a fresh SQLite database through `carbon ingest`.

Ours: the whole command as a user runs it (process start, read, recognise, validate, check against storage,
archive, store), timed from outside, with the child's peak memory.  Baseline, same run: a bare `sqlite3`
executemany of the same rows into a table of the same shape (the activity table's own DDL and indexes).

    python benchmarks/ingest_throughput.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy.dialects import sqlite
from sqlalchemy.schema import CreateIndex, CreateTable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from carbon.models import Activity  # noqa: E402
from carbon.uscc import check_character  # noqa: E402

METERS = 100


def make_csv(path: Path, rows: int) -> pd.DataFrame:
    """Long interval file: 100 meters x rows/100 consecutive 15-minute readings ending in 2025."""
    per_meter = rows // METERS
    start = np.datetime64("2025-01-01T00:00") + np.arange(per_meter) * np.timedelta64(15, "m")
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "时间": np.tile(start, METERS),
            "表号": np.repeat([f"M{i:03d}" for i in range(METERS)], per_meter),
            "能源品种": "电力",
            "用量": np.round(rng.gamma(4.0, 5.0, per_meter * METERS), 3),
            "单位": "kWh",
        }
    )
    df.to_csv(path, index=False, date_format="%Y-%m-%d %H:%M")
    return df


def bare_insert(db: Path, df: pd.DataFrame) -> float:
    """Seconds for sqlite3.executemany of the same rows into the activity table's DDL, plus commit."""
    con = sqlite3.connect(db)
    table = Activity.__table__
    con.execute(str(CreateTable(table).compile(dialect=sqlite.dialect())))
    for index in table.indexes:
        con.execute(str(CreateIndex(index).compile(dialect=sqlite.dialect())))
    start = pd.to_datetime(df["时间"]).dt.tz_localize("Asia/Shanghai").dt.tz_convert("UTC").dt.tz_localize(None)
    fmt = "%Y-%m-%d %H:%M:%S.%f"
    rows = list(
        zip(
            [1] * len(df),
            df["表号"].str[1:].astype(int).tolist(),
            ["91"] * len(df),
            ["electricity"] * len(df),
            start.dt.strftime(fmt).tolist(),
            (start + pd.Timedelta(minutes=15)).dt.strftime(fmt).tolist(),
            df["用量"].tolist(),
            df["用量"].tolist(),
            ["kWh"] * len(df),
            list(range(2, len(df) + 2)),
            strict=True,
        )
    )
    cols = (
        "batch_id, meter_id, enterprise_uscc, carrier, period_start, period_end, quantity_canonical, "
        "quantity_original, unit_original, source_row"
    )
    t0 = time.perf_counter()
    con.executemany(f"INSERT INTO activity ({cols}) VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
    con.commit()
    took = time.perf_counter() - t0
    con.close()
    return took


def carbon(*args: str) -> None:
    """``carbon ARGS`` as a user runs it, from this checkout's code (not whichever copy is installed)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    subprocess.run([sys.executable, "-m", "carbon.cli", *args], check=True, stdout=subprocess.DEVNULL, env=env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        csv = folder / "readings.csv"
        df = make_csv(csv, args.rows)
        url = f"sqlite:///{folder / 'carbon.db'}"
        first17 = "913101180000009990"[:17]
        code = first17 + check_character(first17)
        carbon("--db", url, "init")
        carbon(
            "--db",
            url,
            "enterprise",
            "add",
            "--code",
            code,
            "--name",
            "基准测试企业",
            "--region",
            "qingpu",
            "--industry",
            "26",
        )
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        t0 = time.perf_counter()
        carbon("--db", url, "ingest", str(csv), "--enterprise", code)
        ours = time.perf_counter() - t0
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        bare = bare_insert(folder / "bare.db", df)
        print(
            f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"SQLite {sqlite3.sqlite_version}"
        )
        print(f"rows: {len(df):,} ({csv.stat().st_size / 1e6:.1f} MB CSV)")
        print(f"bare sqlite3 executemany (same table and indexes): {bare:7.2f} s  {len(df) / bare:12,.0f} rows/s")
        print(f"carbon ingest, end to end (process included):     {ours:7.2f} s  {len(df) / ours:12,.0f} rows/s")
        print(
            f"ratio carbon/bare: {ours / bare:.2f}x   peak memory of carbon ingest: "
            f"{max(peak_kb, before) / 1024:.0f} MB"
        )


if __name__ == "__main__":
    main()
