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
    return pd.DataFrame([{"emissions_tco2e": c, "energy_tce": e} for c, e in values.values()], index=index)


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
    later.loc[("industry", "electricity"), "emissions_tco2e"] = 540.0
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
    # By hand.  Industry's cells do not change at all: no effect.  services/electricity: C stays 120 (L = 120); the
    # sector's energy goes 20 -> 30 at the same output, so intensity 20/500 -> 30/500 gives 120·ln(1.5) and its fuel
    # share 20/20 -> 20/30 gives 120·ln(2/3) = -120·ln(1.5).  services/diesel appears: its fuel share is 0/20 = 0 in
    # year 0 (the first zero of its chain), so its whole 30 is fuel mix; its emission factor is 0/0 in year 0 (no
    # effect).  Fuel mix: 30 - 120·ln(1.5).
    assert effects["total"] == pytest.approx(30.0, rel=1e-12)
    assert effects["intensity"] == pytest.approx(120 * np.log(1.5), rel=1e-9)
    assert effects["fuel_mix"] == pytest.approx(30 - 120 * np.log(1.5), rel=1e-9)
    assert effects["activity"] == effects["structure"] == effects["emission_factor"] == 0.0


def test_a_sector_that_disappears_gives_its_whole_emissions_to_structure():
    effects = lmdi(BASE, OUTPUT, BASE.loc[["industry"]], pd.Series({"industry": 1000.0}))
    # By hand.  Output Q goes 1500 -> 1000 and industry's share 1000/1500 -> 1 while its two cells (600 + 300) do not
    # change (L = C): activity 900·ln(1000/1500) = -900·ln(1.5), structure +900·ln(1.5).  services/electricity
    # disappears: its output share is 0/1000 = 0 in year T (intensity, fuel mix and emission factor are 0/0 then),
    # so its -120 goes to structure.  Structure: 900·ln(1.5) - 120.
    assert effects["total"] == pytest.approx(-120.0, rel=1e-12)
    assert effects["activity"] == pytest.approx(-900 * np.log(1.5), rel=1e-9)
    assert effects["structure"] == pytest.approx(900 * np.log(1.5) - 120, rel=1e-9)
    assert effects["intensity"] == effects["fuel_mix"] == effects["emission_factor"] == 0.0


def test_a_new_sector_is_all_structure_not_split_among_its_undefined_factors():
    later = pd.concat([BASE, cells({("transport", "diesel"): (50.0, 20.0)})])
    effects = lmdi(BASE, OUTPUT, later, pd.Series({"industry": 1000.0, "services": 500.0, "transport": 500.0}))
    # By hand.  Q goes 1500 -> 2000; the three old cells (1020 in all) keep C, so activity 1020·ln(4/3) and
    # structure (their shares fall by 3/4) 1020·ln(3/4).  The new sector's share is 0/1500 in year 0 and its
    # intensity, fuel mix and emission factor are 0/0 (no effect): its 50 is structure.
    assert effects["activity"] == pytest.approx(1020 * np.log(4 / 3), rel=1e-9)
    assert effects["structure"] == pytest.approx(50 - 1020 * np.log(4 / 3), rel=1e-9)
    assert effects["intensity"] == effects["fuel_mix"] == effects["emission_factor"] == 0.0
    assert effects["total"] == pytest.approx(50.0, rel=1e-12)


def test_a_carrier_at_a_zero_factor_that_gets_one_is_an_emission_factor_effect():
    before = BASE.copy()
    before.loc[("services", "electricity"), "emissions_tco2e"] = 0.0  # e.g. green power counted at zero
    effects = lmdi(before, OUTPUT, BASE, OUTPUT)
    # Only C/E of that cell changes, from 0/20 = 0 to 120/20: the cell appears through its emission factor.
    assert effects["emission_factor"] == pytest.approx(120.0, rel=1e-12)
    assert all(effects[k] == 0.0 for k in EFFECTS if k != "emission_factor")


