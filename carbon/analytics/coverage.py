"""Coverage and top-down against bottom-up: how much of a jurisdiction's inventory the monitored enterprises explain.

Both sides on the same basis and the same boundary, the consumption view of the inventory (fuel burnt by each
sector plus the electricity it uses, by carrier): the monitored enterprises' result lines (scope 1 and 2, by the
jurisdiction each line counts in) against the inventory's ``final_use`` lines of the same jurisdiction, year, sector
and physical carrier (green electricity is electricity).  An enterprise line falls in the finest sector the
statistics publish for it: its GB/T 4754 division (``industry:C26``), else its section (``industry:C``), else the
inventory sector (``industry``, ``construction`` ...); see ``sector_candidates``.

Coverage is ``enterprises / inventory`` of emissions (tCO2e) and of energy (tce).  Alerts
(``coverage_alerts``), thresholds from ``carbon/data/analytics_parameters.csv``:

* ``exceeds``: the enterprises' sum is above the inventory by more than ``coverage_exceed_tolerance`` (impossible:
  the statistics or an enterprise's data are wrong, or a line counts in the wrong sector or jurisdiction);
* ``coverage_drop``: coverage fell by at least ``coverage_drop_points`` against the mean of the earlier years with
  both sides;
* ``unmatched``: enterprises report a carrier in a sector the statistics of their jurisdiction have no line for
  (nothing to compare); a jurisdiction without any statistics for the year has no coverage and no alerts.

Each alert names the enterprises whose emissions in that line moved most against the year before.  No inventory
line means no coverage (None), never 0 or full.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from carbon import reference
from carbon.analytics.cube import enterprise_results
from carbon.analytics.inventory import inventory_lines
from carbon.analytics.precision import at_precision
from carbon.analytics.progress import parameter_decimals, parameters

KEYS = ["region", "year", "sector", "carrier"]
FIGURES = ["emissions_tco2e", "energy_tce"]
# GB/T 4754-2017 sections outside industry (B, C, D) that are an inventory sector of their own
SECTION_SECTOR = {"A": "agriculture", "E": "construction", "G": "transport"}
INDUSTRY_SECTIONS = {"B", "C", "D"}
# 第三产业 as 全社会用电量 tables publish it: transport and services together, where they are not apart
PARENT_SECTOR = {"transport": "tertiary", "services": "tertiary"}


def sector_candidates(divisions: pd.Series) -> pd.DataFrame:
    """For GB/T 4754 division codes (a Series of 2-digit strings), the inventory sectors each could count in, finest
    first: columns ``division`` (``industry:C26``), ``section`` (``industry:C``), ``sector`` (``industry``) and
    ``parent`` (``tertiary`` for transport and services, else None); the finer ones are None outside industry, where
    the sector is the section's (``SECTION_SECTOR``) or ``services``."""
    codes = divisions.astype(str)
    section = codes.map(reference.industry_divisions()["section"])
    industry = section.isin(INDUSTRY_SECTIONS)
    sector = np.where(industry, "industry", section.map(SECTION_SECTOR).fillna("services"))
    return pd.DataFrame(
        {
            "division": np.where(industry, "industry:" + section.fillna("") + codes, None),
            "section": np.where(industry, "industry:" + section.fillna(""), None),
            "sector": sector,
            "parent": pd.Series(sector).map(PARENT_SECTOR).to_numpy(dtype=object),
        },
        index=divisions.index,
    )


def assign_sectors(lines: pd.DataFrame, published: pd.DataFrame) -> pd.Series:
    """The inventory sector each enterprise line counts in: the finest of ``sector_candidates`` that the statistics
    publish for its region, year and carrier (``published``: columns region, year, sector, carrier; a published
    parent stands for its remainder), else its broad sector (which then has no inventory line: ``unmatched``).
    ``lines``: region, year, division, carrier."""
    candidates = sector_candidates(lines["division"])
    have = set(map(tuple, published[KEYS].astype(str).to_numpy()))
    chosen = candidates["sector"].to_numpy(dtype=object)
    found = {}
    for level in ("parent", "sector", "section", "division"):
        key = list(
            zip(
                lines["region"].astype(str),
                lines["year"].astype(str),
                candidates[level].astype(str),
                lines["carrier"].astype(str),
                strict=True,
            )
        )
        found[level] = np.fromiter((k in have for k in key), dtype=bool, count=len(key))
        found[level] &= candidates[level].notna().to_numpy()
    # the broad sector unless only its parent is published; finer levels win where they are published
    chosen = np.where(found["parent"] & ~found["sector"], candidates["parent"].to_numpy(), chosen)
    for level in ("section", "division"):
        chosen = np.where(found[level], candidates[level].to_numpy(), chosen)
    return pd.Series(chosen, index=lines.index, dtype=object)


def physical(carrier: pd.Series) -> pd.Series:
    """The physical carrier of each carrier id (green electricity is electricity), as the statistics count it."""
    return carrier.map(reference.carriers()["physical_carrier"]).fillna(carrier)


