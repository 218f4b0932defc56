"""Simulated regional energy statistics of the demo zone (模拟数据), built from the demo enterprises' stored results.

Nothing here is a fact about the world: the figures are made so that the monitored enterprises explain a plausible,
varying share of each line, and every row's source says it is simulated.  Two files in the regional energy format
(``carbon.regional_energy``), imported by ``carbon.stats.import_stats`` exactly as ``carbon stats import`` does:

- ``demo-regional-energy.csv``: 2020–2025 of the three jurisdictions, as yearbook tables print them: fuels by
  inventory sector (分行业能源消费量: 工业 with the divisions C26 and C17 published apart where the demo has
  enterprises, 建筑业, 交通运输、仓储和邮政业, 批发和零售业、住宿和餐饮业 and 其他 (services in two parts), 居民生活,
  农、林、牧、渔业), whole-society electricity use (全社会用电量: 第一产业, 工业, 建筑业, 第三产业 with
  交通运输、仓储和邮政业 apart, 城乡居民生活用电) and net imported electricity (净调入电量); final (最终) for
  2020–2024, provisional (快报) for 2025; rounded as yearbooks print (万吨, 亿千瓦时 and 万立方米 with two
  decimals, heat in TJ with one).
- ``demo-regional-energy-revision.csv``: ``REVISED`` jurisdiction's 2024 table restated (修订), a few figures
  changed, so the restatement report has something to explain.

How a line is made (``line_figures``): a line with monitored enterprises is their summed activity data (the result
ledger, by the jurisdiction each line counts in, so a site's lines count where the site is) over a coverage drawn
per line from ``COVERAGE`` (industry 55–80 %, transport 3–10 % ...) with a small yearly jitter; a line without
enterprises (residential, most of transport in a small demo) is a share of the jurisdiction's industry electricity,
growing yearly (``UNMONITORED``).  Every line is at least ``FLOOR`` (a yearbook prints no 0.00 line).  Seeded per
line: the same stored results give the same files, so a second run stores nothing.

Two alerts of the reconciliation (``carbon.analytics.coverage``) are planted in ``LAST_YEAR``: ``EXCEEDS_LINE``
(the statistics below the enterprises' sum) and ``DROP_LINE`` (coverage ``DROP_POINTS`` below its earlier years).
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from carbon import reference
from carbon.analytics.coverage import physical, sector_candidates
from carbon.analytics.cube import enterprise_results
from carbon.export import write_csv
from carbon.regional_energy import COLUMNS, current_figures
from carbon.stats import import_stats

FIRST_YEAR, LAST_YEAR = 2020, 2025
SOURCE = {
    "fuel": "模拟数据（simulated, carbon demo）：按统计年鉴“分行业能源消费量”表式编制，非真实统计",
    "electricity": "模拟数据（simulated, carbon demo）：按统计年鉴“全社会用电量”表式编制，非真实统计",
    "net_import": "模拟数据（simulated, carbon demo）：按统计年鉴“电力平衡表 净调入电量”表式编制，非真实统计",
}
REVISION_SOURCE = "模拟数据（simulated, carbon demo）：2024年数据修订（统计年鉴更正），非真实统计"
FILE, REVISION_FILE = "demo-regional-energy.csv", "demo-regional-energy-revision.csv"
# divisions the demo's fuel table publishes apart from 工业 where the jurisdiction has enterprises in them
DIVISIONS = ("industry:C26", "industry:C17")
# the printed unit and decimals of each carrier's figures (the carrier's canonical unit x factor = printed unit)
PRINT = {
    "kWh": ("亿千瓦时", 1e8, 2),
    "m3": ("万立方米", 1e4, 2),
    "t": ("万吨", 1e4, 2),
    "GJ": ("TJ", 1e3, 1),
}
# the smallest figure a line is given, in printed units
FLOOR = {"kWh": 0.05, "m3": 5.0, "t": 0.05, "GJ": 1.0}
# (low, high) coverage of a line by the monitored enterprises, by the line's sector
COVERAGE = {
    "industry": (0.55, 0.80),
    "construction": (0.25, 0.45),
    "services": (0.15, 0.35),
    "agriculture": (0.10, 0.25),
    "transport": (0.03, 0.10),
    "residential": (0.0, 0.0),
}
COVERAGE_JITTER = 0.015  # yearly, standard deviation of the drawn coverage
# lines the statistics have whether or not an enterprise is in them: (sector, carrier) -> (size per kWh of the
# jurisdiction's 2020 industry electricity, in the carrier's canonical unit; yearly growth)
UNMONITORED = {
    ("agriculture", "electricity"): (0.02, 0.02),
    ("construction", "electricity"): (0.03, 0.01),
    ("transport", "electricity"): (0.06, 0.08),
    ("services", "electricity"): (0.30, 0.05),
    ("residential", "electricity"): (0.20, 0.04),
    ("services", "natural_gas"): (0.003, 0.04),
    ("residential", "natural_gas"): (0.004, 0.03),
    ("transport", "natural_gas"): (0.0005, 0.02),
    ("transport", "diesel"): (3e-5, -0.01),
    ("transport", "gasoline"): (1.5e-5, 0.02),
    ("construction", "diesel"): (3e-6, 0.0),
    ("agriculture", "diesel"): (2e-6, -0.02),
    ("residential", "lpg"): (1e-6, -0.05),
}
NET_IMPORT_SHARE = (0.70, 0.85)  # net imported electricity as a share of whole-society use, drawn per jurisdiction
# yearbook row names of the lines (fuel table; the electricity table where it differs)
FUEL_ROWS = {
    "industry": "工业",
    "industry:C26": "C26",
    "industry:C17": "C17",
    "construction": "建筑业",
    "transport": "交通运输、仓储和邮政业",
    "residential": "居民生活",
    "agriculture": "农、林、牧、渔业",
}
SERVICE_PARTS = (("批发和零售业、住宿和餐饮业", 0.4), ("其他", 0.6))  # services in two parts, as yearbooks print
ELECTRICITY_ROWS = {
    "agriculture": "第一产业",
    "industry": "工业",
    "construction": "建筑业",
    "transport": "交通运输、仓储和邮政业",
    "residential": "城乡居民生活用电",
}
# the planted reconciliation alerts of the last year: (jurisdiction, line, carrier)
EXCEEDS_LINE = ("qingpu", "industry:C26", "natural_gas")
EXCEEDS_COVERAGE = 1.06  # the enterprises' sum 6 % above the statistics
DROP_LINE = ("jiashan", "industry", "electricity")
DROP_POINTS = 0.25  # coverage 25 points below the mean of the earlier years
# the revision: one jurisdiction's table of one year restated, (line, carrier) -> change
REVISED = ("wujiang", 2024)
REVISION = {("industry", "electricity"): 0.028, ("industry", "natural_gas"): -0.019}


def _rng(*key: object) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32("|".join(map(str, key)).encode()))


def monitored(results: pd.DataFrame) -> pd.DataFrame:
    """The monitored enterprises' activity data per line of the demo statistics: ``enterprise_results`` rows summed
    per region, year, line (an inventory sector, or a division of ``DIVISIONS`` for fuels and heat) and physical
    carrier; ``quantity`` in the carrier's canonical unit.  Pure."""
    lines = results.assign(carrier=physical(results["carrier"]))
    candidates = sector_candidates(lines["division"])
    kind = lines["carrier"].map(reference.carriers()["kind"])
    line = candidates["sector"].astype(object)
    division = candidates["division"].isin(DIVISIONS) & (kind != "electricity")
    lines["line"] = line.where(~division, candidates["division"])
    return (
        lines.groupby(["region", "year", "line", "carrier"], as_index=False)["quantity_canonical"]
        .sum()
        .rename(columns={"quantity_canonical": "quantity"})
    )


