"""The project's single pint unit registry and vectorised conversions.

Definitions live in ``carbon/data/units.txt``.  Conversions of reading columns are done once per
distinct unit string and applied to whole numpy arrays: never one Quantity per row.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from importlib import resources

import numpy as np
import pandas as pd
import pint

_FULLWIDTH_PUNCT = str.maketrans({"（": "(", "）": ")", "／": "/", "³": "3", "²": "2", "·": "*"})
_POWER_OF_TEN = re.compile(r"^10\s*(?:\^|\*\*)\s*4\s*")
# What a unit may look like before pint sees it: letters (CJK included), digits, _ * / ^ . and %; a slash or power
# must be followed by a name or a small exponent, never a bare zero (pint would divide by it).
_UNIT_TEXT = re.compile(r"^(?:%|(?!.*[/^]\s*0)(?!.*\*\*\s*0)[^\W\d][\w*/^.%]*)$")
MAX_UNIT_LENGTH = 24


@cache
def registry() -> pint.UnitRegistry:
    """Return the project's unit registry (built once per process, never mutated after)."""
    ureg = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
    text = resources.files("carbon").joinpath("data/units.txt").read_text(encoding="utf-8")
    ureg.load_definitions(text.splitlines())
    return ureg


def normalise_unit_text(text: str) -> str:
    """Turn a unit as people write it (``万m³``, ``10^4 kWh``, ``（吨）``) into registry syntax."""
    s = unicodedata.normalize("NFKC", str(text)).translate(_FULLWIDTH_PUNCT).strip()
    s = s.strip("()[]").strip()
    m = _POWER_OF_TEN.match(s)
    if m:
        s = "wan_" + s[m.end() :].strip()
    return s.replace(" ", "")


@cache
def parse_unit(text: str) -> pint.Unit:
    """Parse a unit string; raises ``ValueError`` for anything that is not a unit of the registry."""
    s = normalise_unit_text(text)
    if not s:
        raise ValueError("empty unit")
    if len(s) > MAX_UNIT_LENGTH or not _UNIT_TEXT.match(s):
        raise ValueError(f"not a unit: {text!r}")
    try:
        return registry().parse_units(s)
    except Exception as exc:  # pint evaluates the text as an expression: any failure means "not a unit"
        raise ValueError(f"not a unit: {text!r}") from exc


@cache
def conversion_factor(from_unit: str, to_unit: str) -> float:
    """Multiplier that takes a magnitude in ``from_unit`` to ``to_unit`` (raises on dimension mismatch)."""
    ureg = registry()
    return float(ureg.Quantity(1.0, parse_unit(from_unit)).to(parse_unit(to_unit)).magnitude)


def dimensionality(unit: str) -> pint.util.UnitsContainer:
    """The pint dimensionality of a unit string."""
    return parse_unit(unit).dimensionality


def convert_column(values: np.ndarray | pd.Series, units: pd.Series, to_unit: str) -> np.ndarray:
    """Convert a column of magnitudes with a per-row unit column to ``to_unit``.

    One pint conversion per distinct unit string, then a single vectorised multiply.
    Raises ``pint.errors.DimensionalityError`` (wrong dimension) or ``ValueError`` (not a unit).
    """
    codes, uniques = pd.factorize(units, sort=False)
    factors = np.array([conversion_factor(u, to_unit) for u in uniques], dtype="float64")
    return np.asarray(values, dtype="float64") * factors[codes]


def finite_numbers(values: pd.Series) -> pd.Series:
    """Values as float64 numbers, NaN wherever they are not a finite number: text, ``NaN``, ``inf``, ``Infinity``,
    ``1e309`` (overflows to infinity), an integer too large for a float (JSON allows one).  Never a reading or a
    figure: callers refuse these NaN with the value as sent.  Keeps the index."""
    try:
        numbers = pd.to_numeric(values, errors="coerce")
    except OverflowError:  # a Python int beyond float range; as text it is read as inf, then refused below
        numbers = pd.to_numeric(values.map(lambda v: str(v) if type(v) is int else v), errors="coerce")
    numbers = pd.Series(numbers, index=values.index).astype("float64")
    return numbers.where(np.isfinite(numbers))


def overflows(converted: pd.Series | np.ndarray | float) -> np.ndarray:
    """True where a magnitude is infinite once converted to another unit: finite as written (``finite_numbers``
    refuses the rest before), the conversion took it past the largest float (``1e308`` 亿元 in 万元).  Checked after
    every conversion, since neither pint nor numpy refuse the overflow."""
    return np.isinf(np.asarray(converted, dtype="float64"))
