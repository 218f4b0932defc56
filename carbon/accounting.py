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


def _split(
    start: np.ndarray, end: np.ndarray, within: tuple[int, int] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(row, month, share, split)`` of the pieces of periods ``[start, end)`` (``datetime64[s]``) over calendar
    months, ordered by row and month: months as months since 1970-01 (int64), ``split`` True for the pieces of rows
    that cross a month boundary.  ``within``: the first and last month (months since 1970-01) to make pieces for;
    every row must overlap it.  A row inside one month is one piece with share exactly 1: only the rows that cross
    a month boundary are expanded and take the overlap arithmetic."""
    first = _months_since_1970(start)
    last = _months_since_1970(end - np.timedelta64(1, "s"))
    crossing = last > first
    if within is not None:
        first, last = np.maximum(first, within[0]), np.minimum(last, within[1])
    n = last - first + 1
    if (n == 1).all():
        row = np.arange(len(start))
        month = first
    else:
        index = np.arange(len(start), dtype="int32" if len(start) < 2**31 else "int64")
        row = np.repeat(index, n).astype("int64")
        month = first[row]
        spread = np.flatnonzero((n > 1)[row])  # pieces after a row's first: one month on each
        month[spread] += spread - (np.cumsum(n) - n)[row[spread]]
    split = crossing[row]
    share = np.ones(len(row))
    cross = np.flatnonzero(split)
    if len(cross):
        r, m = row[cross], month[cross]
        lo = int(m.min())
        bounds = np.arange(lo, int(m.max()) + 2).astype("datetime64[M]").astype("datetime64[s]")  # month starts
        overlap = np.minimum(end[r], bounds[m - lo + 1]) - np.maximum(start[r], bounds[m - lo])
        share[cross] = overlap.astype("float64") / (end[r] - start[r]).astype("float64")
    return row, month, share, split


def month_shares(start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split periods ``[start, end)`` over calendar months in proportion to time.

    Returns ``(row, month, share)``: for each piece the index of its input row, its month
    (``datetime64[M]``) and the fraction of the row's duration that falls in that month, ordered by row and
    month.  Shares of one row add up to 1; a row inside one month is one piece with share exactly 1.
    """
    row, month, share, _ = _split(np.asarray(start, dtype="datetime64[s]"), np.asarray(end, dtype="datetime64[s]"))
    return row, month.view("datetime64[M]"), share


def allocate_to_months(
    activity: pd.DataFrame, year: int | None = None, *, carry: list[str] | None = None
) -> pd.DataFrame:
    """Spread activity rows over calendar months; keep only ``year`` if given.

    ``activity`` needs ``start_local``, ``end_local`` (datetime64) and ``quantity``; the columns ``carry`` (by
    default every column) are carried along.  Adds ``year``, ``month`` (1-12), ``quantity`` (the month's part) and
    ``split`` (True where the row crossed a month boundary) and ``row`` (position of the input row among the rows
    that touch ``year``).  Pieces are ordered by row and month; only the pieces of ``year`` are made, and the
    carried columns are gathered once for them.
    """
    start = activity["start_local"].to_numpy(dtype="datetime64[s]")
    end = activity["end_local"].to_numpy(dtype="datetime64[s]")
    source = None  # rows that touch the year, None: all
    within = None
    if year is not None:  # only rows that touch the year are split, over its months only
        first, after = np.datetime64(f"{year}-01-01", "s"), np.datetime64(f"{year + 1}-01-01", "s")
        touches = (end > first) & (start < after)
        if not touches.all():
            source = np.flatnonzero(touches)
            start, end = start[source], end[source]
        within = ((year - 1970) * 12, (year - 1970) * 12 + 11)
    row, months_since_1970, share, split = _split(start, end, within)
    if len(row) != len(start):
        source = row if source is None else source[row]
    elif source is None:
        row = np.arange(len(start))
    columns = list(activity.columns if carry is None else carry)
    others = activity[[c for c in columns if c != "quantity"]]
    out = others.reset_index(drop=True) if source is None else others.take(source).reset_index(drop=True)
    quantity = activity["quantity"].to_numpy(dtype="float64")
    quantity = (quantity if source is None else quantity[source]) * share
    out.insert(columns.index("quantity") if "quantity" in columns else len(out.columns), "quantity", quantity)
    out["row"] = row
    out["year"] = months_since_1970 // 12 + 1970
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
    if (codes < 0).any():  # codes stay as narrow as they come (a categorical's int8/int16) unless NaN needs one more
        codes = np.where(codes < 0, len(uniques), codes.astype("int64"))
        uniques = np.append(uniques, np.nan if uniques.dtype.kind == "f" else None)
    return codes, uniques


def group_ids(codes: list[np.ndarray], sizes: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Group of every element by several integer keys (``codes[i]`` in ``0..sizes[i]-1``): ``(group, rep)``,
    ``group`` numbering the distinct key combinations ``0..g-1`` in lexicographic order of the keys (as a sorted
    ``groupby``), ``rep`` the position of one element of each group.  Mixed-radix keys, counted into a dense
    table when it is small, else factorized."""
    key = codes[0].astype("int64")
    space = sizes[0]
    for c, size in zip(codes[1:], sizes[1:], strict=True):
        if space * size >= 2**62:  # renumber the combinations so far before the key would overflow
            uniques, key = np.unique(key, return_inverse=True)
            space = len(uniques)
        key *= size
        key += c
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
