"""Uncertainty bands (IPCC 2006 Vol. 1 Ch. 3): Approach 1 by hand, a Monte Carlo check, products, ratios, the
state against a target path, the data file, and the data-quality tier of stored lines."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from carbon import codes, reference, tiers
from carbon.analytics import uncertainty as u
from carbon.enterprises import add_enterprise
from carbon.intake import receive_files, receive_records
from carbon.ledger import current_lines
from carbon.units import parse_unit
from tests.helpers import uscc, write_template

# ---- Approach 1 by hand ---------------------------------------------------------------------------------------


def test_two_source_sum_by_hand_equals_approach_1():
    # source 1: 600 tCO2e +-5 %  -> +-30 t;  source 2: 400 tCO2e +-10 % -> +-40 t
    # eq. 3.2: sqrt(30^2 + 40^2) = sqrt(900 + 1600) = 50 t on a total of 1000 t -> 5 %
    band = u.sum_band([600.0, 400.0], [5.0, 10.0])
    assert band.total == 1000.0
    assert band.half_width_pct == pytest.approx(5.0, rel=1e-12)
    assert (band.lower, band.upper) == pytest.approx((950.0, 1050.0), rel=1e-12)


def test_product_by_hand():
    # eq. 3.1: activity data +-3 % times factor +-4 % -> sqrt(9 + 16) = 5 %
    assert u.product_half_width(3.0, 4.0) == pytest.approx(5.0, rel=1e-12)
    assert u.product_half_width(7.0) == pytest.approx(7.0)
    # natural gas from bills: billed 3 % (activity) and natural gas 5 % (factor) -> sqrt(9 + 25) = 5.8310 %
    band = u.line_band(pd.DataFrame({"emissions_tco2e": [200.0], "carrier": ["natural_gas"], "tier": ["billed"]}))
    assert band.half_width_pct == pytest.approx(math.sqrt(34), rel=1e-12)
    assert (band.lower, band.upper) == pytest.approx((200 - 2 * math.sqrt(34), 200 + 2 * math.sqrt(34)))


def test_lines_combine_activity_per_carrier_under_one_shared_factor():
    lines = pd.DataFrame(
        {
            "emissions_tco2e": [100.0, 200.0, 50.0],
            "carrier": ["electricity", "electricity", "natural_gas"],
            "tier": ["metered", "billed", "billed"],
        }
    )
    # electricity: activity (0.02*100)^2 + (0.03*200)^2 = 4 + 36 = 40; its factor, shared: (0.10*300)^2 = 900
    # natural gas: activity (0.03*50)^2 = 2.25; factor (0.05*50)^2 = 6.25
    # total: sqrt(40 + 900 + 2.25 + 6.25) = sqrt(948.5) on 350 t
    band = u.line_band(lines)
    assert band.total == 350.0
    assert band.upper - band.total == pytest.approx(math.sqrt(948.5), rel=1e-12)
    assert band.half_width_pct == pytest.approx(math.sqrt(948.5) / 350 * 100, rel=1e-12)


def test_a_shared_factor_is_not_averaged_away():
    """Twelve months of one grid factor: the factor's 10 % stays 10 % of the year, not 10 %/sqrt(12)."""
    year = pd.DataFrame({"emissions_tco2e": [10.0] * 12, "carrier": "electricity", "tier": "metered"})
    band = u.line_band(year)
    # activity: 12 x (0.02*10)^2 = 0.48; factor: (0.10*120)^2 = 144 -> sqrt(144.48) on 120 t
    assert band.upper - band.total == pytest.approx(math.sqrt(144.48), rel=1e-12)
    assert band.half_width_pct > 10.0
    independent = u.sum_band(year["emissions_tco2e"], [u.product_half_width(2, 10)] * 12)
    assert independent.half_width_pct < band.half_width_pct / 3  # what treating lines as independent would claim


