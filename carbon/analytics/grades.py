"""Enterprise carbon-efficiency grades (碳效码, Zhejiang's published method); thresholds in
``carbon/data/carbon_efficiency.csv`` with their source and status.

L = emissions / value added (tCO2e per 10^4 CNY); level low / medium / high by L; K = L / the industry's L, where
the industry's L is the division's total emissions over its total value added in the zone for the same year
("企业(行业)周期内总能耗产生的碳排放量/同期增加值"); grade 1 (best) to 5 by K.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select

from carbon import reference
from carbon.analytics.cube import enterprise_results
from carbon.models import Enterprise
from carbon.stats import current_stats


@cache
def thresholds() -> pd.DataFrame:
    """Level and grade bands (``kind``, ``label``, ``upper_bound``; the last band of a kind is open)."""
    with resources.files("carbon").joinpath("data/carbon_efficiency.csv").open(encoding="utf-8") as f:
        return pd.read_csv(f, dtype={"label": str})


def _band(values: pd.Series, kind: str) -> pd.Series:
    bands = thresholds().loc[thresholds()["kind"] == kind]
    bounds = bands["upper_bound"].dropna().to_numpy(dtype=float)
    labels = bands["label"].to_numpy()
    pos = np.searchsorted(bounds, values.to_numpy(dtype=float), side="left")  # value == bound stays in the band
    return pd.Series(labels[pos], index=values.index).where(values.notna())


def grade(emissions: pd.DataFrame, value_added: pd.DataFrame) -> pd.DataFrame:
    """Grades from ``emissions`` (``uscc``, ``division_code``, ``emissions_tco2e``) and ``value_added`` (``uscc``,
    ``value_added_10k_cny``).

    Enterprises without value added are left out (no L can be computed).  Pure.
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
