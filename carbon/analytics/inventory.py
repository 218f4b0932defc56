"""The regional inventory (top-down): a jurisdiction's energy-activity emissions and energy from its stored energy
statistics (``carbon.regional_energy``) and the factor library, computed on demand (never stored, so never stale).

Method (``carbon/data/inventory_method.csv``, with what could be confirmed of its source): the energy-activities
part of 省级温室气体清单编制指南（试行）(国家发展和改革委员会办公厅, 发改办气候〔2011〕1041号) as the project reads
it: CO2 of fossil fuels burned by sector, plus the indirect CO2 of the jurisdiction's net imported electricity
(电力调入调出).  A revised guideline (省级温室气体清单编制指南（2025年版）, 生态环境部) is reported by reposts; its text
was not read and the method has not been checked against it (``guideline_2025`` in the data file).

Each (jurisdiction, year, sector, carrier) figure is priced by the same engine as the enterprises:
``carbon.factor_choice.choice_table`` (factors by basis, the jurisdiction's province and grid, the data year) and
``carbon.accounting.apply_factors`` (quantity x tCO2e and tce per canonical unit).

- Inventory total (the guideline's boundary, ``in_total``): fuels burned in all sectors (``final_use`` of fuels,
  the fuels of power and heat plants included) + net imported electricity x the grid factor.
- Consumption view (``in_total`` False, shown separately and labelled as such): electricity and heat used by each
  sector x their factors: whole-society electricity use attributed to the sectors that use it.  It does not add up to
  the total (local generation's fuels are already counted where burned).
- Energy (tce): the coefficients of the engine; electricity at its equivalent value (当量值, GB/T 2589), not the
  coal-consumption method (等价值) of official energy-consumption totals.
- A published parent and some of its children (``industry`` and ``industry:C26``): the children are counted, and
  the parent's remainder (``remainder`` True: the parent less its published children) so nothing counts twice.

Every line carries its statistics version (``status``, ``release_id``, ``source``).  Missing statistics are no
rows, and a total without them is None (no data), never 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select

from carbon import reference
from carbon.accounting import apply_factors
from carbon.analytics.uncertainty import activity_half_widths, line_band, sum_band
from carbon.errors import InputError
from carbon.factor_choice import check_choices, choice_table
from carbon.ledger import GWP_OF_RECORD, load_factors, local_today
from carbon.models import RegionalEnergy, StatsRelease
from carbon.regional_energy import current_figures, merge_service_parts, parent_of, sector_name, weakest_status

LINE_COLUMNS = [
    "region_id", "year", "sector", "carrier", "flow", "quantity_canonical", "energy_tce", "emissions_tco2e",
    "factor_ids", "factor_reason", "status", "release_id", "source", "unit", "remainder", "in_total", "factor_flags",
]  # fmt: skip
TOTAL_COLUMNS = [
    "region_id", "year", "emissions_tco2e", "energy_tce", "fuel_combustion_tco2e", "net_import_electricity_tco2e",
    "fuel_combustion_tce", "net_import_electricity_tce", "status", "releases", "reason",
    "emissions_lower_tco2e", "emissions_upper_tco2e", "energy_lower_tce", "energy_upper_tce",
]  # fmt: skip
BAND_MISSING = dict.fromkeys(
    ["emissions_lower_tco2e", "emissions_upper_tco2e", "energy_lower_tce", "energy_upper_tce"], float("nan")
)
RESTATEMENT_COLUMNS = [
    "region_id", "year", "sector", "carrier", "flow", "old_quantity_canonical", "new_quantity_canonical", "unit",
    "old_emissions_tco2e", "new_emissions_tco2e", "difference_tco2e", "old_energy_tce", "new_energy_tce",
    "old_status", "new_status", "old_release_id", "new_release_id", "old_source", "new_source", "in_total",
]  # fmt: skip
# why a region's inventory total is missing (codes.csv kind ``inventory_missing``)
NO_STATISTICS, NO_NET_IMPORT, NO_FUEL_USE, NOT_ALL_JURISDICTIONS = (
    "no_regional_statistics", "no_net_import", "no_fuel_use", "not_all_jurisdictions",
)  # fmt: skip


def sector_label(sector: str, lang: str = "zh", remainder: bool = False) -> str:
    """An inventory sector as a person reads it: ``工业``, ``industry:C26`` as its GB/T 4754 division name, a
    remainder as ``工业（其余）`` / ``industry (rest)``.  ``KeyError`` for an unknown code."""
    label = sector_name(sector, lang)
    if remainder:
        return f"{label}（其余）" if lang == "zh" else f"{label} (rest)"
    return label


def method() -> pd.DataFrame:
    """The inventory's method and its sources (``carbon/data/inventory_method.csv``), by id."""
    return reference.read_data("inventory_method.csv").set_index("id")