def test_lines_of_different_factor_records_are_independent():
    lines = pd.DataFrame(
        {
            "emissions_tco2e": [100.0, 100.0],
            "carrier": "electricity",
            "tier": "metered",
            "factor_ids": ["mee-2023-elec-location-cn-sh", "mee-2023-elec-location-cn-js"],
        }
    )
    # two sources of sqrt(2^2 + 10^2) % each on 100 t: sqrt(2 * 104) t on 200 t
    assert u.line_band(lines).upper - 200 == pytest.approx(math.sqrt(208), rel=1e-12)
    shared = u.line_band(lines.drop(columns="factor_ids"))
    assert shared.upper - 200 == pytest.approx(math.sqrt(2 * 4 + 400), rel=1e-12)


def test_no_lines_no_band_and_unknown_codes_refused():
    empty = pd.DataFrame(columns=["emissions_tco2e", "carrier", "tier"])
    assert u.line_band(empty) is None
    unknown = pd.DataFrame({"emissions_tco2e": [np.nan], "carrier": ["electricity"], "tier": ["metered"]})
    assert u.line_band(unknown) is None  # a line of unknown emissions: the total is unknown, so is its band
    with pytest.raises(ValueError, match="guessed"):
        u.line_band(pd.DataFrame({"emissions_tco2e": [1.0], "carrier": ["electricity"], "tier": ["guessed"]}))
    with pytest.raises(ValueError, match="plasma"):
        u.line_band(pd.DataFrame({"emissions_tco2e": [1.0], "carrier": ["plasma"], "tier": ["metered"]}))
    with pytest.raises(ValueError):
        u.sum_band([], [])
    with pytest.raises(ValueError):
        u.sum_band([1.0, 2.0], [5.0])


# ---- Approach 2: Monte Carlo ------------------------------------------------------------------------------------

DRAWS = 200_000
SEED = 20261201


def _percentile_se(sigma: float, draws: int, p: float = 0.025) -> float:
    """Standard error of the p-percentile of ``draws`` normal draws of standard deviation ``sigma``:
    sqrt(p (1 - p) / n) / f(x_p), with the normal density f(x_p) = phi(z_p) / sigma."""
    z = NormalDist().inv_cdf(p)
    return math.sqrt(p * (1 - p) / draws) / (NormalDist().pdf(z) / sigma)


def test_monte_carlo_agrees_with_approach_1_within_sampling_error():
    approach_1 = u.sum_band([600.0, 400.0], [5.0, 10.0])
    sigma = 50.0 / u.Z95  # the 50 t half-width is 1.96 standard deviations
    se = _percentile_se(sigma, DRAWS)  # 0.0060 sigma = 0.15 t for 200 000 draws
    tolerance = 4 * se  # four standard errors: a fault shifting an end by 0.6 t or more fails
    normal = u.monte_carlo_sum([600.0, 400.0], [5.0, 10.0], DRAWS, SEED, distribution="normal")
    assert normal.total == approach_1.total
    assert abs(normal.lower - approach_1.lower) <= tolerance
    assert abs(normal.upper - approach_1.upper) <= tolerance
    # lognormal (the default): the same mean and variance, a right skew moves both ends up by about the same
    # amount (Cornish-Fisher), so the half-width agrees within the same sampling error
    lognormal = u.monte_carlo_sum([600.0, 400.0], [5.0, 10.0], DRAWS, SEED)
    assert abs((lognormal.upper - lognormal.lower) / 2 - 50.0) <= tolerance
    assert lognormal.lower > approach_1.lower and lognormal.upper > approach_1.upper  # the skew, right way round
    # deterministic: the same seed gives the same band
    assert u.monte_carlo_sum([600.0, 400.0], [5.0, 10.0], DRAWS, SEED) == lognormal


def test_monte_carlo_never_below_zero_for_large_uncertainty():
    # heat at +-150 %: Approach 1 would reach below zero (cut at 0); the lognormal draws stay positive
    band = u.monte_carlo_sum([100.0], [150.0], 20_000, SEED)
    assert band.lower > 0 and band.upper > 100
    assert u.sum_band([100.0], [150.0]).lower == 0.0
    truncated = u.monte_carlo_sum([100.0], [150.0], 20_000, SEED, distribution="normal")
    assert truncated.lower >= 0