def _coverage(region: str, line: str, carrier: str, years: list[int]) -> np.ndarray:
    """The drawn coverage of a line per year (the planted alerts in ``LAST_YEAR``)."""
    sector = line.split(":")[0]
    low, high = COVERAGE[sector]
    rng = _rng("coverage", region, line, carrier)
    base = rng.uniform(low, high)
    c = np.clip(base + rng.normal(0, COVERAGE_JITTER, len(years)), low, high + 0.03)
    last = years.index(LAST_YEAR) if LAST_YEAR in years else None
    if last is not None and (region, line, carrier) == EXCEEDS_LINE:
        c[last] = EXCEEDS_COVERAGE
    if last is not None and (region, line, carrier) == DROP_LINE:
        earlier = [i for i, y in enumerate(years) if LAST_YEAR - 3 <= y < LAST_YEAR]
        c[last] = c[earlier].mean() - DROP_POINTS
    return c


def line_figures(have: pd.DataFrame, years: list[int]) -> pd.DataFrame:
    """Every line of the demo statistics: region, year, line, carrier, quantity (canonical unit, unrounded), from
    ``monitored`` figures (``have``) over the drawn coverage, or ``UNMONITORED`` shares.  Pure."""
    units = reference.carriers()["canonical_unit"]
    out = []
    for region in reference.JURISDICTIONS:
        mine = have.loc[have["region"] == region]
        ind = mine.loc[(mine["line"] == "industry") & (mine["carrier"] == "electricity")]
        ind = ind.set_index("year")["quantity"]
        c_ind = _coverage(region, "industry", "electricity", years)
        scale = float(ind.get(FIRST_YEAR, ind.iloc[0] if len(ind) else 1e8)) / float(c_ind[0])
        keys = set(map(tuple, mine[["line", "carrier"]].to_numpy())) | set(UNMONITORED)
        for line, carrier in sorted(keys):
            m = mine.loc[(mine["line"] == line) & (mine["carrier"] == carrier)].set_index("year")["quantity"]
            m = m.reindex(years, fill_value=0.0).to_numpy(dtype=float)
            share, growth = UNMONITORED.get((line, carrier), (0.0, 0.0))
            k = np.array(years) - FIRST_YEAR
            base = scale * share * (1 + growth) ** k
            c = _coverage(region, line, carrier, years)
            covered = np.divide(m, c, out=np.zeros_like(m), where=c > 0)
            unit = units[carrier]
            floor = FLOOR[unit] * PRINT[unit][1] * 1.03**k
            q = np.where(m > 0, covered, base)
            q = np.maximum(q, floor)
            out.append(pd.DataFrame({"region": region, "year": years, "line": line, "carrier": carrier, "quantity": q}))
    return pd.concat(out, ignore_index=True)


