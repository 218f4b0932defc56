"""Regional energy statistics: a jurisdiction's energy use by inventory sector and carrier, and its net imported
electricity, as published (statistical yearbook tables 分行业能源消费量, 全社会用电量, 净调入电量), with sources
and versions.

``carbon stats import FILE`` reads a CSV (UTF-8 or GB18030) with the header ``region, year, sector, carrier, flow,
value, unit, status, source`` (``carbon.stats`` tells it from the economic file by its header):

- ``region``: ``qingpu``, ``wujiang`` or ``jiashan`` (a jurisdiction, never the zone: the zone is their sum).
- ``sector``: an inventory sector code (``agriculture``, ``industry``, ``industry:C``, ``industry:C26``,
  ``construction``, ``transport``, ``services``, ``residential``, ``tertiary`` = 第三产业 = transport and
  services), a GB/T 4754 section or division (``C``, ``C26``) or a yearbook row name (``工业``, ``居民生活``,
  ``批发和零售业、住宿和餐饮业``, ``其他``, ...; ``SECTOR_NAMES``).  A part of services (a section such as ``K``,
  ``批发和零售业、住宿和餐饮业``, ``其他``) is stored as a figure of its own (``services:K``, ``services:FH``,
  ``services:other``), so a revision of one part leaves the others standing; overlapping parts are refused, and
  services given whole must be at least its published parts (the inventory then counts the whole, else the sum of
  the parts).  ``all`` (or empty) for net imported electricity.
- ``carrier``: a carrier of ``carbon/data/carriers.csv`` by id, name or alias (electricity, heat or a fuel).
- ``flow``: ``final_use`` (终端消费: energy consumed by the sector) or ``net_import`` (净调入: the jurisdiction's
  net imported electricity, negative for a net export).
- ``value`` and ``unit``: a physical quantity in a unit pint converts to the carrier's canonical unit (万kWh,
  亿千瓦时, 万吨, 万立方米, ...).  Standard coal (吨标准煤, tce) is refused: it is not a quantity of a carrier.
- ``status``: provisional (快报, 初步), final (最终, 最终核实) or revised (修订).  A changed figure never
  replaces one of a stronger status (provisional < final < revised): re-importing an old file cannot undo a
  revision.  A provisional figure replaces a provisional one (初步 after 快报: the later import is the later
  publication); a file whose exact bytes (SHA-256) were imported before as a release is refused when it would
  change any figure (it would revert those imported since), naming that release and when it was imported.
- ``source``: where the figure was published; simulated data says so (模拟).

All or nothing: any refused row and nothing is stored.  A changed figure supersedes the stored one, which stays as
history.  A section and some of its divisions may both be published (``industry`` and ``industry:C26``; the
tertiary total and transport): the parent must be at least the sum of its published children, checked on the
figures current after the import; the inventory then counts the children and the remainder of the parent.
"""

from __future__ import annotations

import hashlib
import math
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pint
from sqlalchemy import Connection, Engine, insert, select, text, update
from sqlmodel import Session

from carbon import codes, reference
from carbon.errors import InputError, RowIssue
from carbon.limits import long_cells, time_limits
from carbon.models import RegionalEnergy, StatsRelease
from carbon.stats_csv import read_table
from carbon.tables import beijing_time
from carbon.units import conversion_factor, finite_numbers, overflows, parse_unit

COLUMNS = ("region", "year", "sector", "carrier", "flow", "value", "unit", "status", "source")
KEY = ["region_id", "year", "sector", "carrier", "flow"]
STATUSES = {
    "provisional": "provisional", "快报": "provisional", "初步": "provisional", "初步核算": "provisional",
    "final": "final", "最终": "final", "最终核实": "final",
    "revised": "revised", "修订": "revised", "修订值": "revised",
}  # fmt: skip
# weakest first: a figure's status, and an inventory's (the weakest of the figures it used)
STATUS_ORDER = ("provisional", "final", "revised")
STATUS_LABELS = {"provisional": ("快报", "provisional"), "final": ("最终", "final"), "revised": ("修订", "revised")}
FLOWS = {"final_use": "final_use", "终端消费": "final_use", "消费量": "final_use", "net_import": "net_import",
         "净调入": "net_import", "净调入电量": "net_import"}  # fmt: skip
