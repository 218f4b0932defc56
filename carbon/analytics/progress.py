"""Dual-carbon indicators for a region and year: totals and year-on-year change of the monitored enterprises, their
carbon and energy intensity over their own value added, the state of every applicable sourced target, electricity
shares and key emitters.

What the figures cover: every total here is the sum of the monitored enterprises' results (the enterprises that
report to the system), not the region's emissions or energy use.  An intensity divides like by like: the monitored
enterprises' emissions (or energy) over the same enterprises' value added (``monitored_*`` fields; enterprises
without value added for the year are left out of both).  Regional GDP is given as a statistic, never divided into
the monitored enterprises' emissions.

Targets (``carbon/data/targets.csv``) are regional: the zone's, a province's or the country's intensity per unit
of GDP.  A region is assessed on its regional inventory (``carbon.analytics.inventory``: energy-activity emissions
and energy from the regional energy statistics) over its GDP, ``inventory_intensity``: where the inventory and the
GDP exist for the target's base year and the year, the status is ``on_track``, ``at_risk`` or ``off_track``
(``assessed_on`` ``inventory``); where they do not, ``not_assessable`` (无法评估 / cannot be assessed) with the
``reason`` (``no_regional_statistics``, ``no_net_import``, ``no_fuel_use``, ``not_all_jurisdictions``, ``no_gdp``).
Never "on track" from the monitored enterprises' sums.  Beside the status each target gives the reduction its
straight path expects by the year (``expected``) and, for reference only, how much the monitored enterprises' own
intensity fell since the base year (``monitored_achieved``, over the enterprises with results and value added in
both years).  ``target_title`` words a target as published ("下降15%左右").  The inventory's figures and the
assessment are made in one place, ``inventory_intensity`` and ``assess_target``, where a band can be attached.

``target_progress`` measures one intensity series against a target's straight path (``on_track`` at or ahead of
the path, ``at_risk`` when at least ``at_risk_share`` of the expected reduction is achieved, else ``off_track``;
``needed_per_year`` the yearly reduction still needed): the targets page uses it for an enterprise's own intensity
against the regional path as a reference.  The status bands compare the reductions at the precision given next to
``at_risk_share`` in ``carbon/data/analytics_parameters.csv`` (0.1 percentage point), rounded half-up in decimal
terms (``carbon.analytics.precision``); key emitters' yearly sums are compared with the reporting thresholds in
whole tonnes.  The figures returned keep their unrounded values.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import pandas as pd
from sqlalchemy import Engine, select

from carbon import codes, fields, reference, sources
from carbon.analytics import uncertainty
from carbon.analytics.cube import enterprise_results
from carbon.analytics.inventory import inventory_lines, inventory_totals
from carbon.analytics.precision import at_precision
from carbon.models import Enterprise
from carbon.regional_energy import weakest_status
from carbon.stats import current_stats

# the status of a regional target without the region's inventory and GDP for the year and its base year
NOT_ASSESSABLE = "not_assessable"
NO_GDP = "no_gdp"
# the status of a regional target whose band straddles its path: neither on track nor off it, as far as we know
CANNOT_TELL = "cannot_tell"
# a target's indicator -> the inventory intensity of the same kind
INVENTORY = {
    "carbon_intensity_tco2e_per_10k_cny": "inventory_carbon_intensity_tco2e_per_10k_cny",
    "energy_intensity_tce_per_10k_cny": "inventory_energy_intensity_tce_per_10k_cny",
}
INTENSITY_COLUMNS = [
    "year", "inventory_emissions_tco2e", "inventory_energy_tce", "gdp_10k_cny",
    "inventory_carbon_intensity_tco2e_per_10k_cny", "inventory_energy_intensity_tce_per_10k_cny",
    "inventory_status", "inventory_releases", "inventory_reason",
    "inventory_carbon_intensity_lower_tco2e_per_10k_cny", "inventory_carbon_intensity_upper_tco2e_per_10k_cny",
    "inventory_energy_intensity_lower_tce_per_10k_cny", "inventory_energy_intensity_upper_tce_per_10k_cny",
    "inventory_emissions_lower_tco2e", "inventory_emissions_upper_tco2e", "inventory_energy_lower_tce",
    "inventory_energy_upper_tce",
]  # fmt: skip
# the ends of the 95 % bands of the inventory's figures, in ``progress``
BAND_FIGURES = [
    "inventory_emissions_lower_tco2e", "inventory_emissions_upper_tco2e", "inventory_energy_lower_tce",
    "inventory_energy_upper_tce",
    "inventory_carbon_intensity_lower_tco2e_per_10k_cny", "inventory_carbon_intensity_upper_tco2e_per_10k_cny",
    "inventory_energy_intensity_lower_tce_per_10k_cny", "inventory_energy_intensity_upper_tce_per_10k_cny",
]  # fmt: skip
# an inventory intensity -> the lower and upper ends of its 95 % band
BAND = {
    "inventory_carbon_intensity_tco2e_per_10k_cny": (
        "inventory_carbon_intensity_lower_tco2e_per_10k_cny", "inventory_carbon_intensity_upper_tco2e_per_10k_cny"
    ),
    "inventory_energy_intensity_tce_per_10k_cny": (
        "inventory_energy_intensity_lower_tce_per_10k_cny", "inventory_energy_intensity_upper_tce_per_10k_cny"
    ),
}  # fmt: skip
# a target's indicator -> the monitored enterprises' intensity of the same kind and the figure it divides
MONITORED = {
    "carbon_intensity_tco2e_per_10k_cny": ("monitored_carbon_intensity_tco2e_per_10k_cny", "emissions_tco2e"),
    "energy_intensity_tce_per_10k_cny": ("monitored_energy_intensity_tce_per_10k_cny", "energy_tce"),
}
TOTALS_COLUMNS = [
    "year", "emissions_tco2e", "energy_tce", "electricity_tce", "electricity_kwh", "green_electricity_kwh",
    "enterprises", "monitored_value_added_10k_cny", "enterprises_with_value_added",
    "monitored_carbon_intensity_tco2e_per_10k_cny", "monitored_energy_intensity_tce_per_10k_cny",
]  # fmt: skip


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


# --- wording ----------------------------------------------------------------------------------------------------


def target_region(region_id: str, lang: str = "zh") -> str:
    """Name of a target's region: the zone or a jurisdiction, a province or the country (``carbon.codes.area``).
    ``KeyError`` for an unknown region."""
    return codes.area(region_id, lang)


@cache
def target_title(target_id: str, lang: str = "zh") -> str:
    """A target as published, with its region: ``全国：2025年能耗强度较2020年下降13.5%``,
    ``长三角生态绿色一体化发展示范区：2025年能耗强度较2020年下降15%左右`` / ``China: energy intensity 13.5 % below
    2020 by 2025``, ``...: carbon intensity more than 20 % below 2020 by 2025``.  The percentage is the file's own
    text, the qualifier (about, more than) its label in ``codes.csv``.  ``KeyError`` for an unknown target id."""
    table = targets().set_index("id")
    if target_id not in table.index:
        raise KeyError(f"{target_id!r} is not a target of carbon/data/targets.csv")
    t = table.loc[target_id]
    what, cut, q = fields.label(t["indicator"], lang), t["reduction_percent"].strip(), t["qualifier"]
    where = target_region(t["region"], lang)
    if lang == "zh":
        tail = "" if q == "exact" else codes.label("qualifier", q, "zh")
        return f"{where}：{t['target_year']}年{what}较{t['base_year']}年下降{cut}%{tail}"
    lead = "" if q == "exact" else codes.label("qualifier", q, "en") + " "
    return f"{where}: {what} {lead}{cut} % below {t['base_year']} by {t['target_year']}"


def target_state(status: str, reason: str | None = None, lang: str = "zh") -> str:
    """A target's state as a person reads it: ``进度正常`` / ``on track``, or why it cannot be assessed:
    ``无法评估：无地区能源统计数据`` / ``cannot be assessed: no regional energy statistics``.  ``KeyError`` for an
    unknown code."""
    text = codes.label("target_status", status, lang)
    if status != NOT_ASSESSABLE or not isinstance(reason, str):
        return text
    return (
        f"{text}：{codes.label('inventory_missing', reason, 'zh')}"
        if lang == "zh"
        else (f"{text}: {codes.label('inventory_missing', reason, 'en')}")
    )


def family_title(indicator: str, target_year: int, lang: str = "zh") -> str:
    """Heading of a family of targets (one indicator, one target year): ``2025年能耗强度目标`` /
    ``energy-intensity targets for 2025``."""
    if lang == "zh":
        return f"{target_year}年{fields.label(indicator, 'zh')}目标"
    return f"{fields.label(indicator, 'en').replace(' ', '-')} targets for {target_year}"


# --- pure measures ----------------------------------------------------------------------------------------------


def expected_reduction(reduction: float, base_year: int, target_year: int, year: int) -> float:
    """The reduction (fraction) the straight path from the base year to the target expects by ``year``.  Pure."""
    return reduction * min(max((year - base_year) / (target_year - base_year), 0), 1)


def target_progress(
    intensity: pd.Series,
    base_year: int,
    target_year: int,
    reduction: float,
    year: int,
    at_risk_share: float,
    decimals: int | None = None,
) -> dict[str, Any]:
    """Progress of one intensity series (by year) against a reduction target (fraction).  The status compares the
    reductions (fractions) at ``decimals`` places, by default the precision of ``at_risk_share`` in the parameters
    file.  Used for a series that covers what the target measures, or (the targets page) an enterprise's own
    intensity against a regional path as a reference.  Pure."""
    if base_year not in intensity.index or pd.isna(intensity.get(base_year)):
        return {"status": "no_base_data", "achieved": None, "expected": None, "needed_per_year": None}
    if year not in intensity.index or pd.isna(intensity.get(year)):  # no data this year: never "on track"
        return {"status": "no_data", "achieved": None, "expected": None, "needed_per_year": None}
    achieved = 1 - intensity[year] / intensity[base_year]
    expected = expected_reduction(reduction, base_year, target_year, year)
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


def monitored_intensity(lines: pd.DataFrame, value_added: pd.Series) -> dict[str, Any]:
    """The monitored enterprises' intensities over their own value added, from one year's result lines
    (``enterprise_uscc``, ``emissions_tco2e``, ``energy_tce``) and value added (10^4 CNY, by USCC): only the
    enterprises with results and a positive value added count, in the numerator and the denominator alike.
    No such enterprise: the figures are None (no data), the count 0.  Pure."""
    per = lines.groupby("enterprise_uscc")[["emissions_tco2e", "energy_tce"]].sum()
    va = value_added.reindex(per.index)
    both = per.loc[va.notna() & (va > 0)]
    total = float(va[both.index].sum())
    if both.empty:
        return {
            "monitored_value_added_10k_cny": None,
            "enterprises_with_value_added": 0,
            "monitored_carbon_intensity_tco2e_per_10k_cny": None,
            "monitored_energy_intensity_tce_per_10k_cny": None,
        }
    return {
        "monitored_value_added_10k_cny": total,
        "enterprises_with_value_added": len(both),
        "monitored_carbon_intensity_tco2e_per_10k_cny": float(both["emissions_tco2e"].sum()) / total,
        "monitored_energy_intensity_tce_per_10k_cny": float(both["energy_tce"].sum()) / total,
    }


def panel_reduction(
    base: pd.DataFrame, now: pd.DataFrame, va_base: pd.Series, va_now: pd.Series, column: str
) -> tuple[float | None, int]:
    """How much the intensity (``column`` over value added) of the same monitored enterprises fell from a base year
    to now: 1 - (sum now / VA now) / (sum base / VA base), over the enterprises with results and a positive value
    added in both years (``base`` and ``now`` are result lines, the value added 10^4 CNY by USCC).  Returns the
    reduction (None when no enterprise is in both years) and the number of enterprises compared.  Pure."""
    sums = [lines.groupby("enterprise_uscc")[column].sum() for lines in (base, now)]
    vas = [va.reindex(s.index) for va, s in zip((va_base, va_now), sums, strict=True)]
    keep = sorted(set(sums[0].index[vas[0].notna() & (vas[0] > 0)]) & set(sums[1].index[vas[1].notna() & (vas[1] > 0)]))
    if not keep:
        return None, 0
    b, n = (s[keep].sum() / v[keep].sum() for s, v in zip(sums, vas, strict=True))
    return (None if not b else float(1 - n / b)), len(keep)


def panel_change(before: pd.DataFrame, now: pd.DataFrame, column: str) -> tuple[float | None, int]:
    """The change of ``column`` (e.g. ``emissions_tco2e``) from one year's result lines to another's, like for like:
    the sum now over the sum before of the enterprises with results in both years, minus 1.  Returns the change
    (None when no enterprise is in both years or their sum before is 0) and the number of enterprises compared.
    Pure."""
    sums = [lines.groupby("enterprise_uscc")[column].sum() for lines in (before, now)]
    keep = sums[0].index.intersection(sums[1].index)
    b = sums[0][keep].sum()
    return (None if keep.empty or not b else float(sums[1][keep].sum() / b - 1)), len(keep)


def jurisdiction_targets(rows: list[dict[str, Any]], region: str) -> list[dict[str, Any]]:
    """Of a jurisdiction's applicable targets (the ``targets`` of ``progress``), one per family (indicator and
    target year): its own if it has one, else its province's, else the national one.  Energy intensity first, then
    carbon intensity, each by target year.  Pure."""
    rank = {region: 0, reference.regions().loc[region, "province"]: 1, "CN": 2}
    order = list(MONITORED)[::-1]  # energy, carbon
    best: dict[tuple[str, int], dict[str, Any]] = {}
    for t in rows:
        key = (t["indicator"], t["target_year"])
        if key not in best or rank.get(t["region"], 3) < rank.get(best[key]["region"], 3):
            best[key] = t
    return [best[k] for k in sorted(best, key=lambda k: (order.index(k[0]), k[1]))]


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


# --- from the database ------------------------------------------------------------------------------------------


def yearly_inputs(
    engine: Engine, region: str, years: list[int], basis: str = "location"
) -> tuple[dict[int, pd.DataFrame], dict[int, pd.Series], dict[int, pd.DataFrame]]:
    """Per year, the result lines that count in the region (stored results; a line counts where its site is), the
    current value added of enterprises (10^4 CNY by USCC; an empty series for a year without results), and the
    whole lines (every site) of the enterprises registered in the region: what an enterprise's own figures
    (intensity over its value added, key-emitter status) rest on, since its value added is not split by site."""
    parts = reference.region_ids(region)
    res = enterprise_results(engine, basis, years=years)
    with engine.connect() as conn:
        registered = set(conn.execute(select(Enterprise.uscc).where(Enterprise.region_id.in_(parts))).scalars())
    inside, theirs = res.loc[res["region"].isin(parts)], res.loc[res["enterprise_uscc"].isin(registered)]
    lines = {y: inside.loc[inside["year"] == y] for y in years}
    own = {y: theirs.loc[theirs["year"] == y] for y in years}
    empty = pd.Series(dtype=float)
    va = {
        y: (
            current_stats(engine, "value_added", y).set_index("subject_id")["value_10k_cny"]
            if len(lines[y]) or len(own[y])
            else empty
        )
        for y in years
    }
    return lines, va, own


def totals_of(
    lines: dict[int, pd.DataFrame],
    value_added: dict[int, pd.Series],
    own: dict[int, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """Per year (index): tCO2e, tce, electricity (tce and kWh) and green electricity (kWh) of the monitored
    enterprises' ``lines`` (those that count in the region), ``enterprises`` with results there, and the
    intensities over their own value added (``monitored_intensity``) of the enterprises in ``own`` (the whole lines
    of those registered in the region; by default ``lines``); a year without any result is NaN (no data), never 0.
    Pure."""
    own = lines if own is None else own
    rows = []
    for y, year_lines in lines.items():
        if year_lines.empty:
            rows.append({"year": y, "enterprises": 0, "enterprises_with_value_added": 0})
            continue
        electric = year_lines["carrier"].isin(["electricity", "green_electricity"])
        green = year_lines["carrier"] == "green_electricity"
        rows.append(
            {
                "year": y,
                "emissions_tco2e": float(year_lines["emissions_tco2e"].sum()),
                "energy_tce": float(year_lines["energy_tce"].sum()),
                "electricity_tce": float(year_lines.loc[electric, "energy_tce"].sum()),
                "electricity_kwh": float(year_lines.loc[electric, "quantity_canonical"].sum()),
                "green_electricity_kwh": float(year_lines.loc[green, "quantity_canonical"].sum()),
                "enterprises": int(year_lines["enterprise_uscc"].nunique()),
                **monitored_intensity(own[y], value_added[y]),
            }
        )
    out = pd.DataFrame(rows, columns=TOTALS_COLUMNS).set_index("year")
    return out.astype(
        {c: float for c in TOTALS_COLUMNS[1:] if c not in ("enterprises", "enterprises_with_value_added")}
    )


def annual_totals(
    engine: Engine, region: str, years: list[int], basis: str = "location", keep: dict | None = None
) -> pd.DataFrame:
    """``totals_of`` the region's stored results for ``years``.  ``keep`` (a dict), if given, receives each year's
    lines."""
    lines, va, own = yearly_inputs(engine, region, years, basis)
    if keep is not None:
        keep.update(lines)
    return totals_of(lines, va, own)


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


def inventory_intensity(engine: Engine, region: str, years: list[int], basis: str = "location") -> pd.DataFrame:
    """The region's inventory and its intensities over its GDP, per year (index; ``INTENSITY_COLUMNS``):
    ``inventory_emissions_tco2e``, ``inventory_energy_tce`` (``carbon.analytics.inventory.inventory_totals``),
    ``gdp_10k_cny`` (``region_gdp``), ``inventory_carbon_intensity_tco2e_per_10k_cny``,
    ``inventory_energy_intensity_tce_per_10k_cny``, ``inventory_status`` (the weakest status of the statistics
    used), ``inventory_releases`` (their release ids) and ``inventory_reason`` (None, or why there is no intensity:
    the inventory's reason, else ``no_gdp``), and the ends of the 95 % bands (``BAND_FIGURES``;
    ``carbon.analytics.inventory.total_band``, GDP taken as exact).  No inventory or no GDP: NaN, never 0.  The one
    place the regional figures a target is assessed on are made."""
    rows = []
    for y in sorted(set(years)):
        total = inventory_totals(engine, y, basis, [region]).iloc[0]
        gdp = region_gdp(engine, region, y)
        reason = total["reason"] or (NO_GDP if gdp is None or not gdp > 0 else None)
        em, en = float(total["emissions_tco2e"]), float(total["energy_tce"])
        divisor = float("nan") if reason else float(gdp)  # no intensity (NaN) without an inventory or GDP

        def per_gdp(x: float, divisor: float = divisor) -> float:
            return float(x) / divisor

        rows.append({
            "year": y, "inventory_emissions_tco2e": em, "inventory_energy_tce": en, "gdp_10k_cny": gdp,
            "inventory_carbon_intensity_tco2e_per_10k_cny": per_gdp(em),
            "inventory_energy_intensity_tce_per_10k_cny": per_gdp(en),
            "inventory_status": total["status"], "inventory_releases": total["releases"], "inventory_reason": reason,
            "inventory_carbon_intensity_lower_tco2e_per_10k_cny": per_gdp(total["emissions_lower_tco2e"]),
            "inventory_carbon_intensity_upper_tco2e_per_10k_cny": per_gdp(total["emissions_upper_tco2e"]),
            "inventory_energy_intensity_lower_tce_per_10k_cny": per_gdp(total["energy_lower_tce"]),
            "inventory_energy_intensity_upper_tce_per_10k_cny": per_gdp(total["energy_upper_tce"]),
            "inventory_emissions_lower_tco2e": total["emissions_lower_tco2e"],
            "inventory_emissions_upper_tco2e": total["emissions_upper_tco2e"],
            "inventory_energy_lower_tce": total["energy_lower_tce"],
            "inventory_energy_upper_tce": total["energy_upper_tce"],
        })  # fmt: skip
    return pd.DataFrame(rows, columns=INTENSITY_COLUMNS).set_index("year")


def inventory_trend(engine: Engine, region: str, year: int, base: int, basis: str = "location") -> dict[str, float]:
    """The uncertainty of the change of the region's inventory from ``base`` to ``year``, per target indicator: the
    half-width (percent) of the 95 % interval of the ratio of the two years' emissions (carbon intensity) and energy
    (energy intensity), GDP taken as exact (``uncertainty.trend_half_width``: activity data of the ``statistics``
    tier uncorrelated between the years, each carrier's factor correlated).  An indicator is missing where either
    year has no inventory total."""

    def total_lines(y: int) -> pd.DataFrame:
        lines = inventory_lines(engine, y, basis, [region])
        return lines.loc[lines["in_total"].astype(bool)].assign(tier="statistics") if len(lines) else lines

    now, then = total_lines(year), total_lines(base)
    if now.empty or then.empty:
        return {}
    carbon = uncertainty.trend_half_width(now, then)
    energy = uncertainty.trend_half_width(
        now.assign(emissions_tco2e=now["energy_tce"]), then.assign(emissions_tco2e=then["energy_tce"]), factors=False
    )
    found = {"carbon_intensity_tco2e_per_10k_cny": carbon, "energy_intensity_tce_per_10k_cny": energy}
    return {k: v for k, v in found.items() if v is not None}


def assess_target(t: Any, year: int, intensity: pd.DataFrame, trend: dict[str, float] | None = None) -> dict[str, Any]:
    """A regional target (a row of ``targets()``) assessed on the region's inventory intensity (``inventory_intensity``
    with the base year and ``year``), with the 95 % band of its change since the base year: ``status`` is
    ``on_track`` only when the whole band is at or below the target's straight path for the year (drawn from the
    base year's figure, the target's own reference); ``off_track`` or ``at_risk`` (``target_progress``'s) when the
    whole band is above it; ``cannot_tell`` when the band straddles it; ``not_assessable`` without an inventory.

    The band is the year's intensity times (1 ± the half-width of the ratio to the base year) from ``trend``
    (``inventory_trend``: what is uncertain about the change, a factor's shared error cancelling), else the year's
    own level band (``BAND``).  Also ``reason`` (None, or why it cannot be assessed: the reason of the year, else of
    the base year), ``assessed_on`` (``inventory`` or None), ``achieved``, ``needed_per_year``, ``intensity`` with
    ``intensity_lower`` and ``intensity_upper`` (the band), ``path_intensity`` (the path's value for the year), and
    the statistics' weakest status and releases.  Pure."""
    base, by, cut = int(t.base_year), int(t.target_year), float(t.reduction_percent) / 100
    column = INVENTORY[t.indicator]
    series = intensity[column] if column in intensity else pd.Series(dtype=float)
    missing = [y for y in (year, base) if y not in intensity.index or pd.isna(series.get(y))]
    out: dict[str, Any] = {
        "assessed_on": None, "achieved": None, "needed_per_year": None, "intensity": None, "intensity_lower": None,
        "intensity_upper": None, "path_intensity": None, "inventory_status": None, "inventory_releases": [],
    }  # fmt: skip
    if missing:
        reason = intensity["inventory_reason"].get(missing[0]) if missing[0] in intensity.index else None
        return {**out, "status": NOT_ASSESSABLE, "reason": reason or "no_regional_statistics"}
    tp = target_progress(series, base, by, cut, year, parameters()["at_risk_share"])
    value = float(series[year])
    half = (trend or {}).get(t.indicator)
    if half is None:
        lower, upper = (float(intensity.loc[year, c]) for c in BAND[column])
    else:
        lower, upper = value * (1 - half / 100), value * (1 + half / 100)
    path = float(series[base]) * (1 - expected_reduction(cut, base, by, year))
    state = uncertainty.assess(uncertainty.Band(value, 100 * (upper - lower) / 2 / abs(value), lower, upper), path)
    used = intensity.loc[[base, year]]
    return {
        **out,
        "status": "on_track" if state == "on_track" else tp["status"] if state == "off_track" else CANNOT_TELL,
        "reason": None,
        "assessed_on": "inventory",
        "achieved": tp["achieved"],
        "needed_per_year": tp["needed_per_year"],
        "intensity": value,
        "intensity_lower": lower,
        "intensity_upper": upper,
        "path_intensity": path,
        "inventory_status": weakest_status(used["inventory_status"]),
        "inventory_releases": sorted({r for rs in used["inventory_releases"] for r in rs}),
    }


def regional_target(
    t: Any,
    year: int,
    lines: dict[int, pd.DataFrame],
    value_added: dict[int, pd.Series],
    intensity: pd.DataFrame,
    own: dict[int, pd.DataFrame] | None = None,
    trend: dict[str, float] | None = None,
) -> dict[str, Any]:
    """The state of one regional target (a row of ``targets()``) for ``year``, assessed on the region's inventory
    (``assess_target`` over ``inventory_intensity``; ``not_assessable`` without it); the reduction its straight path
    expects by the year; the monitored enterprises' own reduction since the base year for reference
    (``panel_reduction`` over ``own``, the whole lines of the enterprises registered in the region; by default
    ``lines``).  Pure."""
    own = lines if own is None else own
    base, by, cut = int(t.base_year), int(t.target_year), float(t.reduction_percent) / 100
    column = MONITORED[t.indicator][1]
    empty = pd.DataFrame(columns=["enterprise_uscc", column])
    ref, n = panel_reduction(
        own.get(base, empty),
        own.get(year, empty),
        value_added.get(base, pd.Series(dtype=float)),
        value_added.get(year, pd.Series(dtype=float)),
        column,
    )
    return {
        "id": t.id,
        "region": t.region,
        "indicator": t.indicator,
        "base_year": base,
        "target_year": by,
        "reduction": cut,
        "qualifier": t.qualifier,
        **target_source(t._asdict()),
        "expected": float(expected_reduction(cut, base, by, year)),
        **assess_target(t, year, intensity, trend),
        "monitored_achieved": ref,
        "monitored_achieved_enterprises": n,
    }


# The headline figures of ``progress`` a person reads, in the order they are shown.
HEADLINE_FIGURES = [
    "enterprises", "emissions_tco2e", "emissions_change_yoy", "emissions_change_yoy_enterprises", "energy_tce",
    "enterprises_with_value_added", "monitored_value_added_10k_cny", "monitored_carbon_intensity_tco2e_per_10k_cny",
    "monitored_energy_intensity_tce_per_10k_cny", "electricity_share_of_energy", "green_share_of_electricity",
]  # fmt: skip


def progress_with_totals(
    engine: Engine, region: str, year: int, basis: str = "location", years: list[int] | tuple[int, ...] = ()
) -> tuple[dict[str, Any], pd.DataFrame]:
    """``progress`` and the yearly totals it read (``totals_of``) for ``year``, the year before, the targets' base
    years and ``years``: one read of the stored results for a page that also draws the history."""
    wanted = applicable_targets(region)
    every = sorted({year, year - 1, *wanted["base_year"].astype(int), *years})
    lines, va, own = yearly_inputs(engine, region, every, basis)
    totals = totals_of(lines, va, own)
    intensity = inventory_intensity(engine, region, [year, *wanted["base_year"].astype(int)], basis)
    inventory = intensity.loc[year]
    trends = {
        base: inventory_trend(engine, region, year, base, basis)
        for base in sorted(set(wanted["base_year"].astype(int)))
        if pd.isna(intensity.loc[[year, base], "inventory_reason"]).all()
    }
    now = totals.loc[year]
    change, compared = panel_change(lines[year - 1], lines[year], "emissions_tco2e")

    def share(part: float, whole: float) -> float | None:
        return None if pd.isna(part) or pd.isna(whole) or not whole else float(part / whole)

    def figure(x: float) -> float | None:
        return None if pd.isna(x) else float(x)

    head = {
        "region": region,
        "year": year,
        "basis": basis,
        "enterprises": int(now["enterprises"]),
        "emissions_tco2e": figure(now["emissions_tco2e"]),
        "energy_tce": figure(now["energy_tce"]),
        "emissions_change_yoy": change,
        "emissions_change_yoy_enterprises": compared,
        "gdp_10k_cny": region_gdp(engine, region, year),
        "enterprises_with_value_added": int(now["enterprises_with_value_added"]),
        "monitored_value_added_10k_cny": figure(now["monitored_value_added_10k_cny"]),
        "monitored_carbon_intensity_tco2e_per_10k_cny": figure(now["monitored_carbon_intensity_tco2e_per_10k_cny"]),
        "monitored_energy_intensity_tce_per_10k_cny": figure(now["monitored_energy_intensity_tce_per_10k_cny"]),
        "electricity_share_of_energy": share(now["electricity_tce"], now["energy_tce"]),
        "green_share_of_electricity": share(now["green_electricity_kwh"], now["electricity_kwh"]),
        "inventory_emissions_tco2e": figure(inventory["inventory_emissions_tco2e"]),
        "inventory_energy_tce": figure(inventory["inventory_energy_tce"]),
        "inventory_carbon_intensity_tco2e_per_10k_cny": figure(
            inventory["inventory_carbon_intensity_tco2e_per_10k_cny"]
        ),
        "inventory_energy_intensity_tce_per_10k_cny": figure(inventory["inventory_energy_intensity_tce_per_10k_cny"]),
        **{c: figure(inventory[c]) for c in BAND_FIGURES},
        "inventory_status": inventory["inventory_status"],
        "inventory_releases": list(inventory["inventory_releases"]),
        "inventory_reason": inventory["inventory_reason"],
        # an enterprise's own reduction and key-emitter status are of the whole enterprise, in the region it is
        # registered in (its value added and its reporting duty are not split by site)
        "targets": [
            regional_target(t, year, lines, va, intensity, own, trends.get(int(t.base_year)))
            for t in wanted.itertuples(index=False)
        ],
        "key_emitters": key_emitters(own[year]).to_dict("records"),
    }
    head["key_emitter_count"] = None if own[year].empty else len(head["key_emitters"])  # no data is not none
    return head, totals


def progress(engine: Engine, region: str, year: int, basis: str = "location") -> dict[str, Any]:
    """Every indicator of the region for ``year`` (see the module docstring)."""
    return progress_with_totals(engine, region, year, basis)[0]