def test_monte_carlo_of_lines_agrees_with_line_band_and_keeps_heat_above_zero():
    lines = pd.DataFrame(
        {
            "emissions_tco2e": [100.0, 200.0, 50.0],
            "carrier": ["electricity", "electricity", "natural_gas"],
            "tier": ["metered", "billed", "billed"],
        }
    )
    approach_1 = u.line_band(lines)  # +-sqrt(948.5) t on 350 t, worked by hand above
    tolerance = 4 * _percentile_se(math.sqrt(948.5) / u.Z95, DRAWS)
    approach_2 = u.monte_carlo_lines(lines, DRAWS, SEED)
    assert approach_2.total == approach_1.total
    assert abs((approach_2.upper - approach_2.lower) / 2 - math.sqrt(948.5)) <= tolerance
    # purchased heat at +-45 %: the band from lognormal draws is skewed to the right, its lower end above
    # Approach 1's symmetric one
    heat = pd.DataFrame({"emissions_tco2e": [100.0], "carrier": ["heat"], "tier": ["billed"]})
    symmetric, skewed = u.line_band(heat), u.monte_carlo_lines(heat, DRAWS, SEED)
    assert skewed.lower > symmetric.lower > 0
    assert skewed.upper - skewed.total > skewed.total - skewed.lower
    assert u.monte_carlo_lines(lines.iloc[:0], DRAWS, SEED) is None


# ---- ratio and state against the path ---------------------------------------------------------------------------


def test_ratio_by_hand():
    # emissions 1000 t +-3 % over GDP 200 (10^4 CNY) +-4 %: 5 t per 10^4 CNY +- sqrt(9 + 16) = 5 %
    band = u.ratio_band(u.sum_band([1000.0], [3.0]), 200.0, 4.0)
    assert band.total == 5.0
    assert band.half_width_pct == pytest.approx(5.0, rel=1e-12)
    assert (band.lower, band.upper) == pytest.approx((4.75, 5.25), rel=1e-12)
    # an exact GDP divides the ends as they are (an asymmetric Monte Carlo band stays asymmetric)
    skewed = u.Band(total=100.0, half_width_pct=10.0, lower=92.0, upper=112.0)
    assert u.ratio_band(skewed, 4.0) == u.Band(25.0, 10.0, 23.0, 28.0)
    assert u.ratio_band(None, 200.0) is None and u.ratio_band(skewed, None) is None
    with pytest.raises(ValueError):
        u.ratio_band(skewed, 0.0)


@pytest.mark.parametrize(
    ("path", "state"),
    [
        (11.0, "on_track"),  # the whole band 9.5..10.5 is below the path
        (10.5, "on_track"),  # its upper end at the path: at or below
        (10.0, "cannot_tell"),  # the path inside the band
        (9.5, "cannot_tell"),  # the lower end at the path: not wholly above
        (9.4, "off_track"),  # the whole band above the path
        (None, None),  # no path for the year: no state
        (float("nan"), None),
    ],
)
def test_assess(path, state):
    band = u.ratio_band(u.sum_band([1000.0], [5.0]), 100.0)
    assert (band.lower, band.upper) == pytest.approx((9.5, 10.5))
    assert u.assess(band, path) == state


def test_gap_to_the_path():
    band = u.ratio_band(u.sum_band([1000.0], [5.0]), 100.0)  # 9.5..10.5 t per 10^4 CNY
    gap = u.gap_band(band, 10.2)
    assert (gap.total, gap.lower, gap.upper) == pytest.approx((-0.2, -0.7, 0.3))
    assert gap.half_width_pct == pytest.approx(0.5 / 10.2 * 100)
    assert u.gap_band(None, 10.2) is None and u.gap_band(band, None) is None


def test_no_band_is_never_on_track():
    assert u.assess(None, 10.0) is None
    assert u.assess(u.ratio_band(u.line_band(pd.DataFrame(columns=list(u.LINE_COLUMNS))), 100.0), 10.0) is None