ROOT_SECTORS = ("agriculture", "industry", "construction", "transport", "services", "residential", "tertiary")
SERVICE_SECTIONS = tuple("FHIJKLMNOPQRST")
INDUSTRY_SECTIONS = ("B", "C", "D")
OTHER_SERVICES = tuple(s for s in SERVICE_SECTIONS if s not in "FH")
# a published part of services is a figure of its own (``services:FH``, ``services:other``, ``services:K``), so a
# revision of one part touches only that part; the inventory sums the parts where services is not published whole
SERVICE_PARTS = "services:"
# yearbook row names (NFKC-normalised, spaces removed) -> inventory sector code
SECTOR_NAMES: dict[str, str] = {
    "农、林、牧、渔业": "agriculture", "农林牧渔业": "agriculture", "第一产业": "agriculture",
    "工业": "industry", "采矿业": "industry:B", "制造业": "industry:C",
    "电力、热力、燃气及水生产和供应业": "industry:D", "建筑业": "construction",
    "交通运输、仓储和邮政业": "transport", "交通运输仓储和邮政业": "transport",
    "第三产业": "tertiary",
    "批发和零售业、住宿和餐饮业": "services:FH", "批发、零售业和住宿、餐饮业": "services:FH",
    "批发和零售业": "services:F", "住宿和餐饮业": "services:H",
    "其他": "services:other", "其他行业": "services:other", "其他服务业": "services:other",
    "居民生活": "residential", "城乡居民生活": "residential",
    "城乡居民生活用电": "residential", "生活消费": "residential",
}  # fmt: skip
_PART_CODES = {"services:fh", "services:other", *(f"services:{x.lower()}" for x in SERVICE_SECTIONS)}
ALL_SECTOR = "all"
# units yearbooks print a carrier in, by the carrier's canonical unit: the suggestion of a refused unit
UNIT_EXAMPLES = {
    "kWh": "万kWh、亿千瓦时", "GJ": "百万千焦、万百万千焦、吉焦、万吉焦、TJ", "m3": "万立方米、亿立方米",
    "t": "吨、万吨",
}  # fmt: skip
NET_IMPORT_CARRIERS = ("electricity",)
STATISTICS_CARRIERS_EXCLUDED = ("green_electricity", "electricity_exported", "electricity_generated")


@dataclass
class EnergyReport:
    """What an import of regional energy statistics did."""

    file: str
    rows_read: int = 0
    stored: int = 0
    revised: int = 0
    unchanged: int = 0
    release_id: int | None = None
    errors: list[RowIssue] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "file": self.file,
            "kind": "regional_energy",
            "rows_read": self.rows_read,
            "stored": self.stored,
            "revised": self.revised,
            "unchanged": self.unchanged,
            "release_id": self.release_id,
            "errors": [e.as_dict() for e in self.errors],
        }


def _issue(row: int, column: str, value: object, zh: str, en: str) -> RowIssue:
    return RowIssue(row, column, value, zh, en, code="regional_energy")


def _norm(text_: object) -> str:
    return unicodedata.normalize("NFKC", str(text_)).replace(" ", "").strip()


def parent_of(sector: str, published: set[str]) -> str | None:
    """The nearest published sector that contains ``sector`` (``industry:C26`` in ``industry:C``, else in
    ``industry``; transport and services in ``tertiary``), or None.  Pure."""
    if sector.startswith("industry:"):
        code = sector.split(":", 1)[1]
        if len(code) > 1 and f"industry:{code[0]}" in published:
            return f"industry:{code[0]}"
        return "industry" if "industry" in published else None
    if sector.startswith(SERVICE_PARTS):
        if "services" in published:
            return "services"
        return "tertiary" if "tertiary" in published else None
    if sector in ("transport", "services"):
        return "tertiary" if "tertiary" in published else None
    return None


