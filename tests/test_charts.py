"""The dashboard's charts: one unit scale per page, value labels on the waterfall, sensible decimals, titled
tooltips and one colour per carrier on every chart.

The chart specs are built from their functions and read as Vega-Lite JSON; the pages are run with Streamlit's
AppTest against a real database (the small zone of ``tests/zone_fixture.py``) and their charts read from the
rendered page."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from streamlit import dataframe_util
from streamlit.testing.v1 import AppTest

from carbon import db, fields, reference
from dashboard import charts, labels
from dashboard import format as fmt
from tests.zone_fixture import PASSWORD, A, C, build

APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")
EFFECTS = {  # t CO2e, adding up to the total, with more decimals than a reader should see
    "activity": 141_100.032,
    "structure": -23_456.789,
    "intensity": -80_000.4,
    "fuel_mix": 1_234.5,
    "emission_factor": -5_000.25,
}
EFFECTS["total"] = sum(EFFECTS.values())


# --- the scale --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("figures", "lang", "unit", "largest"),
    [
        ([141_100.032, 5_000.0], "zh", "万吨CO₂e", "14.11 万吨CO₂e"),
        ([-20_000.0, 3.0], "zh", "万吨CO₂e", "-2.00 万吨CO₂e"),
        ([9_999.44, None, float("nan")], "zh", "吨CO₂e", "9,999.4 吨CO₂e"),
        ([141_100.032, 5_000.0], "en", "t CO₂e", "141,100 t CO₂e"),
    ],
)
def test_a_page_scale_is_the_unit_its_largest_figure_is_written_in(figures, lang, unit, largest):
    scale = charts.emissions_scale(figures, lang)
    assert scale.unit == unit
    biggest = max((f for f in figures if f == f and f is not None), key=abs)
    assert scale.text(biggest) == largest == fmt.tonnes_co2e(biggest, lang)
    assert scale.title("emissions_tco2e").endswith(("（" + unit + "）") if lang == "zh" else f"({unit})")
    assert scale.text(None) == fields.NO_DATA[lang] and scale.text(float("nan")) == fields.NO_DATA[lang]


def test_a_page_without_figures_reads_in_tonnes():
    assert charts.emissions_scale([], "zh").unit == "吨CO₂e"
    assert charts.emissions_scale([None], "zh").text(None) == "无数据"
    with pytest.raises(ValueError, match="zh or en"):
        charts.emissions_scale([1.0], "fr")


# --- reading specs ----------------------------------------------------------------------------------------------


def _specs(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The unit specs of a chart (itself, or its layers)."""
    return spec.get("layer", [spec])


def _mark(unit: dict[str, Any]) -> str:
    mark = unit["mark"]
    return mark if isinstance(mark, str) else mark["type"]


def _rows(spec: dict[str, Any], unit: dict[str, Any], datasets: dict[str, pd.DataFrame]) -> pd.DataFrame:
    data = unit.get("data", spec.get("data"))
    return datasets[data["name"]]


def _chart(chart: Any) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    spec = chart.to_dict()
    return spec, {name: pd.DataFrame(rows) for name, rows in spec.get("datasets", {}).items()}


def _quantitative_titles(spec: dict[str, Any]) -> set[str]:
    return {
        enc["title"]
        for unit in _specs(spec)
        for channel, enc in unit["encoding"].items()
        if channel in ("x", "y") and enc.get("type") == "quantitative"
    }