def test_every_state_and_tier_has_labels():
    for state in u.STATES:
        assert codes.label("band_state", state, "zh") and codes.label("band_state", state, "en")
    assert codes.bilingual("band_state", "cannot_tell") == "尚无法判断 / cannot tell yet"
    for tier in tiers.TIERS:
        assert codes.label("data_tier", tier, "zh") and codes.label("data_tier", tier, "en")


# ---- the data file ----------------------------------------------------------------------------------------------


def test_every_row_is_sourced_with_a_status_and_a_unit_that_parses():
    raw = reference.read_data("uncertainty.csv")
    assert not raw.duplicated(["kind", "key"]).any()
    assert (raw["source"].str.strip() != "").all() and (raw["notes"].str.strip() != "").all()
    assert set(raw["status"]) <= {"verified", "single_source", "unverified", "project_default"}
    for unit in raw["unit"]:
        assert (1 * parse_unit(unit)).dimensionless
    values = u.table()["value_pct"]
    assert ((values >= 0) & np.isfinite(values)).all()
    assert set(u.activity_half_widths().index) == set(tiers.TIERS)
    assert set(u.factor_half_widths().index) == set(reference.carriers().index)  # every carrier has a factor row


# ---- properties -------------------------------------------------------------------------------------------------

# emissions in tCO2e: zero, or from a gram (1e-6 t) to ten million tonnes
values = st.lists(st.one_of(st.just(0.0), st.floats(1e-6, 1e7)), min_size=1, max_size=8)
pcts = st.floats(0.0, 200.0, allow_nan=False)


@given(data=st.data(), xs=values)
def test_band_contains_the_total_and_widens_when_an_input_uncertainty_grows(data, xs):
    us = data.draw(st.lists(pcts, min_size=len(xs), max_size=len(xs)))
    band = u.sum_band(xs, us)
    assert band.lower <= band.total <= band.upper
    i = data.draw(st.integers(0, len(xs) - 1))
    grown = list(us)
    grown[i] += data.draw(st.floats(0.5, 100.0))
    wider = u.sum_band(xs, grown)
    assert wider.upper >= band.upper and wider.lower <= band.lower
    assert wider.half_width_pct >= band.half_width_pct
    before = sum((x * p) ** 2 for x, p in zip(xs, us, strict=True))
    added = (xs[i] * grown[i]) ** 2 - (xs[i] * us[i]) ** 2
    if added > 1e-9 * before:  # strictly wider where the growth is within a float's reach of the sum (0.0625 t at
        assert wider.half_width_pct > band.half_width_pct  # 1 % beside 6.5 million t at 1 % is not)
    assert u.product_half_width(*grown) > u.product_half_width(*us)


# ---- the tier of stored lines -----------------------------------------------------------------------------------


def test_batch_shape_decides_the_tier():
    shapes = pd.Series(["records", "template", "bill", "interval_wide", "register"])
    assert tiers.batch_tier(shapes).tolist() == ["metered", "billed", "billed", "billed", "billed"]


def test_tier_mix_follows_the_engine_month_split():
    rows = pd.DataFrame(
        {
            "enterprise_uscc": "E",
            "carrier": "natural_gas",
            # a bill from 16 January to 15 February (31 days) and a meter's day in February
            "start_local": pd.to_datetime(["2024-01-16", "2024-02-10"]).to_numpy(dtype="datetime64[s]"),
            "end_local": pd.to_datetime(["2024-02-16", "2024-02-11"]).to_numpy(dtype="datetime64[s]"),
            "quantity": [310.0, 50.0],
            "tier": ["billed", "metered"],
        }
    )
    mix = tiers.tier_mix(rows, 2024).set_index(["month", "tier"])["share"]
    assert mix.loc[(1, "billed")] == pytest.approx(1.0)
    # February: 150 m3 of the bill (15 of its 31 days) and 50 m3 metered
    assert mix.loc[(2, "billed")] == pytest.approx(150 / 200)
    assert mix.loc[(2, "metered")] == pytest.approx(50 / 200)


