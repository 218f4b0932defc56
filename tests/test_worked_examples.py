"""Hand-computed worked examples through the whole stack (register, ingest, account), 4 significant digits.

Every expected value below is computed by hand from the reference sheet's numbers, not by the engine.
"""

from __future__ import annotations

import math

import pytest

from carbon.enterprises import add_enterprise
from carbon.intake import receive_files
from carbon.ledger import account
from tests.helpers import uscc, write_template


def close4(a: float, b: float) -> bool:
    """Equal to 4 significant digits."""
    return math.isclose(a, b, rel_tol=5e-5, abs_tol=1e-9)


def _setup(engine, tmp_path, region: str, rows: list[str], serial: int = 1) -> str:
    admin = {"qingpu": "310118", "wujiang": "320509", "jiashan": "330421"}[region]
    code = uscc(serial, admin)
    add_enterprise(engine, code=code, name=f"测试企业{serial}", region=region, industry="2614")
    reports = receive_files(engine, [write_template(tmp_path / f"{code}.csv", rows)], code, actor="test")
    assert all(r.stored and not r.errors for r in reports), [r.as_dict() for r in reports]
    return code


@pytest.mark.parametrize(
    ("region", "factor_kg_per_kwh"),
    [("qingpu", 0.5737), ("wujiang", 0.5827), ("jiashan", 0.4974)],  # MEE/NBS 2023 provincial averages
)
def test_electricity_each_province_location(engine, tmp_path, region, factor_kg_per_kwh):
    code = _setup(engine, tmp_path, region, ["E1,电力,2023-01-01,2024-01-01,100000,kWh"])
    r = account(engine, enterprise=code, year=2023).as_dict()
    assert close4(r["total_tco2e"], 100_000 * factor_kg_per_kwh / 1000)
    assert close4(r["scope2_tco2e"], r["total_tco2e"]) and r["scope1_tco2e"] == 0
    assert close4(r["energy_tce"], 100_000 * 0.1229 / 1000)  # GB/T 2589 equivalent value
    (line,) = r["by_carrier"]
    assert line["unit"] == "kWh" and close4(line["quantity_canonical"], 100_000)
    assert any(i.startswith("mee-2023") for i in line["factor_ids"])
    assert not any(f.startswith("vintage") for f in r["flags"])


def test_qingpu_local_basis_uses_shanghai_factors(engine, tmp_path):
    code = _setup(
        engine, tmp_path, "qingpu", ["E1,电力,2023-01-01,2024-01-01,10,万kWh", "H1,热力,2023-01-01,2024-01-01,1000,GJ"]
    )
    local = account(engine, enterprise=code, year=2023, basis="local").as_dict()
    by = {c["carrier"]: c for c in local["by_carrier"]}
    assert close4(by["electricity"]["emissions_tco2e"], 10 * 4.2)  # 4.2 tCO2/10^4 kWh, 沪环气〔2022〕34号
    assert close4(by["heat"]["emissions_tco2e"], 1000 * 0.06)  # 0.06 tCO2/GJ
    location = account(engine, enterprise=code, year=2023).as_dict()
    by = {c["carrier"]: c for c in location["by_carrier"]}
    assert close4(by["heat"]["emissions_tco2e"], 1000 * 0.11)  # national default heat factor
    assert close4(by["heat"]["energy_tce"], 1000 * 1000 * 0.03412 / 1000)  # 0.03412 kgce/MJ
    assert any(f.startswith("unverified_factor:") for f in location["flags"])


def test_natural_gas_and_diesel_from_gbt32150_parameters(engine, tmp_path):
    code = _setup(
        engine,
        tmp_path,
        "wujiang",
        ["G1,天然气,2023-01-01,2024-01-01,1,万m3", "D1,柴油,2023-03-01,2023-04-01,10000,kg"],
    )
    r = account(engine, enterprise=code, year=2023).as_dict()
    by = {c["carrier"]: c for c in r["by_carrier"]}
    # 1 x 10^4 Nm3 x 389.31 GJ/10^4 Nm3 x 15.3 tC/TJ x 99% x 44/12
    gas = 389.31 * 15.3e-3 * 0.99 * 44 / 12
    assert close4(by["natural_gas"]["emissions_tco2e"], gas) and f"{gas:.4g}" == "21.62"
    assert by["natural_gas"]["unit"] == "m3" and close4(by["natural_gas"]["quantity_canonical"], 10_000)
    assert close4(by["natural_gas"]["energy_tce"], 10_000 * 1.33 / 1000)
    # 10 t x 42.652 GJ/t x 20.2 tC/TJ x 98% x 44/12
    diesel = 10 * 42.652 * 20.2e-3 * 0.98 * 44 / 12
    assert close4(by["diesel"]["emissions_tco2e"], diesel) and f"{diesel:.4g}" == "30.96"
    assert by["diesel"]["unit"] == "t" and close4(by["diesel"]["energy_tce"], 10 * 1.4571)
    assert close4(r["scope1_tco2e"], gas + diesel)