def enterprise_side(results: pd.DataFrame, published: pd.DataFrame) -> pd.DataFrame:
    """Enterprise result lines (region, year, division, carrier, enterprise_uscc, emissions_tco2e, energy_tce) summed
    per enterprise and inventory line: ``KEYS`` + enterprise_uscc, division and the figures."""
    lines = results.assign(carrier=physical(results["carrier"]))
    lines["sector"] = assign_sectors(lines, published)
    return lines.groupby([*KEYS, "enterprise_uscc", "division"], as_index=False)[FIGURES].sum()


def coverage_table(inventory: pd.DataFrame, enterprises: pd.DataFrame) -> pd.DataFrame:
    """Coverage per region, year, sector and carrier.

    ``inventory``: the inventory's final-use lines (``KEYS`` + emissions_tco2e, energy_tce); ``enterprises``: from
    ``enterprise_side``.  Returns ``KEYS`` + inventory_tco2e, inventory_tce, remainder (the line is a published total
    less its parts published apart; False without the column), monitored_tco2e, monitored_tce,
    enterprises (count), coverage_emissions, coverage_energy (fractions; None without an inventory line or with an
    inventory line of zero).  A line of the statistics no enterprise reports in has monitored figures 0 when the
    jurisdiction's enterprises reported that year (none is in that line) and coverage 0, else no monitored figure
    and no coverage; a line enterprises report without a statistics line has inventory figures None."""
    ent = enterprises.groupby(KEYS, as_index=False).agg(
        monitored_tco2e=("emissions_tco2e", "sum"),
        monitored_tce=("energy_tce", "sum"),
        enterprises=("enterprise_uscc", "nunique"),
    )
    flagged = inventory if "remainder" in inventory else inventory.assign(remainder=False)
    inv = (
        flagged.astype({"remainder": bool})
        .groupby(KEYS, as_index=False)
        .agg(
            inventory_tco2e=("emissions_tco2e", "sum"),
            inventory_tce=("energy_tce", "sum"),
            remainder=("remainder", "any"),
        )
    )
    table = inv.merge(ent, on=KEYS, how="outer")
    table["remainder"] = table["remainder"].astype("boolean").fillna(False).astype(bool)
    # a jurisdiction whose enterprises reported that year covers its other lines by none (0); one without any
    # result that year has no monitored figure at all (no data)
    reported = pd.MultiIndex.from_frame(table[["region", "year"]]).isin(
        pd.MultiIndex.from_frame(ent[["region", "year"]].drop_duplicates())
    )
    for col in ("monitored_tco2e", "monitored_tce", "enterprises"):
        table[col] = table[col].where(table[col].notna() | ~reported, 0)
    table["enterprises"] = table["enterprises"].astype("Int64")
    for share, num, den in (
        ("coverage_emissions", "monitored_tco2e", "inventory_tco2e"),
        ("coverage_energy", "monitored_tce", "inventory_tce"),
    ):
        ratio = table[num] / table[den].where(table[den] > 0)
        table[share] = ratio.astype(object).where(ratio.notna(), None)
    return table.sort_values(KEYS).reset_index(drop=True)


def movers(enterprises: pd.DataFrame, table: pd.DataFrame, year: int, count: int = 3) -> pd.DataFrame:
    """Per inventory line of ``year``: the ``count`` enterprises whose emissions moved most against ``year - 1``
    (``KEYS`` + enterprise_uscc, change_tco2e, ``new``: True for an enterprise without emissions in the line the
    year before, which moves by all of its emissions).  The
    year before is put in the lines the statistics publish for ``year`` (``table``: a ``coverage_table``), so an
    enterprise is compared with itself in the same line even where the two years' statistics differ in detail."""
    now = enterprises[enterprises["year"] == year]
    before = enterprises[enterprises["year"] == year - 1].assign(year=year)
    published = table.loc[(table["year"] == year) & table["inventory_tco2e"].notna(), KEYS]
    before = before.assign(sector=assign_sectors(before, published))
    keys = [*KEYS, "enterprise_uscc"]
    now, before = (f.groupby(keys, as_index=False)["emissions_tco2e"].sum() for f in (now, before))
    if now.empty and before.empty:  # no enterprise in either year: nobody moved (an outer merge of nothing fails)
        return pd.DataFrame(columns=[*keys, "change_tco2e"])
    both = now.merge(before, on=keys, how="outer", suffixes=("", "_before"))
    both["change_tco2e"] = both["emissions_tco2e"].fillna(0) - both["emissions_tco2e_before"].fillna(0)
    both["new"] = both["emissions_tco2e_before"].isna()
    both["size"] = both["change_tco2e"].abs()
    top = both.sort_values("size", ascending=False, kind="stable").groupby(KEYS).head(count)
    return top[[*keys, "change_tco2e", "new"]].reset_index(drop=True)