def service_sections(sector: str) -> tuple[str, ...] | None:
    """The GB/T 4754 sections a part of services covers (``services:FH`` -> F, H; ``services:other`` -> all
    services sections but F and H), None for a sector that is no part of services.  Pure."""
    if not sector.startswith(SERVICE_PARTS):
        return None
    code = sector.removeprefix(SERVICE_PARTS)
    return OTHER_SERVICES if code == "other" else tuple(code)


def sector_name(sector: str, lang: str = "zh") -> str:
    """A sector code as a person reads it (``industry:C26`` -> ``C26 计算机…``, ``services:FH`` ->
    ``批发和零售业、住宿和餐饮业``; ``codes.csv`` kind ``inventory_sector``).  ``KeyError`` for an unknown code."""
    code = sector.split(":", 1)[1] if sector.startswith("industry:") else ""
    if len(code) == 3:
        name = reference.industry_divisions().loc[code[1:], "name_zh" if lang == "zh" else "name_en"]
        return f"{code} {name}"
    return codes.label("inventory_sector", sector, lang)


def merge_service_parts(figures: pd.DataFrame) -> pd.DataFrame:
    """Figures with the published parts of services (``services:FH``, ``services:other`` ...) counted once as
    ``services``: dropped where services is published whole (the import checked it is at least their sum), else
    summed into one ``services`` figure (``quantity_canonical`` summed, the weakest ``status``, the newest
    ``release_id``, the sources joined).  Other columns of a summed figure are the first part's.  Pure."""
    if figures.empty:
        return figures
    is_part = figures["sector"].str.startswith(SERVICE_PARTS)
    if not is_part.any():
        return figures
    group = ["region_id", "year", "carrier", "flow"]
    wholes = figures.loc[figures["sector"] == "services", group].drop_duplicates()
    parts = figures.loc[is_part].merge(wholes, on=group, how="left", indicator=True)
    parts = parts.loc[parts["_merge"] == "left_only"].drop(columns="_merge")
    if parts.empty:
        return figures.loc[~is_part].reset_index(drop=True)
    agg = {c: "first" for c in figures.columns if c not in group}
    agg.update({"quantity_canonical": "sum", "status": weakest_status, "sector": "first"})
    if "release_id" in figures:
        agg["release_id"] = "max"
    if "source" in figures:
        agg["source"] = lambda x: "; ".join(dict.fromkeys(x))
    summed = parts.groupby(group, as_index=False, sort=False).agg(agg).assign(sector="services")
    return pd.concat([figures.loc[~is_part], summed[figures.columns]], ignore_index=True)


def sector_code(raw: object) -> str | None:
    """The inventory sector code of a published row (``工业`` -> ``industry``, ``C26`` -> ``industry:C26``, ``其他``
    -> ``services:other``, ``K`` -> ``services:K``), or None for a row that is no inventory sector.  Pure."""
    s = _norm(raw)
    if s.lower() in ROOT_SECTORS:
        return s.lower()
    if s in SECTOR_NAMES:
        return SECTOR_NAMES[s]
    if s.lower() in _PART_CODES:
        part = s[len(SERVICE_PARTS) :]
        return SERVICE_PARTS + (part.lower() if part.lower() == "other" else part.upper())
    code = s.upper().removeprefix("INDUSTRY:")
    explicit = s.lower().startswith("industry:")
    if not code or not code[0].isalpha() or not (len(code) == 1 or (len(code) == 3 and code[1:].isdigit())):
        return None
    section = code[0]
    if len(code) == 3:
        divisions = reference.industry_divisions()
        if code[1:] not in divisions.index or divisions.loc[code[1:], "section"] != section:
            return None
    if section in INDUSTRY_SECTIONS:
        return f"industry:{code}"
    if explicit or len(code) != 1:
        return None
    if section == "A":
        return "agriculture"
    if section == "E":
        return "construction"
    if section == "G":
        return "transport"
    if section in SERVICE_SECTIONS:
        return SERVICE_PARTS + section
    return None


