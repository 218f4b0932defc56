"""The shipped factor library: every record sourced, parseable and unambiguous; the loader refuses bad ones."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from carbon.errors import FactorDataError
from factors import load_library
from factors.loader import COLUMNS, data_dir, read_files, record_problems


def test_every_shipped_record_passes_every_check(library):
    raw = read_files(data_dir().rglob("*.csv"), data_dir())
    assert record_problems(raw) == []
    assert library["id"].is_unique
    assert (library["value"] > 0).sum() == len(library) - 2  # only the two green-electricity zeros
    assert set(library.loc[library["value"] == 0, "carrier"]) == {"green_electricity"}
    sourced = library["source_url"].notna() | library["document_number"].notna()
    assert sourced[library["status"] != "unverified"].all()


def _value(lib: pd.DataFrame, **key) -> float:
    mask = pd.Series(True, index=lib.index)
    for k, v in key.items():
        mask &= lib[k] == v
    (value,) = lib.loc[mask, "value"]
    return float(value)


@pytest.mark.parametrize(
    ("year", "national", "residual", "fossil", "east", "sh", "js", "zj"),
    [
        (2021, 0.5568, 0.5942, 0.8426, 0.5992, 0.5834, 0.6451, 0.5422),
        (2022, 0.5366, 0.5856, 0.8325, 0.5617, 0.5849, 0.5978, 0.5153),
        (2023, 0.5306, 0.6096, 0.8273, 0.5500, 0.5737, 0.5827, 0.4974),
    ],
)
def test_mee_electricity_factors_match_the_reference_sheet(library, year, national, residual, fossil, east, sh, js, zj):
    e = library.loc[(library["carrier"] == "electricity") & (library["vintage"] == year)]
    assert _value(e, region="CN", basis="location") == national
    assert _value(e, region="CN", basis="residual_mix") == residual
    assert _value(e, region="CN", basis="fossil_only") == fossil
    assert _value(e, region="CN-GRID-EAST", basis="location") == east
    assert {p: _value(e, region=p, basis="location") for p in ("CN-SH", "CN-JS", "CN-ZJ")} == {
        "CN-SH": sh,
        "CN-JS": js,
        "CN-ZJ": zj,
    }
    grids = e.loc[e["region"].str.startswith("CN-GRID-") & (e["basis"] == "location"), "region"]
    assert len(set(grids)) == 7
    assert set(e.loc[e["basis"] != "ets_grid", "publisher"]) == {"生态环境部; 国家统计局"}


def test_shanghai_local_factors_and_superseded_values(library):
    sh = library.loc[(library["region"] == "CN-SH") & (library["basis"] == "local")].set_index("id")
    current = sh.loc[sh["superseded_by"].isna()]
    assert sorted(zip(current["carrier"], current["value"], current["unit"], strict=True)) == [
        ("electricity", 4.2, "t_CO2/wan_kWh"),
        ("green_electricity", 0.0, "t_CO2/wan_kWh"),
        ("heat", 0.06, "t_CO2/GJ"),
    ]
    old = sh.loc[sh["superseded_by"].notna()]
    assert sorted(zip(old["carrier"], old["value"], strict=True)) == [("electricity", 7.88), ("heat", 0.11)]
    assert all(str(d) == "2022-02-10" for d in old["valid_to"])
    assert set(current["document_number"]) == {"沪环气〔2022〕34号", "沪环气候〔2023〕89号"}


def test_other_required_records(library):
    assert _value(library, basis="ets_grid", region="CN") == 0.5703
    heat = library.loc[(library["carrier"] == "heat") & (library["region"] == "CN")]
    assert _value(heat, parameter="emission_factor") == 0.11
    assert _value(library, parameter="coal_equivalent", carrier="electricity") == 0.1229
    gwp = library.loc[library["parameter"] == "gwp"]
    assert set(gwp["basis"]) == {"SAR", "AR4", "AR5", "AR6"}
    assert {s: _value(gwp, basis=s, gas="CH4") for s in ("SAR", "AR4", "AR5", "AR6")} == {
        "SAR": 21,
        "AR4": 25,
        "AR5": 28,
        "AR6": 27.9,
    }
    for carrier in ("natural_gas", "diesel", "gasoline", "kerosene", "fuel_oil", "lpg", "lng", "coke", "anthracite"):
        for parameter in ("net_calorific_value", "carbon_content", "oxidation_rate"):
            assert len(library.loc[(library["carrier"] == carrier) & (library["parameter"] == parameter)]) == 1


def test_unverified_values_keep_their_status(library):
    assert library.set_index("id").loc["ndrc-24-industries-heat-default-cn", "status"] == "unverified"
    ar5_fossil = library.loc[(library["gas"] == "CH4_fossil") & (library["basis"] == "AR5")]
    assert list(ar5_fossil["status"]) == ["unverified"]


def _broken_library(tmp_path: Path, edit) -> Path:
    root = tmp_path / "lib"
    shutil.copytree(data_dir(), root)
    path = root / "mee" / "electricity-2023.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    edit(df)
    df.to_csv(path, index=False)
    return root


def _set(row: int, column: str, value: str):
    def edit(df: pd.DataFrame) -> None:
        df.loc[row, column] = df.loc[0, "id"] if value == "<id of row 0>" else value

    return edit


def _unsourced(df: pd.DataFrame) -> None:
    df["source_url"] = ""
    df["document_number"] = ""


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_unsourced, "needs a source_url"),
        (_set(0, "unit", "kg_CO2/m3"), "expected"),
        (_set(0, "unit", "bananas"), "does not parse"),
        (_set(0, "value", "-0.5"), "must be positive"),
        (_set(0, "value", "0"), "must be positive"),
        (_set(1, "basis", "location"), "both valid for the same key"),
        (_set(1, "id", "<id of row 0>"), "more than once"),
        (_set(0, "carrier", "unobtainium"), "not in carbon/data/carriers.csv"),
    ],
)
def test_loader_refuses_a_bad_record(tmp_path, edit, message):
    with pytest.raises(FactorDataError) as exc:
        load_library(_broken_library(tmp_path, edit))
    assert message in exc.value.message


def test_loader_refuses_a_file_without_the_columns(tmp_path):
    root = tmp_path / "lib"
    root.mkdir()
    (root / "x.csv").write_text("id,value\na,1\n", encoding="utf-8")
    with pytest.raises(FactorDataError, match="lacks columns"):
        load_library(root)
    assert "source_url" in COLUMNS