def expand_hierarchy(figures: pd.DataFrame) -> pd.DataFrame:
    """Figures with every published parent replaced by its remainder (the parent less its published children;
    ``remainder`` True), dropped where nothing remains.  The import refuses a parent smaller than its children; a
    difference within floating-point rounding is 0.  Published parts of services are first counted once as
    ``services`` (``carbon.regional_energy.merge_service_parts``).  Pure."""
    figures = merge_service_parts(figures).reset_index(drop=True)
    out = figures.copy()
    out["remainder"] = False
    if out.empty:
        return out
    for _, g in out.groupby(["region_id", "year", "carrier", "flow"]):
        published = set(g["sector"])
        for idx, s in g["sector"].items():
            p = parent_of(s, published)
            if p is not None:
                parent_idx = g.index[g["sector"] == p][0]
                out.loc[parent_idx, "quantity_canonical"] -= g.loc[idx, "quantity_canonical"]
                out.loc[parent_idx, "remainder"] = True
    # a parent equal to its children leaves rounding dust, not a figure
    rel = out["quantity_canonical"].abs() <= 1e-9 * figures["quantity_canonical"].abs()
    return out.loc[~(out["remainder"] & rel)].reset_index(drop=True)


def price_figures(figures: pd.DataFrame, factors: pd.DataFrame, year: int, basis: str) -> pd.DataFrame:
    """Inventory lines (``LINE_COLUMNS``) of stored figures of one year: hierarchy expanded, each priced by the
    engine (the jurisdiction's province and grid).  Pure."""
    if figures.empty:
        return pd.DataFrame(columns=LINE_COLUMNS)
    lines = expand_hierarchy(figures)
    regions = reference.regions()
    lines["province"] = lines["region_id"].map(regions["province"])
    lines["grid"] = lines["region_id"].map(regions["grid"])
    choices = choice_table(factors, lines, year=year, basis=basis, gwp_set=GWP_OF_RECORD, as_of=local_today())
    priced = apply_factors(lines.rename(columns={"quantity_canonical": "quantity"}), choices)
    priced = priced.rename(columns={"quantity": "quantity_canonical"})
    flags = choices.set_index(["province", "carrier"])["flags"]
    priced["factor_flags"] = [list(flags[(p, c)]) for p, c in zip(priced["province"], priced["carrier"], strict=True)]
    kinds = reference.carriers()["kind"]
    priced["in_total"] = (priced["flow"] == "net_import") | (priced["carrier"].map(kinds) == "fuel")
    priced["unit"] = priced["carrier"].map(reference.carriers()["canonical_unit"])
    order = {s: i for i, s in enumerate(("agriculture", "industry", "construction", "transport", "tertiary",
                                          "services", "residential", "all"))}  # fmt: skip
    priced["_order"] = priced["sector"].map(lambda s: order.get(s.split(":")[0], 9))
    priced = priced.sort_values(["region_id", "in_total", "_order", "sector", "carrier"], ascending=[1, 0, 1, 1, 1])
    return priced[LINE_COLUMNS].reset_index(drop=True)


def _regions(regions: list[str] | None) -> list[str]:
    if regions is None:
        return list(reference.JURISDICTIONS)
    return sorted({j for r in regions for j in reference.region_ids(r)}, key=reference.JURISDICTIONS.index)