def _carrier(raw: object) -> str | None:
    found = reference.carrier_lookup().get(str(raw).strip().lower())
    return None if found in STATISTICS_CARRIERS_EXCLUDED else found


def _unit_factor(unit: str, canonical: str) -> tuple[float | None, str | None]:
    """(factor to the canonical unit, None) or (None, why not: ``coal_equivalent`` or ``not_a_unit``)."""
    try:
        if parse_unit(unit) in {parse_unit(u) for u in ("tce", "kgce", "wan_tce")}:
            return None, "coal_equivalent"
        return conversion_factor(unit, canonical), None
    except (ValueError, pint.errors.DimensionalityError):
        return None, "not_a_unit"


def parse_rows(df: pd.DataFrame) -> tuple[pd.DataFrame, list[RowIssue]]:
    """Rows of a regional energy file (index = file row numbers) as figures (``KEY``, quantities, status, source,
    ``rows``: the file rows a figure was read from) and every problem found.  Parts of services are added up.
    Pure (reads the reference tables)."""
    issues: list[RowIssue] = []
    rows = []
    values = finite_numbers(df["value"].astype(str).str.replace(",", "", regex=False))
    earliest, latest = time_limits()
    carriers = reference.carriers()
    jurisdictions = set(reference.JURISDICTIONS)
    for n, r in df.iterrows():
        row = int(n)
        before = len(issues)
        region = str(r["region"]).strip().lower()
        if region not in jurisdictions:
            issues.append(
                _issue(
                    row,
                    "region",
                    r["region"],
                    "地区须为 qingpu、wujiang 或 jiashan（示范区为三地之和，不单独导入）",
                    "region must be qingpu, wujiang or jiashan (the zone is their sum, not imported)",
                )
            )
        year = pd.to_numeric(r["year"], errors="coerce")
        if pd.isna(year) or year != int(year) or not earliest.year <= year < latest.year:
            issues.append(
                _issue(
                    row,
                    "year",
                    r["year"],
                    f"年份须在 {earliest.year} 至 {latest.year - 1} 之间",
                    f"year must be a year from {earliest.year} to {latest.year - 1}, such as 2024",
                )
            )
        flow = FLOWS.get(_norm(r["flow"]).lower())
        if flow is None:
            issues.append(
                _issue(
                    row,
                    "flow",
                    r["flow"],
                    "流向须为 final_use（终端消费）或 net_import（净调入）",
                    "flow must be final_use (energy consumed by the sector) or net_import (net imported electricity)",
                )
            )
        carrier = _carrier(r["carrier"])
        if carrier is None:
            issues.append(
                _issue(
                    row,
                    "carrier",
                    r["carrier"],
                    "未知或不适用于统计数据的能源品种（见 carriers.csv，如 电力、天然气、原煤）",
                    "unknown carrier, or one statistics do not publish (see carriers.csv: "
                    "electricity, natural gas, raw coal, ...)",
                )
            )
        sector = None
        if flow == "net_import":
            if _norm(r["sector"]).lower() not in ("", ALL_SECTOR, "全社会", "合计"):
                issues.append(
                    _issue(
                        row,
                        "sector",
                        r["sector"],
                        "净调入电量属于整个地区：行业请填 all 或留空",
                        "net imported electricity belongs to the whole jurisdiction: sector all or empty",
                    )
                )
            else:
                sector = ALL_SECTOR
            if carrier is not None and carrier not in NET_IMPORT_CARRIERS:
                issues.append(
                    _issue(row, "carrier", r["carrier"], "净调入只适用于电力", "net_import applies to electricity only")
                )
        elif flow == "final_use":
            found = sector_code(r["sector"])
            if found is None:
                issues.append(
                    _issue(
                        row,
                        "sector",
                        r["sector"],
                        "未知行业：填清单行业代码（agriculture、industry、industry:C26、construction、transport、services、"
                        "residential、tertiary）、GB/T 4754 门类或大类代码（如 C、C26）或年鉴行名（如 工业、居民生活）",
                        "unknown sector: give an inventory sector (agriculture, industry, industry:C26, "
                        "construction, transport, services, residential, tertiary), a GB/T 4754 section "
                        "or division (C, C26) or a yearbook row name (工业, 居民生活)",
                    )
                )
            else:
                sector = found
        too_long = long_cells(row, {"unit": r["unit"], "source": r["source"]}, "regional_energy")
        issues += too_long
        long = {i.column for i in too_long}
        value = values[n]
        if pd.isna(value) or (flow != "net_import" and value < 0):
            issues.append(
                _issue(
                    row,
                    "value",
                    r["value"],
                    "数值须为有限的数（终端消费不可为负）",
                    "value must be a finite number (final use not below zero)",
                )
            )
        factor = None
        if carrier is not None and "unit" not in long:
            canonical = carriers.loc[carrier, "canonical_unit"]
            factor, why = _unit_factor(str(r["unit"]), canonical)
            if why == "coal_equivalent":
                issues.append(
                    _issue(
                        row,
                        "unit",
                        r["unit"],
                        f"标准煤不是能源品种的实物量：请填{carriers.loc[carrier, 'name_zh']}的实物量（如 {canonical}）",
                        f"standard coal is not a quantity of the carrier: give the physical quantity "
                        f"of {carriers.loc[carrier, 'name_en']} (e.g. in {canonical})",
                    )
                )
            elif why:
                issues.append(
                    _issue(
                        row,
                        "unit",
                        r["unit"],
                        f"单位不能换算为{carriers.loc[carrier, 'name_zh']}的计量单位 {canonical}"
                        f"（如 {UNIT_EXAMPLES.get(canonical, canonical)}）",
                        f"unit does not convert to {canonical}, the unit of "
                        f"{carriers.loc[carrier, 'name_en']} (e.g. {UNIT_EXAMPLES.get(canonical, canonical)})",
                    )
                )
            elif not pd.isna(value) and overflows(value * factor):
                issues.append(
                    _issue(
                        row,
                        "value",
                        r["value"],
                        "换算后超出可表示范围，请核对数值和单位",
                        "too large once converted; check the value and its unit",
                    )
                )
        status = STATUSES.get(_norm(r["status"]).lower())
        if status is None:
            issues.append(
                _issue(
                    row,
                    "status",
                    r["status"],
                    "状态须为 快报（初步）、最终 或 修订",
                    "status must be provisional (快报), final (最终) or revised (修订)",
                )
            )
        if not str(r["source"]).strip():
            issues.append(
                _issue(
                    row,
                    "source",
                    r["source"],
                    "请注明数据来源（如 统计年鉴的表名）",
                    "give the source (e.g. the statistical yearbook table)",
                )
            )
        if len(issues) == before:
            rows.append({
                "row": row, "region_id": region, "year": int(year), "sector": sector,
                "sector_as_given": str(r["sector"]), "carrier": carrier, "flow": flow,
                "quantity_canonical": float(value) * factor,
                "quantity_original": float(value), "unit_original": str(r["unit"]).strip(), "status": status,
                "status_as_given": str(r["status"]),
                "source": str(r["source"]).strip(),
            })  # fmt: skip
    parsed = pd.DataFrame(rows, columns=["row", *KEY, "sector_as_given", "status_as_given", "quantity_canonical",
                                         "quantity_original", "unit_original", "status", "source"])  # fmt: skip
    issues += _duplicates(parsed)
    if issues:
        return parsed.iloc[0:0], issues
    return parsed, issues


