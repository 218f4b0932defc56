"""Completeness by reporting cadence: each meter is judged by how it reports (monthly bills, gas billed every two
months on the 15th, 15-minute curves), hand-checked; and through the real database and the data-quality view."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from carbon import codes, views
from carbon.access import Viewer
from carbon.analytics.completeness import (
    STATES,
    add_months,
    completeness_seconds,
    meter_cadence,
    monthly_completeness,
    states,
)
from carbon.analytics.progress import parameters
from carbon.enterprises import add_enterprise
from carbon.intake import receive_files
from tests.helpers import uscc, write_template

GRACE = pd.Timedelta(days=15)
ZONE = Viewer("zone1", "zone")


def periods(rows: list[tuple[str, int, str, str]]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["enterprise_uscc", "meter_id", "start_local", "end_local"])
    for col in ("start_local", "end_local"):
        df[col] = pd.to_datetime(df[col], format="ISO8601")
    return df


def monthly(ent: str, meter: int, first: str, months: int, skip: tuple[str, ...] = ()) -> list[tuple]:
    """Monthly bills from ``first`` on the 1st, leaving out the months starting on the dates in ``skip``."""
    starts = pd.date_range(first, periods=months, freq="MS")
    return [
        (ent, meter, f"{s:%Y-%m-%d}", f"{s + pd.DateOffset(months=1):%Y-%m-%d}")
        for s in starts
        if f"{s:%Y-%m-%d}" not in skip
    ]


def bimonthly(ent: str, meter: int, first: str, last_end: str) -> list[tuple]:
    """Gas bills read every two months on the same day, from ``first`` until one ends on ``last_end``."""
    out, start = [], pd.Timestamp(first)
    while start < pd.Timestamp(last_end):
        end = start + pd.DateOffset(months=2)
        out.append((ent, meter, f"{start:%Y-%m-%d}", f"{end:%Y-%m-%d}"))
        start = end
    return out


def judge(rows: list[tuple], ents: list[str], year: int, as_of: str) -> tuple[pd.DataFrame, pd.Series]:
    seconds = completeness_seconds(periods(rows), ents, year, pd.Timestamp(as_of), GRACE)
    return monthly_completeness(seconds), states(seconds)


# --- cadence --------------------------------------------------------------------------------------------------


def test_cadence_of_a_bimonthly_gas_bill_a_monthly_bill_and_a_monthly_meter_with_a_15_minute_month():
    fifteen = pd.date_range("2025-11-01", "2025-12-01", freq="15min", inclusive="left")
    rows = [
        *bimonthly("A", 1, "2023-12-15", "2025-12-15"),
        *monthly("A", 2, "2024-01-01", 24),
        *monthly("A", 3, "2024-01-01", 22),  # then one month of 15-minute data: still a meter billed monthly
        *(("A", 3, f"{t}", f"{t + pd.Timedelta(minutes=15)}") for t in fifteen),
    ]
    cad = meter_cadence(periods(rows)).loc["A"]
    assert cad.loc[1, "period_months"] == 2 and cad.loc[1, "billing_day"] == 15
    assert cad.loc[1, "last_end"] == pd.Timestamp("2025-12-15") and cad.loc[1, "next_due"] == pd.Timestamp("2026-02-15")
    assert cad.loc[2, "period_months"] == 1 and cad.loc[2, "next_due"] == pd.Timestamp("2026-02-01")
    assert cad.loc[3, "period_months"] == 1 and cad.loc[3, "next_due"] == pd.Timestamp("2026-01-01")
    curve = meter_cadence(periods([("B", 9, f"{t}", f"{t + pd.Timedelta(minutes=15)}") for t in fifteen]))
    assert curve.loc[("B", 9), "period_months"] == 0 and np.isnan(curve.loc[("B", 9), "billing_day"])
    assert curve.loc[("B", 9), "next_due"] == pd.Timestamp("2025-12-01 00:15")


def test_add_months_keeps_the_billing_day_and_clamps_to_short_months():
    t = np.array(["2025-12-15", "2024-01-31T08:30", "2025-11-30"], dtype="datetime64[s]")
    got = add_months(t, np.array([2, 1, 3]))
    assert list(got) == list(np.array(["2026-02-15", "2024-02-29T08:30", "2026-02-28"], dtype="datetime64[s]"))


# --- judged by cadence ----------------------------------------------------------------------------------------


def test_a_bimonthly_gas_bill_ending_15_december_is_not_a_gap_while_the_next_is_not_due():
    rows = [*bimonthly("G", 1, "2023-12-15", "2025-12-15"), *monthly("G", 2, "2024-01-01", 24)]
    share, state = judge(rows, ["G"], 2025, "2026-01-01")  # the data reaches 2026-01-01
    assert state["G"] == "pending"
    assert (share.loc["G"] == 1.0).all()  # December: the electricity and gas until the 15th were due, all there
    # the next bill (2025-12-15 to 2026-02-15) is expected on 15 February and overdue 15 days later
    assert judge(rows, ["G"], 2025, "2026-03-02")[1]["G"] == "pending"
    share, state = judge(rows, ["G"], 2025, "2026-03-03")
    assert state["G"] == "gaps"
    assert share.loc["G", 12] == pytest.approx((31 + 31 - 17) / (31 + 31))  # gas from the 15th on missing
    assert (share.loc["G", :11] == 1.0).all()


def test_an_enterprise_missing_march_has_a_gap_and_one_with_nothing_has_no_data():
    rows = [*monthly("M", 1, "2024-01-01", 24, skip=("2025-03-01",)), *monthly("C", 2, "2024-01-01", 24)]
    share, state = judge(rows, ["M", "C", "X"], 2025, "2026-01-01")
    assert state.to_dict() == {"M": "gaps", "C": "complete", "X": "no_data"}
    assert share.loc["M", 3] == 0.0 and share.loc["M"].drop(3).eq(1.0).all()
    assert share.loc["X"].eq(0.0).all()  # due all year, nothing there: 0 covered, and the state says no data


def test_time_after_as_of_is_not_due_and_a_meter_long_silent_is_not_counted():
    # as of 20 May, billed until 1 May: May's bill and the months after owe nothing yet (NaN: no figure, not zero)
    rows = monthly("A", 1, "2024-01-01", 16)
    share, state = judge(rows, ["A"], 2025, "2025-05-20")
    assert state["A"] == "pending" and share.loc["A", :4].eq(1.0).all() and share.loc["A", 5:].isna().all()
    # a meter replaced in 2024 (its last bill long overdue) does not make 2025 incomplete
    rows = [*monthly("R", 1, "2024-01-01", 6), *monthly("R", 2, "2024-07-01", 18)]
    assert judge(rows, ["R"], 2025, "2026-01-01")[1]["R"] == "complete"
    # nothing in 2026 yet, but the bimonthly gas bill is not yet due: not yet due, not missing
    gas = bimonthly("G", 1, "2023-12-15", "2025-12-15")
    share, state = judge(gas, ["G"], 2026, "2026-01-20")
    assert state["G"] == "pending" and share.loc["G"].isna().all()
    share, state = judge(gas, ["G"], 2026, "2026-03-20")  # now overdue: January to 20 March missing
    assert state["G"] == "no_data" and share.loc["G", :3].eq(0.0).all() and share.loc["G", 4:].isna().all()


def test_partial_months_gaps_and_meters_count_by_time():
    rows = [
        *monthly("A", 1, "2024-01-01", 24),
        ("A", 2, "2024-01-01", "2024-02-15 12:00"),  # a second meter, overdue since mid-February
        ("B", 3, "2024-12-31 18:00", "2025-01-02"),  # six hours of 2024
    ]
    share, state = judge(rows, ["A", "B"], 2024, "2026-01-01")
    assert list(share.columns) == list(range(1, 13))
    assert share.loc["A", 1] == 1.0
    assert share.loc["A", 2] == pytest.approx((29 + 14.5) / (2 * 29))  # leap February
    assert share.loc["A", 3] == pytest.approx(0.5)
    assert share.loc["B", 12] == pytest.approx(6 / (31 * 24)) and share.loc["B", 1] == 0.0
    assert state.to_dict() == {"A": "gaps", "B": "gaps"}


def test_a_five_hour_gap_in_15_minute_data_is_a_gap():
    fifteen = pd.date_range("2025-11-01", "2025-12-01", freq="15min", inclusive="left")
    lost = (fifteen >= "2025-11-12 09:00") & (fifteen < "2025-11-12 14:00")
    rows = [*monthly("I", 1, "2024-01-01", 24), *monthly("I", 2, "2024-01-01", 22)]
    rows += [("I", 2, f"{t}", f"{t + pd.Timedelta(minutes=15)}") for t in fifteen[~lost]]
    rows += [("I", 2, "2025-12-01", "2026-01-01")]
    share, state = judge(rows, ["I"], 2025, "2026-01-01")
    assert state["I"] == "gaps" and share.loc["I", 11] == pytest.approx(1 - 5 / (2 * 30 * 24))


def test_no_readings_and_no_enterprises():
    share, state = judge([], [], 2024, "2025-01-01")
    assert share.empty and list(share.columns) == list(range(1, 13)) and state.empty


def test_every_state_has_a_label():
    assert codes.codes("completeness_state") == STATES
    assert codes.bilingual("completeness_state", "pending") == "未到期 / not yet due"


def test_how_late_a_bill_may_be_is_a_project_default():
    table = pd.read_csv(Path(__file__).parents[1] / "carbon" / "data" / "analytics_parameters.csv").set_index("name")
    row = table.loc["bill_overdue_after_days"]
    assert row["status"] == "project_default" and row["unit"] == "day" and parameters()["bill_overdue_after_days"] > 0


# --- through the database and the view --------------------------------------------------------------------------


def test_the_data_quality_view_counts_real_gaps_apart_from_bills_not_yet_due(engine, tmp_path):
    gas, short, none = uscc(501), uscc(502), uscc(503)
    for code, name in ((gas, "青浦燃气双月账单测试"), (short, "青浦缺三月测试"), (none, "青浦未报送测试")):
        add_enterprise(engine, code=code, name=name, region="qingpu", industry="26")
    electricity = [f"E-01,电力,{s},{e},1000,kWh" for _, _, s, e in monthly("", 0, "2024-01-01", 24)]
    gas_bills = [f"G-01,天然气,{s},{e},5000,m3" for _, _, s, e in bimonthly("", 0, "2023-12-15", "2025-12-15")]
    no_march = [line for line in electricity if ",2025-03-01,2025-04-01," not in line]
    for code, lines in ((gas, electricity + gas_bills), (short, no_march), (none, electricity[:12])):
        receive_files(engine, [write_template(tmp_path / f"{code}.csv", lines)], code, actor="test")

    cov = views.completeness(engine, ZONE, 2025).set_index("uscc")
    assert cov["completeness_state"].to_dict() == {gas: "pending", short: "gaps", none: "no_data"}
    assert (cov.loc[gas, list(range(1, 13))] == 1.0).all()  # December's gas until the 15th is there, the rest not due
    assert cov.loc[short, 3] == 0.0 and cov.loc[none, list(range(1, 13))].eq(0.0).all()
    basis = views.completeness_basis(engine)
    assert basis["as_of"] == pd.Timestamp("2026-01-01", tz="Asia/Shanghai")  # the newest reading's end
    assert basis["bill_overdue_after_days"] == parameters()["bill_overdue_after_days"]
    # alerts list the month nobody sent, not the gas bill not yet due
    missing = views.alerts(engine, ZONE, "qingpu", 2025)["missing"].set_index("uscc")
    assert set(missing.index) == {short, none} and missing.loc[short, "missing_months"] == "3"
