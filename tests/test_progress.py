"""Dual-carbon progress: intensities, straight-path status against sourced targets, key emitters; peak and LMDI
through the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from carbon.analytics.progress import (
    INTENSITY_COLUMNS,
    applicable_targets,
    jurisdiction_targets,
    key_emitters,
    panel_change,
    panel_reduction,
    parameter_decimals,
    parameters,
    progress,
    regional_target,
    target_progress,
    target_title,
    targets,
)
from carbon.enterprises import add_enterprise
from carbon.intake import receive_files
from carbon.stats import import_stats
from tests.helpers import decimal_sum, float_sum, monthly_lines, uscc, write_template

CARBON = str(Path(sys.executable).parent / "carbon")


@pytest.mark.parametrize(
    ("now", "status"),
    [(0.80, "on_track"), (0.86, "at_risk"), (0.90, "off_track")],
)
def test_straight_path_status(now, status):
    # target: -20% from 2020 to 2025; by 2024 the path expects -16%; at risk from 80% of that (-12.8%)
    intensity = pd.Series({2020: 1.0, 2024: now})
    p = target_progress(intensity, 2020, 2025, 0.20, 2024, 0.8)
    assert p["status"] == status and p["expected"] == pytest.approx(0.16)
    assert p["needed_per_year"] == pytest.approx(max(1 - 0.8 / now, 0))


def test_parameters_carry_their_precision():
    assert parameter_decimals().to_dict() == {
        "key_emitter_tco2e": 0,
        "key_emitter_tce": 0,
        "at_risk_share": 3,
        "disclosure_min_hidden_enterprises": 0,
        "disclosure_dominance_n": 0,
        "disclosure_dominance_k": 3,
        "bill_overdue_after_days": 0,
        "coverage_exceed_tolerance": 3,
        "coverage_drop_points": 3,
    }
    with open(Path(__file__).parents[1] / "carbon" / "data" / "analytics_parameters.csv", encoding="utf-8") as f:
        table = pd.read_csv(f).set_index("name")
    assert set(table["decimals_status"]) == {"project_default"} and table["decimals_source"].str.len().gt(0).all()


# GDP of the three jurisdictions (10^8 CNY): 100 in decimal both years, 100.00000000000001 and 99.99999999999999
# summed.  Emissions: 1000 t in 2020; 1000 x (1 - achieved) in 2024, from monthly lines.
GDP_2020, GDP_2024 = ("45.7", "25.6", "28.7"), ("41.3", "46.4", "12.3")


def _progress_at(achieved: str, reduction: str, year: int) -> tuple[dict, float, Decimal]:
    """``target_progress`` of a region whose intensity fell by ``achieved`` (decimal) from 2020 to ``year``, against
    a cut of ``reduction`` by 2025; also the achieved reduction as computed in float and in decimal."""
    base, now = monthly_lines("1000"), monthly_lines(str(1000 * (1 - Decimal(achieved))))
    intensity = pd.Series({2020: float_sum(base) / float_sum(GDP_2020), year: float_sum(now) / float_sum(GDP_2024)})
    exact = 1 - (decimal_sum(now) / decimal_sum(GDP_2024)) / (decimal_sum(base) / decimal_sum(GDP_2020))
    p = target_progress(intensity, 2020, 2025, float(reduction), year, parameters()["at_risk_share"])
    return p, p["achieved"], exact


@pytest.mark.parametrize(
    ("reduction", "year", "edge", "status"),
    [
        ("0.20", 2024, "0.16", "on_track"),
        ("0.20", 2024, "0.128", "at_risk"),
        ("0.135", 2023, "0.081", "on_track"),
        ("0.135", 2023, "0.0648", "at_risk"),
    ],
)
def test_target_status_edges_hold_at_a_tenth_of_a_point(reduction, year, edge, status):
    # -20 % by 2025 expects -16 % by 2024, at risk from 80 % of it (-12.8 %); -13.5 % expects -8.1 % by 2023, at
    # risk from -6.48 %, which is -6.5 % at a tenth of a point
    p, achieved, exact = _progress_at(edge, reduction, year)
    assert exact == Decimal(edge)
    bound = p["expected"] * (1 if status == "on_track" else parameters()["at_risk_share"])
    assert achieved != float(edge) and achieved < bound  # short of the edge in float
    assert p["status"] == status


@pytest.mark.parametrize(
    ("achieved", "status"),
    [
        *[("0.159", "at_risk"), ("0.1595", "on_track"), ("0.1594", "at_risk")],
        *[("0.127", "off_track"), ("0.1275", "at_risk"), ("0.1274", "off_track")],
    ],
)
def test_target_status_just_below_an_edge(achieved, status):
    p, got, exact = _progress_at(achieved, "0.20", 2024)
    assert exact == Decimal(achieved)
    if achieved.endswith("5"):  # a tie at a tenth of a point, below it in float: half-up still rounds it up
        assert Decimal(got) < Decimal(achieved)
    assert p["status"] == status


HEAT_TCE, GAS_TCE = "0.03412", "0.0012143"  # tce per GJ of heat, per m3 of natural gas


def _tco2e_year(name: str, month: str, december: str) -> list[dict]:
    """Result lines of a year: eleven months at ``month`` tCO2e and December's ``december``."""
    return [
        {"enterprise_uscc": name, "emissions_tco2e": float(t), "energy_tce": 0.3 * float(t)}
        for t in [month] * 11 + [december]
    ]