def _duplicates(parsed: pd.DataFrame) -> list[RowIssue]:
    """A figure given twice in one file (same region, year, sector, carrier and flow): every row involved is named,
    its sector quoted as the file gives it."""
    issues = []
    for _, group in parsed.groupby(KEY, sort=False):
        if len(group) < 2:
            continue
        rows = ", ".join(str(r) for r in group["row"])
        for r in group.itertuples():
            issues.append(
                _issue(
                    int(r.row),
                    "sector",
                    r.sector_as_given,
                    f"同一数字在本文件中出现多次（第 {rows} 行：同一地区、年份、行业、品种和流向），请只保留一行",
                    f"the same figure is given more than once in this file (rows {rows}: same region, year, "
                    f"sector, carrier and flow); keep one",
                )
            )
    return issues


def amount_text(quantity: float, carrier: str) -> str:
    """A quantity in the carrier's canonical unit as a person reads it: grouped digits, no scientific notation
    (``11,000,000 m3``).  Pure."""
    unit = reference.carriers().loc[carrier, "canonical_unit"]
    text_ = f"{quantity:,.6f}".rstrip("0").rstrip(".")
    return f"{text_} {unit}"


def _where(region: str, year: int, carrier: str, lang: str) -> str:
    carriers = reference.carriers()
    if lang == "zh":
        return f"{reference.regions().loc[region, 'name_zh']} {year}年 {carriers.loc[carrier, 'name_zh']}"
    return f"{reference.regions().loc[region, 'name_en']} {year} {carriers.loc[carrier, 'name_en']}"