def _printed(quantity: pd.Series, carrier: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Quantities rounded as yearbooks print them, and their units."""
    units = carrier.map(reference.carriers()["canonical_unit"])
    name = units.map({u: p[0] for u, p in PRINT.items()})
    factor = units.map({u: p[1] for u, p in PRINT.items()})
    decimals = units.map({u: p[2] for u, p in PRINT.items()})
    value = [round(q / f, int(d)) for q, f, d in zip(quantity, factor, decimals, strict=True)]
    return pd.Series(value, index=quantity.index), name


def yearbook_rows(figures: pd.DataFrame, status: dict[int, str]) -> pd.DataFrame:
    """``line_figures`` as rows of the regional energy format (``COLUMNS``; a ``line`` and ``key`` column kept for
    the revision): a parent (工业 of fuels, 第三产业 of electricity) is its published parts and remainder, each
    rounded, summed; services fuels in two parts; net imported electricity a drawn share of the whole-society use.
    ``status``: the printed status of each year.  Pure."""
    f = figures.copy()
    f["value"], f["unit"] = _printed(f["quantity"], f["carrier"])
    kind = f["carrier"].map(reference.carriers()["kind"])
    names = reference.carriers()["name_zh"]
    rows = []
    for (region, year, carrier), g in f.groupby(["region", "year", "carrier"], sort=True):
        electricity = kind.loc[g.index[0]] == "electricity"
        table = "electricity" if electricity else "fuel"
        unit = g["unit"].iloc[0]
        decimals = PRINT[reference.carriers().loc[carrier, "canonical_unit"]][2]
        by = g.set_index("line")["value"]
        start = len(rows)

        group = {"region": region, "year": year, "carrier": names[carrier], "unit": unit, "status": status[year],
                 "carrier_id": carrier, "decimals": decimals}  # fmt: skip

        def row(sector: str, value: float, line: str, flow: str = "final_use", source: str = table, g=group) -> None:
            rows.append(
                {
                    **g,
                    "sector": sector,
                    "flow": flow,
                    "value": round(value, g["decimals"]),
                    "source": SOURCE[source],
                    "line": line,
                }
            )

        children = [d for d in DIVISIONS if d in by.index and not electricity]
        if "industry" in by.index or children:
            row("工业", by.get("industry", 0.0) + sum(by[d] for d in children), "industry")
        for d in children:
            row(FUEL_ROWS[d], by[d], d)
        for line in ("construction", "transport", "residential", "agriculture"):
            if line in by.index:
                row((ELECTRICITY_ROWS if electricity else FUEL_ROWS)[line], by[line], line)
        if electricity:
            row("第三产业", by.get("services", 0.0) + by.get("transport", 0.0), "tertiary")
            # whole-society use: the sectors, 第三产业 whole (交通运输 is a part of it)
            use = sum(r["value"] for r in rows[start:] if r["line"] != "transport")
            low, high = NET_IMPORT_SHARE
            share = _rng("net_import", region).uniform(low, high)
            row("all", use * share, "all", flow="net_import", source="net_import")
        elif "services" in by.index:
            first = round(by["services"] * SERVICE_PARTS[0][1], decimals)
            row(SERVICE_PARTS[0][0], first, "services")
            row(SERVICE_PARTS[1][0], by["services"] - first, "services")
    return pd.DataFrame(rows)


def demo_energy_files(engine: Engine, folder: Path) -> tuple[Path, Path]:
    """Write the two demo statistics files (``FILE`` and ``REVISION_FILE``) into ``folder`` from the stored results
    (location basis; activity data do not depend on the basis); returns their paths."""
    years = list(range(FIRST_YEAR, LAST_YEAR + 1))
    have = monitored(enterprise_results(engine, "location", years=years))
    figures = line_figures(have, years)
    status = {y: ("快报" if y == LAST_YEAR else "最终") for y in years}
    rows = yearbook_rows(figures, status)
    region, year = REVISED
    revised = figures.loc[(figures["region"] == region) & (figures["year"] == year)].copy()
    for (line, carrier), change in REVISION.items():
        hit = (revised["line"] == line) & (revised["carrier"] == carrier)
        revised.loc[hit, "quantity"] *= 1 + change
    revision = yearbook_rows(revised, {year: "修订"}).assign(source=REVISION_SOURCE)
    paths = folder / FILE, folder / REVISION_FILE
    write_csv(rows[list(COLUMNS)], paths[0])
    write_csv(revision[list(COLUMNS)], paths[1])
    return paths


def seed_energy_statistics(engine: Engine, folder: Path) -> list[dict]:
    """Import the demo statistics (``demo_energy_files``) through ``import_stats``; the first file without the
    revised jurisdiction and year once the revision is stored (an old release cannot undo a revision: the importer
    refuses it), so that a second run finds everything unchanged and stores no release.  Returns the import reports
    (``as_dict``); raises ``RuntimeError`` if a file is refused (the demo's own files must import)."""
    first, revision = demo_energy_files(engine, folder)
    region, year = REVISED
    stored = current_figures(engine, [region], [year])
    if (stored["status"] == "revised").any():
        rows = pd.read_csv(first, dtype=str, encoding="utf-8-sig", keep_default_na=False)
        keep = ~((rows["region"] == region) & (rows["year"] == str(year)))
        write_csv(rows.loc[keep], first)
    reports = []
    for path in (first, revision):
        report = import_stats(engine, path)
        if report.errors:
            raise RuntimeError(f"demo statistics refused: {[e.as_dict() for e in report.errors][:3]}")
        reports.append(report.as_dict())
    return reports