def _tooltips(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [tip for unit in _specs(spec) for tip in unit["encoding"].get("tooltip", [])]


# --- the waterfall ----------------------------------------------------------------------------------------------


def test_the_waterfall_labels_every_bar_with_its_contribution_in_the_page_scale():
    scale = charts.emissions_scale([357_337.0, *EFFECTS.values()], "zh")
    spec, datasets = _chart(charts.waterfall(EFFECTS, "zh", scale))
    text = next(u for u in _specs(spec) if _mark(u) == "text")
    assert text["encoding"]["text"]["field"] == "label"
    rows = _rows(spec, text, datasets)
    assert list(rows["effect"]) == ["经济规模", "产业结构", "能源强度", "能源结构", "排放因子", "合计变化"]
    assert list(rows["label"]) == ["+14.11", "-2.35", "-8.00", "+0.12", "-0.50", "+3.39"]
    # each label sits on its own bar's upper end
    assert list(rows["top"]) == [max(s, e) for s, e in zip(rows["start"], rows["end"], strict=True)]
    assert rows["end"].iloc[-1] == pytest.approx(EFFECTS["total"] / 1e4)
    assert _quantitative_titles(spec) == {"因素贡献（万吨CO₂e）"}
    assert {t.get("format") for t in _tooltips(spec) if t["type"] == "quantitative"} == {",.2f"}


def test_the_waterfall_in_tonnes_shows_whole_or_one_decimal():
    small = {k: v / 100 for k, v in EFFECTS.items()}  # at most 1,411 t: the page is in 吨
    zh = charts.emissions_scale(small.values(), "zh")
    spec, datasets = _chart(charts.waterfall(small, "zh", zh))
    rows = _rows(spec, next(u for u in _specs(spec) if _mark(u) == "text"), datasets)
    assert list(rows["label"]) == ["+1,411.0", "-234.6", "-800.0", "+12.3", "-50.0", "+338.8"]
    assert _quantitative_titles(spec) == {"因素贡献（吨CO₂e）"}
    spec, datasets = _chart(charts.waterfall(EFFECTS, "en", charts.emissions_scale(EFFECTS.values(), "en")))
    rows = _rows(spec, next(u for u in _specs(spec) if _mark(u) == "text"), datasets)
    assert list(rows["label"]) == ["+141,100", "-23,457", "-80,000", "+1,234", "-5,000", "+33,877"]
    assert list(rows["effect"])[-1] == "total change"
    assert _quantitative_titles(spec) == {"contribution (t CO₂e)"}


# --- every chart: titles, tooltips, decimals --------------------------------------------------------------------


def _every_chart(lang: str) -> dict[str, Any]:
    """Every chart of the dashboard, built from frames shaped as ``carbon.views`` returns them."""
    annual = pd.DataFrame(
        {
            "year": [2021, 2022, 2023, 2024],
            "emissions_tco2e": [331_234.5678, 345_678.9012, 352_111.1111, 357_337.4321],
            "carbon_intensity_tco2e_per_10k_cny": [0.412345, 0.398765, 0.387654, 0.371234],
        }
    )
    projection = pd.DataFrame(
        {
            "year": [2025, 2026],
            "emissions_projected_tco2e": [360_000.123, 362_500.456],
            "emissions_projected_low_tco2e": [350_000.5, 349_000.25],
            "emissions_projected_high_tco2e": [370_000.75, 376_000.125],
        }
    )
    paths = pd.DataFrame(
        {
            "indicator": "carbon_intensity_tco2e_per_10k_cny",
            "year": [2020, 2025],
            "value": [0.42, 0.34],
            "target": "示范区目标路径",
        }
    )
    split = pd.DataFrame(
        {"name": ["青浦区", "吴江区", "嘉善县"], "emissions_tco2e": [150_000.123, 130_000.5, 77_336.8]}
    )
    monthly = pd.DataFrame(
        {"electricity": [2_000.123] * 12, "natural_gas": [500.456] * 12},
        index=pd.Index(range(1, 13), name="month"),
    )
    scale = charts.emissions_scale(annual["emissions_tco2e"], lang)
    return {
        "trend": charts.trend(annual, projection, lang, scale),
        "intensity_path": charts.intensity_path(annual, paths, "carbon_intensity_tco2e_per_10k_cny", lang),
        "share_bars": charts.share_bars(split, "name", "emissions_tco2e", lang, scale, "region"),
        "waterfall": charts.waterfall(EFFECTS, lang, scale),
        "monthly_by_carrier": charts.monthly_by_carrier(monthly, lang),
    }


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_chart_titles_its_axes_and_tooltips_from_the_field_registry_with_sensible_decimals(lang):
    registry = {fields.label(n, lang) for n in fields.registry().index} | {charts.SERIES[lang]}
    intensity = "carbon_intensity_tco2e_per_10k_cny"
    for name, chart in _every_chart(lang).items():
        spec, _ = _chart(chart)
        if name == "intensity_path":  # the field's own unit and digits, as the page's metric
            unit, digits = fields.unit_label(intensity, lang), fields.digits(intensity)
        else:  # the page's scale: 万吨 (two decimals) in Chinese, whole tonnes in English
            unit, digits = ("万吨CO₂e", 2) if lang == "zh" else ("t CO₂e", 0)
        [title] = _quantitative_titles(spec)  # one axis title, stating the unit
        assert title.endswith(f"（{unit}）" if lang == "zh" else f"({unit})"), (name, title)
        for tip in _tooltips(spec):
            assert tip.get("title"), (name, tip)  # never the raw column name
            assert tip["title"].split("（")[0].split(" (")[0] in registry, (name, tip)
            if tip["type"] == "quantitative":
                assert tip["format"] == f",.{digits}f", (name, tip)


# --- carrier colours --------------------------------------------------------------------------------------------


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    assert re.fullmatch(r"#[0-9a-f]{6}", hex_colour), hex_colour
    return int(hex_colour[1:3], 16), int(hex_colour[3:5], 16), int(hex_colour[5:7], 16)


def test_each_carrier_has_its_own_colour_green_electricity_green_grid_blue_gas_orange_coal_dark_grey():
    colour = reference.carriers()["colour"]
    assert colour.map(_rgb).is_unique and (colour != "").all()
    r, g, b = _rgb(colour["green_electricity"])
    assert g > r and g > b
    r, g, b = _rgb(colour["electricity"])
    assert b > r and b > g
    r, g, b = _rgb(colour["natural_gas"])
    assert r > g > b
    r, g, b = _rgb(colour["raw_coal"])
    assert r == g == b and r < 0x80


def _carrier_scale(spec: dict[str, Any]) -> tuple[list[str], list[str], list[str]]:
    enc = _specs(spec)[0]["encoding"]["color"]
    return enc["scale"]["domain"], enc["scale"]["range"], enc["legend"]["values"]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_carrier_has_the_same_colour_on_every_chart(lang):
    months = pd.Index(range(1, 13), name="month")
    one = pd.DataFrame({"electricity": [100.0] * 12, "natural_gas": [50.0] * 12}, index=months)
    other = pd.DataFrame(
        {"raw_coal": [900.0] * 12, "green_electricity": [0.0] * 12, "electricity": [80.0] * 12}, index=months
    )
    domain1, range1, shown1 = _carrier_scale(_chart(charts.monthly_by_carrier(one, lang))[0])
    domain2, range2, shown2 = _carrier_scale(_chart(charts.monthly_by_carrier(other, lang))[0])
    assert (domain1, range1) == (domain2, range2)
    assert dict(zip(domain1, range1, strict=True)) == charts.carrier_colours(lang)
    table = reference.carriers()
    assert domain1 == [labels.carrier(c, lang) for c in table.index] and range1 == list(table["colour"])
    # the legend lists the carriers the chart shows, in the table's order
    assert shown1 == [labels.carrier(c, lang) for c in ("electricity", "natural_gas")]
    assert shown2 == [labels.carrier(c, lang) for c in ("electricity", "green_electricity", "raw_coal")]


# --- the pages --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def zone_db(tmp_path_factory):
    folder = tmp_path_factory.mktemp("charts")
    url = build(f"sqlite:///{folder / 'zone.db'}", folder)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CARBON_DATABASE_URL", url)
        yield db.make_engine(url)


def _page(username: str, page: str, lang: str = "zh") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["lang"] = lang  # the sidebar's language switch, chosen before the first page is drawn
    at.run()
    at.text_input(key="login_username").input(username)
    at.text_input(key="login_password").input(PASSWORD)
    at.button[0].click().run()
    at.switch_page(f"sections/{page}.py").run()
    assert not at.exception, at.exception
    return at


def _page_charts(at: AppTest) -> list[tuple[dict[str, Any], dict[str, pd.DataFrame]]]:
    """The Vega-Lite charts of a rendered page with their datasets."""
    out = []
    for element in at.get("vega_lite_chart"):
        datasets = {
            d.name: dataframe_util.convert_arrow_bytes_to_pandas_df(d.data.data) for d in element.proto.datasets
        }
        out.append((json.loads(element.proto.spec), datasets))
    return out


def _unit_of(text: str) -> str:
    """The unit after a figure (``5,056.2 吨CO₂e`` -> ``吨CO₂e``)."""
    return re.fullmatch(r"[+-]?[\d,]+(?:\.\d+)? (.+)", text).group(1)


def _emission_units(at: AppTest, lang: str) -> set[str]:
    return {_unit_of(m.value) for m in at.metric if m.label == fields.label("emissions_tco2e", lang)}


def test_the_regions_waterfall_reads_in_the_unit_of_the_page_with_its_values_on_the_bars(zone_db):
    lang = "zh"  # AppTest formats the English pages' select boxes with Chinese labels; English: the spec tests above
    at = _page("zone1", "regions", lang)
    units = _emission_units(at, lang)
    assert len(units) == 1, units  # three jurisdictions, one unit
    unit = units.pop()
    [(spec, datasets)] = _page_charts(at)
    label = fields.label("effect_tco2e", lang)
    assert _quantitative_titles(spec) == {f"{label}（{unit}）" if lang == "zh" else f"{label} ({unit})"}
    text = next(u for u in _specs(spec) if _mark(u) == "text")
    bars = _rows(spec, text, datasets)
    decimals = {"万吨CO₂e": r"\.\d\d", "吨CO₂e": r"\.\d", "t CO₂e": ""}[unit]
    assert len(bars) == len(labels.EFFECTS) + 1
    assert all(re.fullmatch(r"[+-][\d,]+" + decimals, s) for s in bars["label"]), list(bars["label"])
    caption = next(c.value for c in at.caption if "CO₂e" in c.value)
    assert f"{bars['label'].iloc[-1]} {unit}" in caption  # the total in the caption is the total on the chart


def test_the_overview_charts_read_in_the_unit_of_its_emissions_figure(zone_db):
    at = _page("zone1", "overview")
    [unit] = _emission_units(at, "zh")
    titles = set().union(*(_quantitative_titles(spec) for spec, _ in _page_charts(at)))
    emissions = {t for t in titles if "CO₂e" in t}
    assert emissions == {f"碳排放量（{unit}）"}, titles  # trend and both splits


def test_the_enterprise_chart_colours_carriers_with_their_own_colours(zone_db):
    at = _page("zone1", "enterprises")
    at.selectbox(key="ent_detail").select(A).run()
    [unit] = _emission_units(at, "zh")
    [(spec_a, _)] = _page_charts(at)
    at.selectbox(key="ent_detail").select(C).run()
    [(spec_c, _)] = _page_charts(at)
    domain_a, range_a, shown_a = _carrier_scale(spec_a)
    assert (domain_a, range_a) == _carrier_scale(spec_c)[:2]
    assert dict(zip(domain_a, range_a, strict=True)) == charts.carrier_colours("zh")
    assert shown_a == ["电力", "天然气"] and _carrier_scale(spec_c)[2] == ["电力"]
    assert _quantitative_titles(spec_a) == {f"碳排放量（{unit}）"}