def inventory_lines(engine: Engine, year: int, basis: str, regions: list[str] | None = None) -> pd.DataFrame:
    """The inventory of the jurisdictions (``regions``: jurisdictions or ``zone``; None for all three) for ``year``
    on ``basis``, one line per (jurisdiction, sector, carrier, flow), from the current statistics.

    Columns (``LINE_COLUMNS``): ``region_id``, ``year``, ``sector`` (inventory sector code; ``all`` for net
    imported electricity), ``carrier``, ``flow`` (``final_use`` or ``net_import``), ``quantity_canonical`` (in
    ``unit``, the carrier's canonical unit), ``energy_tce``, ``emissions_tco2e``, ``factor_ids``,
    ``factor_reason``, ``status`` (provisional, final, revised), ``release_id``, ``source``, ``remainder`` (True:
    a published parent less its published children), ``in_total`` (True: counts in the inventory total; False: the
    consumption view's electricity and heat use), ``factor_flags`` (the factor choice's flags, a list).  No
    statistics: no rows.  ``InputError`` for an unknown basis, year or region."""
    check_choices(basis, year)
    figures = current_figures(engine, _regions(regions), [year])
    return price_figures(figures, load_factors(engine) if len(figures) else pd.DataFrame(), year, basis)


def total_band(lines: pd.DataFrame) -> dict[str, float]:
    """The 95 % band of the emissions (tCO2e) and energy (tce) of inventory lines that count in a total: activity
    data of the ``statistics`` tier and each carrier's factor uncertainty combined by IPCC 2006 Vol. 1 Ch. 3
    Approach 1 (``carbon.analytics.uncertainty.line_band``; energy: the activity data's alone, the standard-coal
    coefficients taken as exact).  Columns ``emissions_lower_tco2e``, ``emissions_upper_tco2e``, ``energy_lower_tce``,
    ``energy_upper_tce``.  Pure."""
    emissions = line_band(lines.assign(tier="statistics"))
    statistics = float(activity_half_widths()["statistics"])
    energy = sum_band(lines["energy_tce"].to_numpy(dtype=float), np.full(len(lines), statistics))
    return {
        "emissions_lower_tco2e": emissions.lower,
        "emissions_upper_tco2e": emissions.upper,
        "energy_lower_tce": energy.lower,
        "energy_upper_tce": energy.upper,
    }


def totals_of_lines(lines: pd.DataFrame, regions: list[str], year: int) -> pd.DataFrame:
    """Per region (a jurisdiction, or ``zone``: the sum of the three only when all three have a total) the
    inventory total (``TOTAL_COLUMNS``) of inventory lines, with its 95 % band (``total_band``; the zone's from the
    lines of all three, so a factor they share is not averaged away).  A jurisdiction without statistics, or without
    its net imported electricity or any fuel use, has no total (NaN, ``reason`` says why).  Pure."""
    rows = []
    for region in reference.JURISDICTIONS:
        own = lines.loc[(lines["region_id"] == region) & lines["in_total"].astype(bool)]
        fuel = own.loc[own["flow"] == "final_use"]
        imported = own.loc[own["flow"] == "net_import"]
        reason = (
            NO_STATISTICS if not (lines["region_id"] == region).any()
            else NO_NET_IMPORT if imported.empty else NO_FUEL_USE if fuel.empty else None
        )  # fmt: skip
        nan = float("nan")
        rows.append({
            "region_id": region, "year": year,
            "emissions_tco2e": nan if reason else float(own["emissions_tco2e"].sum()),
            "energy_tce": nan if reason else float(own["energy_tce"].sum()),
            "fuel_combustion_tco2e": nan if reason else float(fuel["emissions_tco2e"].sum()),
            "net_import_electricity_tco2e": nan if reason else float(imported["emissions_tco2e"].sum()),
            "fuel_combustion_tce": nan if reason else float(fuel["energy_tce"].sum()),
            "net_import_electricity_tce": nan if reason else float(imported["energy_tce"].sum()),
            "status": None if reason else weakest_status(own["status"]),
            "releases": [] if reason else sorted({int(r) for r in own["release_id"]}),
            "reason": reason,
            **(BAND_MISSING if reason else total_band(own)),
        })  # fmt: skip
    table = pd.DataFrame(rows, columns=TOTAL_COLUMNS)
    parts = table.set_index("region_id")
    complete = parts["reason"].isna().all()
    figures = ["emissions_tco2e", "energy_tce", "fuel_combustion_tco2e", "net_import_electricity_tco2e",
               "fuel_combustion_tce", "net_import_electricity_tce"]  # fmt: skip
    zone = {
        "region_id": "zone", "year": year,
        **{c: float(parts[c].sum()) if complete else float("nan") for c in figures},
        "status": weakest_status(parts["status"]) if complete else None,
        "releases": sorted({r for rs in parts["releases"] for r in rs}) if complete else [],
        "reason": None if complete
        else NO_STATISTICS if parts["reason"].eq(NO_STATISTICS).all() else NOT_ALL_JURISDICTIONS,
        **(total_band(lines.loc[lines["in_total"].astype(bool)]) if complete else BAND_MISSING),
    }  # fmt: skip
    table = pd.concat([table, pd.DataFrame([zone], columns=TOTAL_COLUMNS)], ignore_index=True)
    for c in ("status", "reason"):  # no status, no reason: None, not NaN
        table[c] = table[c].astype(object).where(table[c].notna(), None)
    return table.loc[table["region_id"].isin(regions)].reset_index(drop=True)