def hierarchy_issues(figures: pd.DataFrame, rows: pd.Series | None = None) -> list[RowIssue]:
    """Where a published parent (``industry``, ``industry:C``, ``services``, ``tertiary``) is smaller than the sum
    of its published children, or two published parts of services overlap (``批发和零售业`` and
    ``批发和零售业、住宿和餐饮业``), per region, year, carrier and flow.  ``figures`` has ``KEY`` and
    ``quantity_canonical`` (the figures current after an import); ``rows`` (same index) names the file row of each
    figure, or None for a stored one.  Messages name sectors, carriers and jurisdictions by their labels and
    quantities in the carrier's unit.  Pure."""
    issues = []

    def file_row(g: pd.DataFrame, sectors: list[str]) -> int:
        involved = [g.index[g["sector"] == s][0] for s in sectors]
        from_file = [] if rows is None else [int(rows[i]) for i in involved if not pd.isna(rows.get(i))]
        return from_file[0] if from_file else 0

    for (region, year, carrier, _), g in figures.groupby(["region_id", "year", "carrier", "flow"]):
        published = set(g["sector"])
        q = g.set_index("sector")["quantity_canonical"]
        children: dict[str, list[str]] = {}
        for s in published:
            p = parent_of(s, published)
            if p is not None:
                children.setdefault(p, []).append(s)
        for p, kids in children.items():
            total = float(q[kids].sum())
            if total > q[p] and not math.isclose(total, q[p], rel_tol=1e-9):
                kids = sorted(kids)
                issues.append(
                    _issue(
                        file_row(g, [p, *kids]),
                        "value",
                        amount_text(float(q[p]), carrier),
                        f"{_where(region, year, carrier, 'zh')}：{sector_name(p)}"
                        f"（{amount_text(float(q[p]), carrier)}）"
                        f"小于其已公布的细分行业之和（{'、'.join(sector_name(k) for k in kids)}："
                        f"{amount_text(total, carrier)}），请核对",
                        f"{_where(region, year, carrier, 'en')}: {sector_name(p, 'en')} "
                        f"({amount_text(float(q[p]), carrier)}) is smaller than the sum of its published parts "
                        f"({', '.join(sector_name(k, 'en') for k in kids)}: {amount_text(total, carrier)}); "
                        "check the figures",
                    )
                )
        parts = sorted(s for s in published if s.startswith(SERVICE_PARTS))
        for i, a in enumerate(parts):
            for b in parts[i + 1 :]:
                if set(service_sections(a) or ()) & set(service_sections(b) or ()):
                    issues.append(
                        _issue(
                            file_row(g, [a, b]),
                            "sector",
                            sector_name(b),
                            f"{_where(region, year, carrier, 'zh')}：{sector_name(a)} 与 {sector_name(b)} 有重叠的"
                            "行业，同时存在会重复计算；请只保留一种口径",
                            f"{_where(region, year, carrier, 'en')}: {sector_name(a, 'en')} and "
                            f"{sector_name(b, 'en')} overlap and would count twice; keep one breakdown",
                        )
                    )
    return issues


