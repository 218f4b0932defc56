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


def _months_since_1970(t: np.ndarray) -> np.ndarray:
    """Calendar month (months since 1970-01, int64) of ``datetime64[s]`` values, through a day -> month table
    over their span: a table look-up instead of numpy's ``datetime64[M]`` cast (calendar arithmetic per value)."""
    days = t.astype("int64") // 86400
    if len(days) and not np.isnat(t).any():
        lo, hi = int(days.min()), int(days.max())
        if hi - lo <= 1_000_000:  # spans up to ~2,700 years
            table = np.arange(lo, hi + 1).astype("datetime64[D]").astype("datetime64[M]").astype("int64")
            return table[days - lo]
    return t.astype("datetime64[M]").astype("int64")


def month_shares(start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split periods ``[start, end)`` over calendar months in proportion to time.

    Returns ``(row, month, share)``: for each piece the index of its input row, its month
    (``datetime64[M]``) and the fraction of the row's duration that falls in that month, ordered by row and
    month.  Shares of one row add up to 1; a row inside one month is one piece with share exactly 1 (only the
    rows that cross a month boundary are expanded and take the overlap arithmetic).
    """
    start = np.asarray(start, dtype="datetime64[s]")
    end = np.asarray(end, dtype="datetime64[s]")
    first = _months_since_1970(start)
    n = _months_since_1970(end - np.timedelta64(1, "s")) - first + 1
    crossing = n > 1
    if not crossing.any():  # every row inside one month: one piece each, nothing to spread
        return np.arange(len(start)), first.view("datetime64[M]"), np.ones(len(start))
    index = np.arange(len(start), dtype="int32" if len(start) < 2**31 else "int64")
    row = np.repeat(index, n).astype("int64")
    month = first[row]
    share = np.ones(len(row))
    multi = np.flatnonzero(crossing[row])
    r = row[multi]
    month[multi] += multi - (np.cumsum(n) - n)[r]
    m = month[multi]
    lo = int(m.min())
    bounds = np.arange(lo, int(m.max()) + 2).astype("datetime64[M]").astype("datetime64[s]")  # month starts
    overlap = np.minimum(end[r], bounds[m - lo + 1]) - np.maximum(start[r], bounds[m - lo])
    share[multi] = overlap.astype("float64") / (end[r] - start[r]).astype("float64")
    return row, month.view("datetime64[M]"), share


def allocate_to_months(
    activity: pd.DataFrame, year: int | None = None, *, carry: list[str] | None = None
) -> pd.DataFrame:
    """Spread activity rows over calendar months; keep only ``year`` if given.

    ``activity`` needs ``start_local``, ``end_local`` (datetime64) and ``quantity``; the columns ``carry`` (by
    default every column) are carried along.  Adds ``year``, ``month`` (1-12), ``quantity`` (the month's part) and
    ``split`` (True where the row crossed a month boundary) and ``row`` (position of the input row among the rows
    that touch ``year``).  Pieces are ordered by row and month; the carried columns are gathered once, for the
    pieces kept (a row inside one month is its own piece, only crossing rows are expanded).
    """
    start = activity["start_local"].to_numpy(dtype="datetime64[s]")
    end = activity["end_local"].to_numpy(dtype="datetime64[s]")
    touching = np.arange(len(activity))
    if year is not None:  # only rows that touch the year need splitting
        first, after = np.datetime64(f"{year}-01-01", "s"), np.datetime64(f"{year + 1}-01-01", "s")
        touching = np.flatnonzero((end > first) & (start < after))
        start, end = start[touching], end[touching]
    row, month, share = month_shares(start, end)
    months_since_1970 = month.view("int64")
    years = months_since_1970 // 12 + 1970
    split = np.bincount(row, minlength=len(start))[row] > 1
    if year is not None and len(row):
        kept = np.flatnonzero(years == year)
        if len(kept) < len(row):
            row, share, months_since_1970, years, split = (
                x[kept] for x in (row, share, months_since_1970, years, split)
            )
    source = touching[row]
    columns = list(activity.columns if carry is None else carry)
    others = activity[[c for c in columns if c != "quantity"]]
    if len(source) == len(activity) and (source == np.arange(len(activity))).all():
        out = others.reset_index(drop=True)  # every row one piece: nothing to gather
    else:
        out = others.take(source).reset_index(drop=True)
    quantity = activity["quantity"].to_numpy(dtype="float64")[source] * share
    out.insert(columns.index("quantity") if "quantity" in columns else len(out.columns), "quantity", quantity)
    out["row"] = row
    out["year"] = years
    out["month"] = months_since_1970 % 12 + 1
    out["split"] = split
    return out


def key_codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of a grouping column and the values they stand for: ``(codes, values)``, codes ``0..k-1``
    in the order a sorted ``groupby`` gives (a categorical's category order, else sorted), a missing value
    (NaN/None) last as code ``k-1`` (as ``groupby(dropna=False)``)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy()
        uniques = values.cat.categories.to_numpy()
    else:
        codes, index = pd.factorize(values, sort=True, use_na_sentinel=True)
        uniques = np.asarray(index, dtype=object) if index.dtype == object else index.to_numpy()
    codes = codes.astype("int64", copy=False)
    if (codes < 0).any():
        codes = np.where(codes < 0, len(uniques), codes)
        uniques = np.append(uniques, np.nan if uniques.dtype.kind == "f" else None)
    return codes, uniques


def group_ids(codes: list[np.ndarray], sizes: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Group of every element by several integer keys (``codes[i]`` in ``0..sizes[i]-1``): ``(group, rep)``,
    ``group`` numbering the distinct key combinations ``0..g-1`` in lexicographic order of the keys (as a sorted
    ``groupby``), ``rep`` the position of one element of each group.  Mixed-radix keys, counted into a dense
    table when it is small, else factorized."""
    key = np.zeros(len(codes[0]), dtype="int64")
    space = 1
    for c, size in zip(codes, sizes, strict=True):
        if space * size >= 2**62:  # renumber the combinations so far before the key would overflow
            uniques, key = np.unique(key, return_inverse=True)
            space = len(uniques)
        key = key * size + c
        space *= size
    if space <= max(4 * len(key), 1 << 20):
        rep = np.full(space, -1, dtype="int64")
        rep[key] = np.arange(len(key))
        present = np.flatnonzero(rep >= 0)
        number = np.empty(space, dtype="int64")
        number[present] = np.arange(len(present))
        return number[key], rep[present]
    group, uniques = pd.factorize(key, sort=True)
    rep = np.empty(len(uniques), dtype="int64")
    rep[group] = np.arange(len(key))
    return group.astype("int64", copy=False), rep


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