def _tce_year(name: str, heat_gj: str, gas_m3: str) -> tuple[list[dict], Decimal]:
    """Result lines of a year of heat and natural gas, each line's tce quantity x tce_per_unit as the accounting
    computes it; also the year's tce in decimal."""
    pieces = [(q, HEAT_TCE) for q in monthly_lines(heat_gj)] + [(q, GAS_TCE) for q in monthly_lines(gas_m3)]
    lines = [
        {"enterprise_uscc": name, "emissions_tco2e": 2 * float(q) * float(f), "energy_tce": float(q) * float(f)}
        for q, f in pieces
    ]
    return lines, sum((Decimal(q) * Decimal(f) for q, f in pieces), Decimal(0))


def test_key_emitter_thresholds_in_whole_tonnes():
    e10000, exact_10000 = _tce_year("E10000", "266354.4", "751040")
    e9999_5, exact_9999_5 = _tce_year("E9999.5", "261775.8", "879280")
    e9999_488, exact_9999_488 = _tce_year("E9999.488", "261775.8", "879270")
    assert (exact_10000, exact_9999_5, exact_9999_488) == (Decimal(10_000), Decimal("9999.5"), Decimal("9999.487857"))
    lines = pd.DataFrame(
        _tco2e_year("T26000", "2177.7", "2045.3")
        + _tco2e_year("T25999.5", "2177.7", "2044.8")  # 26000 in whole tonnes
        + _tco2e_year("T25999.49", "2177.7", "2044.79")  # 25999 in whole tonnes
        + e10000
        + e9999_5  # 10000 in whole tonnes
        + e9999_488  # 9999 in whole tonnes
    )
    sums = lines.groupby("enterprise_uscc")[["emissions_tco2e", "energy_tce"]].sum()  # as key_emitters sums them
    for name, column in [("T26000", "emissions_tco2e"), ("E10000", "energy_tce")]:
        assert sums.loc[name, column] != float(name[1:]) and sums.loc[name, column] < float(name[1:])  # short in float
    for name, column in [("T25999.5", "emissions_tco2e"), ("E9999.5", "energy_tce")]:
        assert Decimal(sums.loc[name, column]) < Decimal(name[1:])  # below the tie in float
    assert parameters()[["key_emitter_tco2e", "key_emitter_tce"]].tolist() == [26_000, 10_000]
    assert set(key_emitters(lines)["enterprise_uscc"]) == {"T26000", "E10000", "T25999.5", "E9999.5"}


def test_missing_base_year_is_reported_not_guessed():
    assert target_progress(pd.Series({2024: 1.0}), 2005, 2030, 0.65, 2024, 0.8)["status"] == "no_base_data"


