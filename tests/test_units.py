"""The project's unit registry: definitions, dimensions, vectorised conversion."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pint
import pytest
from hypothesis import given
from hypothesis import strategies as st

from carbon.units import conversion_factor, convert_column, parse_unit, registry

TEMPLATE_UNITS = {
    "kWh": ("kWh", 1),
    "千瓦时": ("kWh", 1),
    "度": ("kWh", 1),
    "MWh": ("kWh", 1000),
    "万kWh": ("kWh", 1e4),
    "万千瓦时": ("kWh", 1e4),
    "10^4 kWh": ("kWh", 1e4),
    "m3": ("m3", 1),
    "m³": ("m3", 1),
    "Nm3": ("m3", 1),
    "万m3": ("m3", 1e4),
    "万m³": ("m3", 1e4),
    "10^4 Nm3": ("m3", 1e4),
    "t": ("t", 1),
    "吨": ("t", 1),
    "kg": ("t", 1e-3),
    "GJ": ("GJ", 1),
    "MJ": ("GJ", 1e-3),
    "TJ": ("GJ", 1000),
    "tce": ("kgce", 1000),
    "万元": ("CNY", 1e4),
    "吨标准煤": ("tce", 1),
}


@pytest.mark.parametrize(("text", "expected"), TEMPLATE_UNITS.items())
def test_units_people_write_parse_and_convert(text, expected):
    target, factor = expected
    assert conversion_factor(text, target) == pytest.approx(factor)


def test_co2_mass_is_its_own_dimension():
    ureg = registry()
    with pytest.raises(pint.errors.DimensionalityError):
        ureg.Quantity(1, "t") + ureg.Quantity(1, "t_CO2")
    assert ureg.Quantity(1, "t_CO2").to("kg_CO2e").magnitude == pytest.approx(1000)
    assert parse_unit("t_C").dimensionality != parse_unit("t_CO2").dimensionality


def test_coal_equivalent_is_energy_by_definition():
    # GB/T 2589: 1 kgce = 29 307 kJ; so 1 GJ = 0.03412 tce
    assert conversion_factor("GJ", "tce") == pytest.approx(0.03412, rel=1e-3)
    assert conversion_factor("t_CO2/wan_kWh", "kg_CO2/kWh") == pytest.approx(0.1)


def test_wrong_dimension_is_refused():
    with pytest.raises(pint.errors.DimensionalityError):
        conversion_factor("m3", "kWh")


def test_convert_column_is_per_unit_not_per_row():
    values = np.array([1.0, 2.0, 3.0, 4.0])
    units = pd.Series(["万kWh", "度", "MWh", "万kWh"])
    np.testing.assert_allclose(convert_column(values, units, "kWh"), [1e4, 2, 3000, 4e4])


UNITS = ["kWh", "MWh", "万kWh", "GJ", "MJ", "tce", "kgce", "TJ"]


@given(st.floats(min_value=1e-6, max_value=1e12), st.sampled_from(UNITS), st.sampled_from(UNITS))
def test_conversions_round_trip(x, a, b):
    there = x * conversion_factor(a, b)
    assert there * conversion_factor(b, a) == pytest.approx(x, rel=1e-12)
