"""Enterprise carbon-efficiency grades (碳效码) and the statistics they need, checked by hand."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from sqlmodel import Session, select

from carbon.analytics.grades import grade, thresholds
from carbon.enterprises import add_enterprise
from carbon.ingest import ingest_files
from carbon.models import Statistic
from carbon.stats import import_stats
from tests.helpers import uscc, write_template

CARBON = str(Path(sys.executable).parent / "carbon")


def test_hand_checked_grades():
    emissions = pd.DataFrame(
        {
            "uscc": ["A", "B", "C", "D", "E"],
            "division_code": ["26", "26", "26", "17", "17"],
            "emissions_tco2e": [500.0, 1500.0, 3000.0, 600.0, 0.0],
        }
    )
    value_added = pd.DataFrame(
        {"uscc": ["A", "B", "C", "D", "X"], "value_added_10k_cny": [1000.0, 1000.0, 1000.0, 1000.0, 5.0]}
    )
    g = grade(emissions, value_added).set_index("uscc")
    assert set(g.index) == {"A", "B", "C", "D"}  # E has no value added, X no emissions record
    # division 26: L = 0.5, 1.5, 3.0; industry L = 5000 / 3000 = 1.6667; K = 0.3, 0.9, 1.8
    assert g.loc["A", "industry_l_tco2e_per_10k_cny"] == pytest.approx(5 / 3)
    assert g.loc[["A", "B", "C"], "k"].tolist() == pytest.approx([0.3, 0.9, 1.8])
    assert g.loc[["A", "B", "C"], "level"].tolist() == ["low", "medium", "high"]
    assert g.loc[["A", "B", "C"], "grade"].tolist() == [1, 3, 4]
    assert (g.loc["D", "k"], g.loc["D", "grade"], g.loc["D", "level"]) == (1.0, 3, "low")  # alone in its division


@pytest.mark.parametrize(("k", "expected"), [(0.6, 1), (0.61, 2), (0.8, 2), (1.2, 3), (1.21, 4), (2.0, 4), (2.01, 5)])
def test_band_edges_follow_the_published_method(k, expected):
    emissions = pd.DataFrame(
        {"uscc": ["A", "B"], "division_code": ["26", "26"], "emissions_tco2e": [k * 100, 200 - k * 100]}
    )
    value_added = pd.DataFrame({"uscc": ["A", "B"], "value_added_10k_cny": [100.0, 100.0]})
    assert grade(emissions, value_added).set_index("uscc").loc["A", "grade"] == expected  # industry L = 1


def test_thresholds_are_sourced_data():
    t = thresholds()
    assert set(t["status"]) == {"verified"} and t["source_url"].notna().all()
    assert t.loc[t["kind"] == "level", "upper_bound"].dropna().tolist() == [0.6, 2.0]
    assert t.loc[t["kind"] == "grade", "upper_bound"].dropna().tolist() == [0.6, 0.8, 1.2, 2.0]


def test_stats_import_validates_revises_and_keeps_history(engine, tmp_path):
    code = uscc(101)
    add_enterprise(engine, code=code, name="青浦统计测试", region="qingpu", industry="26")
    f = tmp_path / "stats.csv"
    f.write_text(
        "subject,year,indicator,value,unit,status,source\n"
        f'qingpu,2024,地区生产总值,"1,500",亿元,初步,青浦区统计公报\n'
        f"{code},2024,增加值,1000,万元,final,企业财务报表\n",
        encoding="utf-8",
    )
    r = import_stats(engine, f)
    assert (r.stored, r.revised, r.errors) == (2, 0, [])
    assert import_stats(engine, f).unchanged == 2
    f.write_text(
        "subject,year,indicator,value,unit,status,source\nqingpu,2024,gdp,1520,亿元,final,统计年鉴\n", encoding="utf-8"
    )
    assert import_stats(engine, f).revised == 1
    with Session(engine) as s:
        rows = s.exec(select(Statistic).where(Statistic.subject_id == "qingpu").order_by(Statistic.id)).all()
    assert [(x.value_wan_cny, x.status, x.superseded_at is None) for x in rows] == [
        (1500e4, "provisional", False),
        (1520e4, "final", True),
    ]
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "subject,year,indicator,value,unit,status,source\nnowhere,2024,gdp,-1,kWh,maybe,\n", encoding="utf-8"
    )
    r = import_stats(engine, bad)
    assert {e.column for e in r.errors} == {"subject", "value", "unit", "status", "source"}
    assert all(e.row == 2 for e in r.errors)


def test_grade_command_end_to_end(engine, db_url, tmp_path):
    codes = [uscc(111 + i, "330421") for i in range(3)]
    for i, code in enumerate(codes):
        add_enterprise(engine, code=code, name=f"嘉善化工{i}", region="jiashan", industry="2614")
        ingest_files(
            engine,
            [write_template(tmp_path / f"{i}.csv", [f"E1,电力,2024-01-01,2025-01-01,{(i + 1) * 1_000_000},kWh"])],
            code,
        )
    stats = tmp_path / "va.csv"
    stats.write_text(
        "subject,year,indicator,value,unit,status,source\n"
        + "".join(f"{c},2024,增加值,1000,万元,final,企业报表\n" for c in codes),
        encoding="utf-8",
    )
    assert import_stats(engine, stats).stored == 3
    out = subprocess.run(
        [CARBON, "--db", db_url, "grade", "--year", "2024", "--json"], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    rows = {r["uscc"]: r for r in json.loads(out.stdout)["enterprises"]}
    # emissions 1000, 2000, 3000 MWh x 0.4974 (Zhejiang 2023, the latest vintage): L = 0.4974, 0.9948, 1.4922
    assert rows[codes[0]]["l_tco2e_per_10k_cny"] == pytest.approx(0.4974, rel=1e-4)
    assert [rows[c]["k"] for c in codes] == pytest.approx([0.5, 1.0, 1.5])
    assert [rows[c]["grade"] for c in codes] == [1, 3, 4]
    assert [rows[c]["level"] for c in codes] == ["low", "medium", "medium"]
