"""Coverage and top-down against bottom-up, hand-checked on small frames (carbon.analytics.coverage)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from carbon.analytics import coverage
from carbon.enterprises import add_enterprise
from carbon.intake import receive_files
from carbon.stats import import_stats
from tests.helpers import uscc, write_template
from tests.test_attacks import run
from tests.test_inventory import DIESEL_T_PER_T, GAS_T_PER_M3, QINGPU_2023, SH_2023, write

INVENTORY = pd.DataFrame(
    [  # region, year, sector, carrier, emissions_tco2e, energy_tce: the final-use lines of two years
        ("qingpu", 2023, "industry:C26", "electricity", 1000.0, 120.0),
        ("qingpu", 2023, "industry", "electricity", 500.0, 60.0),
        ("qingpu", 2023, "transport", "diesel", 200.0, 70.0),
        ("qingpu", 2024, "industry:C26", "electricity", 1000.0, 120.0),
        ("qingpu", 2024, "industry", "electricity", 500.0, 60.0),
        ("qingpu", 2024, "transport", "diesel", 200.0, 70.0),
    ],
    columns=[*coverage.KEYS, "emissions_tco2e", "energy_tce"],
)
RESULTS = pd.DataFrame(
    [  # enterprise result lines (monthly lines are summed; one line each is enough here)
        ("E1", "qingpu", 2023, "26", "electricity", 600.0, 72.0),
        ("E1", "qingpu", 2024, "26", "electricity", 200.0, 24.0),
        ("E1", "qingpu", 2024, "26", "green_electricity", 100.0, 12.0),  # counts as electricity
        ("E2", "qingpu", 2024, "27", "electricity", 100.0, 12.0),  # C27 is not published: the industry remainder
        ("E3", "qingpu", 2024, "54", "diesel", 250.0, 87.5),  # road transport (section G)
        ("E4", "qingpu", 2024, "01", "natural_gas", 30.0, 10.0),  # agriculture: no statistics line
    ],
    columns=["enterprise_uscc", "region", "year", "division", "carrier", "emissions_tco2e", "energy_tce"],
)


@pytest.fixture
def sides() -> tuple[pd.DataFrame, pd.DataFrame]:
    ents = coverage.enterprise_side(RESULTS, INVENTORY)
    return coverage.coverage_table(INVENTORY, ents), ents


def test_an_enterprise_line_falls_in_the_finest_published_sector() -> None:
    got = coverage.assign_sectors(RESULTS.assign(carrier=coverage.physical(RESULTS["carrier"])), INVENTORY)
    assert got.tolist() == ["industry:C26", "industry:C26", "industry:C26", "industry", "transport", "agriculture"]
    tertiary = INVENTORY.replace({"transport": "tertiary"})  # 第三产业 published, transport not apart
    hotel = pd.DataFrame([("qingpu", 2024, "61", "diesel")], columns=["region", "year", "division", "carrier"])
    assert coverage.assign_sectors(hotel, tertiary).tolist() == ["tertiary"]
    assert coverage.assign_sectors(hotel, INVENTORY).tolist() == ["services"]  # nothing published: unmatched


def test_coverage_by_hand(sides: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    table, _ = sides
    line = table.set_index(coverage.KEYS)
    c26 = line.loc[("qingpu", 2024, "industry:C26", "electricity")]
    assert c26["monitored_tco2e"] == 300.0  # 200 + 100 of green electricity
    assert c26["coverage_emissions"] == pytest.approx(300 / 1000)
    assert c26["coverage_energy"] == pytest.approx(36 / 120)
    assert line.loc[("qingpu", 2023, "industry:C26", "electricity"), "coverage_emissions"] == pytest.approx(0.6)
    assert line.loc[("qingpu", 2024, "industry", "electricity"), "coverage_emissions"] == pytest.approx(100 / 500)
    assert line.loc[("qingpu", 2024, "transport", "diesel"), "coverage_emissions"] == pytest.approx(1.25)
    # no enterprise in 2023's industry remainder although enterprises reported that year: covered by none (0)
    assert line.loc[("qingpu", 2023, "industry", "electricity"), "coverage_emissions"] == 0
    # enterprises in a line the statistics do not have: no inventory figure and no coverage, not 0 and not full
    unmatched = line.loc[("qingpu", 2024, "agriculture", "natural_gas")]
    assert pd.isna(unmatched["inventory_tco2e"]) and unmatched["coverage_emissions"] is None


def test_alerts_name_the_sector_the_gap_and_the_enterprises_that_moved(
    sides: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    table, ents = sides
    alerts = {(a["kind"], a["sector"]): a for a in coverage.coverage_alerts(table, ents, 2024)}
    assert set(alerts) == {("coverage_drop", "industry:C26"), ("exceeds", "transport"), ("unmatched", "agriculture")}
    drop = alerts[("coverage_drop", "industry:C26")]
    assert drop["historical_coverage"] == pytest.approx(0.6)
    assert drop["gap_tco2e"] == pytest.approx((0.6 - 0.3) * 1000)
    assert drop["movers"] == [{"enterprise_uscc": "E1", "change_tco2e": pytest.approx(300 - 600), "new": False}]
    exceeds = alerts[("exceeds", "transport")]
    assert exceeds["gap_tco2e"] == pytest.approx(50.0)
    # E3 has no emissions in the line the year before: it is new there, and moves by all of them
    assert exceeds["movers"] == [{"enterprise_uscc": "E3", "change_tco2e": 250.0, "new": True}]


def test_a_coverage_within_the_rounding_of_the_statistics_is_not_an_excess() -> None:
    inventory = INVENTORY[INVENTORY["year"] == 2024]
    results = RESULTS[RESULTS["enterprise_uscc"] == "E3"].assign(emissions_tco2e=200.9)  # 0.45 % over
    ents = coverage.enterprise_side(results, inventory)
    alerts = coverage.coverage_alerts(coverage.coverage_table(inventory, ents), ents, 2024)
    assert [a["kind"] for a in alerts] == []


def test_no_inventory_means_no_coverage() -> None:
    ents = coverage.enterprise_side(RESULTS, INVENTORY.iloc[0:0])
    table = coverage.coverage_table(INVENTORY.iloc[0:0], ents)
    assert table["coverage_emissions"].isna().all() and table["inventory_tco2e"].isna().all()


# --- on stored statistics and results (SQLite and PostgreSQL) ----------------------------------------------------


@pytest.fixture
def monitored_qingpu(engine, tmp_path):
    """Qingpu's 2023 inventory of tests/test_inventory.py (gas of C26 4e6 m3 and of the rest of industry 6e6 m3;
    industry's electricity 1e9 kWh) and one monitored enterprise of C26 using 1.2e6 m3 of gas and 1.2e7 kWh in 2023,
    and 2.4e6 m3 and 1.2e7 kWh in 2022 (no statistics that year)."""
    assert not import_stats(engine, write(tmp_path / "qp.csv", *QINGPU_2023)).errors
    code = uscc(151)
    add_enterprise(engine, code=code, name="青浦化工", region="qingpu", industry="2614")
    rows = [
        "G-01,天然气,2022-01-01,2023-01-01,2400000,m3",
        "G-01,天然气,2023-01-01,2024-01-01,1200000,m3",
        "E-01,电力,2022-01-01,2023-01-01,12000000,kWh",
        "E-01,电力,2023-01-01,2024-01-01,12000000,kWh",
    ]
    receive_files(engine, [write_template(tmp_path / "e.csv", rows)], code, actor="test")
    return engine, code


def test_coverage_of_a_stored_inventory_by_hand(monitored_qingpu) -> None:
    engine, _ = monitored_qingpu
    got = coverage.reconciliation(engine, 2023, "location", ["qingpu"])
    table = got["coverage"].set_index(coverage.KEYS)
    gas = table.loc[("qingpu", 2023, "industry:C26", "natural_gas")]
    assert gas["coverage_emissions"] == pytest.approx(1.2e6 / 4e6) and gas["enterprises"] == 1
    assert gas["coverage_energy"] == pytest.approx(1.2e6 / 4e6)  # the same coefficient on both sides
    rest = table.loc[("qingpu", 2023, "industry", "natural_gas")]  # the rest of industry: no enterprise of it
    assert rest["coverage_emissions"] == 0 and rest["inventory_tco2e"] == pytest.approx(6e6 * GAS_T_PER_M3)
    power = table.loc[("qingpu", 2023, "industry", "electricity")]  # electricity is published for industry only
    assert power["coverage_emissions"] == pytest.approx(1.2e7 / 1e9)
    # 2022 has results but no statistics: its lines have no inventory figure and no coverage
    assert table.xs(2022, level="year")["coverage_emissions"].isna().all()
    totals = got["totals"].set_index(["region", "year"])
    both = 1.2e6 * GAS_T_PER_M3 + 1.2e7 * SH_2023
    assert totals.loc[("qingpu", 2023), "monitored_tco2e"] == pytest.approx(both)
    assert totals.loc[("qingpu", 2023), "coverage_emissions"] == pytest.approx(
        both / (1e7 * GAS_T_PER_M3 + 5_000 * DIESEL_T_PER_T + 1e9 * SH_2023)
    )
    assert got["alerts"] == []  # no earlier year with statistics to drop from, and nothing above its line


def test_an_enterprise_above_its_inventory_line_is_an_alert(monitored_qingpu, tmp_path) -> None:
    engine, code = monitored_qingpu
    more = ["G-02,天然气,2023-01-01,2024-01-01,3000000,m3"]  # 4.2e6 m3 in C26 against 4e6 in the statistics
    receive_files(engine, [write_template(tmp_path / "more.csv", more)], code, actor="test")
    (alert,) = coverage.reconciliation(engine, 2023, "location", ["qingpu"])["alerts"]
    assert (alert["kind"], alert["sector"], alert["carrier"]) == ("exceeds", "industry:C26", "natural_gas")
    assert alert["gap_tco2e"] == pytest.approx(0.2e6 * GAS_T_PER_M3)
    (mover,) = alert["movers"]
    assert mover == {"enterprise_uscc": code, "change_tco2e": pytest.approx(1.8e6 * GAS_T_PER_M3), "new": False}


def test_a_jurisdiction_without_statistics_has_no_coverage_and_no_alerts() -> None:
    wujiang = RESULTS.assign(region="wujiang")  # the same enterprises, in a jurisdiction with no statistics
    ents = coverage.enterprise_side(pd.concat([RESULTS, wujiang]), INVENTORY)
    table = coverage.coverage_table(INVENTORY, ents)
    assert table.loc[table["region"] == "wujiang", "coverage_emissions"].isna().all()
    alerts = coverage.coverage_alerts(table, ents, 2024)
    assert {a["region"] for a in alerts} == {"qingpu"}


def test_the_cli_prints_coverage_and_alerts(monitored_qingpu, db_url, tmp_path) -> None:
    engine, code = monitored_qingpu
    got = run(db_url, "coverage", "--year", "2023", "--region", "qingpu", "--json")
    assert got.returncode == 0, got.stderr
    out = json.loads(got.stdout)
    lines = {(r["sector"], r["carrier"]): r for r in out["lines"]}
    assert lines[("industry:C26", "natural_gas")]["coverage_emissions"] == pytest.approx(0.3)
    assert lines[("industry", "natural_gas")]["remainder"] is True
    text = run(db_url, "coverage", "--year", "2023")
    assert text.returncode == 0 and "排放覆盖率" in text.stdout and "30.0%" in text.stdout
    assert "无数据" not in text.stdout.split("\n")[0]
    more = ["G-02,天然气,2023-01-01,2024-01-01,3000000,m3"]
    receive_files(engine, [write_template(tmp_path / "more.csv", more)], code, actor="test")
    alerts = run(db_url, "reconcile", "topdown", "--year", "2023", "--json")
    assert alerts.returncode == 0, alerts.stderr
    (alert,) = json.loads(alerts.stdout)["alerts"]
    assert alert["kind"] == "exceeds" and alert["movers"][0]["enterprise_uscc"] == code
    printed = run(db_url, "reconcile", "topdown", "--year", "2023")
    assert "监测企业之和超过清单" in printed.stdout and code in printed.stdout
    assert run(db_url, "coverage", "--year", "2022").stdout.startswith("2022年无地区能源统计数据")


def test_a_jurisdiction_whose_enterprises_reported_nothing_that_year_has_no_monitored_figure() -> None:
    wujiang = pd.DataFrame(
        [("wujiang", 2024, "industry", "electricity", 800.0, 90.0)], columns=[*coverage.KEYS, *coverage.FIGURES]
    )
    inventory = pd.concat([INVENTORY, wujiang], ignore_index=True)
    table = coverage.coverage_table(inventory, coverage.enterprise_side(RESULTS, inventory)).set_index(coverage.KEYS)
    line = table.loc[("wujiang", 2024, "industry", "electricity")]
    assert pd.isna(line["monitored_tco2e"]) and line["coverage_emissions"] is None and pd.isna(line["enterprises"])
    # Qingpu's enterprises reported: its line no enterprise is in reads 0, a count, not 0.0
    assert table.loc[("qingpu", 2024, "industry", "electricity"), "enterprises"] == 1
    assert str(table["enterprises"].dtype) == "Int64"
