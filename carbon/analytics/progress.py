"""Dual-carbon indicators for a region and year: totals and year-on-year change, carbon and energy intensity,
progress against every applicable sourced target, electricity shares and key emitters.

Progress against a target: the achieved reduction of the intensity since the base year against the straight
path from the base year to the target year; ``on_track`` at or ahead of the path, ``at_risk`` when at least
``at_risk_share`` of the expected reduction is achieved, else ``off_track``; ``needed_per_year`` is the yearly
reduction still needed from now to reach the target.  A target whose base year has no data says so.

Every comparison with a threshold is made at the precision given next to it in
``carbon/data/analytics_parameters.csv`` (``decimals``, with its source and status), rounded half-up in decimal
terms (``carbon.analytics.precision``): the status bands compare the achieved reduction with the expected one and
with ``at_risk_share`` of it to 0.1 percentage point, and key emitters' yearly sums are compared with the reporting
thresholds in whole tonnes.  The figures returned keep their unrounded values.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from carbon import reference, sources
from carbon.analytics.cube import enterprise_results
from carbon.analytics.precision import at_precision
from carbon.stats import current_stats


@cache
def targets() -> pd.DataFrame:
    """Sourced targets (``carbon/data/targets.csv``)."""
    with resources.files("carbon").joinpath("data/targets.csv").open(encoding="utf-8") as f:
        return pd.read_csv(f, dtype=str, keep_default_na=False)


@cache
def parameters() -> pd.Series:
    """Analytics parameters with their status (``carbon/data/analytics_parameters.csv``), by name."""
    with resources.files("carbon").joinpath("data/analytics_parameters.csv").open(encoding="utf-8") as f:
        return pd.read_csv(f).set_index("name")["value"].astype(float)


@cache
def parameter_decimals() -> pd.Series:
    """To how many decimal places each analytics parameter's comparison is made (``decimals`` in
    ``carbon/data/analytics_parameters.csv``), by name."""
    with resources.files("carbon").joinpath("data/analytics_parameters.csv").open(encoding="utf-8") as f:
        return pd.read_csv(f).set_index("name")["decimals"].astype(int)


def applicable_targets(region: str) -> pd.DataFrame:
    """The region's own targets, its province's and the national ones."""
    province = reference.regions().loc[region, "province"] if region != "zone" else ""
    return targets().loc[targets()["region"].isin([region, province, "CN"]) & (targets()["region"] != "")]


def target_source(target: dict[str, Any]) -> dict[str, Any]:
    """A target's source: its official citation (``source``, in Chinese, as the document is cited; pages show it in
    their language with ``carbon.sources.citation``), the fields it is made of and the link (None when there is
    none).  Pure."""
    record = {k: None if sources.missing(target.get(k)) else target[k] for k in (*sources.SOURCE_FIELDS, "source_url")}
    return {"source": sources.citation(record, "zh"), **record}


def target_progress(
    intensity: pd.Series,
    base_year: int,
    target_year: int,
    reduction: float,
    year: int,
    at_risk_share: float,
    decimals: int | None = None,
) -> dict[str, Any]:
    """Progress of an intensity series (by year) against a reduction target (fraction).  The status compares the
    reductions (fractions) at ``decimals`` places, by default the precision of ``at_risk_share`` in the parameters
    file.  Pure."""
    if base_year not in intensity.index or pd.isna(intensity.get(base_year)):
        return {"status": "no_base_data", "achieved": None, "expected": None, "needed_per_year": None}
    if year not in intensity.index or pd.isna(intensity.get(year)):  # no data this year: never "on track"
        return {"status": "no_data", "achieved": None, "expected": None, "needed_per_year": None}
    achieved = 1 - intensity[year] / intensity[base_year]
    expected = reduction * min(max((year - base_year) / (target_year - base_year), 0), 1)
    d = int(parameter_decimals()["at_risk_share"]) if decimals is None else decimals
    got, on_track, at_risk = at_precision([achieved, expected, at_risk_share * expected], d)
    status = "on_track" if got >= on_track else "at_risk" if got >= at_risk else "off_track"
    left = target_year - year
    ratio = (1 - reduction) / (intensity[year] / intensity[base_year])
    needed = (1 - ratio ** (1 / left)) if left > 0 else None
    return {
        "status": status,
        "achieved": float(achieved),
        "expected": float(expected),
        "needed_per_year": None if needed is None else max(float(needed), 0.0),
    }


TARGET_PATH_COLUMNS = ["target", "indicator", "year", "value"]


def target_path(target: dict[str, Any], base_value: float | None) -> pd.DataFrame:
    """The straight path of a target's intensity from its base-year value to the target (one row a year).  Pure."""
    if base_value is None or pd.isna(base_value):
        return pd.DataFrame(columns=TARGET_PATH_COLUMNS)
    years = range(target["base_year"], target["target_year"] + 1)
    span = target["target_year"] - target["base_year"]
    values = [base_value * (1 - target["reduction"] * (y - target["base_year"]) / span) for y in years]
    return pd.DataFrame(
        {"target": target["id"], "indicator": target["indicator"], "year": list(years), "value": values}
    )


