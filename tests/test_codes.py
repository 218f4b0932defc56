"""The label registry of coded values (``carbon/data/codes.csv``)."""

import pandas as pd
import pytest

from carbon import codes, flags


def test_every_code_has_both_labels_and_no_duplicates():
    t = codes.table().reset_index()
    assert not t.duplicated(["kind", "code"]).any()
    assert (t["label_zh"].str.len() > 0).all() and (t["label_en"].str.len() > 0).all()


def test_label_in_both_languages_and_unknown_code_refused():
    assert codes.label("basis", "local", "zh").startswith("地方口径")
    assert codes.bilingual("target_status", "on_track") == "进度正常 / on track"
    with pytest.raises(KeyError, match=r"codes\.csv"):
        codes.label("basis", "nonsense")


def test_column_keeps_missing_and_refuses_unknown():
    out = codes.column(pd.Series(["verified", None]), "factor_status", "zh")
    assert out.iloc[0] == "已核实" and pd.isna(out.iloc[1])
    with pytest.raises(KeyError):
        codes.column(pd.Series(["bogus"]), "factor_status")


def test_areas_and_targets_read_as_written():
    assert codes.area("CN-SH", "zh") == "上海市" and codes.area("qingpu", "en") == "Qingpu District, Shanghai"
    assert codes.area("CN-GRID-EAST", "zh") == "华东区域电网"


@pytest.mark.parametrize(
    ("flag", "zh", "en"),
    [
        ("tce_from_ncv:bituminous_coal", "烟煤无折标系数，按低位发热量折算", "bituminous coal has no coal-equivalent"),
        ("vintage_fallback:electricity:CN-ZJ:2023->2025", "电力：2025年因子尚未发布，采用浙江省2023年因子", "Zhejiang"),
        ("region_fallback:electricity:CN-XZ->CN-GRID-SOUTHWEST", "西藏自治区无省级因子，采用西南区域电网因子", "Tibet"),
    ],
)
def test_flags_name_carriers_and_areas_by_their_labels(flag, zh, en):
    assert zh in flags.text(flag, "zh") and en in flags.text(flag, "en")
    assert flags.describe(flag) == f"{flags.text(flag, 'zh')} / {flags.text(flag, 'en')}"
    assert not any(code in flags.describe(flag) for code in ("bituminous_coal", "CN-", "GRID"))


def test_every_code_a_page_or_the_log_shows_has_a_label():
    """Audit actions, file shapes and batch statuses the system writes, and every area, gas, unit, basis and
    parameter of the factor library."""
    from carbon import audit
    from factors import load_library

    assert set(audit.ACTIONS) <= set(codes.codes("audit_action"))
    library = load_library()
    for column, kind in (
        ("region", "area"),
        ("gas", "gas"),
        ("unit", "unit"),
        ("basis", "factor_basis"),
        ("parameter", "factor_parameter"),
        ("status", "factor_status"),
    ):
        assert set(library[column].dropna()) <= set(codes.codes(kind)), column
