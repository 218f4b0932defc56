"""Dual-carbon progress: intensities, straight-path status against sourced targets, key emitters; peak and LMDI
through the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from carbon.analytics.progress import applicable_targets, progress, target_progress
from carbon.enterprises import add_enterprise
from carbon.intake import receive_files
from carbon.stats import import_stats
from tests.helpers import uscc, write_template

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


def test_progress_against_sourced_targets(engine, qingpu):
    p = progress(engine, "qingpu", 2024)
    assert p["gdp_10k_cny"] == 110_000 and p["emissions_tco2e"] == pytest.approx(900_000 * 0.5737 / 1000)
    assert p["energy_intensity_tce_per_10k_cny"] == pytest.approx(900_000 * 0.1229 / 1000 / 110_000)
    assert p["electricity_share_of_energy"] == 1.0 and p["green_share_of_electricity"] == 0.0
    t = {x["id"]: x for x in p["targets"]}
    # energy intensity: 2020 122.9 tce / 10^5; 2024 110.61 / 1.1x10^5: -18.2% against -11.2% expected by 2024
    assert t["sh-2025-energy-intensity"]["achieved"] == pytest.approx(1 - (110.61 / 110_000) / (122.9 / 100_000))
    assert t["sh-2025-energy-intensity"]["status"] == "on_track"
    # carbon intensity, 2020 at the 2021 vintage (0.5834) and 2024 at 2023's (0.5737)
    assert t["cn-2025-carbon-intensity"]["achieved"] == pytest.approx(1 - (516.33 / 110_000) / (583.4 / 100_000))
    assert t["cn-2030-carbon-intensity"]["status"] == "no_base_data"
    assert p["key_emitters"] == []


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
