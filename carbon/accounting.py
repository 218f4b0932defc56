"""Pure, vectorised accounting functions: period splitting and activity x factor.

Inputs are whole columns (numpy arrays / pandas frames); nothing here touches the database or builds one
pint Quantity per row.  Times are local wall-clock times (Asia/Shanghai) as ``datetime64``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

LOCAL_TZ = "Asia/Shanghai"
CO2_PER_C = 44.0 / 12.0  # molar-mass ratio of CO2 to C in the GB/T 32150 formula


def to_local_naive(ts: pd.Series) -> np.ndarray:
    """UTC (aware or naive-as-UTC) timestamps to local Asia/Shanghai wall-clock ``datetime64[s]``."""
    s = pd.to_datetime(ts)
    s = s.dt.tz_localize("UTC") if s.dt.tz is None else s
    return s.dt.tz_convert(LOCAL_TZ).dt.tz_localize(None).to_numpy(dtype="datetime64[s]")


def month_shares(start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split periods ``[start, end)`` over calendar months in proportion to time.

    Returns ``(row, month, share)``: for each piece the index of its input row, its month
    (``datetime64[M]``) and the fraction of the row's duration that falls in that month.
    Shares of one row add up to 1.
    """
    start = np.asarray(start, dtype="datetime64[s]")
    end = np.asarray(end, dtype="datetime64[s]")
    first = start.astype("datetime64[M]")
    last = (end - np.timedelta64(1, "s")).astype("datetime64[M]")
    n = (last - first).astype("int64") + 1
    row = np.repeat(np.arange(len(start)), n)
    offset = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
    month = first[row] + offset.astype("timedelta64[M]")
    share = np.ones(len(row))
    multi = n[row] > 1  # only pieces of rows that cross a month boundary need the overlap arithmetic
    if multi.any():
        r, m = row[multi], month[multi]
        m_start = m.astype("datetime64[s]")
        m_end = (m + np.timedelta64(1, "M")).astype("datetime64[s]")
        overlap = np.minimum(end[r], m_end) - np.maximum(start[r], m_start)
        share[multi] = overlap.astype("float64") / (end[r] - start[r]).astype("float64")
    return row, month, share


def allocate_to_months(activity: pd.DataFrame, year: int | None = None) -> pd.DataFrame:
    """Spread activity rows over calendar months; keep only ``year`` if given.

    ``activity`` needs ``start_local``, ``end_local`` (datetime64) and ``quantity``; every other column
    is carried along.  Adds ``year``, ``month`` (1-12), ``quantity`` (the month's part) and ``split``
    (True where the row crossed a month boundary) and ``row`` (position of the input row).
    """
    if year is not None:  # only rows that touch the year need splitting
        first, after = np.datetime64(f"{year}-01-01", "s"), np.datetime64(f"{year + 1}-01-01", "s")
        touches = (activity["end_local"].to_numpy() > first) & (activity["start_local"].to_numpy() < after)
        activity = activity.loc[touches]
    row, month, share = month_shares(activity["start_local"].to_numpy(), activity["end_local"].to_numpy())
    out = activity.iloc[row].reset_index(drop=True)
    out["row"] = row
    pieces = np.bincount(row, minlength=len(activity))[row]
    months_since_1970 = month.astype("int64")
    years = months_since_1970 // 12 + 1970
    out["year"] = years
    out["month"] = months_since_1970 % 12 + 1
    out["quantity"] = activity["quantity"].to_numpy(dtype="float64")[row] * share
    out["split"] = pieces > 1
    if year is not None:
        out = out.loc[out["year"] == year].reset_index(drop=True)
    return out


def apply_factors(allocated: pd.DataFrame, choices: pd.DataFrame) -> pd.DataFrame:
    """Emissions and energy for every piece: ``quantity x tco2e_per_unit`` and ``quantity x tce_per_unit``.

    ``choices`` is indexed by (province, carrier) as built by ``carbon.factor_choice.choice_table``.
    """
    keyed = choices.set_index(["province", "carrier"])
    pos = keyed.index.get_indexer(pd.MultiIndex.from_frame(allocated[["province", "carrier"]]))
    if (pos < 0).any():
        missing = allocated.loc[pos < 0, ["province", "carrier"]].drop_duplicates().to_records(index=False)
        raise KeyError(f"no factor choice for {list(missing)}")
    out = allocated.copy()
    q = out["quantity"].to_numpy(dtype="float64")
    out["emissions_tco2e"] = q * keyed["tco2e_per_unit"].to_numpy()[pos]
    out["energy_tce"] = q * keyed["tce_per_unit"].to_numpy()[pos]
    out["factor_ids"] = keyed["factor_ids"].to_numpy()[pos]
    out["factor_reason"] = keyed["reason"].to_numpy()[pos]
    return out


def combustion_co2_factor(ncv_gj_per_unit: float, cc_tc_per_gj: float, oxidation_fraction: float) -> float:
    """Scope-1 combustion factor, t CO2 per unit of fuel: NCV x CC x OF x 44/12 (GB/T 32150)."""
    return ncv_gj_per_unit * cc_tc_per_gj * oxidation_fraction * CO2_PER_C
