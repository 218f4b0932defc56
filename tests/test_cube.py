"""The emissions cube: built from the newest stored results, consistent with the accounting, cached until new runs."""

from __future__ import annotations

import pytest

from carbon.analytics.cube import build_cube, enterprise_results
from carbon.enterprises import add_enterprise
from carbon.intake import receive_files
from tests.helpers import uscc, write_template


def test_cube_matches_the_accounting_and_groups_by_sector_and_scope(engine, tmp_path):
    a, b = uscc(141), uscc(142, "320509")
    add_enterprise(engine, code=a, name="青浦化工", region="qingpu", industry="26")
    add_enterprise(engine, code=b, name="吴江物流", region="wujiang", industry="5430")
    receive_files(
        engine,
        [
            write_template(
                tmp_path / "a.csv",
                ["E1,电力,2023-01-01,2023-03-01,59000,kWh", "G1,天然气,2023-01-01,2023-02-01,1000,m3"],
            )
        ],
        a,
        actor="test",
    )
    receive_files(engine, [write_template(tmp_path / "b.csv", ["D1,柴油,2023-02-01,2023-03-01,10,t"])], b, actor="test")
    cache: dict = {}
    cube = build_cube(engine, cache=cache)
    assert set(cube.dims) == {"time", "region", "division", "carrier"}
    total = float(cube["emissions_tco2e"].sum())
    expected = 59000 * 0.5737 / 1000 + 1000 * 21.6219 / 10000 + 10 * 42.652 * 0.0202 * 0.98 * 44 / 12
    assert total == pytest.approx(expected, rel=1e-4)
    by_sector = cube["emissions_tco2e"].groupby("sector").sum(...)
    assert float(by_sector.sel(sector="transport")) == pytest.approx(10 * 42.652 * 0.0202 * 0.98 * 44 / 12, rel=1e-4)
    by_scope = cube["emissions_tco2e"].groupby("scope").sum(...)
    assert float(by_scope.sel(scope=2)) == pytest.approx(59000 * 0.5737 / 1000)
    jan = cube["activity"].sel(region="qingpu", carrier="electricity", division="26").sel(time="2023-01-01")
    assert float(jan) == pytest.approx(59000 * 31 / 59)  # split in proportion to time
    assert cube.attrs["activity_units"]["natural_gas"] == "m3"
    assert build_cube(engine, cache=cache) is cube  # nothing new: the cached cube
    more = write_template(tmp_path / "c.csv", ["E1,电力,2023-03-01,2023-04-01,1000,kWh"])
    receive_files(engine, [more], a, actor="t")
    assert build_cube(engine, cache=cache) is not cube
    drill = enterprise_results(engine)
    assert set(drill["enterprise_uscc"]) == {a, b} and {"region", "sector", "time"} <= set(drill.columns)