def read_file(path: Path) -> pd.DataFrame:
    """The file's rows as text, indexed by file row (header = row 1; ``carbon.stats_csv.read_table``)."""
    return read_table(path)


def current_figures(
    conn_or_engine: Engine | Connection, regions: list[str] | None = None, years: list[int] | None = None
) -> pd.DataFrame:
    """The current (not superseded) regional energy figures with their release: ``id``, ``release_id``, ``KEY``,
    ``quantity_canonical`` (the carrier's canonical unit), ``quantity_original``, ``unit_original``, ``status``,
    ``source``."""
    stmt = select(
        RegionalEnergy.id,
        RegionalEnergy.release_id,
        RegionalEnergy.region_id,
        RegionalEnergy.year,
        RegionalEnergy.sector,
        RegionalEnergy.carrier,
        RegionalEnergy.flow,
        RegionalEnergy.quantity_canonical,
        RegionalEnergy.quantity_original,
        RegionalEnergy.unit_original,
        RegionalEnergy.status,
        RegionalEnergy.source,
    ).where(RegionalEnergy.superseded_at.is_(None))
    if regions is not None:
        stmt = stmt.where(RegionalEnergy.region_id.in_(regions))
    if years is not None:
        stmt = stmt.where(RegionalEnergy.year.in_(years))
    if isinstance(conn_or_engine, Engine):
        with conn_or_engine.connect() as conn:
            return pd.read_sql(stmt, conn)
    return pd.read_sql(stmt, conn_or_engine)


def figure_history(engine: Engine, region: str, year: int) -> pd.DataFrame:
    """Every stored figure of a jurisdiction and year, current and superseded, with its release (``KEY``,
    quantities, ``status``, ``source``, ``release_id``, ``imported_at``, ``superseded_at``), oldest first."""
    stmt = (
        select(RegionalEnergy, StatsRelease.imported_at, StatsRelease.file_name)
        .join(StatsRelease, StatsRelease.id == RegionalEnergy.release_id)
        .where(RegionalEnergy.region_id == region, RegionalEnergy.year == year)
        .order_by(RegionalEnergy.id)
    )
    with Session(engine) as session:
        rows = session.exec(stmt).all()
    out = pd.DataFrame(
        [{**r[0].model_dump(), "imported_at": r[1], "file_name": r[2]} for r in rows],
        columns=["id", "release_id", *KEY, "quantity_canonical", "quantity_original", "unit_original", "status",
                 "source", "superseded_at", "imported_at", "file_name"],
    )  # fmt: skip
    return out


