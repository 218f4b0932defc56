"""The registry of fields (``carbon/data/fields.csv``): every column the views serve is in it, every field has both
labels and a unit, no two fields share a label, and names carry their units."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from numbers import Number

import pandas as pd
import pytest
from openpyxl import load_workbook

from carbon import db, fields, reference, views
from carbon.access import Viewer
from carbon.analytics.decompose import EFFECTS
from carbon.analytics.grades import grade_year
from carbon.analytics.progress import annual_totals, progress, targets
from carbon.analytics.restatement import restatement
from carbon.cli import format_result
from carbon.ledger import stored_result
from carbon.units import parse_unit
from tests.zone_fixture import A

ZONE = Viewer("zone1", "zone")
YEAR = 2024


@pytest.fixture(scope="module")
def zone(zone_url):
    engine = db.make_engine(zone_url)
    yield engine
    engine.dispose()


def columns(obj: object, where: str = "") -> Iterator[tuple[str, str]]:
    """(where, name) of every column a view's output serves: the columns of its frames (carrier columns of a pivot
    by carrier and month numbers are categories, not fields), the keys of its records and the keys of its numbers."""
    if isinstance(obj, pd.DataFrame):
        names = [*obj.columns, *(n for n in obj.index.names if n is not None)]
        for name in names:
            if isinstance(name, str) and name not in reference.carriers().index:
                yield where, name
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            yield from columns(getattr(obj, f.name), f"{where}.{f.name}")
    elif isinstance(obj, dict):
        for key, value in obj.items():
            if isinstance(value, Number) and not isinstance(value, bool):
                yield where, key  # a figure served by name
            else:
                yield from columns(value, f"{where}.{key}")
    elif isinstance(obj, list) and obj and all(isinstance(x, dict) for x in obj):
        yield from columns(pd.DataFrame(obj), where)


def served(zone) -> dict[str, object]:
    """What every view function serves on the small zone (raw data of uploads and reports aside: refused rows
    carry the uploader's own headers, a validation report the importer's)."""
    detail = views.enterprise_detail(zone, ZONE, A, YEAR)
    assert set(detail["monthly"].columns) <= set(reference.carriers().index)  # a pivot by carrier
    return {
        "visible_enterprises": views.visible_enterprises(zone, ZONE),
        "overview": views.overview(zone, ZONE, "zone", YEAR),
        "sector_split": views.sector_split(zone, ZONE, "qingpu", YEAR),
        "compare_regions": views.compare_regions(zone, ZONE, YEAR),
        "enterprise_table": views.enterprise_table(zone, ZONE, YEAR),
        "enterprise_detail": detail,
        "uploads": views.uploads(zone, ZONE),
        "completeness": views.completeness(zone, ZONE, YEAR),
        "connector_health": views.connector_health(zone, ZONE),
        "factor_library": views.factor_library(zone),
        "factors_used": views.factors_used(zone, ZONE, A, YEAR),
        "alerts": views.alerts(zone, ZONE, "qingpu", YEAR),
        "audit_log": views.audit_log(zone, ZONE),
    }


def test_every_column_a_view_serves_is_a_field(zone):
    found = {(f"{view}{where}", name) for view, out in served(zone).items() for where, name in columns(out)}
    assert len({name for _, name in found}) > 60  # the walk reached the tables
    missing = sorted((where, name) for where, name in found if not fields.exists(name))
    assert not missing, f"not in carbon/data/fields.csv: {missing}"


def test_every_figure_the_analytics_and_the_cli_serve_is_a_field(zone):
    result = stored_result(zone, region="zone", year=YEAR)
    outputs = {
        "progress": progress(zone, "zone", YEAR),
        "annual_totals": annual_totals(zone, "zone", [2023, YEAR]).reset_index(),
        "grade_year": grade_year(zone, YEAR),
        "restatement": restatement(zone, datetime(2000, 1, 1, tzinfo=UTC)),
        "account": result.as_dict(),
        "by_carrier": result.by_carrier(),
        "overview.peak": views.overview(zone, ZONE, "zone", YEAR)["peak"],
    }
    found = {(f"{name}{where}", col) for name, out in outputs.items() for where, col in columns(out)}
    text = {"subject", "gwp_set", "run_id", "name_zh", "scope", "factor_reasons"}  # account JSON: not figures
    missing = sorted((where, c) for where, c in found if not fields.exists(c) and c not in text)
    assert not missing, f"not in carbon/data/fields.csv: {missing}"
    assert set(views.decomposition(zone, ZONE, "qingpu", 2023, YEAR)) == {*EFFECTS, "total"}  # effects: categories


def test_every_field_has_both_labels_a_description_and_a_unit():
    table = fields.registry()
    assert table.index.is_unique and len(table) > 100
    for name, row in table.iterrows():
        assert row["label_zh"] and row["label_en"], name
        assert row["description_zh"] and row["description_en"], name
        assert row["kind"] in fields.KINDS, name
        assert row["digits"] == "" or row["digits"].isdigit(), name
        assert row["unit"], name
        if row["unit"] in (fields.DIMENSIONLESS, fields.PER_ROW):
            assert row["unit"] == fields.DIMENSIONLESS or row["kind"] == "figure", name
        else:
            assert row["unit"] in fields.units().index, f"{name}: unit {row['unit']} has no labels in field_units.csv"
            assert row["kind"] == "figure", name
    assert (fields.registry().loc[fields.registry()["kind"] == "share", "unit"] == fields.DIMENSIONLESS).all()


def test_every_unit_is_a_unit_of_the_project_registry_with_both_labels():
    for unit, row in fields.units().iterrows():
        parse_unit(unit)  # raises for anything pint does not know
        assert row["label_zh"] and row["label_en"] and row["suffix"], unit
    assert fields.unit_label("emissions_tco2e", "zh") == "吨二氧化碳当量"
    assert fields.unit_label("energy_tce", "zh") == "吨标准煤"
    assert fields.unit_label("value_added_10k_cny", "zh") == "万元"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_no_two_fields_share_a_label(lang):
    labels = fields.registry()[f"label_{lang}"]
    assert not labels[labels.duplicated(keep=False)].to_dict(), "fields sharing a label"


def test_names_carry_their_units():
    suffixes = fields.units()["suffix"]
    for name, row in fields.registry().iterrows():
        if row["unit"] in suffixes.index:
            assert name.endswith("_" + suffixes[row["unit"]]), f"{name} is in {row['unit']}"
        read_as = [u for u, s in suffixes.items() if name.endswith("_" + s)]
        ending = max(read_as, key=lambda u: len(suffixes[u]), default=None)  # the longest: tco2e_per_10k_cny
        assert ending is None or ending == row["unit"], f"{name} reads as {ending} but is in {row['unit']}"
    for old in ("wan_cny", "intensity_tco2e_per_wan_cny", "tco2e", "tce", "carbon_intensity", "value_added"):
        assert not fields.exists(old), old


def test_every_target_indicator_is_a_field():
    for indicator in targets()["indicator"].unique():
        assert fields.kind(indicator) == "figure" and fields.unit(indicator).endswith("/wan_CNY"), indicator


def test_lookups():
    assert fields.label("emissions_tco2e") == "碳排放量" and fields.label("emissions_tco2e", "en") == "emissions"
    assert fields.header("emissions_tco2e") == "碳排放量 / emissions (吨二氧化碳当量 tCO2e)"
    assert fields.header("energy_tce") == "综合能耗 / energy use (吨标准煤 tce)"
    assert fields.header("value_added_10k_cny") == "增加值 / value added (万元)"
    assert fields.header("grade") == "碳效码 / carbon-efficiency grade"
    assert fields.title("carbon_intensity_tco2e_per_10k_cny", "zh") == "碳排放强度（吨二氧化碳当量/万元）"
    assert fields.title("carbon_intensity_tco2e_per_10k_cny", "en") == "carbon intensity (tCO2e per 10^4 CNY)"
    assert fields.title("completeness", "en") == "data completeness" and fields.digits("k") == 2
    with pytest.raises(KeyError, match=r"fields\.csv"):
        fields.label("tco2e")
    with pytest.raises(ValueError, match="zh or en"):
        fields.label("emissions_tco2e", "fr")


def test_rename_for_export_heads_fields_and_keeps_other_columns_and_values():
    df = pd.DataFrame({"uscc": ["X"], "emissions_tco2e": [1.5], 6: [0.5], "原行号 / row": [3]})
    out = fields.rename_for_export(df, "en")
    assert list(out.columns) == ["USCC", "emissions (tCO2e)", 6, "原行号 / row"]
    assert out.iloc[0].tolist() == df.iloc[0].tolist() and df.columns[0] == "uscc"  # the input is untouched


def test_exports_are_headed_with_the_registry_labels(zone):
    table = views.enterprise_table(zone, ZONE, YEAR)
    book = load_workbook(io.BytesIO(views.export_file(ZONE, {"企业": fields.rename_for_export(table, "zh")}, "xlsx")))
    header = [c.value for c in next(book["企业"].iter_rows(max_row=1))]
    assert header == [fields.title(c, "zh") for c in table.columns]
    assert "碳排放强度（吨二氧化碳当量/万元）" in header and "增加值（万元）" in header


def test_cli_tables_take_their_headers_from_the_registry(zone):
    text = format_result(stored_result(zone, region="zone", year=YEAR).as_dict())
    for name in ("total_tco2e", "scope1_tco2e", "energy_tce", "carrier", "quantity_canonical", "emissions_tco2e"):
        assert fields.header(name) in text, name
