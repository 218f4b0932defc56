"""Which factor is chosen, and why: pure functions over the shipped library."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from carbon.errors import FactorDataError, InputError
from carbon.factor_choice import choice_table, choose, in_force

TODAY = date(2026, 11, 25)


def pick(library, carrier, province="CN-SH", year=2023, basis="location", **kw):
    return choose(
        library,
        carrier=carrier,
        province=province,
        grid="CN-GRID-EAST",
        year=year,
        basis=basis,
        as_of=kw.pop("as_of", TODAY),
        **kw,
    )


def test_location_uses_the_provincial_vintage_of_the_data_year(library):
    c = pick(library, "electricity", "CN-JS", 2022)
    assert c.tco2e_per_unit == pytest.approx(0.5978e-3)
    assert c.factor_ids[0] == "mee-2022-elec-location-cn-js"
    assert "location CN-JS 2022" in c.reason and "公告2024年第33号" in c.reason
    assert c.flags == ()


def test_unpublished_year_falls_back_to_the_latest_vintage_and_says_so(library):
    c = pick(library, "electricity", "CN-ZJ", 2025)
    assert c.tco2e_per_unit == pytest.approx(0.4974e-3)
    assert c.flags == ("vintage_fallback:electricity:CN-ZJ:2023->2025",)


def test_year_before_first_vintage_uses_the_earliest_and_says_so(library):
    c = pick(library, "electricity", "CN-SH", 2020)
    assert c.tco2e_per_unit == pytest.approx(0.5834e-3)
    assert "vintage_later_than_data:electricity:CN-SH:2021->2020" in c.flags
    assert "single_source_factor:mee-2021-elec-location-cn-sh" in c.flags


def test_province_without_a_factor_falls_back_to_its_grid(library):
    c = choose(library, carrier="electricity", province="CN-XZ", grid="CN-GRID-SOUTHWEST", year=2023, as_of=TODAY)
    assert c.tco2e_per_unit == pytest.approx(0.2472e-3)
    assert "region_fallback:electricity:CN-XZ->CN-GRID-SOUTHWEST" in c.flags


def test_local_basis_in_shanghai_and_elsewhere(library):
    assert pick(library, "electricity", basis="local").tco2e_per_unit == pytest.approx(0.42e-3)
    assert pick(library, "heat", basis="local").tco2e_per_unit == pytest.approx(0.06)
    assert pick(library, "green_electricity", basis="local").tco2e_per_unit == 0
    js = pick(library, "electricity", "CN-JS", basis="local")
    assert js.tco2e_per_unit == pytest.approx(0.5827e-3) and js.factor_ids[0] == "mee-2023-elec-location-cn-js"


def test_superseded_shanghai_values_apply_only_before_the_notice(library):
    before = pick(library, "electricity", basis="local", as_of=date(2021, 6, 30))
    assert before.tco2e_per_unit == pytest.approx(0.788e-3) and before.factor_ids[0] == "sh-pre2022-elec-local-cn-sh"
    assert len(in_force(library, TODAY)) == len(library) - 2


def test_market_basis(library):
    green = pick(library, "green_electricity", "CN-JS", basis="market")
    grid = pick(library, "electricity", "CN-JS", basis="market")
    assert green.tco2e_per_unit == 0 and "unverified_factor:market-green-elec-zero-cn" in green.flags
    assert grid.tco2e_per_unit == pytest.approx(0.6096e-3) and grid.factor_ids[0] == "mee-2023-elec-residual-mix-cn"


def test_green_electricity_under_location_is_grid_electricity(library):
    assert (
        pick(library, "green_electricity", "CN-ZJ").tco2e_per_unit
        == pick(library, "electricity", "CN-ZJ").tco2e_per_unit
    )


def test_fuel_factor_is_computed_from_three_parameters_and_records_them(library):
    c = pick(library, "natural_gas")
    assert c.tco2e_per_unit == pytest.approx(21.6219e-4, rel=1e-5)  # per m3
    assert set(c.factor_ids[:3]) == {"gbt32150-ncv-natural-gas", "gbt32150-cc-natural-gas", "gbt32150-of-natural-gas"}
    assert c.tce_per_unit == pytest.approx(1.33e-3)
    assert "NCV x CC x OF x 44/12" in c.reason


def test_fuel_without_coefficient_converts_energy_from_ncv(library):
    c = pick(library, "bituminous_coal")
    assert c.tce_per_unit == pytest.approx(19.570 / 29.307, rel=1e-6)
    assert "tce_from_ncv:bituminous_coal" in c.flags


def test_choice_table_has_one_row_per_province_and_carrier(library):
    pairs = pd.DataFrame(
        {
            "province": ["CN-SH", "CN-SH", "CN-JS"],
            "grid": "CN-GRID-EAST",
            "carrier": ["electricity", "electricity", "diesel"],
        }
    )
    table = choice_table(library, pairs, year=2023, as_of=TODAY)
    assert list(zip(table["province"], table["carrier"], strict=True)) == [
        ("CN-SH", "electricity"),
        ("CN-JS", "diesel"),
    ]


def test_bad_basis_or_gwp_set_and_missing_records(library):
    with pytest.raises(InputError):
        pick(library, "electricity", basis="vibes")
    with pytest.raises(InputError):
        pick(library, "electricity", gwp_set="AR9")
    with pytest.raises(FactorDataError):
        pick(library.loc[library["parameter"] != "oxidation_rate"], "diesel")