def test_stored_lines_get_their_tier_mix_and_band(engine, tmp_path):
    """January 2024: 3000 kWh from an uploaded file (billed) and 1000 kWh from connector records (metered)."""
    code = uscc(4242)
    add_enterprise(engine, code=code, name="等级测试", region="qingpu", industry="2614")
    path = write_template(tmp_path / "jan.csv", ["M1,电力,2024-01-01,2024-02-01,3000,kWh"])
    receive_files(engine, [path], code, actor="test")
    start = pd.Timestamp("2024-01-10", tz="Asia/Shanghai")
    records = pd.DataFrame(
        {
            "enterprise": [code],
            "meter": ["IOT-1"],
            "carrier": ["electricity"],
            "kind": ["interval"],
            "start": [start.isoformat()],
            "end": [(start + pd.Timedelta(days=1)).isoformat()],
            "value": [1000.0],
            "unit": ["kWh"],
        }
    )
    receive_records(engine, records, "iot-gateway")

    activity = tiers.load_activity_tiers(engine, 2024, [code])
    assert sorted(zip(activity["shape"], activity["tier"], strict=True)) == [
        ("periods", "billed"),
        ("records", "metered"),
    ]
    mix = tiers.load_tier_mix(engine, 2024, [code]).set_index("tier")["share"]
    assert mix.to_dict() == pytest.approx({"billed": 0.75, "metered": 0.25})

    lines = current_lines(engine, years=[2024], enterprises=[code])
    assert len(lines) == 1 and lines["quantity_canonical"].iloc[0] == pytest.approx(4000.0)
    parts = tiers.lines_by_tier(lines, tiers.load_tier_mix(engine, 2024, [code]))
    assert parts["emissions_tco2e"].sum() == pytest.approx(lines["emissions_tco2e"].sum(), rel=1e-12)
    band = u.line_band(parts)
    # activity (0.03 x 0.75)^2 + (0.02 x 0.25)^2 and the grid factor 0.10^2, relative to the line's emissions
    expected = math.sqrt((0.03 * 0.75) ** 2 + (0.02 * 0.25) ** 2 + 0.10**2) * 100
    assert band.total == pytest.approx(lines["emissions_tco2e"].sum(), rel=1e-12)
    assert band.half_width_pct == pytest.approx(expected, rel=1e-9)
    # a line without activity behind it has no tier: refused, not guessed
    with pytest.raises(ValueError, match="tier"):
        tiers.lines_by_tier(lines.assign(month=2), tiers.load_tier_mix(engine, 2024, [code]))
    # the same band from the one call the overview needs, and none for a year without data
    assert u.line_band(tiers.tiered_lines(engine, 2024, [code])) == band
    assert u.line_band(tiers.tiered_lines(engine, 2023, [code])) is None


def test_the_uncertainty_of_a_change_lets_a_shared_factor_cancel() -> None:
    """IPCC 2006 Vol. 1 Ch. 3 Approach 1 for a trend, by hand: activity data uncorrelated between the years, a
    carrier's factor the same in both, so it counts only as far as the carrier's share moved."""
    line = lambda carrier, t: {"carrier": carrier, "emissions_tco2e": t, "tier": "statistics"}  # noqa: E731
    same_mix = u.trend_half_width(
        pd.DataFrame([line("natural_gas", 100.0)]), pd.DataFrame([line("natural_gas", 200.0)])
    )
    assert same_mix == pytest.approx((5**2 + 5**2) ** 0.5)  # the gas factor's ±5 % cancels entirely
    now = pd.DataFrame([line("natural_gas", 100.0), line("electricity", 100.0)])
    base = pd.DataFrame([line("natural_gas", 100.0)])
    # activity: (0.5 x 5)^2 x 2 + (1 x 5)^2 = 37.5; factors: ((0.5 - 1) x 5)^2 + ((0.5 - 0) x 10)^2 = 31.25
    assert u.trend_half_width(now, base) == pytest.approx(68.75**0.5)
    assert u.trend_half_width(now, base, factors=False) == pytest.approx(37.5**0.5)
    assert u.trend_half_width(now, base.iloc[0:0]) is None  # no base year: no change to judge
