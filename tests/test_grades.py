"""Enterprise carbon-efficiency grades (碳效码) and the statistics they need, checked by hand."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlmodel import Session, select

from carbon.analytics.grades import grade, thresholds
from carbon.analytics.precision import at_precision
from carbon.enterprises import add_enterprise
from carbon.ingest import ingest_files
from carbon.models import Statistic
from carbon.stats import import_stats
from tests.helpers import decimal_sum, float_sum, monthly_lines, uscc, write_template

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


def test_thresholds_carry_their_precision():
    t = thresholds()
    assert t.groupby("kind")["decimals"].unique().map(list).to_dict() == {"level": [2], "grade": [2]}
    assert set(t["decimals_status"]) == {"project_default"}  # the method states no precision for L or K
    assert t["decimals_source"].str.len().gt(0).all()
    bounds = t["upper_bound"].dropna()
    assert at_precision(bounds, 2).tolist() == bounds.tolist()  # every bound is stated at its precision


def test_at_precision_rounds_half_up_in_decimal_terms():
    assert at_precision(0.8000000000000002, 2) == 0.8  # a ratio of sums that is 0.8 in decimal
    assert at_precision(0.6049999999999999, 2) == 0.61  # 0.605 in decimal: half-up, though round() gives 0.6
    assert (round(0.6049999999999999, 2), round(2.675, 2), at_precision(2.675, 2)) == (0.6, 2.67, 2.68)
    assert at_precision(0.1 + 0.2, 1) == 0.3 and at_precision(0.6049, 2) == 0.6
    assert at_precision(-0.0005, 3) == -0.001  # ties away from zero, as 四舍五入
    assert (at_precision(25_999.5, 0), at_precision(25_999.49, 0)) == (26_000, 25_999)
    assert (at_precision(25_499.9, -3), at_precision(25_500, -3)) == (25_000, 26_000)
    s = at_precision(pd.Series([0.8000000000000002, None, 1.2049999999999998], index=["a", "b", "c"], name="k"), 2)
    assert s.name == "k" and list(s.index) == ["a", "b", "c"] and s.isna().tolist() == [False, True, False]
    assert s[["a", "c"]].tolist() == [0.8, 1.21]
    assert at_precision(np.array([0.6049999999999999, np.inf, 0.0]), 2).tolist() == [0.61, np.inf, 0.0]


EDGE_PARTS = ("33.3", "31.4", "35.3")  # value added of A by plant: 100 in decimal, 99.99999999999999 summed
TIE_PARTS = ("45.7", "25.6", "28.7")  # 100 in decimal, 100.00000000000001 summed


def _grade_a(value: str, parts: tuple[str, ...]) -> tuple[pd.Series, Decimal, Decimal]:
    """Enterprise A's row of ``grade`` and its L and K in decimal, where both are ``value`` in decimal: A's monthly
    emissions add up to 100 x value over value added summed from ``parts`` (100); B, in the same division, brings
    the division's emissions and value added to 200 each, so its L is exactly 1."""
    a = monthly_lines(str(Decimal(value) * 100))
    b = monthly_lines(str(200 - Decimal(value) * 100))
    b_parts = ("50.7", "49.3")
    emissions = pd.DataFrame(
        {"uscc": ["A", "B"], "division_code": ["26", "26"], "emissions_tco2e": [float_sum(a), float_sum(b)]}
    )
    value_added = pd.DataFrame({"uscc": ["A", "B"], "value_added_10k_cny": [float_sum(parts), float_sum(b_parts)]})
    row = grade(emissions, value_added).set_index("uscc").loc["A"]
    exact_l = decimal_sum(a) / decimal_sum(parts)
    exact_industry_l = (decimal_sum(a) + decimal_sum(b)) / (decimal_sum(parts) + decimal_sum(b_parts))
    return row, exact_l, exact_l / exact_industry_l


@pytest.mark.parametrize(("edge", "level"), [("0.6", "low"), ("2.0", "medium")])
def test_level_edges_hold_at_published_precision(edge, level):
    row, exact_l, _ = _grade_a(edge, EDGE_PARTS)
    assert exact_l == Decimal(edge)
    assert row["l_tco2e_per_10k_cny"] != float(edge) and row["l_tco2e_per_10k_cny"] > float(edge)  # past it in float
    assert row["level"] == level  # L ≤ edge: the band the edge closes


@pytest.mark.parametrize(("edge", "expected"), [("0.6", 1), ("0.8", 2), ("1.2", 3), ("2.0", 4)])
def test_grade_edges_hold_at_published_precision(edge, expected):
    row, _, exact_k = _grade_a(edge, EDGE_PARTS)
    assert exact_k == Decimal(edge)
    assert row["k"] != float(edge) and row["k"] > float(edge)  # 0.8000000000000002 and the like
    assert row["grade"] == expected  # K ≤ edge: the grade the edge closes


@pytest.mark.parametrize(
    ("value", "level"),
    [
        *[("0.61", "medium"), ("0.605", "medium"), ("0.6049", "low")],
        *[("2.01", "high"), ("2.005", "high"), ("2.0049", "medium")],
    ],
)
def test_levels_just_above_an_edge(value, level):
    row, exact_l, _ = _grade_a(value, TIE_PARTS)
    assert exact_l == Decimal(value)
    if value.endswith("05"):  # a tie at two places, below it in float: half-up in decimal still rounds it up
        assert Decimal(row["l_tco2e_per_10k_cny"]) < Decimal(value)
    assert row["level"] == level


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        *[("0.61", 2), ("0.81", 3), ("1.21", 4), ("2.01", 5)],
        *[("0.605", 2), ("0.805", 3), ("1.205", 4), ("2.005", 5)],
        *[("0.6049", 1), ("0.8049", 2), ("1.2049", 3), ("2.0049", 4)],
    ],
)
def test_grades_just_above_an_edge(value, expected):
    row, _, exact_k = _grade_a(value, TIE_PARTS)
    assert exact_k == Decimal(value)
    if value.endswith("05"):  # a tie at two places, below it in float (0.6049999999999999): rounds up all the same
        assert Decimal(row["k"]) < Decimal(value)
    assert row["grade"] == expected


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
