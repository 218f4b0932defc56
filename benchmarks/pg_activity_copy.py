"""PostgreSQL bulk writes: COPY of N hourly readings into the activity table partitioned by month (migration 0012)
and, in the same run, into the plain table of migration 0011 (the baseline), each in a fresh schema.

Both go through ``carbon.ingest.store.bulk_insert_activity`` (text formatting and COPY; on the partitioned table the
months' partitions are created in the same transaction), a year of readings per round, two rounds (the second into
tables already holding the first year), alternating which table goes first.

    python benchmarks/pg_activity_copy.py [--rows 1000000] [--url postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from alembic import command
from sqlalchemy import Engine, create_engine, text

from carbon import db
from carbon.enterprises import add_enterprise
from carbon.ingest import store
from carbon.uscc import check_character

HOURS = 8760


def readings(rows: int, year: int, meter_ids: list[int], enterprise: str, batch_id: int) -> pd.DataFrame:
    """Hourly readings of ``len(meter_ids)`` meters over the local ``year``, ``rows`` in all (about)."""
    start = pd.date_range(f"{year}-01-01", periods=HOURS, freq="h", tz="Asia/Shanghai").tz_convert("UTC")
    per_meter = min(HOURS, -(-rows // len(meter_ids)))
    starts = np.tile(start[:per_meter], len(meter_ids))[:rows]
    rng = np.random.default_rng(year)
    n = len(starts)
    return pd.DataFrame(
        {
            "batch_id": batch_id,
            "meter_id": np.repeat(meter_ids, per_meter)[:n],
            "enterprise_uscc": enterprise,
            "carrier": "electricity",
            "period_start": pd.Series(starts),
            "period_end": pd.Series(starts) + pd.Timedelta(hours=1),
            "quantity_canonical": np.round(rng.gamma(4.0, 5.0, n), 3),
            "quantity_original": 0.0,
            "unit_original": "kWh",
            "source_row": np.arange(2, n + 2),
        }
    ).assign(quantity_original=lambda d: d["quantity_canonical"])


def prepared(url: str, schema: str, revision: str, meters: int) -> tuple[Engine, str, list[int], int]:
    """A schema at ``revision`` with one enterprise, its meters and one batch."""
    sep = "&" if "?" in url else "?"
    eng = db.make_engine(f"{url}{sep}options=-csearch_path%3D{schema}")
    command.upgrade(db.alembic_config(eng), revision)
    db.seed_reference(eng)
    first17 = "91310118000000010"
    ent = first17 + check_character(first17)
    add_enterprise(eng, code=ent, name="基准测试企业", region="qingpu", industry="26")
    with eng.begin() as conn:
        codes = pd.DataFrame({"meter_code": [f"M{i:04d}" for i in range(meters)], "carrier": "electricity"})
        ids = list(store.meter_ids(conn, ent, codes).values())
        fields = {
            "enterprise_uscc": ent,
            "file_name": "bench.csv",
            "sha256": uuid.uuid4().hex * 2,
            "size_bytes": 0,
            "uploaded_by": None,
            "received_at": datetime.now(UTC),
            "shape": "long",
            "status": "stored",
            **dict.fromkeys(["rows_read", "rows_accepted", "rows_rejected", "rows_duplicate", "rows_corrected"], 0),
            "warnings": 0,
            "report_json": "{}",
        }
        batch = store.archive_and_batch(conn, data=b"", fields=fields)
    return eng, ent, ids, batch


def copy_seconds(eng: Engine, rows: pd.DataFrame) -> float:
    t0 = time.perf_counter()
    with eng.begin() as conn:
        store.bulk_insert_activity(conn, rows)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--url", default=os.environ.get("CARBON_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    args = ap.parse_args()
    meters = -(-args.rows // HOURS)
    admin = create_engine(args.url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    kinds = {"partitioned": "head", "plain": "0011"}
    schemas = {k: f"bench_{k}_{uuid.uuid4().hex[:8]}" for k in kinds}
    with admin.connect() as conn:
        for s in schemas.values():
            conn.execute(text(f"CREATE SCHEMA {s}"))
    try:
        setup = {k: prepared(args.url, schemas[k], rev, meters) for k, rev in kinds.items()}
        print(f"{args.rows:,} hourly readings of {meters} meters per round (a local year), COPY through store")
        times: dict[str, list[float]] = {k: [] for k in kinds}
        for rnd, (year, order) in enumerate([(2025, ["partitioned", "plain"]), (2024, ["plain", "partitioned"])]):
            for k in order:
                eng, ent, ids, batch = setup[k]
                rows = readings(args.rows, year, ids, ent, batch)
                times[k].append(copy_seconds(eng, rows))
                print(f"  round {rnd + 1} {k:<12} {times[k][-1]:6.2f} s  {len(rows) / times[k][-1]:>12,.0f} rows/s")
        for k in kinds:
            with setup[k][0].connect() as conn:
                n = conn.execute(text("SELECT count(*) FROM activity")).scalar_one()
            print(f"{k:<12} best {min(times[k]):6.2f} s, {n:,} rows stored")
        print(f"partitioned / plain (best of each): {min(times['partitioned']) / min(times['plain']):.2f}x")
        for eng, *_ in setup.values():
            eng.dispose()
    finally:
        with admin.connect() as conn:
            for s in schemas.values():
                conn.execute(text(f"DROP SCHEMA {s} CASCADE"))
        admin.dispose()


if __name__ == "__main__":
    main()
