"""LMDI decomposition: the effects add up exactly to the total change, and each effect moves as it should."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carbon.analytics.decompose import EFFECTS, lmdi, log_mean


def cells(values: dict[tuple[str, str], tuple[float, float]]) -> pd.DataFrame:
    index = pd.MultiIndex.from_tuples(list(values), names=["sector", "carrier"])
    return pd.DataFrame([{"tco2e": c, "tce": e} for c, e in values.values()], index=index)


BASE = cells(
    {
        ("industry", "electricity"): (600.0, 100.0),
        ("industry", "natural_gas"): (300.0, 130.0),
        ("services", "electricity"): (120.0, 20.0),
    }
)
OUTPUT = pd.Series({"industry": 1000.0, "services": 500.0})


def test_log_mean():
    assert log_mean(np.array([2.0]), np.array([2.0]))[0] == 2.0
    assert log_mean(np.array([np.e]), np.array([1.0]))[0] == pytest.approx(np.e - 1)


def test_pure_activity_growth_is_all_activity():
    effects = lmdi(BASE, OUTPUT, BASE * 1.1, OUTPUT * 1.1)
    assert effects["total"] == pytest.approx(102.0)
    assert effects["activity"] == pytest.approx(102.0)
    assert all(abs(effects[k]) < 1e-9 for k in EFFECTS if k != "activity")


def test_cleaner_electricity_is_an_emission_factor_effect():
    later = BASE.copy()
    later.loc[("industry", "electricity"), "tco2e"] = 540.0
    effects = lmdi(BASE, OUTPUT, later, OUTPUT)
    assert effects["emission_factor"] == pytest.approx(-60.0) and effects["total"] == pytest.approx(-60.0)


positive = st.floats(1.0, 1e6)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(positive, positive, positive, positive), min_size=3, max_size=3),
    st.tuples(positive, positive),
    st.tuples(positive, positive),
)
def test_effects_add_up_exactly_to_the_total_change(cs, out0, out1):
    keys = [("industry", "electricity"), ("industry", "coal"), ("services", "electricity")]
    c0 = cells({k: (a, b) for k, (a, b, _, _) in zip(keys, cs, strict=True)})
    c1 = cells({k: (c, d) for k, (_, _, c, d) in zip(keys, cs, strict=True)})
    effects = lmdi(
        c0,
        pd.Series(dict(zip(["industry", "services"], out0, strict=True))),
        c1,
        pd.Series(dict(zip(["industry", "services"], out1, strict=True))),
    )
    assert sum(effects[k] for k in EFFECTS) == pytest.approx(effects["total"], rel=1e-9, abs=1e-6)


def test_a_fuel_that_appears_is_accounted_for():
    later = cells(
        {
            ("industry", "electricity"): (600.0, 100.0),
            ("industry", "natural_gas"): (300.0, 130.0),
            ("services", "electricity"): (120.0, 20.0),
            ("services", "diesel"): (30.0, 10.0),
        }
    )
    effects = lmdi(BASE, OUTPUT, later, OUTPUT)
    assert effects["total"] == pytest.approx(30.0)
    assert sum(effects[k] for k in EFFECTS) == pytest.approx(30.0, rel=1e-6)
