"""Uncertainty of emission totals, of intensities and of the gap to a target path (IPCC 2006 Vol. 1 Ch. 3).

Every uncertainty here is a **half-width of the 95 % interval in percent of the value** (IPCC's "percentage
uncertainty": half the 95 % confidence interval divided by the value), as in ``carbon/data/uncertainty.csv``:
activity data by data-quality tier (``activity_tier``: metered, billed, estimated, statistics) and emission
factors by carrier (``emission_factor``).

Approach 1 (error propagation, independent inputs):

- product ``E = A x F`` (eq. 3.1): ``U_E = sqrt(U_A^2 + U_F^2)`` (``product_half_width``);
- sum ``E = x_1 + ... + x_n`` (eq. 3.2): ``U_E = sqrt(sum (U_i x_i)^2) / |sum x_i|`` (``sum_band``).

Approach 2 (``monte_carlo_sum``): each source drawn independently, the band read from the 2.5 and 97.5
percentiles of the simulated total.  Emissions are positive quantities and factor uncertainties reach 45 %, so
sources are drawn from **lognormal** distributions (positive and right-skewed: the usual choice for a positive
quantity with a large uncertainty; the chapter's own text on choosing a distribution was not read for this module)
whose mean and standard deviation are the point value and ``U/100 x |x| / z`` (``z`` = the 97.5 % normal
quantile): the same mean and variance Approach 1 assumes, so the two agree for small uncertainties and only the
shape differs for large ones (right-skewed, never below zero).  ``distribution="normal"`` draws normals with the
same moments, truncated at zero (a draw below zero counts as zero), for a like-for-like check of Approach 1.
``monte_carlo_lines`` does the same for result lines (activity and factor drawn apart).

``line_band`` gives the band of a total of result lines (emissions per enterprise, carrier and month, or
inventory lines) from the data file.  Lines of one carrier share one factor: its error is the same for all of them
(fully correlated), so activity uncertainties are combined first within a carrier (independent lines, eq. 3.2),
the carrier's factor uncertainty is applied to the carrier's sum (eq. 3.1), and carriers are then combined as
independent sources (eq. 3.2).  Summing lines as independent products instead would shrink a shared factor's
error by the square root of the number of lines.  Where lines carry ``factor_ids`` (the factor records used,
as in ``emission_result``), only lines with the same records share a factor error (two provinces' grid factors
are independent).

``assess`` compares an intensity band with the target path for the year: ``on_track`` only when the whole band
is at or below the path, ``off_track`` when the whole band is above it, ``cannot_tell`` otherwise; no band or no
path gives no state (``None``), never ``on_track``.  Labels: kind ``band_state`` in ``carbon/data/codes.csv``.
``ratio_band`` turns a total's band into an intensity's (GDP exact unless given a half-width), ``gap_band`` into the
gap to the path.

Pure functions (numpy/pandas, whole columns); nothing here reads the database.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from statistics import NormalDist

import numpy as np
import pandas as pd

from carbon import reference
from carbon.units import parse_unit, registry

CONFIDENCE = 0.95  # the IPCC convention: uncertainties are half-widths of the 95 % interval
Z95 = NormalDist().inv_cdf(0.5 + CONFIDENCE / 2)  # 1.959964...: half-width / standard deviation of a normal
STATES = ("on_track", "off_track", "cannot_tell")
DISTRIBUTIONS = ("lognormal", "normal")
LINE_COLUMNS = ("emissions_tco2e", "carrier", "tier")


@dataclass(frozen=True)
class Band:
    """A value with its 95 % interval.

    ``total``: the point value (e.g. tCO2e, or tCO2e per 10^4 CNY for an intensity); ``half_width_pct``: half
    the width of the interval in percent of ``|total|`` (``inf`` when the total is zero but uncertain);
    ``lower`` / ``upper``: the interval's ends, in the unit of ``total``.
    """

    total: float
    half_width_pct: float
    lower: float
    upper: float


@cache
def table() -> pd.DataFrame:
    """``carbon/data/uncertainty.csv`` with ``value_pct`` (the half-width in percent, via the unit registry),
    indexed by ``(kind, key)``.  Raises ``ValueError`` for a unit that is not dimensionless."""
    t = reference.read_data("uncertainty.csv")
    ureg = registry()
    factors = {}
    for unit in t["unit"].unique():
        u = parse_unit(unit)
        if not (1 * u).dimensionless:
            raise ValueError(f"uncertainty.csv: unit {unit!r} is not a share / 单位须为无量纲（百分数）")
        factors[unit] = (1 * u).to(ureg.percent).magnitude
    t["value_pct"] = pd.to_numeric(t["value"], errors="raise") * t["unit"].map(factors)
    return t.set_index(["kind", "key"]).sort_index()


def activity_half_widths() -> pd.Series:
    """Activity-data half-width (percent) by data-quality tier (metered, billed, estimated, statistics)."""
    return table().loc["activity_tier", "value_pct"]


def factor_half_widths() -> pd.Series:
    """Emission-factor half-width (percent) by carrier id (``carbon/data/carriers.csv``)."""
    return table().loc["emission_factor", "value_pct"]


def _pcts(half_widths_pct: Sequence[float] | np.ndarray, n: int | None = None) -> np.ndarray:
    u = np.asarray(half_widths_pct, dtype=float)
    if u.ndim != 1 or (n is not None and len(u) != n):
        raise ValueError("one half-width per value / 每个数值须有一个不确定度")
    if not np.isfinite(u).all() or (u < 0).any():
        raise ValueError("half-widths must be finite and not negative / 不确定度须为有限非负数")
    return u


def product_half_width(*half_widths_pct: float) -> float:
    """Half-width (percent) of a product of independent factors, IPCC 2006 Vol. 1 Ch. 3 eq. 3.1:
    ``sqrt(U_1^2 + ... + U_n^2)``.  E.g. activity data 3 % and factor 4 % give 5 %."""
    u = _pcts(half_widths_pct)
    return float(math.sqrt(float(np.sum(u**2))))


def _band(total: float, absolute: float, lower: float, upper: float) -> Band:
    pct = absolute / abs(total) * 100 if total != 0 else (0.0 if absolute == 0 else math.inf)
    return Band(total=float(total), half_width_pct=float(pct), lower=float(lower), upper=float(upper))


def sum_band(values: Sequence[float] | np.ndarray, half_widths_pct: Sequence[float] | np.ndarray) -> Band:
    """Band of the sum of independent sources, IPCC 2006 Vol. 1 Ch. 3 eq. 3.2 (Approach 1):
    ``U = sqrt(sum (U_i x_i)^2) / |sum x_i|``; the interval is ``total +- U x |total| / 100``, its lower end
    cut at zero when no source is negative (emissions are not negative).

    ``values`` in any one unit (e.g. tCO2e), ``half_widths_pct`` one per value.  Raises ``ValueError`` for no
    values, a value that is not a finite number, or a bad half-width.
    """
    x = np.asarray(values, dtype=float)
    if x.ndim != 1 or len(x) == 0 or not np.isfinite(x).all():
        raise ValueError("values must be finite numbers, at least one / 须至少有一个有限数值")
    u = _pcts(half_widths_pct, len(x))
    total = float(x.sum())
    absolute = float(math.sqrt(float(np.sum((u / 100 * x) ** 2))))
    lower = total - absolute
    if (x >= 0).all():
        lower = max(lower, 0.0)
    return _band(total, absolute, lower, total + absolute)


def _draws(x: np.ndarray, sd: np.ndarray, draws: int, rng: np.random.Generator, distribution: str) -> np.ndarray:
    """``draws x len(x)`` samples of each source with mean ``x`` and standard deviation ``sd``."""
    if distribution == "normal":  # truncated at zero: a source never changes sign
        sample = rng.normal(x, sd, size=(draws, len(x)))
        return np.where(x >= 0, np.maximum(sample, 0.0), np.minimum(sample, 0.0))
    magnitude = np.abs(x)
    cv = np.divide(sd, magnitude, out=np.zeros_like(magnitude), where=magnitude > 0)
    sigma = np.sqrt(np.log1p(cv**2))
    mu = np.log(np.where(magnitude > 0, magnitude, 1.0)) - sigma**2 / 2
    sample = np.exp(rng.normal(mu, sigma, size=(draws, len(x))))
    return np.where(magnitude > 0, sample, 0.0) * np.sign(x)


def monte_carlo_sum(
    values: Sequence[float] | np.ndarray,
    half_widths_pct: Sequence[float] | np.ndarray,
    draws: int,
    seed: int,
    distribution: str = "lognormal",
) -> Band:
    """Band of the sum of independent sources by Monte Carlo (IPCC 2006 Vol. 1 Ch. 3, Approach 2).

    Each source ``x_i`` is drawn ``draws`` times with mean ``x_i`` and standard deviation
    ``U_i/100 x |x_i| / 1.96`` (lognormal by default, of the source's magnitude with its sign kept; see the
    module text), with ``numpy.random.default_rng(seed)``: the same seed gives the same band.  ``total`` is the
    sum of the values (the point estimate, not the simulated mean); ``lower`` / ``upper`` are the 2.5 and 97.5
    percentiles of the simulated totals; ``half_width_pct`` is half their distance in percent of ``|total|``.
    Raises ``ValueError`` as ``sum_band`` does, and for fewer than 100 draws or an unknown distribution.
    """
    x = np.asarray(values, dtype=float)
    if x.ndim != 1 or len(x) == 0 or not np.isfinite(x).all():
        raise ValueError("values must be finite numbers, at least one / 须至少有一个有限数值")
    u = _pcts(half_widths_pct, len(x))
    if distribution not in DISTRIBUTIONS:
        raise ValueError(f"distribution must be one of {DISTRIBUTIONS} / 分布须为 lognormal 或 normal")
    if draws < 100:
        raise ValueError("at least 100 draws / 抽样次数至少 100")
    rng = np.random.default_rng(seed)
    sd = u / 100 * np.abs(x) / Z95
    totals = _draws(x, sd, int(draws), rng, distribution).sum(axis=1)
    tail = (1 - CONFIDENCE) / 2 * 100
    lower, upper = np.percentile(totals, [tail, 100 - tail])
    return _band(float(x.sum()), float(upper - lower) / 2, float(lower), float(upper))


def line_half_widths(lines: pd.DataFrame) -> pd.DataFrame:
    """Each line's activity and factor half-widths (percent) from the data file: adds ``activity_pct`` (by
    ``tier``) and ``factor_pct`` (by ``carrier``).  Raises ``ValueError`` naming an unknown tier or carrier or a
    missing column."""
    missing = [c for c in LINE_COLUMNS if c not in lines.columns]
    if missing:
        raise ValueError(f"lines need columns {missing} / 缺少列 {missing}")
    activity, factor = activity_half_widths(), factor_half_widths()
    out = lines.assign(activity_pct=lines["tier"].map(activity), factor_pct=lines["carrier"].map(factor))
    for column, key, known in (("activity_pct", "tier", activity), ("factor_pct", "carrier", factor)):
        unknown = sorted(set(lines.loc[out[column].isna(), key].astype(str)))
        if unknown:
            raise ValueError(
                f"{key} {unknown} 不在 carbon/data/uncertainty.csv 中（可用：{', '.join(known.index)}） / "
                f"{key} {unknown} has no uncertainty in carbon/data/uncertainty.csv (known: {', '.join(known.index)})"
            )
    return out


def carrier_sources(lines: pd.DataFrame) -> pd.DataFrame:
    """The independent sources of a set of lines: one per carrier (and per ``factor_ids`` where lines carry
    it), with ``emissions_tco2e`` (their sum) and ``half_width_pct`` (eq. 3.1 of the combined activity
    uncertainty, eq. 3.2 over the lines, and the carrier's factor uncertainty).  Lines need ``emissions_tco2e``
    (finite), ``carrier`` and ``tier``."""
    t = line_half_widths(lines)
    keys = ["carrier", "factor_ids"] if "factor_ids" in t.columns else ["carrier"]
    t = t.assign(
        activity_abs2=(t["activity_pct"] / 100 * t["emissions_tco2e"].astype(float)) ** 2,
        emissions_tco2e=t["emissions_tco2e"].astype(float),
    )
    g = t.groupby(keys, sort=True, dropna=False).agg(
        emissions_tco2e=("emissions_tco2e", "sum"),
        activity_abs2=("activity_abs2", "sum"),
        factor_pct=("factor_pct", "first"),
    )
    e = g["emissions_tco2e"].to_numpy()
    activity_pct = np.divide(
        np.sqrt(g["activity_abs2"].to_numpy()) * 100, np.abs(e), out=np.zeros(len(g)), where=e != 0
    )
    g["activity_pct"] = activity_pct
    g["half_width_pct"] = np.sqrt(activity_pct**2 + g["factor_pct"].to_numpy() ** 2)
    return g.reset_index()[[*keys, "emissions_tco2e", "activity_pct", "factor_pct", "half_width_pct"]]


def line_band(lines: pd.DataFrame) -> Band | None:
    """Band (Approach 1) of the total ``emissions_tco2e`` (tCO2e) of ``lines``: columns ``emissions_tco2e``,
    ``carrier`` (id) and ``tier`` (``metered``, ``billed``, ``estimated`` or ``statistics``; a line of mixed
    tiers is split first, ``carbon.tiers.lines_by_tier``), optionally ``factor_ids``.  Combination as in
    ``carrier_sources`` then eq. 3.2 over the sources.

    ``None`` when there are no lines or any line's emissions are unknown (NaN): no total, no band.  Raises
    ``ValueError`` for an unknown tier or carrier.
    """
    if lines is None or lines.empty or lines["emissions_tco2e"].isna().any():
        return None
    sources = carrier_sources(lines)
    return sum_band(sources["emissions_tco2e"].to_numpy(), sources["half_width_pct"].to_numpy())


def trend_half_width(now: pd.DataFrame, base: pd.DataFrame, factors: bool = True) -> float | None:
    """Half-width (percent of the ratio) of the 95 % interval of ``total(now) / total(base)``, the uncertainty of a
    change between two years: IPCC 2006 Vol. 1 Ch. 3 Approach 1 for a trend, to first order.  Activity data are
    uncorrelated between the years: each line counts with its share of its own year's total.  A carrier's emission
    factor is fully correlated between them (its error is the method's, the same in both years), so it counts only
    as far as the carrier's share of the total changed; ``factors`` False leaves factors out (energy in tce).
    Lines as for ``line_band`` (``emissions_tco2e`` may hold another figure, e.g. tce, with ``factors`` False).
    None when either set is empty or has an unknown figure, or either total is zero."""
    if now is None or base is None or now.empty or base.empty:
        return None
    if now["emissions_tco2e"].isna().any() or base["emissions_tco2e"].isna().any():
        return None
    n, b = line_half_widths(now), line_half_widths(base)
    tn, tb = float(n["emissions_tco2e"].sum()), float(b["emissions_tco2e"].sum())
    if tn == 0 or tb == 0:
        return None
    activity = float(
        ((n["emissions_tco2e"] / tn * n["activity_pct"]) ** 2).sum()
        + ((b["emissions_tco2e"] / tb * b["activity_pct"]) ** 2).sum()
    )
    shares = pd.concat(
        [n.groupby("carrier")["emissions_tco2e"].sum() / tn, b.groupby("carrier")["emissions_tco2e"].sum() / tb],
        axis=1,
    ).fillna(0.0)
    moved = shares.iloc[:, 0] - shares.iloc[:, 1]
    factor = float(((moved * factor_half_widths().reindex(moved.index)) ** 2).sum()) if factors else 0.0
    return float(np.sqrt(activity + factor))


def _lognormal_multipliers(cv: np.ndarray, draws: int, rng: np.random.Generator) -> np.ndarray:
    """``draws x len(cv)`` lognormal draws of mean 1 and coefficient of variation ``cv``."""
    sigma = np.sqrt(np.log1p(cv**2))
    return np.exp(rng.normal(-(sigma**2) / 2, sigma, size=(draws, len(cv))))


def monte_carlo_lines(lines: pd.DataFrame, draws: int, seed: int) -> Band | None:
    """Band of the total ``emissions_tco2e`` of ``lines`` by Monte Carlo (Approach 2), the check of ``line_band``
    where factor half-widths are large (heat, some coals).

    Per source of ``carrier_sources`` (a carrier, or carrier and ``factor_ids``): its activity sum drawn as a
    lognormal of mean 1 and the combined activity uncertainty of its lines, times its factor drawn as a lognormal
    of mean 1 and the carrier's factor uncertainty (standard deviations ``U / 100 / 1.96``), independently per
    source, with ``numpy.random.default_rng(seed)``.  The activity sum of many independent lines is near normal,
    so one draw per source stands for its lines' draws.  ``total`` is the sum of the lines; ``lower`` / ``upper``
    the 2.5 and 97.5 percentiles of the simulated totals.  ``None`` as for ``line_band``.
    """
    if lines is None or lines.empty or lines["emissions_tco2e"].isna().any():
        return None
    if draws < 100:
        raise ValueError("at least 100 draws / 抽样次数至少 100")
    sources = carrier_sources(lines)
    e = sources["emissions_tco2e"].to_numpy(dtype=float)
    rng = np.random.default_rng(seed)
    activity = _lognormal_multipliers(sources["activity_pct"].to_numpy() / 100 / Z95, int(draws), rng)
    factor = _lognormal_multipliers(sources["factor_pct"].to_numpy() / 100 / Z95, int(draws), rng)
    totals = (activity * factor) @ e
    tail = (1 - CONFIDENCE) / 2 * 100
    lower, upper = np.percentile(totals, [tail, 100 - tail])
    return _band(float(e.sum()), float(upper - lower) / 2, float(lower), float(upper))


def ratio_band(
    numerator: Band | None, denominator_value: float | None, denominator_half_width_pct: float = 0
) -> Band | None:
    """Band of ``numerator / denominator`` (an intensity: tCO2e or tce per 10^4 CNY of GDP).

    A quotient propagates like a product (eq. 3.1): ``U = sqrt(U_num^2 + U_den^2)``.  Each side of the interval
    is propagated on its own, so an asymmetric numerator band (cut at zero, or from Monte Carlo) stays
    asymmetric: ``lower = r x (1 - sqrt(l^2 + U_den^2))`` with ``l`` the numerator's relative distance down to its
    lower end, likewise upward (a lower end below zero is cut at zero when the numerator band is not negative).
    With an exact denominator this is ``lower / d`` and ``upper / d``.

    ``None`` when the numerator band or the denominator is missing (no data).  Raises ``ValueError`` for a
    denominator that is not positive or a bad half-width.
    """
    if numerator is None or denominator_value is None or not np.isfinite(denominator_value):
        return None
    if denominator_value <= 0:
        raise ValueError("the denominator (GDP) must be positive / 分母（地区生产总值）须为正数")
    (ud,) = _pcts([denominator_half_width_pct]) / 100
    r = numerator.total / denominator_value
    if numerator.total == 0:
        return Band(
            0.0, numerator.half_width_pct, numerator.lower / denominator_value, numerator.upper / denominator_value
        )
    t = abs(numerator.total)
    down = (numerator.total - numerator.lower) / t
    up = (numerator.upper - numerator.total) / t
    lower = r - abs(r) * math.hypot(down, ud)
    upper = r + abs(r) * math.hypot(up, ud)
    if numerator.lower >= 0:
        lower = max(lower, 0.0)
    return Band(
        total=float(r),
        half_width_pct=float(math.hypot(numerator.half_width_pct, ud * 100)),
        lower=float(lower),
        upper=float(upper),
    )


def assess(band: Band | None, path_value: float | None) -> str | None:
    """State of an indicator against a target path for the year (lower is better, e.g. an intensity).

    ``on_track`` when the whole band is at or below the path (``upper <= path``); ``off_track`` when the whole
    band is above it (``lower > path``); ``cannot_tell`` otherwise.  ``None`` (no state, shown as 无数据) when
    there is no band or no path value.  Labels: kind ``band_state`` in ``carbon/data/codes.csv``.
    """
    if band is None or path_value is None or not np.isfinite(path_value):
        return None
    if not (np.isfinite(band.lower) and np.isfinite(band.upper)):
        return "cannot_tell"
    if band.upper <= path_value:
        return "on_track"
    if band.lower > path_value:
        return "off_track"
    return "cannot_tell"


def gap_band(band: Band | None, path_value: float | None) -> Band | None:
    """The gap between an indicator and its target path for the year: ``band - path`` in the indicator's unit
    (e.g. tCO2e per 10^4 CNY; above zero: above the path, i.e. behind a falling target), with the same interval
    moved by the path; ``half_width_pct`` is the interval's half-width in percent of the path value.  ``None``
    when there is no band or no path value (or the path is zero)."""
    if band is None or path_value is None or not np.isfinite(path_value) or path_value == 0:
        return None
    half = (band.upper - band.lower) / 2
    return Band(
        total=float(band.total - path_value),
        half_width_pct=float(half / abs(path_value) * 100),
        lower=float(band.lower - path_value),
        upper=float(band.upper - path_value),
    )