def test_a_sector_without_output_in_one_year_has_its_change_as_intensity():
    effects = lmdi(BASE, pd.Series({"industry": 1000.0}), BASE, OUTPUT)
    # services has energy (20) but no output in year 0: structure 0 and intensity infinite have no limits, so the two
    # merge into E_i/Q = 20/1000 -> 20/1500, booked as intensity: 120·ln(2/3).  Q 1000 -> 1500: activity
    # 1020·ln(1.5); industry's share 1 -> 2/3: structure 900·ln(2/3).  Total 0.
    assert effects["activity"] == pytest.approx(1020 * np.log(1.5), rel=1e-9)
    assert effects["structure"] == pytest.approx(-900 * np.log(1.5), rel=1e-9)
    assert effects["intensity"] == pytest.approx(-120 * np.log(1.5), rel=1e-9)
    assert effects["fuel_mix"] == effects["emission_factor"] == 0.0 and effects["total"] == 0.0


def scaled(c: pd.DataFrame, tco2e: float, tce: float) -> pd.DataFrame:
    return c.assign(emissions_tco2e=c["emissions_tco2e"] * tco2e, energy_tce=c["energy_tce"] * tce)


APPEARING = cells(
    {
        ("industry", "electricity"): (540.0, 110.0),
        ("services", "electricity"): (150.0, 26.0),
        ("services", "diesel"): (30.0, 10.0),
        ("transport", "diesel"): (80.0, 25.0),
    }
)
APPEARING_OUTPUT = pd.Series({"industry": 1100.0, "services": 620.0, "transport": 300.0})


@pytest.mark.parametrize(("tco2e", "tce", "output"), [(1000.0, 1000.0, 1000.0), (1.0, 1e-3, 7.0), (3.0, 250.0, 1e-4)])
def test_effects_do_not_depend_on_units(tco2e, tce, output):
    """Scaling emissions scales every effect by the same constant; scaling energy or output changes nothing.

    (Adding a small value to every cell broke this: the split of appearing cells moved with the units.)"""
    base = lmdi(BASE, OUTPUT, APPEARING, APPEARING_OUTPUT)
    other = lmdi(scaled(BASE, tco2e, tce), OUTPUT * output, scaled(APPEARING, tco2e, tce), APPEARING_OUTPUT * output)
    for k in (*EFFECTS, "total"):
        assert other[k] == pytest.approx(base[k] * tco2e, rel=1e-9, abs=1e-9 * tco2e * 2000)


KEYS = [
    ("industry", "electricity"),
    ("industry", "coal"),
    ("services", "electricity"),
    ("services", "diesel"),
    ("transport", "diesel"),
]
often_zero = st.one_of(st.just(0.0), st.floats(1e-3, 1e6))


@st.composite
def years(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.Series]:
    """A year's cells and output with zeros drawn often: cells or sectors absent, zero energy, zero emissions."""
    present = [k for k in KEYS if draw(st.booleans())]
    c = cells({k: (draw(often_zero), draw(often_zero)) for k in present})
    if not present:
        c = cells({KEYS[0]: (0.0, 0.0)})
    output = pd.Series({s: draw(often_zero) for s in ("industry", "services", "transport") if draw(st.booleans())})
    return c, output.astype(float)


def magnitude(*cs: pd.DataFrame) -> float:
    return sum(float(c["emissions_tco2e"].sum()) for c in cs) + 1.0


@settings(deadline=None)
@given(years(), years())
def test_effects_add_up_to_the_total_with_zeros(y0, y1):
    effects = lmdi(y0[0], y0[1], y1[0], y1[1])
    assert all(np.isfinite(v) for v in effects.values())
    assert effects["total"] == pytest.approx(
        y1[0]["emissions_tco2e"].sum() - y0[0]["emissions_tco2e"].sum(), rel=1e-12, abs=1e-9
    )
    assert sum(effects[k] for k in EFFECTS) == pytest.approx(
        effects["total"], rel=1e-9, abs=1e-9 * magnitude(y0[0], y1[0])
    )


@settings(deadline=None)
@given(years(), years(), st.sampled_from([1e3, 1e-3, 7.0]), st.sampled_from([1e3, 1e-3, 0.3]))
def test_units_never_matter_with_zeros(y0, y1, k_energy, k_output):
    base = lmdi(y0[0], y0[1], y1[0], y1[1])
    other = lmdi(scaled(y0[0], 1e3, k_energy), y0[1] * k_output, scaled(y1[0], 1e3, k_energy), y1[1] * k_output)
    for k in (*EFFECTS, "total"):
        assert other[k] == pytest.approx(base[k] * 1e3, rel=1e-9, abs=1e-9 * 1e3 * magnitude(y0[0], y1[0]))
