"""The restatement report: what changed in the result ledger since a date, and why.

Recalculation itself is ``carbon.ledger.recalc`` (stored as new runs, never overwritten).  ``restatement``
compares, per enterprise and region, each run made since a date with the run before it and splits the difference
into a factor part and an activity part per carrier (midpoint split: factor part = mean activity x change of implied
factor; activity part = mean implied factor x change of activity; the two add up to the difference exactly).
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import Engine, select

from carbon.ledger import enterprise_runs, result_lines
from carbon.models import Enterprise


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
