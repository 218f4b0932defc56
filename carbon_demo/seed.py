"""A seeded demo zone (模拟数据): synthetic enterprises and meter data run through the real pipeline.

All numbers generated here are simulated and labelled so; nothing here is a fact about the world.

What it holds (``per_region`` enterprises in each jurisdiction, 100 by default):

- enterprises spread over ``PROFILES`` (GB/T 4754-2017 classes), sized by a lognormal draw so that a few are big
  emitters and most are small, most slowly falling and some rising; monthly template uploads 2020–2025;
- simulated GDP of the jurisdictions and value added of every enterprise;
- one month (2025-11, local time) of 15-minute electricity on a second meter ``E-02`` of six enterprises;
- data-quality problems to find, all through the real importer (``demo_problems`` lists them): missing months,
  uploads with refused rows stored with ``accept_valid``, a correction, a spike, a gap in 15-minute data,
  enterprises with no 2025 submission, and an unhealthy connector;
- a cross-jurisdiction site: ``SITE_AT`` (a Qingpu enterprise) has a plant ``SITE_NAME`` in Wujiang with its own
  meter ``SITE_METER`` (``demo_site``), so that electricity counts in Wujiang at Jiangsu's factor;
- grid accounts of the ``carbon_demo.grid.GRID_AT`` enterprises and the utility's 2025 statements from their true
  electricity (``true_electricity``), with planted discrepancies and a missing statement;
- simulated regional energy statistics built from the settled results (``carbon_demo.regional``), with a revision
  and two planted reconciliation alerts, so that the regional targets are assessed on the inventory with its band.

``run_demo`` returns the summary (``format_summary`` prints it): figures by jurisdiction and sector, the targets of
the zone and the jurisdictions on the inventory (status, intensity with its 95 % band, the path), the
reconciliation alerts, the grid discrepancies and agreement, the site, the grades, the problems and the accounts.

Every enterprise's data comes from its own seeded generator, so the first enterprises of a small demo are the
same as those of a large one and a second run stores nothing new.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine
from sqlmodel import Session, select
from tqdm import tqdm

from carbon import codes, db, fields, reference
from carbon.analytics.coverage import reconciliation
from carbon.analytics.grades import grade_year
from carbon.analytics.grid_reconciliation import grid_reconciliation
from carbon.analytics.inventory import sector_label
from carbon.analytics.progress import progress, target_title
from carbon.enterprises import add_enterprise
from carbon.errors import InputError
from carbon.export import write_csv
from carbon.factor_choice import BASES
from carbon.flags import describe
from carbon.intake import receive_files, settle
from carbon.ledger import stored_result
from carbon.models import Enterprise, UserAccount
from carbon.sites import add_site, assign_meter, list_sites
from carbon.stats import import_stats
from carbon.tables import num, render
from carbon.uscc import check_character
from carbon.users import add_user
from carbon_demo.grid import GRID_AT, seed_grid
from carbon_demo.regional import seed_energy_statistics
from connectors import state as connector_state

DEMO_URL = "sqlite:///carbon-demo.db"
DEMO_TAG = "（模拟）"
FIRST_YEAR, LAST_YEAR = 2020, 2025
PER_REGION = 100
DEMO_SOURCE = "模拟数据 / simulated (carbon demo)"
# Sign-in accounts of the demo database only (a real database gets its accounts from ``carbon user add``).
DEMO_PASSWORD = "demo-password"
DEMO_ACCOUNTS = {  # username: (role, region); enterprise-demo belongs to the first demo enterprise
    "zone-demo": ("zone", None),
    "qingpu-demo": ("region", "qingpu"),
    "wujiang-demo": ("region", "wujiang"),
    "jiashan-demo": ("region", "jiashan"),
    "enterprise-demo": ("enterprise", None),
}
INTERVAL_MONTH = "2025-11"  # the month of 15-minute data (local time)
INTERVAL_METER = "E-02"
INTERVAL_SHARE = 0.35  # share of the site's electricity on the 15-minute sub-feeder meter E-02
# (industry code, name stem, monthly electricity kWh, fuel carrier, monthly fuel quantity, unit, heat GJ/month,
#  value added 10^4 CNY/year) of an enterprise of size 1; sizes are drawn per enterprise
PROFILES = [
    ("2614", "化工材料", 1_800_000, "natural_gas", 90_000, "m3", 0, 30_000),
    ("3130", "特钢制品", 2_500_000, "natural_gas", 60_000, "m3", 0, 25_000),
    ("1713", "纺织印染", 900_000, "natural_gas", 45_000, "m3", 3_000, 12_000),
    ("3982", "电子元件", 1_200_000, None, 0, "", 0, 60_000),
    ("2927", "塑料制品", 600_000, None, 0, "", 500, 10_000),
    ("5430", "物流运输", 60_000, "diesel", 80, "t", 0, 5_000),
    ("4710", "建筑工程", 40_000, "diesel", 25, "t", 0, 8_000),
    ("7010", "商业地产", 350_000, "natural_gas", 8_000, "m3", 1_200, 6_000),
    ("6110", "酒店服务", 200_000, "natural_gas", 12_000, "m3", 0, 4_000),
    ("0141", "设施农业", 30_000, "diesel", 5, "t", 0, 800),
    ("4430", "热电供应", 500_000, "bituminous_coal", 2_500, "t", 0, 15_000),
    ("3670", "汽车零部件", 1_500_000, "natural_gas", 20_000, "m3", 0, 40_000),
    ("2221", "纸业", 1_400_000, "natural_gas", 70_000, "m3", 4_000, 15_000),
    ("3041", "玻璃制品", 1_000_000, "natural_gas", 150_000, "m3", 0, 12_000),
    ("2710", "制药", 700_000, "natural_gas", 25_000, "m3", 2_000, 50_000),
    ("5211", "百货商场", 250_000, None, 0, "", 0, 5_000),
    ("8411", "医院", 300_000, "natural_gas", 10_000, "m3", 500, 10_000),
    ("6450", "数据服务", 3_000_000, "diesel", 2, "t", 0, 20_000),
]
BRANDS = [
    "恒丰",
    "金泰",
    "华创",
    "永盛",
    "新宇",
    "瑞达",
    "德润",
    "宏远",
    "嘉禾",
    "天成",
    "明辉",
    "盛达",
    "欣荣",
    "立信",
    "博远",
    "中和",
    "长安",
    "锦程",
    "汇通",
    "同力",
]
DEMO_CONNECTORS = {  # simulated connector states for the health page: one healthy, one failing
    "demo-mqtt-meters": "mqtt",
    "demo-energy-platform": "http_api",
}
DEMO_CONNECTOR_ERROR = "HTTP 503 from platform (模拟 / simulated): service unavailable"


@dataclass(frozen=True)
class DemoEnterprise:
    """One simulated enterprise: ``j`` indexes its jurisdiction, ``k`` its place within it."""

    j: int
    k: int
    code: str
    name: str
    region: str
    industry: str
    profile: int

    @property
    def fields(self) -> dict[str, str]:
        return {"code": self.code, "name": self.name, "region": self.region, "industry": self.industry}


@dataclass(frozen=True)
class DemoUpload:
    """One file to ingest for one enterprise, in order (``accept_valid`` keeps the good rows of a refused file)."""

    enterprise: str
    path: Path
    accept_valid: bool = False


# Data-quality problems, by (jurisdiction index, enterprise index within it); each applies if the enterprise exists.
INTERVAL_AT = [(j, k) for j in range(3) for k in (0, 1)]
INTERVAL_GAP_AT = (0, 1)  # five hours missing in its 15-minute month
SPIKE_AT = (1, 1)  # E-01 of 2024-08 at 15x
CORRECTION_AT = (1, 0)  # E-01 of 2025-03 re-uploaded with a different value
REJECTS_AT = [(0, 0), (2, 1)]  # 2025 Q4 uploaded apart with three bad rows, good rows kept (accept_valid)
MISSING_MONTHS_AT = [(0, 2), (1, 2), (2, 2), (0, 3)]  # nothing for 2025-07..09
MISSING_MONTHS = ("2025-07-01", "2025-10-01")
NO_2025_AT = [(1, 3), (2, 3)]  # no submission for 2025 at all
SPIKE_MONTH, SPIKE_FACTOR = "2024-08-01", 15
CORRECTION_MONTH, CORRECTION_FACTOR = "2025-03-01", 1.08
# the cross-jurisdiction site: a Qingpu enterprise's plant in Wujiang, with its own electricity meter
SITE_AT, SITE_NAME, SITE_REGION, SITE_METER, SITE_SHARE = (0, 0), "吴江厂区（模拟）", "wujiang", "E-03", 0.4


def demo_uscc(admin_code: str, serial: int) -> str:
    """A syntactically valid USCC for a demo enterprise (registration authority 9, type 1)."""
    first17 = f"91{admin_code}{serial:08d}0"
    return first17 + check_character(first17)


def demo_enterprises(per_region: int = PER_REGION) -> list[DemoEnterprise]:
    """The simulated enterprises, ``per_region`` in each jurisdiction, profiles taken in turn."""
    regions = reference.regions()
    out = []
    for j, region in enumerate(reference.JURISDICTIONS):
        place = regions.loc[region, "name_zh"][-3:]
        for k in range(per_region):
            p = k % len(PROFILES)
            industry, stem = PROFILES[p][:2]
            brand = BRANDS[(k // len(PROFILES)) % len(BRANDS)]
            extra = "" if k < len(PROFILES) * len(BRANDS) else str(k // (len(PROFILES) * len(BRANDS)) + 1)
            name = f"{place}{brand}{stem}{extra}有限公司{DEMO_TAG}"
            code = demo_uscc(regions.loc[region, "admin_code"], 1000 * j + k + 1)
            out.append(DemoEnterprise(j, k, code, name, region, industry, p))
    return out


def _at(ents: list[DemoEnterprise], where: list[tuple[int, int]]) -> list[DemoEnterprise]:
    by_place = {(e.j, e.k): e for e in ents}
    return [by_place[w] for w in where if w in by_place]


def _draws(e: DemoEnterprise) -> tuple[np.random.Generator, float, float]:
    """The enterprise's own generator, its size (lognormal: a few big, many small) and its yearly trend."""
    rng = np.random.default_rng(1000 * e.j + e.k)
    size = float(rng.lognormal(-0.3, 0.85))
    rising = rng.uniform() < 0.2
    trend = float(rng.uniform(0.01, 0.06) if rising else rng.uniform(-0.05, -0.005))
    return rng, size, trend