def inventory_totals(engine: Engine, year: int, basis: str, regions: list[str] | None = None) -> pd.DataFrame:
    """The inventory total per region (``TOTAL_COLUMNS``): ``region_id`` (each jurisdiction asked for, and
    ``zone`` when asked for or when ``regions`` is None), ``year``, ``emissions_tco2e`` and ``energy_tce`` (fuel
    combustion of all sectors + net imported electricity; NaN: no data), the two parts (``fuel_combustion_*``,
    ``net_import_electricity_*``), ``status`` (the weakest status of the figures used), ``releases`` (their release
    ids, a list), ``reason`` (None, or why there is no total: ``no_regional_statistics``, ``no_net_import``,
    ``no_fuel_use``; for the zone ``no_regional_statistics`` when none of the three has statistics, else
    ``not_all_jurisdictions``).  The zone is the sum of the three jurisdictions only
    when all three have a total."""
    check_choices(basis, year)
    asked = ["qingpu", "wujiang", "jiashan", "zone"] if regions is None else list(regions)
    for r in asked:
        reference.region_ids(r)  # refuses an unknown region
    lines = inventory_lines(engine, year, basis, None if "zone" in asked else asked)
    return totals_of_lines(lines, asked, year)


def consumption_view(lines: pd.DataFrame) -> pd.DataFrame:
    """The consumption view per jurisdiction and sector: ``direct_tco2e`` (fuels burned by the sector),
    ``electricity_tco2e`` and ``heat_tco2e`` (whole-society use by the sector x factor), ``consumption_tco2e``
    (their sum).  Labelled as a view: it does not add up to the inventory total.  Pure."""
    use = lines.loc[lines["flow"] == "final_use"].copy()
    kinds = use["carrier"].map(reference.carriers()["kind"])
    use["part"] = np.where(
        kinds == "fuel", "direct_tco2e", np.where(kinds == "heat", "heat_tco2e", "electricity_tco2e")
    )
    table = use.pivot_table(
        index=["region_id", "sector"], columns="part", values="emissions_tco2e", aggfunc="sum"
    ).reindex(columns=["direct_tco2e", "electricity_tco2e", "heat_tco2e"])
    table["consumption_tco2e"] = table.sum(axis=1, min_count=1)
    return table.reset_index()


def _figures_around(engine: Engine, region: str, year: int, release_id: int, after: bool) -> pd.DataFrame:
    """The figures of a jurisdiction and year current just before (``after`` False) or just after ``release_id``
    was imported: of the releases before it (or up to it), those not superseded by then."""
    with engine.connect() as conn:
        at = conn.execute(select(StatsRelease.imported_at).where(StatsRelease.id == release_id)).scalar_one()
        release = RegionalEnergy.release_id <= release_id if after else RegionalEnergy.release_id < release_id
        standing = RegionalEnergy.superseded_at > at if after else RegionalEnergy.superseded_at >= at
        stmt = select(
            RegionalEnergy.release_id, RegionalEnergy.region_id, RegionalEnergy.year, RegionalEnergy.sector,
            RegionalEnergy.carrier, RegionalEnergy.flow, RegionalEnergy.quantity_canonical, RegionalEnergy.status,
            RegionalEnergy.source,
        ).where(
            RegionalEnergy.region_id == region, RegionalEnergy.year == year, release,
            RegionalEnergy.superseded_at.is_(None) | standing,
        )  # fmt: skip
        return pd.read_sql(stmt, conn)