def test_applicable_targets_follow_the_province():
    assert set(applicable_targets("qingpu")["region"]) == {"CN-SH", "CN"}
    assert set(applicable_targets("jiashan")["region"]) == {"CN-ZJ", "CN"}
    assert set(applicable_targets("zone")["region"]) == {"zone", "CN"}


@pytest.fixture
def qingpu(engine, tmp_path):
    code = uscc(121)
    add_enterprise(engine, code=code, name="青浦进度测试", region="qingpu", industry="26")
    rows = [f"E1,电力,{y}-01-01,{y + 1}-01-01,{1_000_000 if y == 2020 else 900_000},kWh" for y in (2020, 2024)]
    receive_files(engine, [write_template(tmp_path / "e.csv", rows)], code, actor="test")
    stats = tmp_path / "gdp.csv"
    stats.write_text(
        "subject,year,indicator,value,unit,status,source\n"
        "qingpu,2020,gdp,10,亿元,final,统计年鉴\nqingpu,2024,gdp,11,亿元,provisional,统计公报\n"
        f"{code},2020,value_added,1000,万元,final,企业报表\n{code},2024,value_added,1100,万元,final,企业报表\n",
        encoding="utf-8",
    )
    assert import_stats(engine, stats).stored == 4
    return code


def test_progress_divides_like_by_like_and_never_assesses_a_regional_target(engine, qingpu):
    p = progress(engine, "qingpu", 2024)
    assert p["gdp_10k_cny"] == 110_000 and p["emissions_tco2e"] == pytest.approx(900_000 * 0.5737 / 1000)
    # the monitored enterprise's energy over its own value added (1,100 x 10^4 CNY), not over the region's GDP
    assert p["monitored_energy_intensity_tce_per_10k_cny"] == pytest.approx(900_000 * 0.1229 / 1000 / 1100)
    assert p["monitored_carbon_intensity_tco2e_per_10k_cny"] == pytest.approx(516.33 / 1100)
    assert p["enterprises_with_value_added"] == 1 and p["monitored_value_added_10k_cny"] == 1100
    assert "carbon_intensity_tco2e_per_10k_cny" not in p and "energy_intensity_tce_per_10k_cny" not in p
    assert p["electricity_share_of_energy"] == 1.0 and p["green_share_of_electricity"] == 0.0
    t = {x["id"]: x for x in p["targets"]}
    # the monitored enterprise's energy intensity fell 18.2 % against -11.2 % expected by 2024: ahead of the path,
    # and still not "on track": one enterprise is not the region
    energy = t["sh-2025-energy-intensity"]
    assert energy["status"] == "not_assessable" and energy["expected"] == pytest.approx(0.14 * 4 / 5)
    assert energy["monitored_achieved"] == pytest.approx(1 - (110.61 / 1100) / (122.9 / 1000))
    assert energy["monitored_achieved_enterprises"] == 1 and energy["achieved"] is None
    assert energy["reason"] == "no_regional_statistics" and energy["assessed_on"] is None
    # carbon intensity, 2020 at the 2021 vintage (0.5834) and 2024 at 2023's (0.5737)
    assert t["cn-2025-carbon-intensity"]["monitored_achieved"] == pytest.approx(1 - (516.33 / 1100) / (583.4 / 1000))
    assert t["cn-2030-carbon-intensity"]["monitored_achieved"] is None  # no data for 2005
    assert t["cn-2030-carbon-intensity"]["monitored_achieved_enterprises"] == 0
    assert {x["status"] for x in p["targets"]} == {"not_assessable"}
    assert p["key_emitters"] == []


def test_without_value_added_there_is_no_intensity_and_still_no_assessment(engine, tmp_path):
    code = uscc(122)
    add_enterprise(engine, code=code, name="青浦无增加值", region="qingpu", industry="26")
    rows = [f"E1,电力,{y}-01-01,{y + 1}-01-01,1000000,kWh" for y in (2020, 2024)]
    receive_files(engine, [write_template(tmp_path / "e.csv", rows)], code, actor="test")
    stats = tmp_path / "gdp.csv"
    stats.write_text(
        "subject,year,indicator,value,unit,status,source\n"
        "qingpu,2020,gdp,10,亿元,final,统计年鉴\nqingpu,2024,gdp,11,亿元,final,统计年鉴\n",
        encoding="utf-8",
    )
    import_stats(engine, stats)
    p = progress(engine, "qingpu", 2024)
    assert p["emissions_tco2e"] > 0 and p["gdp_10k_cny"] == 110_000  # emissions and GDP are there ...
    assert p["monitored_carbon_intensity_tco2e_per_10k_cny"] is None  # ... but are never divided into each other
    assert p["enterprises_with_value_added"] == 0
    assert {t["status"] for t in p["targets"]} == {"not_assessable"}
    assert all(t["monitored_achieved"] is None for t in p["targets"])


