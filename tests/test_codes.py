"""The label registry of coded values (``carbon/data/codes.csv``)."""

import pandas as pd
import pytest

from carbon import codes


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
