"""Enterprise carbon-efficiency grades (碳效码, Zhejiang's published method); thresholds in
``carbon/data/carbon_efficiency.csv`` with their source and status.

L = emissions / value added (tCO2e per 10^4 CNY); level low / medium / high by L; K = L / the industry's L, where
the industry's L is the division's total emissions over its total value added in the zone for the same year
("企业(行业)周期内总能耗产生的碳排放量/同期增加值"); grade 1 (best) to 5 by K.

L and K are compared with the thresholds at the precision the data file gives for them (``decimals``, with its
source and status), rounded half-up in decimal terms (``carbon.analytics.precision``): a K computed as
0.8000000000000002 is 0.80 and grade 2.  The ``l_tco2e_per_10k_cny`` and ``k`` columns keep the unrounded values.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select

from carbon import reference
from carbon.analytics.cube import enterprise_results
from carbon.analytics.precision import at_precision
from carbon.models import Enterprise
from carbon.stats import current_stats


@cache
def thresholds() -> pd.DataFrame:
    """Level and grade bands (``kind``, ``label``, ``upper_bound``, ``decimals``; the last band of a kind is open)."""
    with resources.files("carbon").joinpath("data/carbon_efficiency.csv").open(encoding="utf-8") as f:
        return pd.read_csv(f, dtype={"label": str})


def _precision(bands: pd.DataFrame, kind: str) -> int:
    """The precision of a kind's bands: one for all its rows, and one that states every bound as published."""
    decimals = bands["decimals"].unique()
    if len(decimals) != 1:
        raise ValueError(f"carbon_efficiency.csv: the {kind} bands give different decimals: {sorted(decimals)}")
    bounds = bands["upper_bound"].dropna().to_numpy(dtype=float)
    if not np.array_equal(at_precision(bounds, int(decimals[0])), bounds):
        raise ValueError(f"carbon_efficiency.csv: a {kind} bound has more places than decimals ({decimals[0]})")
    return int(decimals[0])


def _band(values: pd.Series, kind: str) -> pd.Series:
    """The band of each value, compared with the upper bounds at the kind's published precision."""
    bands = thresholds().loc[thresholds()["kind"] == kind]
    stated = at_precision(values.to_numpy(dtype=float), _precision(bands, kind))
    bounds = bands["upper_bound"].dropna().to_numpy(dtype=float)
    labels = bands["label"].to_numpy()
    pos = np.searchsorted(bounds, stated, side="left")  # value == bound stays in the band
    return pd.Series(labels[pos], index=values.index).where(values.notna())


def grade(emissions: pd.DataFrame, value_added: pd.DataFrame) -> pd.DataFrame:
    """Grades from ``emissions`` (``uscc``, ``division_code``, ``emissions_tco2e``) and ``value_added`` (``uscc``,
    ``value_added_10k_cny``).

    Enterprises without value added are left out (no L can be computed).  Levels and grades compare L and K with
    the thresholds at their published precision.  Pure.
    """
    df = emissions.merge(value_added, on="uscc", how="inner")
    df = df.loc[df["value_added_10k_cny"] > 0].copy()
    df["l_tco2e_per_10k_cny"] = df["emissions_tco2e"] / df["value_added_10k_cny"]
    by_division = df.groupby("division_code")[["emissions_tco2e", "value_added_10k_cny"]].transform("sum")
    df["industry_l_tco2e_per_10k_cny"] = by_division["emissions_tco2e"] / by_division["value_added_10k_cny"]
    df["k"] = df["l_tco2e_per_10k_cny"] / df["industry_l_tco2e_per_10k_cny"]
    df["level"] = _band(df["l_tco2e_per_10k_cny"], "level")
    df["grade"] = pd.to_numeric(_band(df["k"], "grade")).astype("Int64")
    return df.sort_values(["grade", "l_tco2e_per_10k_cny"]).reset_index(drop=True)


def grade_year(engine: Engine, year: int, basis: str = "location") -> pd.DataFrame:
    """Grades of every enterprise with stored results and value added for ``year`` (emissions on ``basis``).

    An enterprise without results for the year is not graded (no data is not zero emissions), nor is one without
    value added; neither counts in its industry's L."""
    res = enterprise_results(engine, basis, years=[year])
    with engine.connect() as conn:
        ents = pd.read_sql(
            select(Enterprise.uscc, Enterprise.name, Enterprise.region_id, Enterprise.division_code),
            conn,
        )
    totals = res.groupby("enterprise_uscc", as_index=False)["emissions_tco2e"].sum()
    emissions = ents.merge(totals.rename(columns={"enterprise_uscc": "uscc"}), on="uscc", how="inner")
    va = current_stats(engine, "value_added", year).rename(
        columns={"subject_id": "uscc", "value_10k_cny": "value_added_10k_cny"}
    )
    out = grade(emissions, va[["uscc", "value_added_10k_cny", "status"]])
    out["division_name"] = out["division_code"].map(reference.industry_divisions()["name_zh"])
    return out