def import_regional_energy(engine: Engine, path: Path, now: datetime | None = None) -> EnergyReport:
    """Import a regional energy file (header ``COLUMNS``); nothing is stored if any row is refused (the report
    lists every problem).  New and changed figures are stored under one new release (``stats_release``: the file's
    name and SHA-256); a changed figure supersedes the stored one.  Serialised against another import (PostgreSQL:
    an advisory lock; SQLite: the write lock the release row takes), so two imports never both store a figure."""
    now = now or datetime.now(UTC)
    data = path.read_bytes()
    df = read_file(path)
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise InputError(f"缺少列：{', '.join(missing)}", f"Missing columns: {', '.join(missing)}", file=path.name)
    report = EnergyReport(file=str(path), rows_read=len(df))
    parsed, report.errors = parse_rows(df)
    if report.errors:
        return report
    with engine.connect() as conn, conn.begin() as transaction:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('regional_energy'))"))
        digest = hashlib.sha256(data).hexdigest()
        release_id = conn.execute(
            insert(StatsRelease).values(file_name=path.name, sha256=digest, imported_at=now)
        ).inserted_primary_key[0]
        current = current_figures(conn, sorted(set(parsed["region_id"])), sorted(set(parsed["year"])))
        merged = parsed.merge(
            current[["id", *KEY, "quantity_canonical", "status"]].rename(
                columns={"quantity_canonical": "old_quantity", "status": "old_status"}
            ),
            on=KEY, how="left",
        )  # fmt: skip
        rank = {s: i for i, s in enumerate(STATUS_ORDER)}
        changed = merged["old_quantity"].notna() & (
            (merged["old_quantity"] != merged["quantity_canonical"]) | (merged["old_status"] != merged["status"])
        )
        downgrade = changed & (merged["status"].map(rank) < merged["old_status"].map(rank))
        for r in merged.loc[downgrade].itertuples():
            old_zh, old_en = STATUS_LABELS[r.old_status]
            report.errors.append(
                _issue(
                    int(r.row),
                    "status",
                    r.status_as_given,
                    f"{sector_name(r.sector)} {reference.carriers().loc[r.carrier, 'name_zh']}：已存有{old_zh}数字"
                    f"（{amount_text(r.old_quantity, r.carrier)}），“{r.status_as_given}”"
                    f"（{STATUS_LABELS[r.status][0]}）数字不能取代它：修订请填 修订（revised）",
                    f"{sector_name(r.sector, 'en')} {reference.carriers().loc[r.carrier, 'name_en']}: a {old_en} "
                    f"figure is stored ({amount_text(r.old_quantity, r.carrier)}); “{r.status_as_given}” "
                    f"({STATUS_LABELS[r.status][1]}) cannot replace it: give a revision the status revised (修订)",
                )
            )
        same = (
            merged["old_quantity"].notna()
            & (merged["old_quantity"] == merged["quantity_canonical"])
            & (merged["old_status"] == merged["status"])
        )
        revised = merged["old_quantity"].notna() & ~same
        after = pd.concat(
            [current.loc[~current["id"].isin(merged.loc[revised, "id"])], merged.loc[~same]], ignore_index=True
        ).drop_duplicates(KEY, keep="last")
        after = after.reset_index(drop=True)
        report.errors += hierarchy_issues(after, after.get("row"))
        if not report.errors and (~same).any():
            earlier = conn.execute(
                select(StatsRelease.id, StatsRelease.file_name, StatsRelease.imported_at)
                .where(StatsRelease.sha256 == digest, StatsRelease.id != release_id)
                .order_by(StatsRelease.id)
                .limit(1)
            ).first()
            if earlier is not None:
                transaction.rollback()
                when = beijing_time(earlier.imported_at)
                raise InputError(
                    f"本文件与批次 {earlier.id}（{earlier.file_name}，{when} 导入）逐字节相同（SHA-256），但再次导入会"
                    f"改动 {int((~same).sum())} 个数字：其后导入的数字会被旧文件改回。未导入；如确需更正，请另存一份"
                    "修订文件（状态填 修订）",
                    f"this file is byte for byte (SHA-256) the one imported as release {earlier.id} "
                    f"({earlier.file_name}, {when}), yet importing it again would change {int((~same).sum())} "
                    "figure(s): figures imported since would revert to the old file's.  Nothing imported; to "
                    "correct a figure, import a revision file (status revised, 修订)",
                    file=path.name,
                )
        if report.errors or not (~same).any():
            transaction.rollback()
            report.unchanged = 0 if report.errors else int(same.sum())
            return report
        ids = merged.loc[revised, "id"].astype(int).tolist()
        if ids:
            conn.execute(update(RegionalEnergy).where(RegionalEnergy.id.in_(ids)).values(superseded_at=now))
        new = merged.loc[~same, [*KEY, "quantity_canonical", "quantity_original", "unit_original", "status", "source"]]
        conn.execute(insert(RegionalEnergy), new.assign(release_id=release_id).to_dict("records"))
    report.stored, report.revised, report.unchanged = len(new), int(revised.sum()), int(same.sum())
    report.release_id = int(release_id)
    return report


def weakest_status(statuses: pd.Series | list[str]) -> str | None:
    """The weakest of figures' statuses (provisional < final < revised), None for none.  Pure."""
    known = [s for s in statuses if s in STATUS_ORDER]
    return min(known, key=STATUS_ORDER.index) if known else None