def test_period_crossing_new_year_is_split_in_proportion_to_time(engine, tmp_path):
    code = _setup(engine, tmp_path, "wujiang", ["E1,电力,2023-12-16,2024-01-16,31000,kWh"])
    r23 = account(engine, enterprise=code, year=2023).as_dict()
    r24 = account(engine, enterprise=code, year=2024).as_dict()
    assert close4(r23["by_carrier"][0]["quantity_canonical"], 16_000)  # 16 of 31 days in 2023
    assert close4(r24["by_carrier"][0]["quantity_canonical"], 15_000)
    assert close4(r23["total_tco2e"], 16_000 * 0.5827 / 1000)
    # 2024 factors are not published: the 2023 vintage is used and flagged
    assert close4(r24["total_tco2e"], 15_000 * 0.5827 / 1000)
    assert "vintage_fallback:electricity:CN-JS:2023->2024" in r24["flags"]
    assert "period_split:1" in r23["flags"] and "period_split:1" in r24["flags"]


def test_green_electricity_under_market_and_location(engine, tmp_path):
    code = _setup(
        engine,
        tmp_path,
        "jiashan",
        ["E1,电力,2023-01-01,2024-01-01,100000,kWh", "G1,绿色电力,2023-01-01,2024-01-01,50000,kWh"],
    )
    market = account(engine, enterprise=code, year=2023, basis="market").as_dict()
    by = {c["carrier"]: c for c in market["by_carrier"]}
    assert by["green_electricity"]["emissions_tco2e"] == 0
    assert close4(by["electricity"]["emissions_tco2e"], 100_000 * 0.6096 / 1000)  # national residual mix 2023
    location = account(engine, enterprise=code, year=2023).as_dict()
    assert close4(location["total_tco2e"], 150_000 * 0.4974 / 1000)  # location counts green at the average


def test_every_run_is_kept_with_its_as_of_time(engine, tmp_path):
    from sqlmodel import Session, select

    from carbon.models import AccountingRun, EmissionResult

    code = _setup(engine, tmp_path, "qingpu", ["E1,电力,2023-01-01,2023-02-01,1000,kWh"])
    # a correction of the same month: new runs on every basis, the first ones kept
    receive_files(
        engine, [write_template(tmp_path / "fix.csv", ["E1,电力,2023-01-01,2023-02-01,1100,kWh"])], code, actor="t"
    )
    with Session(engine) as s:
        runs = s.exec(select(AccountingRun).order_by(AccountingRun.id)).all()
        assert [r.basis for r in runs] == ["location", "local", "market"] * 2
        assert [r.total_tco2e for r in runs[::3]] == pytest.approx([1000 * 0.5737 / 1000, 1100 * 0.5737 / 1000])
        assert all(r.computed_at is not None for r in runs)
        lines = s.exec(select(EmissionResult).where(EmissionResult.run_id == runs[0].id)).all()
        assert len(lines) == 1 and "mee-2023" in lines[0].factor_ids


@pytest.mark.parametrize(("basis", "kg_per_kwh"), [("location", 0.5737), ("local", 0.42)])
def test_exported_electricity_is_subtracted_and_generation_not_counted(engine, tmp_path, basis, kg_per_kwh):
    """Net purchased electricity (purchased − supplied out) at the grid factor; on-site PV is its own flow at 0."""
    code = _setup(
        engine,
        tmp_path,
        "qingpu",
        [
            "E1,电力,2023-01-01,2024-01-01,100000,kWh",
            "PV,光伏发电量,2023-01-01,2024-01-01,30000,kWh",
            "X1,上网电量,2023-01-01,2024-01-01,4000,kWh",
        ],
    )
    r = account(engine, enterprise=code, year=2023, basis=basis).as_dict()
    by = {c["carrier"]: c for c in r["by_carrier"]}
    assert set(by) == {"electricity", "electricity_exported", "electricity_generated"}
    assert close4(by["electricity_exported"]["emissions_tco2e"], -4000 * kg_per_kwh / 1000)
    assert by["electricity_generated"]["emissions_tco2e"] == 0 and by["electricity_generated"]["energy_tce"] == 0
    assert close4(r["total_tco2e"], (100_000 - 4000) * kg_per_kwh / 1000)
    assert close4(r["energy_tce"], (100_000 - 4000) * 0.1229 / 1000)
    assert {"electricity_flow:electricity_exported", "electricity_flow:electricity_generated"} <= set(r["flags"])