def test_a_year_without_an_inventory_is_not_assessable():
    empty = pd.DataFrame(columns=["enterprise_uscc", "emissions_tco2e"])
    (t,) = targets().loc[targets()["id"] == "cn-2025-carbon-intensity"].itertuples(index=False)
    out = regional_target(t, 2024, {2020: empty, 2024: empty}, {}, pd.DataFrame(columns=INTENSITY_COLUMNS[1:]))
    assert out["status"] == "not_assessable" and out["reason"] == "no_regional_statistics"
    assert out["monitored_achieved"] is None and out["achieved"] is None


def test_the_panel_reduction_compares_the_same_enterprises():
    base = pd.DataFrame({"enterprise_uscc": ["A", "B"], "emissions_tco2e": [100.0, 50.0]})
    now = pd.DataFrame({"enterprise_uscc": ["A", "C"], "emissions_tco2e": [80.0, 500.0]})
    va = pd.Series({"A": 10.0, "B": 10.0, "C": 10.0})
    # only A is in both years: 100/10 -> 80/10; B leaving and C arriving change nothing
    assert panel_reduction(base, now, va, va, "emissions_tco2e") == (pytest.approx(0.2), 1)
    assert panel_reduction(base, now, va.drop("A"), va, "emissions_tco2e") == (None, 0)


def test_the_change_on_the_year_compares_the_same_enterprises(engine, tmp_path):
    """An enterprise connected in 2024 adds to 2024's total, not to the change on 2023."""
    old, new = uscc(123), uscc(124)
    for code, name in ((old, "青浦老企业"), (new, "青浦新接入")):
        add_enterprise(engine, code=code, name=name, region="qingpu", industry="26")
    rows = ["E1,电力,2023-01-01,2024-01-01,1000000,kWh", "E1,电力,2024-01-01,2025-01-01,900000,kWh"]
    receive_files(engine, [write_template(tmp_path / "old.csv", rows)], old, actor="test")
    receive_files(engine, [write_template(tmp_path / "new.csv", [rows[1]])], new, actor="test")
    p = progress(engine, "qingpu", 2024)
    assert p["enterprises"] == 2 and p["emissions_change_yoy_enterprises"] == 1
    # the old enterprise's electricity fell 10 %; 2023 and 2024 use the same vintage (2023's factor)
    assert p["emissions_change_yoy"] == pytest.approx(-0.1)
    assert p["key_emitter_count"] == 0  # below the thresholds
    nothing = progress(engine, "wujiang", 2024)  # no enterprise there: no data, not "no key emitter"
    assert nothing["emissions_tco2e"] is None and nothing["key_emitter_count"] is None
    assert nothing["emissions_change_yoy"] is None and nothing["emissions_change_yoy_enterprises"] == 0
    assert panel_change(
        pd.DataFrame(columns=["enterprise_uscc", "emissions_tco2e"]),
        pd.DataFrame({"enterprise_uscc": ["A"], "emissions_tco2e": [1.0]}),
        "emissions_tco2e",
    ) == (None, 0)