def inventory_restatement(
    engine: Engine, region: str, year: int, basis: str, release_id: int | None = None
) -> pd.DataFrame:
    """How a revision of the statistics changed a jurisdiction's inventory for ``year``: per sector, carrier and
    flow whose figure changed with ``release_id`` (default: the newest release with figures of the jurisdiction and
    year), the line before and after it (``RESTATEMENT_COLUMNS``: quantities in ``unit``, tCO2e, tce, status,
    release and source old and new; a line new with the release has no old figures, NaN; ``in_total`` True for a
    line of the inventory total, False for the consumption view's electricity and heat use, so the change of the
    total is the sum of ``difference_tco2e`` where ``in_total``).  Both sides are priced
    with today's factors, so the differences are the statistics' alone.  No release, or nothing changed: no rows.
    Lines are compared after the hierarchy is expanded (a revised child changes its parent's remainder too).
    ``InputError`` for a ``release_id`` that holds no figures of the jurisdiction and year (the message lists those
    that do)."""
    check_choices(basis, year)
    reference.region_ids(region)
    with engine.connect() as conn:
        newest = conn.execute(
            select(RegionalEnergy.release_id)
            .where(RegionalEnergy.region_id == region, RegionalEnergy.year == year)
            .order_by(RegionalEnergy.release_id.desc())
            .limit(1)
        ).scalar()
    if release_id is not None:
        with engine.connect() as conn:
            releases = (
                conn.execute(
                    select(RegionalEnergy.release_id)
                    .where(RegionalEnergy.region_id == region, RegionalEnergy.year == year)
                    .distinct()
                    .order_by(RegionalEnergy.release_id)
                )
                .scalars()
                .all()
            )
        if release_id not in releases:
            names = reference.regions().loc[region]
            raise InputError(
                f"没有含{names['name_zh']} {year}年统计数据的批次 {release_id}；其批次为："
                f"{'、'.join(str(r) for r in releases) or '无（尚未导入）'}",
                f"there is no release {release_id} with statistics of {names['name_en']} {year}; its releases are: "
                f"{', '.join(str(r) for r in releases) or 'none (nothing imported yet)'}",
                release=release_id,
            )
    release_id = newest if release_id is None else release_id
    if release_id is None:
        return pd.DataFrame(columns=RESTATEMENT_COLUMNS)
    factors = load_factors(engine)
    before = _figures_around(engine, region, year, int(release_id), after=False)
    after = _figures_around(engine, region, year, int(release_id), after=True)
    key = ["sector", "carrier", "flow"]
    cols = [*key, "quantity_canonical", "emissions_tco2e", "energy_tce", "status", "release_id", "source", "unit",
            "in_total"]  # fmt: skip
    old = price_figures(before, factors, year, basis)[cols]
    new = price_figures(after, factors, year, basis)[cols]
    both = old.merge(new, on=key, how="outer", suffixes=("_old", "_new"))
    changed = (
        both["quantity_canonical_old"].ne(both["quantity_canonical_new"])
        | both["status_old"].ne(both["status_new"])
        | both["release_id_old"].ne(both["release_id_new"])
    )
    both = both.loc[changed]
    out = pd.DataFrame({
        "region_id": region, "year": year, "sector": both["sector"], "carrier": both["carrier"], "flow": both["flow"],
        "old_quantity_canonical": both["quantity_canonical_old"],
        "new_quantity_canonical": both["quantity_canonical_new"],
        "unit": both["unit_new"].fillna(both["unit_old"]),
        "old_emissions_tco2e": both["emissions_tco2e_old"], "new_emissions_tco2e": both["emissions_tco2e_new"],
        "difference_tco2e": both["emissions_tco2e_new"].fillna(0.0) - both["emissions_tco2e_old"].fillna(0.0),
        "old_energy_tce": both["energy_tce_old"], "new_energy_tce": both["energy_tce_new"],
        "old_status": both["status_old"], "new_status": both["status_new"],
        "old_release_id": both["release_id_old"], "new_release_id": both["release_id_new"],
        "old_source": both["source_old"], "new_source": both["source_new"],
        "in_total": both["in_total_new"].fillna(both["in_total_old"]).astype(bool),
    }, columns=RESTATEMENT_COLUMNS)  # fmt: skip
    return out.reset_index(drop=True)