def coverage_alerts(table: pd.DataFrame, enterprises: pd.DataFrame, year: int) -> list[dict[str, Any]]:
    """Alerts of ``year`` from a ``coverage_table`` of that year and earlier ones (see the module docstring): each a
    dict with kind (exceeds, coverage_drop, unmatched), region, sector, carrier, the figures of the line, the gap in
    tCO2e (enterprises minus inventory for exceeds; the shortfall against the historical coverage for a drop) and
    ``movers`` (enterprise_uscc, change_tco2e, new)."""
    p, d = parameters(), parameter_decimals()
    tolerance, drop = float(p["coverage_exceed_tolerance"]), float(p["coverage_drop_points"])
    decimals = int(d["coverage_drop_points"])  # coverage is compared at a tenth of a percentage point
    now = table[table["year"] == year]
    inventoried = set(now.loc[now["inventory_tco2e"].notna(), "region"])  # jurisdictions with statistics that year
    earlier = table[(table["year"] < year) & table["coverage_emissions"].notna()]
    history = (
        earlier.assign(c=earlier["coverage_emissions"].astype(float))
        .groupby(["region", "sector", "carrier"])["c"]
        .mean()
        .rename("historical_coverage")
    )
    now = now.join(history, on=["region", "sector", "carrier"])
    moved = movers(enterprises, table, year)
    alerts = []
    for r in now.itertuples(index=False):
        inventory, monitored = r.inventory_tco2e, r.monitored_tco2e
        coverage = None if r.coverage_emissions is None else float(r.coverage_emissions)
        kind, gap = None, None
        if pd.isna(inventory) and r.region in inventoried and monitored and monitored > 0:
            kind, gap = "unmatched", float(monitored)
        elif coverage is not None and at_precision(coverage - 1, decimals) > tolerance:
            kind, gap = "exceeds", float(monitored - inventory)
        elif (
            coverage is not None
            and pd.notna(r.historical_coverage)
            and at_precision(r.historical_coverage - coverage, decimals) >= drop
        ):
            kind, gap = "coverage_drop", float((r.historical_coverage - coverage) * inventory)
        if kind is None:
            continue
        line = moved[(moved["region"] == r.region) & (moved["sector"] == r.sector) & (moved["carrier"] == r.carrier)]
        named = [
            {**m, "new": bool(m["new"])} for m in line[["enterprise_uscc", "change_tco2e", "new"]].to_dict("records")
        ]
        alerts.append(
            {
                "kind": kind,
                "region": r.region,
                "year": year,
                "sector": r.sector,
                "carrier": r.carrier,
                "inventory_tco2e": None if pd.isna(inventory) else float(inventory),
                "monitored_tco2e": float(monitored),
                "coverage_emissions": coverage,
                "historical_coverage": None if pd.isna(r.historical_coverage) else float(r.historical_coverage),
                "gap_tco2e": gap,
                "movers": named,
            }
        )
    return alerts


def reconciliation(
    engine: Engine, year: int, basis: str = "location", regions: list[str] | None = None, history: int = 3
) -> dict[str, Any]:
    """Coverage of ``year`` and the ``history`` years before it, and the alerts of ``year``, for ``regions``
    (jurisdictions; None: all three), on ``basis``.

    Returns ``coverage`` (``coverage_table`` of those years), ``alerts`` (``coverage_alerts`` of ``year``),
    ``totals`` (per region and year, the inventory's consumption view and the monitored enterprises' sum of all
    carriers with their coverage: ``coverage_totals``) and ``sectors`` (the same per region, year and sector).
    Reads the inventory (``carbon.analytics.inventory``) and the result ledger (``enterprise_results``); computes
    nothing else."""
    regions = list(regions or reference.JURISDICTIONS)
    years = list(range(year - history, year + 1))
    frames = [inventory_lines(engine, y, basis, regions) for y in years]
    inventory = pd.concat([f for f in frames if len(f)] or [frames[-1]], ignore_index=True)
    inventory = inventory.loc[inventory["flow"] == "final_use"].rename(columns={"region_id": "region"})
    results = enterprise_results(engine, basis, years=years)
    results = results.loc[results["region"].isin(regions)]
    enterprises = enterprise_side(results, inventory)
    table = coverage_table(inventory, enterprises)
    return {
        "coverage": table,
        "alerts": coverage_alerts(table, enterprises, year),
        "totals": coverage_totals(table),
        "sectors": coverage_totals(table, ("region", "year", "sector")),
    }


def coverage_totals(table: pd.DataFrame, by: tuple[str, ...] = ("region", "year")) -> pd.DataFrame:
    """A ``coverage_table`` summed per ``by`` (region and year, or with sector) over the lines that have an inventory
    figure (a line without one is left out: there is nothing to cover), with its coverage."""
    both = table.loc[table["inventory_tco2e"].notna()]
    sums = both.groupby(list(by), as_index=False)[
        ["inventory_tco2e", "inventory_tce", "monitored_tco2e", "monitored_tce"]
    ].sum(min_count=1)
    sums["coverage_emissions"] = sums["monitored_tco2e"] / sums["inventory_tco2e"].where(sums["inventory_tco2e"] > 0)
    sums["coverage_energy"] = sums["monitored_tce"] / sums["inventory_tce"].where(sums["inventory_tce"] > 0)
    return sums
