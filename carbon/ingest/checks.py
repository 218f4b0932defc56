"""Row checks on typed interval rows, and checks against stored rows and the rest of the upload."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from carbon import reference
from carbon.ingest.columns import TEXT_COLUMNS
from carbon.ingest.rules import Issues, param
from carbon.limits import max_length, time_limits
from carbon.models import Meter
from carbon.units import overflows

REL_TOLERANCE = 1e-9  # two quantities this close are the same reading


def number(value: float) -> str:
    """A number as text with every digit a file gives (15 significant: ``-1122236.06``, never ``-1.12224e+06``);
    '' for none."""
    return "" if pd.isna(value) else f"{value:.15g}"


def _fmt(values: pd.Series) -> pd.Series:
    return values.map(number)


def local_text(ts: pd.Series) -> pd.Series:
    """UTC timestamps as Beijing wall-clock text (``2025-01-01 00:00``)."""
    return ts.dt.tz_convert("Asia/Shanghai").dt.strftime("%Y-%m-%d %H:%M")


def written(text: pd.Series | None, values: pd.Series) -> pd.Series:
    """What a value's issue shows: the cell ``text`` it was read from, exactly as the file wrote it, and where no
    cell holds it (``text`` None or missing: a quantity computed from registers, a period inferred from time labels)
    the value itself as text (numbers with every digit, times in Beijing time).  Aligned with ``values``."""
    shown = local_text if isinstance(values.dtype, pd.DatetimeTZDtype) else _fmt
    if text is None:
        return shown(values)
    missing = text.isna().to_numpy()
    if not missing.any():
        return text
    out = text.astype(object).copy()
    out[missing] = shown(values[missing]).to_numpy()
    return out


def as_written(rows: pd.DataFrame, column: str) -> pd.Series:
    """The cells a typed column of ``rows`` (``quantity_original``, ``period_start``, ``period_end``) was read
    from, as written (``written``; the text columns are ``columns.TEXT_COLUMNS``)."""
    text = TEXT_COLUMNS[column]
    return written(rows.get(text), rows[column])


def storable(rows: pd.DataFrame, issues: Issues, times: tuple[str, ...]) -> None:
    """Values the database cannot hold, refused the same on every database: a meter id longer than its column in
    ``carbon.models``, a time outside ``time_limits()`` (a year 0001 cannot even be converted).  Units are refused
    before (``carbon.units.parse_unit`` accepts none longer than the unit columns)."""
    ok = issues.ok(rows.index)
    most = max_length(Meter.meter_code)
    long_id = ok & (rows["meter_code"].astype(str).str.len() > most)
    issues.add(long_id, "meter_id_too_long", lambda: rows["meter_code"].astype(str).str.slice(0, 40) + "…", limit=most)
    earliest, latest = time_limits()
    for column in times:
        t = rows[column]
        outside = ok & t.notna() & ((t < earliest) | (t >= latest))
        issues.add(
            outside,
            "time_out_of_range",
            lambda column=column: as_written(rows, column) if column in TEXT_COLUMNS else local_text(rows[column]),
            column=column,
            earliest=f"{earliest:%Y-%m-%d}",
            latest=f"{latest:%Y-%m-%d}",
        )


def row_checks(rows: pd.DataFrame, issues: Issues, now: datetime) -> None:
    """Values no database can hold (``storable``), negative consumption, a quantity too large once converted to its
    carrier's unit, periods ending before they start or in the future (errors)."""
    storable(rows, issues, ("period_start", "period_end"))
    ok = issues.ok(rows.index)
    quantity = lambda: as_written(rows, "quantity_original")  # noqa: E731
    issues.add(ok & (rows["quantity_original"] < 0), "negative", quantity)
    huge = ok & overflows(rows["quantity_canonical"])
    canonical = lambda: rows["carrier"].map(reference.carriers()["canonical_unit"])  # noqa: E731
    issues.add(huge, "too_large_converted", quantity, unit=canonical)
    timed = ok & rows["period_start"].notna() & rows["period_end"].notna()
    end_text = lambda: as_written(rows, "period_end")  # noqa: E731
    issues.add(timed & (rows["period_end"] <= rows["period_start"]), "end_before_start", end_text)
    issues.add(timed & (rows["period_end"] > pd.Timestamp(now)), "future", end_text, column="period_end")


