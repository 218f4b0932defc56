"""Row checks on typed interval rows, and checks against stored rows and the rest of the upload."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from carbon.ingest.rules import Issues, param

REL_TOLERANCE = 1e-9  # two quantities this close are the same reading


def _fmt(values: pd.Series) -> pd.Series:
    return values.map(lambda v: "" if pd.isna(v) else f"{v:g}")


def row_checks(rows: pd.DataFrame, issues: Issues, now: datetime) -> None:
    """Negative consumption, periods ending before they start or in the future (errors)."""
    ok = issues.ok(rows.index)
    issues.add(ok & (rows["quantity_original"] < 0), "negative", _fmt(rows["quantity_original"]))
    timed = ok & rows["period_start"].notna() & rows["period_end"].notna()
    issues.add(timed & (rows["period_end"] <= rows["period_start"]), "end_before_start", rows["period_end"].astype(str))
    issues.add(
        timed & (rows["period_end"] > pd.Timestamp(now)), "future", rows["period_end"].astype(str), column="period_end"
    )


def series_checks(rows: pd.DataFrame, issues: Issues) -> None:
    """Warnings on each meter's series: gaps (with coverage) and spikes far above its own median rate."""
    good = rows.loc[issues.ok(rows.index)].sort_values(["meter_code", "period_start"], kind="stable")
    if good.empty:
        return
    hours = (good["period_end"] - good["period_start"]).dt.total_seconds() / 3600
    rate = good["quantity_canonical"] / hours
    median = rate.groupby(good["meter_code"]).transform("median")
    count = rate.groupby(good["meter_code"]).transform("size")
    ratio = rate / median
    spike = (count >= 4) & (median > 0) & (ratio > param("spike"))
    issues.add(
        spike,
        "spike",
        _fmt(good["quantity_original"]),
        value=_fmt(good["quantity_original"]),
        ratio=ratio.map(lambda r: f"{r:.0f}"),
    )

    prev_end = good.groupby("meter_code")["period_end"].shift()
    gap = prev_end.notna() & (good["period_start"] > prev_end)
    if not gap.any():
        return
    by_meter = good.groupby("meter_code")
    covered = (good["period_end"] - good["period_start"]).groupby(good["meter_code"]).sum()
    span = by_meter["period_end"].max() - by_meter["period_start"].min()
    gaps = gap.groupby(good["meter_code"]).sum()
    first_gap = gap & ~gap.groupby(good["meter_code"]).cummax().groupby(good["meter_code"]).shift(fill_value=False)
    m = good["meter_code"]
    issues.add(
        first_gap,
        "gap",
        good["period_start"].astype(str),
        meter=m,
        gaps=m.map(gaps).astype(int),
        coverage=m.map((covered / span).map(lambda x: f"{x:.1%}")),
        span=m.map(by_meter["period_start"].min().astype(str) + " ~ " + by_meter["period_end"].max().astype(str)),
    )


def cross_check(new: pd.DataFrame, stored: pd.DataFrame, meters: dict[str, str]) -> pd.DataFrame:
    """Compare the upload's good rows with stored current rows and with each other.

    ``new``: ``meter_code``, ``carrier``, ``period_start``, ``period_end``, ``quantity_canonical`` and a unique
    index.  ``stored``: the same columns plus ``id``.  Returns ``new`` with ``status`` (ok, duplicate,
    correction, conflict_in_file, overlap, meter_carrier), ``detail``, ``old_quantity`` and ``supersedes``
    (the stored id a correction replaces).
    """
    out = new.assign(status="ok", detail="", old_quantity=np.nan, supersedes=pd.NA)
    if out.empty:
        return out
    known = out["meter_code"].map(meters)
    first = out.groupby("meter_code")["carrier"].transform("first")
    expected = known.where(known.notna(), first)
    clash = expected != out["carrier"]
    out.loc[clash, ["status", "detail"]] = pd.DataFrame({"status": "meter_carrier", "detail": expected[clash]})

    key = ["meter_code", "period_start", "period_end"]
    live = out.loc[out["status"] == "ok"]
    q = live["quantity_canonical"].astype("float64")
    ref = q.groupby([live[k] for k in key]).transform("first")
    repeat = live.duplicated(key, keep="first")
    same = np.isclose(q, ref, rtol=REL_TOLERANCE, atol=0)
    in_file_conflict = live.groupby(key)["quantity_canonical"].transform(lambda s: s.nunique() > 1)
    out.loc[live.index[repeat & same & ~in_file_conflict], "status"] = "duplicate"
    conflict = live.index[in_file_conflict.to_numpy()]
    out.loc[conflict, ["status", "detail"]] = pd.DataFrame(
        {"status": "conflict_in_file", "detail": _fmt(live.loc[conflict, "quantity_canonical"])}
    )

    if len(stored):
        cand = out.loc[out["status"] == "ok"].reset_index(names="_pos").merge(stored, on=key, suffixes=("", "_s"))
        if len(cand):
            equal = np.isclose(cand["quantity_canonical"], cand["quantity_canonical_s"], rtol=REL_TOLERANCE, atol=0)
            pos = cand["_pos"].to_numpy()
            out.loc[pos[equal], "status"] = "duplicate"
            corr = pos[~equal]
            out.loc[corr, "status"] = "correction"
            out.loc[corr, "old_quantity"] = cand.loc[~equal, "quantity_canonical_s"].to_numpy()
            out.loc[corr, "supersedes"] = cand.loc[~equal, "id"].to_numpy()

    # overlaps among what would be current after this upload: stored rows not corrected, plus new rows
    incoming = out.loc[out["status"].isin(["ok", "correction"])]
    kept = stored.loc[~stored["id"].isin(out["supersedes"].dropna())] if len(stored) else stored
    both = pd.concat([kept[key].assign(_pos=pd.NA), incoming[key].assign(_pos=incoming.index)], ignore_index=True)
    both = both.sort_values(["meter_code", "period_start", "period_end"], kind="stable")
    by_meter = both.groupby("meter_code")
    prev_end = by_meter["period_end"].cummax().groupby(both["meter_code"]).shift()
    next_start = by_meter["period_start"].shift(-1)
    overlapping = ((both["period_start"] < prev_end) | (both["period_end"] > next_start)) & both["_pos"].notna()
    hit = both.loc[overlapping, "_pos"].to_numpy()
    out.loc[hit, "status"] = "overlap"
    return out
