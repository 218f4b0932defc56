"""Recalculation after new factors or corrected data, and the restatement report.

``recalc`` computes every enterprise and year again and stores a new run (with its as-of time and trigger) only
where the result changed; earlier runs are never overwritten.  ``restatement`` compares, per enterprise and
region, each run made since a date with the run before it and splits the difference into a factor part and an
activity part per carrier (midpoint split: factor part = mean activity x change of implied factor; activity part =
mean implied factor x change of activity; the two add up to the difference exactly).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Engine, func, select

from carbon import reference
from carbon.enterprises import get_enterprise
from carbon.ledger import (
    AccountResult,
    compute,
    enterprise_runs,
    load_activity,
    load_factors,
    result_lines,
    store_run,
    with_local_times,
)
from carbon.models import Activity, Enterprise

REL_TOLERANCE = 1e-9


def activity_years(engine: Engine) -> list[int]:
    """Local calendar years touched by stored activity."""
    with engine.connect() as conn:
        lo, hi = conn.execute(
            select(func.min(Activity.period_start), func.max(Activity.period_end)).where(
                Activity.superseded_at.is_(None)
            )
        ).one()
    if lo is None:
        return []
    first = pd.Timestamp(lo, tz="UTC") if pd.Timestamp(lo).tzinfo is None else pd.Timestamp(lo)
    last = pd.Timestamp(hi, tz="UTC") if pd.Timestamp(hi).tzinfo is None else pd.Timestamp(hi)
    return list(
        range(
            first.tz_convert("Asia/Shanghai").year,
            (last - pd.Timedelta(seconds=1)).tz_convert("Asia/Shanghai").year + 1,
        )
    )


def _latest_runs(engine: Engine, basis: str, gwp_set: str) -> pd.DataFrame:
    runs = enterprise_runs(engine, basis, gwp_set)
    return runs.groupby(["subject_id", "year"]).tail(1).set_index(["subject_id", "year"])


def recalc(
    engine: Engine,
    *,
    years: list[int] | None = None,
    enterprises: list[str] | None = None,
    basis: str = "location",
    gwp_set: str = "AR5",
    trigger: str = "manual",
    activity: pd.DataFrame | None = None,
) -> dict[str, int]:
    """Recompute enterprise results; store a new run where anything changed.  Returns counts.

    ``activity`` (as ``load_activity`` returns it, covering ``years``) saves reading the rows from the database.
    """
    factors = load_factors(engine)
    latest = _latest_runs(engine, basis, gwp_set)
    now = datetime.now(UTC)
    stored = unchanged = 0
    for year in years if years is not None else activity_years(engine):
        rows = load_activity(engine, year, regions=list(reference.JURISDICTIONS)) if activity is None else activity
        if enterprises is not None:
            rows = rows.loc[rows["enterprise_uscc"].isin(enterprises)]
        lines, flags = compute(rows, factors, year=year, basis=basis, gwp_set=gwp_set, as_of=now.date())
        for uscc, mine in lines.groupby("enterprise_uscc"):
            result = AccountResult(
                "enterprise", str(uscc), year, basis, gwp_set, now, mine.reset_index(drop=True), flags
            )
            old = latest.loc[(uscc, year)] if (uscc, year) in latest.index else None
            same = (
                old is not None
                and np.isclose(old["total_tco2e"], result.total_tco2e, rtol=REL_TOLERANCE)
                and np.isclose(old["energy_tce"], float(mine["energy_tce"].sum()), rtol=REL_TOLERANCE)
            )
            if same:
                unchanged += 1
                continue
            result.run_id = store_run(engine, result, trigger)
            stored += 1
    return {"runs_stored": stored, "unchanged": unchanged}


def _carrier_totals(engine: Engine, run_ids: list[int]) -> pd.DataFrame:
    lines = result_lines(engine, run_ids)
    return lines.groupby(["run_id", "carrier"])[["quantity_canonical", "emissions_tco2e"]].sum().reset_index()


def split_change(old: pd.DataFrame, new: pd.DataFrame) -> tuple[float, float]:
    """(factor part, activity part) of new − old emissions; frames by carrier with quantity and emissions.  Pure."""
    cols = ["carrier", "quantity_canonical", "emissions_tco2e"]
    both = old[cols].merge(new[cols], on="carrier", how="outer", suffixes=("_old", "_new")).fillna(0.0)
    a0, a1 = both["quantity_canonical_old"], both["quantity_canonical_new"]
    e0, e1 = both["emissions_tco2e_old"], both["emissions_tco2e_new"]
    f0 = (e0 / a0.where(a0 != 0)).fillna(e1 / a1.where(a1 != 0)).fillna(0.0)
    f1 = (e1 / a1.where(a1 != 0)).fillna(f0)
    factor = float(((a0 + a1) / 2 * (f1 - f0)).sum())
    activity = float(((f0 + f1) / 2 * (a1 - a0)).sum())
    return factor, activity


def restatement(engine: Engine, since: datetime, basis: str = "location", gwp_set: str = "AR5") -> pd.DataFrame:
    """Per enterprise and year restated since ``since``: old, new, difference, factor part, activity part, region."""
    runs = enterprise_runs(engine, basis, gwp_set)
    with engine.connect() as conn:
        regions = dict(conn.execute(select(Enterprise.uscc, Enterprise.region_id)).all())
    runs["previous"] = runs.groupby(["subject_id", "year"])["id"].shift()
    changed = runs.loc[(runs["computed_at"] >= pd.Timestamp(since)) & runs["previous"].notna()]
    changed = changed.groupby(["subject_id", "year"]).tail(1)
    if changed.empty:
        return pd.DataFrame(
            columns=[
                "enterprise",
                "region",
                "year",
                "old_tco2e",
                "new_tco2e",
                "difference_tco2e",
                "factor_part_tco2e",
                "activity_part_tco2e",
                "trigger",
            ]
        )
    first = runs.loc[(runs["computed_at"] < pd.Timestamp(since))].groupby(["subject_id", "year"])["id"].last()
    olds = [int(first.get((r.subject_id, r.year), r.previous)) for r in changed.itertuples()]
    totals = _carrier_totals(engine, olds + changed["id"].astype(int).tolist())
    old_total = runs.set_index("id")["total_tco2e"]
    rows = []
    for old_id, r in zip(olds, changed.itertuples(), strict=True):
        factor, activity = split_change(totals.loc[totals["run_id"] == old_id], totals.loc[totals["run_id"] == r.id])
        rows.append(
            {
                "enterprise": r.subject_id,
                "region": regions.get(r.subject_id),
                "year": int(r.year),
                "old_tco2e": float(old_total[old_id]),
                "new_tco2e": float(r.total_tco2e),
                "difference_tco2e": float(r.total_tco2e - old_total[old_id]),
                "factor_part_tco2e": factor,
                "activity_part_tco2e": activity,
                "trigger": r.trigger,
            }
        )
    return pd.DataFrame(rows)


def recalc_after_ingest(engine: Engine, enterprise: str, reports: list, basis: str = "location") -> dict[str, int]:
    """Recalculate an enterprise after an upload, from the rows just stored (in memory) and its earlier rows."""
    fresh = [r.rows for r in reports if r.stored and r.rows is not None and len(r.rows)]
    if not fresh:
        return {"runs_stored": 0, "unchanged": 0}
    new = pd.concat(fresh, ignore_index=True)
    first = int(new["period_start"].dt.tz_convert("Asia/Shanghai").dt.year.min())
    last = int((new["period_end"] - pd.Timedelta(seconds=1)).dt.tz_convert("Asia/Shanghai").dt.year.max())
    earlier = load_activity(
        engine,
        first,
        enterprise=enterprise,
        last_year=last,
        exclude_batches=[r.batch_id for r in reports if r.batch_id is not None],
    )
    region = reference.regions().loc[get_enterprise(engine, enterprise).region_id]
    mine = with_local_times(
        pd.DataFrame(
            {
                "enterprise_uscc": pd.Categorical([enterprise] * len(new)),
                "carrier": new["carrier"].astype("category"),
                "period_start": new["period_start"],
                "period_end": new["period_end"],
                "quantity": new["quantity_canonical"].astype(float),
                "province": pd.Categorical([region["province"]] * len(new)),
                "grid": pd.Categorical([region["grid"]] * len(new)),
            }
        )
    ).drop(columns=["period_start", "period_end"])
    del new
    names = ", ".join(sorted({Path(r.file).name for r in reports if r.stored}))
    return recalc(
        engine,
        years=list(range(first, last + 1)),
        enterprises=[enterprise],
        basis=basis,
        trigger=f"carbon ingest {names}",
        activity=pd.concat([earlier, mine], ignore_index=True),
    )