@pytest.mark.parametrize(
    ("target", "zh", "en"),
    [
        (
            "cn-2025-energy-intensity",
            "全国：2025年能耗强度较2020年下降13.5%",
            "China: energy intensity 13.5 % below 2020 by 2025",
        ),
        (
            "zone-2025-energy-intensity",
            "长三角生态绿色一体化发展示范区：2025年能耗强度较2020年下降15%左右",
            "Demonstration Zone: energy intensity about 15 % below 2020 by 2025",
        ),
        (
            "zone-2025-carbon-intensity",
            "长三角生态绿色一体化发展示范区：2025年碳排放强度较2020年下降20%以上",
            "Demonstration Zone: carbon intensity more than 20 % below 2020 by 2025",
        ),
        (
            "zj-2025-energy-intensity",
            "浙江省：2025年能耗强度较2020年下降14.5%",
            "Zhejiang: energy intensity 14.5 % below",
        ),
        ("cn-2030-carbon-intensity", "全国：2030年碳排放强度较2005年下降65%以上", "more than 65 % below 2005 by 2030"),
    ],
)
def test_a_target_is_worded_as_published(target, zh, en):
    assert target_title(target, "zh") == zh
    assert en in target_title(target, "en")


def test_every_target_is_worded_with_its_own_percentage_and_qualifier():
    for t in targets().itertuples():
        zh, en = target_title(t.id, "zh"), target_title(t.id, "en")
        assert f"下降{t.reduction_percent}%" in zh and f" {t.reduction_percent} % below {t.base_year}" in en
        assert zh.endswith({"exact": "%", "about": "%左右", "more_than": "%以上"}[t.qualifier])
    with pytest.raises(KeyError, match=r"targets\.csv"):
        target_title("no-such-target")


def test_each_jurisdiction_gets_its_most_local_target_of_each_family():
    rows = [
        {"id": t.id, "region": t.region, "indicator": t.indicator, "target_year": int(t.target_year)}
        for t in applicable_targets("qingpu").itertuples()
    ]
    chosen = [t["id"] for t in jurisdiction_targets(rows, "qingpu")]
    assert chosen == ["sh-2025-energy-intensity", "cn-2025-carbon-intensity", "sh-2030-carbon-intensity"]
    rows = [
        {"id": t.id, "region": t.region, "indicator": t.indicator, "target_year": int(t.target_year)}
        for t in applicable_targets("wujiang").itertuples()
    ]
    chosen = [t["id"] for t in jurisdiction_targets(rows, "wujiang")]  # Jiangsu has no target in the file
    assert chosen == ["cn-2025-energy-intensity", "cn-2025-carbon-intensity", "cn-2030-carbon-intensity"]


def test_decompose_and_peak_commands(engine, db_url, qingpu):
    out = subprocess.run(
        [CARBON, "--db", db_url, "decompose", "--region", "qingpu", "--from", "2020", "--to", "2024", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    effects = json.loads(out.stdout)["effects_tco2e"]
    assert effects["total"] == pytest.approx(516.33 - 583.4, abs=1e-6)
    assert sum(
        effects[k] for k in ("activity", "structure", "intensity", "fuel_mix", "emission_factor")
    ) == pytest.approx(effects["total"], rel=1e-9)
    assert effects["emission_factor"] < 0 and effects["activity"] > 0 and effects["intensity"] < 0
    peak = subprocess.run(
        [CARBON, "--db", db_url, "peak", "--region", "qingpu", "--to", "2024", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert peak.returncode == 0, peak.stderr
    assert json.loads(peak.stdout)["status"] == "insufficient_data"  # two years with data


def test_key_emitters_at_the_reporting_threshold(engine, tmp_path):
    big, small = uscc(151), uscc(152)
    add_enterprise(engine, code=big, name="青浦大户", region="qingpu", industry="26")
    add_enterprise(engine, code=small, name="青浦小户", region="qingpu", industry="26")
    receive_files(
        engine, [write_template(tmp_path / "b.csv", ["E1,电力,2024-01-01,2025-01-01,5000,万kWh"])], big, actor="test"
    )
    receive_files(
        engine, [write_template(tmp_path / "s.csv", ["E1,电力,2024-01-01,2025-01-01,100,万kWh"])], small, actor="test"
    )
    p = progress(engine, "qingpu", 2024)
    (k,) = p["key_emitters"]  # 5000 x 10^4 kWh x 0.5737 = 28,685 tCO2e >= 26,000
    assert k["enterprise_uscc"] == big and k["emissions_tco2e"] == pytest.approx(28685)