def _months() -> int:
    return (LAST_YEAR - FIRST_YEAR + 1) * 12


def _monthly(rng: np.random.Generator, base: float, trend: float) -> np.ndarray:
    """Monthly quantities: winter and summer peaks, a Spring Festival dip, a yearly trend, noise."""
    m = np.arange(_months())
    season = 1 + 0.08 * np.cos(m * 4 * np.pi / 12) + 0.04 * np.cos(m * 2 * np.pi / 12)
    season = season * np.where(m % 12 == 1, 0.8, 1.0)
    return base * season * (1 + trend) ** (m / 12) * rng.normal(1, 0.04, len(m))


def _template_rows(meter: str, carrier: str, qty: np.ndarray, unit: str, bimonthly: bool) -> pd.DataFrame:
    start = pd.date_range(f"{FIRST_YEAR}-01-01", periods=len(qty), freq="MS")
    end = start + pd.offsets.MonthBegin(1)
    if bimonthly:  # gas bills read mid-month every two months: periods cross month ends
        start = pd.date_range(f"{FIRST_YEAR - 1}-12-01", periods=len(qty) // 2, freq="2MS") + pd.Timedelta(days=14)
        end = start + pd.DateOffset(months=2)
        qty = qty.reshape(-1, 2).sum(axis=1)
    return pd.DataFrame(
        {
            "表号": meter,
            "能源品种": carrier,
            "开始时间": start.strftime("%Y-%m-%d"),
            "结束时间": end.strftime("%Y-%m-%d"),
            "用量": np.round(qty, 2),
            "单位": unit,
        }
    )


def _load_shape(rng: np.random.Generator, total_kwh: float) -> pd.DataFrame:
    """15-minute electricity of one month: night base, day shifts with a lunch dip, quieter weekends; sums to total."""
    t = pd.date_range(
        f"{INTERVAL_MONTH}-01",
        pd.Timestamp(f"{INTERVAL_MONTH}-01") + pd.offsets.MonthBegin(1),
        freq="15min",
        inclusive="left",
    )
    h = (t.hour + t.minute / 60).to_numpy()
    day = 1 / (1 + np.exp(-(h - 7.5) * 3)) - 1 / (1 + np.exp(-(h - 18.5) * 2))
    lunch = 0.25 * np.exp(-(((h - 12.25) / 0.5) ** 2))
    shape = 0.4 + 0.6 * day - lunch
    dow = t.day_of_week.to_numpy()
    weekday = np.select([dow == 5, dow == 6], [0.75, 0.55], 1.0)
    kwh = shape * weekday * rng.normal(1, 0.03, len(t))
    kwh = kwh / kwh.sum() * total_kwh
    return pd.DataFrame({"时间": t.strftime("%Y-%m-%d %H:%M"), "表号": INTERVAL_METER, "用量(kWh)": np.round(kwh, 3)})


def _files_of(e: DemoEnterprise, folder: Path, problems: dict[str, set[str]]) -> list[DemoUpload]:
    """Write the files of one enterprise (template CSV, and where it applies 15-minute, Q4 and correction files)."""
    _industry, _stem, kwh, fuel, fuel_q, fuel_unit, heat, _va = PROFILES[e.profile]
    rng, size, trend = _draws(e)
    carriers = reference.carriers()
    interval = e.code in problems["interval"]
    electricity = _monthly(rng, kwh * size, trend)
    parts = [_template_rows("E-01", "电力", electricity * (1 - INTERVAL_SHARE if interval else 1), "kWh", False)]
    if e.k % 5 == 0:
        parts.append(_template_rows("E-GREEN", "绿色电力", _monthly(rng, kwh * size * 0.2, 0.05), "kWh", False))
    if fuel:
        name = carriers.loc[fuel, "name_zh"]
        parts.append(
            _template_rows("F-01", name, _monthly(rng, fuel_q * size, trend), fuel_unit, fuel == "natural_gas")
        )
    if heat:
        parts.append(_template_rows("H-01", "热力", _monthly(rng, heat * size, trend), "GJ", False))
    if e.code in problems["site"]:  # the plant in another jurisdiction: its own generator, the others' draws unchanged
        site = _monthly(np.random.default_rng(5_000_000 + 1000 * e.j + e.k), kwh * size * SITE_SHARE, trend)
        parts.append(_template_rows(SITE_METER, "电力", site, "kWh", False))
    uploads = []
    if interval:
        sub = _template_rows(INTERVAL_METER, "电力", electricity * INTERVAL_SHARE, "kWh", False)
        in_month = sub["开始时间"] == f"{INTERVAL_MONTH}-01"
        curve = _load_shape(rng, float(sub.loc[in_month, "用量"].iloc[0]))
        if e.code in problems["interval_gap"]:  # five hours lost by the meter's data logger
            curve = curve.loc[~curve["时间"].between(f"{INTERVAL_MONTH}-12 09:00", f"{INTERVAL_MONTH}-12 13:45")]
        parts.append(sub.loc[~in_month])
        path = folder / f"{e.code}-{INTERVAL_METER}-{INTERVAL_MONTH}-15min.csv"
        write_csv(curve, path, title=f"{e.name} {INTERVAL_METER} 15分钟电量导出（模拟数据 / simulated）")
        uploads.append(DemoUpload(e.code, path))
    rows = pd.concat(parts, ignore_index=True)
    if e.code in problems["spike"]:
        hit = (rows["表号"] == "E-01") & (rows["开始时间"] == SPIKE_MONTH)
        rows.loc[hit, "用量"] = (rows.loc[hit, "用量"] * SPIKE_FACTOR).round(2)
    if e.code in problems["missing_months"]:
        lo, hi = MISSING_MONTHS
        rows = rows.loc[(rows["结束时间"] <= lo) | (rows["开始时间"] >= hi)]
    if e.code in problems["no_2025"]:
        rows = rows.loc[rows["结束时间"] <= f"{LAST_YEAR}-01-01"]
    main = folder / f"{e.code}.csv"
    if e.code in problems["rejects"]:  # 2025 Q4 sent apart, with three rows to fix
        q4 = rows["开始时间"] >= f"{LAST_YEAR}-10-01"
        late, rows = rows.loc[q4].copy(), rows.loc[~q4]
        e01 = late.index[late["表号"] == "E-01"]
        late.loc[e01[0], "用量"] = -late.loc[e01[0], "用量"]  # negative consumption
        late.loc[e01[1], "单位"] = "千瓦"  # kW, not kWh: power, not energy
        late.loc[e01[2], ["开始时间", "结束时间"]] = late.loc[e01[2], ["结束时间", "开始时间"]].to_numpy()
        late_path = folder / f"{e.code}-{LAST_YEAR}Q4.csv"
        write_csv(late, late_path)
    write_csv(rows, main)
    uploads.insert(0, DemoUpload(e.code, main))
    if e.code in problems["rejects"]:
        uploads.append(DemoUpload(e.code, late_path, accept_valid=True))
    if e.code in problems["correction"]:  # the March bill re-issued: a different value supersedes the stored one
        fix = rows.loc[(rows["表号"] == "E-01") & (rows["开始时间"] == CORRECTION_MONTH)].copy()
        fix["用量"] = (fix["用量"] * CORRECTION_FACTOR).round(2)
        fix_path = folder / f"{e.code}-correction-{CORRECTION_MONTH[:7]}.csv"
        write_csv(fix, fix_path)
        uploads.append(DemoUpload(e.code, fix_path))
    return uploads


def true_electricity(e: DemoEnterprise, problems: dict[str, set[str]]) -> pd.DataFrame:
    """What the utility's meter of an enterprise's grid account sees: the enterprise's electricity behind its
    account (``E-01`` and, where it has one, ``E-02``; the site meter ``E-03`` is on another grid), per calendar
    month (``start``, ``end``: local timestamps; ``kwh``), the March correction included: the same draws as
    ``_files_of``, before the planted upload problems."""
    kwh = PROFILES[e.profile][2]
    rng, size, trend = _draws(e)
    electricity = _monthly(rng, kwh * size, trend)
    start = pd.date_range(f"{FIRST_YEAR}-01-01", periods=len(electricity), freq="MS")
    if e.code in problems["correction"]:
        main = 1 - INTERVAL_SHARE if e.code in problems["interval"] else 1
        electricity = electricity + np.where(start == CORRECTION_MONTH, electricity * main * (CORRECTION_FACTOR - 1), 0)
    return pd.DataFrame({"start": start, "end": start + pd.offsets.MonthBegin(1), "kwh": electricity})


def grid_inputs(ents: list[DemoEnterprise], problems: dict[str, set[str]]) -> list[tuple]:
    """(j, k, USCC, name, meters behind the account, ``true_electricity``) of the ``GRID_AT`` enterprises."""
    return [
        (e.j, e.k, e.code, e.name, ["E-01", *([INTERVAL_METER] if e.code in problems["interval"] else [])],
         true_electricity(e, problems))
        for e in _at(ents, GRID_AT)
    ]  # fmt: skip


def demo_site(engine: Engine, ents: list[DemoEnterprise]) -> int | None:
    """The cross-jurisdiction site (厂区) of ``SITE_AT`` in ``SITE_REGION`` with its meter ``SITE_METER``, if the
    enterprise exists: registered once, the meter assigned (the recalculation owed is paid by ``settle``).  Returns
    the site's id."""
    found = _at(ents, [SITE_AT])
    if not found:
        return None
    code = found[0].code
    sites = list_sites(engine, enterprise=code)
    mine = sites.loc[sites["name"] == SITE_NAME, "site_id"]
    if len(mine):
        site_id = int(mine.iloc[0])
    else:
        site_id = int(add_site(engine, enterprise=code, name=SITE_NAME, region=SITE_REGION).id)
    assign_meter(engine, enterprise=code, meter=SITE_METER, site_id=site_id)
    return site_id


def problem_enterprises(per_region: int = PER_REGION) -> dict[str, set[str]]:
    """USCCs of the enterprises carrying each simulated data-quality problem (and the 15-minute meters)."""
    ents = demo_enterprises(per_region)

    def pick(where: list[tuple[int, int]]) -> set[str]:
        return {e.code for e in _at(ents, where)}

    return {
        "interval": pick(INTERVAL_AT),
        "interval_gap": pick([INTERVAL_GAP_AT]),
        "spike": pick([SPIKE_AT]),
        "correction": pick([CORRECTION_AT]),
        "rejects": pick(REJECTS_AT),
        "missing_months": pick(MISSING_MONTHS_AT),
        "no_2025": pick(NO_2025_AT),
        "site": pick([SITE_AT]),
        "grid": pick(GRID_AT),
    }


def demo_problems(per_region: int = PER_REGION) -> list[str]:
    """The simulated data-quality problems, one short bilingual line each, naming the enterprises."""
    ents = {e.code: e.name for e in demo_enterprises(per_region)}
    p = problem_enterprises(per_region)

    def names(kind: str) -> str:
        return "、".join(ents[c] for c in sorted(p[kind])) or "-"

    lines = [
        f"缺月：{names('missing_months')} 缺 2025年7–9月数据 / missing months 2025-07..09",
        f"整年未报：{names('no_2025')} 未提交2025年数据 / no submission for {LAST_YEAR}",
        f"退回行：{names('rejects')} 的 {LAST_YEAR}年四季度上传含负用量、功率单位（千瓦）、结束早于开始各一行，"
        "合格行已入库 / refused rows (negative, power unit kW, end before start) kept with accept_valid",
        f"更正：{names('correction')} 重新上传 {CORRECTION_MONTH[:7]} 电量（+8%），原值保留为历史 / "
        "a correction superseded a stored row",
        f"异常峰值：{names('spike')} 电表 E-01 {SPIKE_MONTH[:7]} 用量为常见水平的 {SPIKE_FACTOR} 倍 / "
        "spike warning (>10x median)",
        f"15分钟数据缺口：{names('interval_gap')} 表 {INTERVAL_METER} {INTERVAL_MONTH}-12 09:00–14:00 缺5小时 / "
        "a 5-hour gap in 15-minute data",
        "接入异常：demo-energy-platform 连续3次失败（HTTP 503），不健康；demo-mqtt-meters 正常 / "
        "connector demo-energy-platform unhealthy after 3 failures",
    ]
    return [line for line in lines if "：-" not in line]


def demo_files(folder: Path, per_region: int = PER_REGION) -> tuple[list[DemoEnterprise], list[DemoUpload]]:
    """Write every demo file into ``folder``; return the enterprises and the uploads in ingest order."""
    folder.mkdir(parents=True, exist_ok=True)
    ents = demo_enterprises(per_region)
    problems = problem_enterprises(per_region)
    return ents, [u for e in ents for u in _files_of(e, folder, problems)]


def demo_statistics(ents: list[DemoEnterprise]) -> pd.DataFrame:
    """Simulated GDP of the jurisdictions and value added of the demo enterprises, 2020 to the last demo year."""
    rows = []
    years = list(range(FIRST_YEAR, LAST_YEAR + 1))
    for j, region in enumerate(reference.JURISDICTIONS):
        for k, year in enumerate(years):
            rows.append(
                {
                    "subject": region,
                    "year": year,
                    "indicator": "gdp",
                    "value": round((1000 + 150 * j) * 1.055**k),
                    "unit": "亿元",
                    "status": "final",
                    "source": DEMO_SOURCE,
                }
            )
    for e in ents:
        _rng, size, trend = _draws(e)
        rng = np.random.default_rng(7_000_000 + 1000 * e.j + e.k)
        base = PROFILES[e.profile][7] * size * rng.lognormal(0, 0.35)
        growth = 1.03 + max(trend, 0) + rng.uniform(0, 0.03)  # value added grows faster than energy use
        for k, year in enumerate(years):
            rows.append(
                {
                    "subject": e.code,
                    "year": year,
                    "indicator": "value_added",
                    "value": round(base * growth**k, 1),
                    "unit": "万元",
                    "status": "final",
                    "source": DEMO_SOURCE,
                }
            )
    return pd.DataFrame(rows)


def record_demo_connectors(engine: Engine, now: datetime | None = None) -> None:
    """Simulated connector health: ``demo-mqtt-meters`` healthy, ``demo-energy-platform`` failing three times."""
    now = now or datetime.now(UTC)
    for name, kind in DEMO_CONNECTORS.items():
        connector_state.load_state(engine, name, kind)
    connector_state.record_success(
        engine,
        "demo-mqtt-meters",
        watermark=(now - timedelta(minutes=15)).isoformat(timespec="seconds"),
        stored=2_880,
        duplicates=12,
        quarantined=0,
        newest=now - timedelta(minutes=15),
        now=now - timedelta(minutes=5),
    )
    connector_state.record_success(
        engine,
        "demo-energy-platform",
        watermark=(now - timedelta(days=2)).isoformat(timespec="seconds"),
        stored=1_440,
        duplicates=0,
        quarantined=0,
        newest=now - timedelta(days=2),
        now=now - timedelta(days=2),
    )
    for hours in (3, 2, 1):
        connector_state.record_failure(
            engine,
            "demo-energy-platform",
            DEMO_CONNECTOR_ERROR,
            now - timedelta(hours=hours),
            connector_state.UNHEALTHY_AFTER,
        )


def demo_account_list(enterprise: str) -> list[tuple[str, str, str]]:
    """(username, role, scope) of the demo accounts; ``enterprise`` is the enterprise user's USCC."""
    return [
        (name, role, region or (enterprise if role == "enterprise" else ""))
        for name, (role, region) in DEMO_ACCOUNTS.items()
    ]


def demo_accounts(engine: Engine, enterprise: str) -> None:
    """Create the demo sign-in accounts if missing: zone and jurisdiction staff, and one enterprise user."""
    with Session(engine) as session:
        have = set(session.exec(select(UserAccount.username)).all())
    for name, role, scope in demo_account_list(enterprise):
        if name not in have:
            region, ent = (None, scope) if role == "enterprise" else (scope or None, None)
            add_user(engine, name, DEMO_PASSWORD, role, region=region, enterprise=ent)


DEMO_DEADLINE = (LAST_YEAR + 1, 3, 31)  # the demo cycle's deadline: 31 March of the year after


def demo_cycle(engine: Engine, ents: list[DemoEnterprise]) -> dict[str, list[str]]:
    """Open the reporting cycle of the last demo year (if not yet open) and take it part of the way: in each
    jurisdiction one report is returned with a comment on a line, one is approved and up to two wait for review,
    and the zone's first approved one is verified with an adjustment; the rest (one at least) have not reported
    (overdue once the deadline has passed).  The enterprise-demo account's enterprise has its report returned, so
    its user finds a comment.  Returns the USCCs by state reached."""
    from carbon.access import Viewer
    from carbon.reporting import cycles, review, submissions, verification
    from carbon.reporting.review import LineComment
    from carbon.reporting.verification import Adjustment

    staff = Viewer("zone-demo", "zone")
    try:
        cycles.get_cycle(engine, LAST_YEAR)
        return {}
    except InputError:
        cycles.open_cycle(engine, staff, LAST_YEAR, date(*DEMO_DEADLINE))
    reached: dict[str, list[str]] = {"submitted": [], "returned": [], "approved": [], "verified": []}
    for j in range(len(reference.JURISDICTIONS)):
        mine = [e for e in ents if e.j == j]
        plan = ["returned", "approved", "submitted", "submitted"][: len(mine) - 1]  # one at least has not reported
        for e in mine:
            if not plan:
                break
            try:
                sid = submissions.submit(engine, staff, LAST_YEAR, e.code, declared=True)
            except InputError:  # an enterprise of the demo's planted problems without a year of data
                continue
            state = plan.pop(0)
            if state == "returned":
                carrier = str(submissions.submission_lines(engine, staff, sid)["carrier"].iloc[0])
                review.return_submission(
                    engine,
                    staff,
                    sid,
                    [LineComment("3月用量明显高于其他月份，请核对抄表记录或上传发票", carrier=carrier, month=3)],
                )
            elif state == "approved":
                review.approve(engine, staff, sid)
                if not reached["verified"]:
                    line = submissions.submission_lines(engine, staff, sid).iloc[0]
                    verification.verify(
                        engine,
                        staff,
                        sid,
                        [
                            Adjustment(
                                str(line["carrier"]),
                                round(-0.02 * float(line["emissions_tco2e"]), 3),
                                "现场核查：1月抄表数含上年12月用量，按发票更正",
                                month=int(line["month"]),
                            )
                        ],
                    )
                    state = "verified"
            reached[state].append(e.code)
    return reached


def seed(url: str, per_region: int = PER_REGION) -> int:
    """Create the demo database (idempotent) and ingest its files, register the cross-jurisdiction site, settle,
    then register the grid accounts and deliver their statements and import the regional statistics built from the
    settled results; returns the number of enterprises.  A second run stores nothing new."""
    if per_region < 1:
        raise InputError("每个区域至少1家企业", "per_region must be at least 1", value=per_region)
    engine = db.make_engine(url)
    db.initialise(engine)
    with Session(engine) as session:
        names = session.exec(select(Enterprise.name)).all()
    if any(not n.endswith(DEMO_TAG) for n in names):
        raise InputError(
            "该数据库含有真实企业数据，演示数据不能写入；请用 --db 指定新的数据库",
            "This database holds real enterprises; give the demo its own database with --db",
            db=url,
        )
    with tempfile.TemporaryDirectory() as tmp:
        ents, uploads = demo_files(Path(tmp), per_region)
        with Session(engine) as session:
            known = set(session.exec(select(Enterprise.uscc)).all())
        for e in ents:
            if e.code not in known:
                add_enterprise(engine, **e.fields)
        for u in tqdm(uploads, desc="模拟数据 / seeding demo", unit="文件", disable=None):
            receive_files(engine, [u.path], u.enterprise, actor="demo", accept_valid=u.accept_valid, settle_now=False)
        stats = Path(tmp) / "stats.csv"
        write_csv(demo_statistics(ents), stats)
        import_stats(engine, stats)
        demo_site(engine, ents)
        record_demo_connectors(engine)
        demo_accounts(engine, ents[0].code)
        settle(engine, progress=lambda years: tqdm(years, desc="核算 / accounting", unit="年", disable=None))
        problems = problem_enterprises(per_region)
        seed_grid(engine, grid_inputs(ents, problems))
        seed_energy_statistics(engine, Path(tmp))  # from the settled results: after settle
    demo_cycle(engine, ents)
    return len(ents)


def run_demo(url: str = DEMO_URL, year: int | None = None, per_region: int = PER_REGION) -> dict[str, Any]:
    """Seed the demo zone and account it for ``year`` (default: the last demo year) on every basis."""
    count = seed(url, per_region)
    engine = db.make_engine(url)
    year = year or LAST_YEAR
    regions = {}
    for region in ("zone", *reference.JURISDICTIONS):
        regions[region] = {b: stored_result(engine, region=region, year=year, basis=b).as_dict() for b in BASES}
    zone = stored_result(engine, region="zone", year=year)
    with Session(engine) as session:
        ents = pd.DataFrame(
            session.exec(select(Enterprise.uscc, Enterprise.division_code)).all(),
            columns=["enterprise_uscc", "division"],
        )
    lines = zone.lines.merge(ents, on="enterprise_uscc")
    lines["sector"] = lines["division"].map(reference.industry_divisions()["sector"])
    sectors = (
        lines.groupby("sector")[["emissions_tco2e", "energy_tce"]].sum().sort_values("emissions_tco2e", ascending=False)
    )
    zone_progress = progress(engine, "zone", year)
    grades = grade_year(engine, year)
    names = {e.code: e.name for e in demo_enterprises(per_region)}
    keep = ("id", "status", "expected", "monitored_achieved", "assessed_on", "reason", "achieved", "intensity",
            "intensity_lower", "intensity_upper", "path_intensity", "inventory_status")  # fmt: skip
    targets = [{"region": "zone", **{k: t[k] for k in keep}} for t in zone_progress["targets"]]
    for region in reference.JURISDICTIONS:  # the jurisdictions' own and provincial targets (the national ones: zone)
        own = [t for t in progress(engine, region, year)["targets"] if t["region"] != "CN"]
        targets += [{"region": region, **{k: t[k] for k in keep}} for t in own]
    return {
        "progress": targets,
        "alerts": demo_alerts(engine, year, names),
        "grid": demo_grid_findings(engine, year, names),
        "site": demo_site_summary(engine, per_region, year),
        "grades": {int(g): int(n) for g, n in grades["grade"].value_counts().sort_index().items()},
        "key_emitters": len(zone_progress["key_emitters"]),
        "label": "模拟数据 / simulated data",
        "database": db.display_url(url),
        "year": year,
        "enterprises": count,
        "as_of": datetime.now(UTC).isoformat(timespec="seconds"),
        "regions": regions,
        "sectors": [
            {"sector": s, "name_zh": reference.sectors().loc[s, "name_zh"], **r}
            for s, r in sectors.to_dict("index").items()
        ],
        "accounts": demo_account_list(demo_enterprises(per_region)[0].code),
        "password": DEMO_PASSWORD,
        "problems": demo_problems(per_region),
        "problem_enterprises": {k: sorted(v) for k, v in problem_enterprises(per_region).items()},
    }


def demo_alerts(engine: Engine, year: int, names: dict[str, str]) -> list[dict[str, Any]]:
    """The reconciliation's alerts of ``year`` (location basis): kind, region, sector, carrier, coverage now and
    before, the gap (tCO2e) and the enterprises that moved most (``movers``: USCCs; ``mover_names`` by ``names``)."""
    keys = ("kind", "region", "sector", "carrier", "coverage_emissions", "historical_coverage", "inventory_tco2e",
            "monitored_tco2e", "gap_tco2e")  # fmt: skip
    return [
        {
            **{k: a[k] for k in keys},
            "movers": [m["enterprise_uscc"] for m in a["movers"]],
            "mover_names": [names.get(m["enterprise_uscc"], m["enterprise_uscc"]) for m in a["movers"]],
        }
        for a in reconciliation(engine, year, "location")["alerts"]
    ]


def demo_grid_findings(engine: Engine, year: int, names: dict[str, str]) -> dict[str, Any]:
    """The grid reconciliation of ``year``: the discrepancies (enterprise and its name from ``names``, account,
    billing period, the utility's and the upload's kWh) and the enterprises' agreement scores (None where nothing
    could be compared), with ``below`` the names of those agreeing less than fully."""
    comparison, _per_meter, per_enterprise = grid_reconciliation(engine, year)
    found = comparison.loc[comparison["discrepancy"].astype(bool)]
    return {
        "accounts": int(comparison["account_no"].nunique()),
        "periods": len(comparison),
        "discrepancies": [
            {
                "enterprise": r.enterprise_uscc,
                "enterprise_name": names.get(r.enterprise_uscc, r.enterprise_uscc),
                "account": r.account_no,
                "period_start": str(r.period_start),
                "period_end": str(r.period_end),
                "utility_kwh": float(r.utility_kwh),
                "upload_kwh": float(r.upload_kwh),
            }
            for r in found.itertuples()
        ],
        "agreement": {
            r.enterprise_uscc: None if pd.isna(r.agreement_share) else float(r.agreement_share)
            for r in per_enterprise.itertuples()
        },
        "below": {
            names.get(r.enterprise_uscc, r.enterprise_uscc): float(r.agreement_share)
            for r in per_enterprise.itertuples()
            if pd.notna(r.agreement_share) and r.agreement_share < 1
        },
    }


def demo_site_summary(engine: Engine, per_region: int, year: int) -> dict[str, Any] | None:
    """The cross-jurisdiction site: enterprise, name, jurisdiction, and its lines' emissions of ``year`` (location
    basis, tCO2e) where they count; None without the site."""
    found = _at(demo_enterprises(per_region), [SITE_AT])
    if not found:
        return None
    sites = list_sites(engine, enterprise=found[0].code)
    site = sites.loc[sites["name"] == SITE_NAME].iloc[0]
    lines = stored_result(engine, region=SITE_REGION, year=year).lines
    mine = lines.loc[lines["enterprise_uscc"] == found[0].code]  # in Wujiang: the Qingpu enterprise's site only
    return {
        "enterprise": found[0].code,
        "enterprise_name": found[0].name,
        "registered_region": found[0].region,
        "site_id": int(site["site_id"]),
        "name": SITE_NAME,
        "region": SITE_REGION,
        "emissions_tco2e": float(mine["emissions_tco2e"].sum()),
    }


def format_summary(s: dict[str, Any]) -> str:
    """The demo summary as readable tables: regions, sectors, bases, targets and statuses by their labels."""
    names = reference.regions()["name_zh"]
    short = {b: f"{codes.label('basis_short', b, 'zh')} / {codes.label('basis_short', b, 'en')}" for b in BASES}
    by_region = render(
        [
            fields.header("region"),
            *(_by_basis("total_tco2e", b) for b in BASES),
            *(fields.header(k) for k in ("scope1_tco2e", "scope2_tco2e", "energy_tce")),
        ],
        [
            [
                names[r],
                num(b["location"]["total_tco2e"]),
                num(b["local"]["total_tco2e"]),
                num(b["market"]["total_tco2e"]),
                num(b["location"]["scope1_tco2e"]),
                num(b["location"]["scope2_tco2e"]),
                num(b["location"]["energy_tce"]),
            ]
            for r, b in s["regions"].items()
        ],
        right=[1, 2, 3, 4, 5, 6],
    )
    sectors = reference.sectors()
    by_sector = render(
        [
            fields.header("sector_zh"),
            _by_basis("emissions_tco2e", "location"),
            fields.header("energy_tce"),
        ],
        [
            [f"{x['name_zh']} / {sectors.loc[x['sector'], 'name_en']}", num(x["emissions_tco2e"]), num(x["energy_tce"])]
            for x in s["sectors"]
        ],
        right=[1, 2],
    )
    targets = render(
        [
            fields.header("region"),
            *(fields.header(k) for k in ("target_title", "expected", "achieved")),
            "清单强度 [95%区间] / 路径 / inventory intensity [95 % band] / path",
            *(fields.header(k) for k in ("inventory_status", "monitored_achieved", "target_status")),
        ],
        [
            [
                names.get(t["region"], t["region"]),
                target_title(t["id"], "zh"),
                _share(t["expected"]),
                _share(t["achieved"]),
                _band(t),
                "-" if t["inventory_status"] is None else codes.bilingual("statistics_status", t["inventory_status"]),
                _share(t["monitored_achieved"]),
                codes.bilingual("target_status", t["status"]),
            ]
            for t in s["progress"]
        ],
    )
    grades = "  ".join(f"{g}级: {n}" for g, n in s["grades"].items())
    flags = "\n".join(f"  - {describe(f)}" for f in s["regions"]["zone"]["location"]["flags"])
    accounts = "\n".join(f"  - {name}: {_account_scope(role, scope)}" for name, role, scope in s["accounts"])
    problems = "\n".join(f"  - {p}" for p in s.get("problems", []))
    alerts = "\n".join(f"  - {_alert(a)}" for a in s.get("alerts", [])) or "  -"
    grid = s.get("grid", {})
    found = "\n".join(
        f"  - {d['enterprise_name']} 户号 / account {d['account']} {d['period_start']}–{d['period_end']}："
        f"电网 / utility {d['utility_kwh']:,.0f} kWh，企业上报 / upload {d['upload_kwh']:,.0f} kWh"
        f"（{d['utility_kwh'] / d['upload_kwh'] - 1:+.1%}）"
        for d in grid.get("discrepancies", [])
    )
    below = "、".join(f"{n} {v:.0%}" for n, v in grid.get("below", {}).items()) or "-"
    site = s.get("site")
    site_line = (
        f"  {site['enterprise_name']}（注册于 / registered in {names[site['registered_region']]}）的"
        f"{site['name']}在 / site in {names[site['region']]}：{num(site['emissions_tco2e'])} tCO2e，"
        f"按所在省份电网因子计入{names[site['region']]} / counted in {site['region']} at its province's grid factor"
        if site
        else "  -"
    )
    return (
        f"【{s['label']}】 {s['enterprises']} 家企业 / enterprises — {s['year']}年 — 数据库 / database "
        f"{s['database']}\n\n{by_region}\n\n{by_sector}\n\n"
        "地区目标进度（按地区清单评估，含95%不确定性区间；统计数据为模拟）/ regional targets, assessed on the "
        f"regional inventory with its 95 % band (simulated statistics):\n{targets}\n\n"
        f"对账提示（{s['year']}年，模拟统计 vs 监测企业）/ reconciliation alerts (simulated statistics vs monitored "
        f"enterprises):\n{alerts}\n\n"
        f"电网对账（{s['year']}年，模拟账单 {grid.get('accounts', 0)} 个户号 {grid.get('periods', 0)} 个账期）/ grid "
        f"statements vs uploads (simulated):\n{found or '  -'}\n  电网数据一致率低于100%的企业 / enterprises agreeing "
        f"below 100 %: {below}\n\n跨区域厂区 / cross-jurisdiction site:\n{site_line}\n\n"
        f"碳效码 / carbon-efficiency grades: {grades}\n"
        f"重点排放单位 / key emitters (≥26,000 tCO2e or ≥10,000 tce): {s.get('key_emitters', '-')}\n\n"
        f"提示 / flags (zone, {short['location']}):\n{flags}\n\n"
        f"模拟的数据质量问题 / simulated data-quality problems to find:\n{problems}\n\n"
        f"演示账号 / demo accounts (密码 / password: {s['password']}):\n{accounts}"
    )


def _share(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"


def _band(t: dict[str, Any]) -> str:
    """A target's inventory intensity with its band and the path's value, or 无数据 / no data."""
    if t["intensity"] is None:
        return "无数据 / no data"
    unit = "tCO2e/万元" if "carbon" in t["id"] else "tce/万元"
    v, lo, hi, path = t["intensity"], t["intensity_lower"], t["intensity_upper"], t["path_intensity"]
    return f"{v:.4f} [{lo:.4f}–{hi:.4f}] / {path:.4f} {unit}"


def _alert(a: dict[str, Any]) -> str:
    """One reconciliation alert, bilingual: what, where, the coverage and the gap, the enterprises that moved."""
    names = reference.regions()["name_zh"]
    what = codes.bilingual("coverage_alert", a["kind"])
    carrier = reference.carriers()["name_zh"].get(a["carrier"], a["carrier"])
    before = "" if a["historical_coverage"] is None else f"（此前均值 / before {a['historical_coverage']:.1%}）"
    cover = "-" if a["coverage_emissions"] is None else f"{a['coverage_emissions']:.1%}"
    return (
        f"{what}：{names[a['region']]} {sector_label(a['sector'])} {carrier}，覆盖率 / coverage {cover}{before}，"
        f"差额 / gap {num(a['gap_tco2e'])} tCO2e；变化最大 / moved most: {'、'.join(a['mover_names']) or '-'}"
    )


def _by_basis(name: str, basis: str) -> str:
    """A CLI header of a figure on one basis: ``排放总量·基于位置 / total emissions, location (tCO2e)``."""
    zh, en = (f"{fields.label(name, g)}·{codes.label('basis_short', basis, g)}" for g in ("zh", "en"))
    return f"{zh} / {en.replace('·', ', ')} ({fields.unit_label(name, 'en')})"


def _account_scope(role: str, scope: str) -> str:
    """A demo account's role by its label and its scope: the jurisdiction by name, the enterprise by its USCC."""
    where = reference.regions()["name_zh"].get(scope, scope) if scope else ""
    return f"{codes.bilingual('role', role)} {where}".rstrip()
