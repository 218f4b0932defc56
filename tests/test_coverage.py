"""Coverage and top-down against bottom-up, hand-checked on small frames (carbon.analytics.coverage)."""

from __future__ import annotations

import pandas as pd
import pytest

from carbon.analytics import coverage

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
    assert set(alerts) == {("drop", "industry:C26"), ("exceeds", "transport"), ("unmatched", "agriculture")}
    drop = alerts[("drop", "industry:C26")]
    assert drop["historical_coverage"] == pytest.approx(0.6)
    assert drop["gap_tco2e"] == pytest.approx((0.6 - 0.3) * 1000)
    assert drop["movers"] == [{"enterprise_uscc": "E1", "change_tco2e": pytest.approx(300 - 600)}]
    exceeds = alerts[("exceeds", "transport")]
    assert exceeds["gap_tco2e"] == pytest.approx(50.0)
    assert exceeds["movers"][0]["enterprise_uscc"] == "E3"


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