def series_checks(rows: pd.DataFrame, issues: Issues) -> None:
    """Warnings on each meter's series: gaps (with coverage) and spikes far above its own median rate."""
    good = rows.loc[issues.ok(rows.index)].sort_values(["meter_code", "period_start"], kind="stable")
    if good.empty:
        return
    meter = good["meter_code"]
    hours = (good["period_end"] - good["period_start"]).dt.total_seconds() / 3600
    rate = good["quantity_canonical"] / hours
    median = rate.groupby(meter).transform("median")
    count = rate.groupby(meter).transform("size")
    ratio = rate / median
    spike = (count >= 4) & (median > 0) & (ratio > param("spike"))
    value = lambda: as_written(good, "quantity_original")  # noqa: E731
    issues.add(spike, "spike", value, value=value, ratio=lambda: ratio.map(lambda r: f"{r:.0f}"))

    prev_end = good.groupby("meter_code")["period_end"].shift()
    gap = prev_end.notna() & (good["period_start"] > prev_end)
    if not gap.any():
        return
    first_gap = gap & ~gap.groupby(meter).cummax().groupby(meter).shift(fill_value=False)
    by_meter = good.groupby("meter_code")
    covered = (good["period_end"] - good["period_start"]).groupby(meter).sum()
    first, last = by_meter["period_start"].min(), by_meter["period_end"].max()
    issues.add(
        first_gap,
        "gap",
        lambda: as_written(good, "period_start"),
        meter=meter,
        gaps=meter.map(gap.groupby(meter).sum()).astype(int),
        coverage=meter.map((covered / (last - first)).map(lambda x: f"{x:.1%}")),
        span=meter.map(local_text(first) + " ~ " + local_text(last)),
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
    live = out.loc[out["status"] == "ok", [*key, "quantity_canonical"]]  # the columns compared, not every one
    repeat = live.duplicated(key, keep=False)
    if repeat.any():  # only rows whose key appears more than once need comparing
        twice = live.loc[repeat]
        grouped = twice["quantity_canonical"].astype("float64").groupby([twice[k] for k in key])
        lo, hi = grouped.transform("min"), grouped.transform("max")
        differ = ~np.isclose(lo, hi, rtol=REL_TOLERANCE, atol=0)
        later = twice.duplicated(key, keep="first")
        out.loc[twice.index[later & ~differ], "status"] = "duplicate"
        conflict = twice.index[differ]
    else:
        conflict = live.index[:0]
    out.loc[conflict, ["status", "detail"]] = pd.DataFrame(
        {"status": "conflict_in_file", "detail": _fmt(live.loc[conflict, "quantity_canonical"])}
    )

    if len(stored):
        ok = out.loc[out["status"] == "ok", [*key, "quantity_canonical"]]
        cand = ok.reset_index(names="_pos").merge(stored, on=key, suffixes=("", "_s"))
        if len(cand):
            equal = np.isclose(cand["quantity_canonical"], cand["quantity_canonical_s"], rtol=REL_TOLERANCE, atol=0)
            pos = cand["_pos"].to_numpy()
            out.loc[pos[equal], "status"] = "duplicate"
            corr = pos[~equal]
            out.loc[corr, "status"] = "correction"
            out.loc[corr, "old_quantity"] = cand.loc[~equal, "quantity_canonical_s"].to_numpy()
            out.loc[corr, "supersedes"] = cand.loc[~equal, "id"].to_numpy()

    # overlaps among what would be current after this upload: stored rows not corrected, plus new rows
    incoming = out.loc[out["status"].isin(["ok", "correction"]), key]
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