def annual_totals(
    engine: Engine, region: str, years: list[int], basis: str = "location", keep: dict | None = None
) -> pd.DataFrame:
    """Per year, from the stored results: tCO2e, tce, electricity (tce and kWh) and green electricity (kWh) of the
    region's enterprises, and ``enterprises`` with results; a year without any result is NaN (no data), never 0.
    ``keep`` (a dict), if given, receives each year's lines."""
    res = enterprise_results(engine, basis, years=years)
    res = res.loc[res["region"].isin(reference.region_ids(region))]
    electric = res["carrier"].isin(["electricity", "green_electricity"])
    rows = []
    for y in years:
        this = res["year"] == y
        lines = res.loc[this]
        if keep is not None:
            keep[y] = lines
        if lines.empty:
            rows.append({"year": y, "enterprises": 0})
            continue
        rows.append(
            {
                "year": y,
                "emissions_tco2e": float(lines["emissions_tco2e"].sum()),
                "energy_tce": float(lines["energy_tce"].sum()),
                "electricity_tce": float(res.loc[this & electric, "energy_tce"].sum()),
                "electricity_kwh": float(res.loc[this & electric, "quantity_canonical"].sum()),
                "green_electricity_kwh": float(
                    lines.loc[lines["carrier"] == "green_electricity", "quantity_canonical"].sum()
                ),
                "enterprises": int(lines["enterprise_uscc"].nunique()),
            }
        )
    columns = [
        "year", "emissions_tco2e", "energy_tce", "electricity_tce", "electricity_kwh", "green_electricity_kwh",
        "enterprises",
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=columns).set_index("year")


def region_gdp(engine: Engine, region: str, year: int) -> float | None:
    """GDP (10^4 CNY) of a region; the zone's is the sum of its jurisdictions' when not given itself."""
    gdp = current_stats(engine, "gdp", year).set_index("subject_id")["value_10k_cny"]
    if region in gdp.index:
        return float(gdp[region])
    parts = reference.region_ids(region)
    return float(gdp[parts].sum()) if region == "zone" and set(parts) <= set(gdp.index) else None


def is_key_emitter(tco2e: pd.Series, tce: pd.Series) -> pd.Series:
    """Whether yearly sums (tCO2e, tce) reach either reporting threshold, compared at the thresholds' precision
    (whole tonnes).  Pure."""
    p, d = parameters(), parameter_decimals()
    return (at_precision(tco2e, d["key_emitter_tco2e"]) >= p["key_emitter_tco2e"]) | (
        at_precision(tce, d["key_emitter_tce"]) >= p["key_emitter_tce"]
    )


def key_emitters(lines: pd.DataFrame) -> pd.DataFrame:
    """Enterprises at or over the reporting threshold (tCO2e or tce a year) among a year's result lines, the yearly
    sums compared in whole tonnes (``is_key_emitter``).  Pure."""
    per = lines.groupby("enterprise_uscc")[["emissions_tco2e", "energy_tce"]].sum()
    hit = per.loc[is_key_emitter(per["emissions_tco2e"], per["energy_tce"])]
    return hit.sort_values("emissions_tco2e", ascending=False).reset_index()


def progress(engine: Engine, region: str, year: int, basis: str = "location") -> dict[str, Any]:
    """Every indicator of the region for ``year`` (see the module docstring)."""
    wanted = applicable_targets(region)
    years = sorted({year, year - 1, *wanted["base_year"].astype(int)})
    lines: dict[int, pd.DataFrame] = {}
    totals = annual_totals(engine, region, years, basis, keep=lines)
    gdp = pd.Series({y: region_gdp(engine, region, y) for y in years}, dtype=float)
    intensity = {
        "carbon_intensity_tco2e_per_10k_cny": totals["emissions_tco2e"] / gdp,
        "energy_intensity_tce_per_10k_cny": totals["energy_tce"] / gdp,
    }
    now, before = totals.loc[year], totals.loc[year - 1]

    def share(part: float, whole: float) -> float | None:
        return None if pd.isna(part) or pd.isna(whole) or not whole else float(part / whole)

    def figure(x: float) -> float | None:
        return None if pd.isna(x) else float(x)

    results = []
    for t in wanted.itertuples(index=False):
        series = intensity[t.indicator].where(totals["emissions_tco2e"] > 0)
        results.append(
            {
                "id": t.id,
                "region": t.region,
                "indicator": t.indicator,
                "base_year": int(t.base_year),
                "target_year": int(t.target_year),
                "reduction": float(t.reduction_percent) / 100,
                "qualifier": t.qualifier,
                **target_source(t._asdict()),
                **target_progress(
                    series,
                    int(t.base_year),
                    int(t.target_year),
                    float(t.reduction_percent) / 100,
                    year,
                    parameters()["at_risk_share"],
                ),
            }
        )
    return {
        "region": region,
        "year": year,
        "basis": basis,
        "enterprises": int(now["enterprises"]),
        "emissions_tco2e": figure(now["emissions_tco2e"]),
        "energy_tce": figure(now["energy_tce"]),
        "emissions_change_yoy": (
            None if (c := share(now["emissions_tco2e"], before["emissions_tco2e"])) is None else c - 1
        ),
        "gdp_10k_cny": figure(gdp[year]),
        "carbon_intensity_tco2e_per_10k_cny": share(now["emissions_tco2e"], gdp[year]),
        "energy_intensity_tce_per_10k_cny": share(now["energy_tce"], gdp[year]),
        "electricity_share_of_energy": share(now["electricity_tce"], now["energy_tce"]),
        "green_share_of_electricity": share(now["green_electricity_kwh"], now["electricity_kwh"]),
        "targets": results,
        "key_emitters": key_emitters(lines[year]).to_dict("records"),
    }
