"""A seeded demo zone (模拟数据): synthetic enterprises and meter data run through the real pipeline.

All numbers generated here are simulated and labelled so; nothing here is a fact about the world.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlmodel import Session, select
from tqdm import tqdm

from carbon import db, reference
from carbon.enterprises import add_enterprise
from carbon.errors import InputError
from carbon.flags import describe
from carbon.grades import grade_year
from carbon.ingest import ingest_files
from carbon.ledger import account
from carbon.models import Enterprise
from carbon.progress import progress
from carbon.restatement import recalc
from carbon.stats import import_stats
from carbon.tables import num, render
from carbon.uscc import check_character

DEMO_URL = "sqlite:///carbon-demo.db"
DEMO_TAG = "（模拟）"
FIRST_YEAR, LAST_YEAR = 2020, 2025
DEMO_SOURCE = "模拟数据 / simulated (carbon demo)"
# (industry code, name stem, monthly electricity kWh, fuel carrier, monthly fuel quantity, unit, heat GJ/month)
PROFILES = [
    ("2614", "化工材料", 1_800_000, "natural_gas", 90_000, "m3", 0),
    ("3130", "特钢制品", 2_500_000, "natural_gas", 60_000, "m3", 0),
    ("1713", "纺织印染", 900_000, "natural_gas", 45_000, "m3", 3_000),
    ("3982", "电子元件", 1_200_000, None, 0, "", 0),
    ("2927", "塑料制品", 600_000, None, 0, "", 500),
    ("5430", "物流运输", 60_000, "diesel", 80, "t", 0),
    ("4710", "建筑工程", 40_000, "diesel", 25, "t", 0),
    ("7010", "商业地产", 350_000, "natural_gas", 8_000, "m3", 1_200),
    ("6110", "酒店服务", 200_000, "natural_gas", 12_000, "m3", 0),
    ("0141", "设施农业", 30_000, "diesel", 5, "t", 0),
    ("4430", "热电供应", 500_000, "bituminous_coal", 2_500, "t", 0),
    ("3670", "汽车零部件", 1_500_000, "natural_gas", 20_000, "m3", 0),
]


def demo_uscc(admin_code: str, serial: int) -> str:
    """A syntactically valid USCC for a demo enterprise (registration authority 9, type 1)."""
    first17 = f"91{admin_code}{serial:08d}0"
    return first17 + check_character(first17)


def _monthly_rows(
    rng: np.random.Generator, meter: str, carrier: str, base: float, unit: str, months: int, bimonthly: bool
) -> pd.DataFrame:
    season = 1 + 0.15 * np.cos(np.arange(months) * 2 * np.pi / 12)
    trend = 1 - 0.02 * np.arange(months) / 12
    qty = base * season * trend * rng.normal(1, 0.05, months)
    start = pd.date_range(f"{FIRST_YEAR}-01-01", periods=months, freq="MS")
    end = start + pd.offsets.MonthBegin(1)
    if bimonthly:  # gas bills read mid-month every two months: periods cross month ends
        start = pd.date_range(f"{FIRST_YEAR - 1}-12-01", periods=months // 2, freq="2MS") + pd.Timedelta(days=14)
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


def demo_files(folder: Path) -> list[tuple[dict[str, str], Path]]:
    """Write one upload-template CSV per demo enterprise; return (enterprise fields, file) pairs."""
    out = []
    months = (LAST_YEAR - FIRST_YEAR + 1) * 12
    regions = reference.regions()
    carriers = reference.carriers()
    for j, region in enumerate(reference.JURISDICTIONS):
        for k, (industry, stem, kwh, fuel, fuel_q, fuel_unit, heat) in enumerate(PROFILES):
            rng = np.random.default_rng(1000 * j + k)
            code = demo_uscc(regions.loc[region, "admin_code"], 100 * j + k + 1)
            name = f"{regions.loc[region, 'name_zh'][-3:]}{stem}有限公司{DEMO_TAG}"
            parts = [_monthly_rows(rng, "E-01", "电力", kwh * rng.uniform(0.6, 1.4), "kWh", months, False)]
            if k % 4 == 0:
                parts.append(_monthly_rows(rng, "E-GREEN", "绿色电力", kwh * 0.2, "kWh", months, False))
            if fuel:
                parts.append(
                    _monthly_rows(
                        rng, "F-01", carriers.loc[fuel, "name_zh"], fuel_q, fuel_unit, months, fuel == "natural_gas"
                    )
                )
            if heat:
                parts.append(_monthly_rows(rng, "H-01", "热力", heat, "GJ", months, False))
            path = folder / f"{code}.csv"
            pd.concat(parts).to_csv(path, index=False, encoding="utf-8-sig")
            out.append(({"code": code, "name": name, "region": region, "industry": industry}, path))
    return out


def seed(url: str) -> int:
    """Create the demo database (idempotent) and ingest its files; returns the number of enterprises."""
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
        files = demo_files(Path(tmp))
        with Session(engine) as session:
            known = set(session.exec(select(Enterprise.uscc)).all())
        for fields, path in tqdm(files, desc="模拟数据 / seeding demo", unit="企业", disable=None):
            if fields["code"] not in known:
                add_enterprise(engine, **fields)
            ingest_files(engine, [path], fields["code"], uploaded_by="demo")
        stats = Path(tmp) / "stats.csv"
        demo_statistics([f["code"] for f, _ in files]).to_csv(stats, index=False)
        import_stats(engine, stats)
    recalc(engine, trigger="carbon demo")
    return len(files)


def demo_statistics(codes: list[str]) -> pd.DataFrame:
    """Simulated GDP of the jurisdictions and value added of the demo enterprises, 2020 to the last demo year."""
    rng = np.random.default_rng(7)
    rows = []
    for j, region in enumerate(reference.JURISDICTIONS):
        for k, year in enumerate(range(FIRST_YEAR, LAST_YEAR + 1)):
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
    for code in codes:
        base = rng.uniform(2_000, 60_000)
        for k, year in enumerate(range(FIRST_YEAR, LAST_YEAR + 1)):
            rows.append(
                {
                    "subject": code,
                    "year": year,
                    "indicator": "value_added",
                    "value": round(base * 1.04**k),
                    "unit": "万元",
                    "status": "final",
                    "source": DEMO_SOURCE,
                }
            )
    return pd.DataFrame(rows)


def run_demo(url: str = DEMO_URL, year: int | None = None) -> dict[str, Any]:
    """Seed the demo zone and account it for ``year`` (default: the last demo year) on every basis."""
    count = seed(url)
    engine = db.make_engine(url)
    year = year or LAST_YEAR
    regions = {}
    for region in ("zone", *reference.JURISDICTIONS):
        regions[region] = {
            b: account(engine, region=region, year=year, basis=b).as_dict() for b in ("location", "local", "market")
        }
    zone = account(engine, region="zone", year=year, store=False)
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
    return {
        "progress": [{k: t[k] for k in ("id", "status", "achieved", "expected")} for t in zone_progress["targets"]],
        "grades": {int(g): int(n) for g, n in grades["grade"].value_counts().sort_index().items()},
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
    }


def format_summary(s: dict[str, Any]) -> str:
    """The demo summary as readable tables."""
    names = reference.regions()["name_zh"]
    by_region = render(
        [
            "区域 / region",
            "排放(location) tCO2e",
            "排放(local) tCO2e",
            "排放(market) tCO2e",
            "范围一 scope 1",
            "范围二 scope 2",
            "能耗 吨标准煤 tce",
        ],
        [
            [
                f"{names[r]} ({r})",
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
    by_sector = render(
        ["行业 / sector", "排放 tCO2e (location)", "能耗 tce"],
        [[f"{x['name_zh']} ({x['sector']})", num(x["emissions_tco2e"]), num(x["energy_tce"])] for x in s["sectors"]],
        right=[1, 2],
    )
    targets = render(
        ["目标 / target", "已实现 / achieved", "应实现 / expected", "状态 / status"],
        [
            [
                t["id"],
                "-" if t["achieved"] is None else f"{t['achieved']:.1%}",
                "-" if t["expected"] is None else f"{t['expected']:.1%}",
                t["status"],
            ]
            for t in s["progress"]
        ],
    )
    grades = "  ".join(f"{g}级: {n}" for g, n in s["grades"].items())
    flags = "\n".join(f"  - {describe(f)}" for f in s["regions"]["zone"]["location"]["flags"])
    return (
        f"【{s['label']}】 {s['enterprises']} 家企业 / enterprises — {s['year']}年 — 数据库 / database "
        f"{s['database']}\n\n{by_region}\n\n{by_sector}\n\n示范区目标进度 / zone progress against targets:\n"
        f"{targets}\n\n碳效码 / carbon-efficiency grades: {grades}\n\n提示 / flags (zone, location):\n{flags}"
    )
