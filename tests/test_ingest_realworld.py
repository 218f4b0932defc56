"""Real-world export shapes: utility 抄表 records and bills, 96/48/24-point day curves, EMS daily reports, number
formats.  Every file of ``tests/data/realworld`` is checked against its right answer (its README.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from sqlmodel import Session, select

from carbon.enterprises import add_enterprise
from carbon.errors import InputError
from carbon.ingest import ingest_files
from carbon.models import Activity, Meter
from tests.helpers import uscc

DATA = Path(__file__).parent / "data" / "realworld"
E, X, G, NG = "electricity", "electricity_exported", "electricity_generated", "natural_gas"


@pytest.fixture
def ent(engine) -> str:
    code = uscc(41, "330421")
    add_enterprise(engine, code=code, name="嘉善测试电子有限公司", region="jiashan", industry="3982")
    return code


def stored(engine) -> pd.DataFrame:
    """The current readings: meter, carrier, start and end (local time text), quantity (kWh or m3)."""
    cols = (Meter.meter_code, Activity.carrier, Activity.period_start, Activity.period_end, Activity.quantity_canonical)
    stmt = select(*cols).join(Meter, Activity.meter_id == Meter.id).where(Activity.superseded_at.is_(None))
    with Session(engine) as s:
        df = pd.DataFrame(s.exec(stmt).all(), columns=["meter", "carrier", "start", "end", "quantity"])
    for col in ("start", "end"):
        df[col] = pd.to_datetime(df[col], utc=True).dt.tz_convert("Asia/Shanghai").dt.strftime("%Y-%m-%d %H:%M")
    return df.sort_values(["meter", "carrier", "start"]).reset_index(drop=True)


def ingest(engine, ent: str, name: str, accept_valid: bool = False):
    """Ingest one file of tests/data/realworld: its report and the stored current readings."""
    (report,) = ingest_files(engine, [DATA / name], ent, accept_valid=accept_valid)
    return report, stored(engine)


def issues(report) -> list[tuple]:
    return [(i.severity, i.code, i.row, i.column, i.value) for i in report.issues][:12]


def totals(df: pd.DataFrame) -> dict:
    """(carrier, start, end) -> quantity summed over meters, as a user adds the figures up."""
    return dict(df.groupby(["carrier", "start", "end"])["quantity"].sum().round(6).items())


def periods(carrier: str, bounds: list[str], values: list[float | None]) -> dict:
    """Expected totals: values[i] over [bounds[i], bounds[i + 1]) (dates, 00:00); None: nothing stored."""
    pairs = zip(bounds[:-1], bounds[1:], values, strict=True)
    return {(carrier, f"{a} 00:00", f"{b} 00:00"): v for a, b, v in pairs if v is not None}


def months(first: str, n: int) -> list[str]:
    return [str(p.start_time.date()) for p in pd.period_range(first, periods=n + 1, freq="M")]


def days(first: str, n: int) -> list[str]:
    return [str(d.date()) for d in pd.date_range(first, periods=n + 1, freq="D")]


def curve(meter: str, first_day: str, values_by_day: list[list[float]]) -> list[tuple]:
    """Expected rows of a day curve: one list of values per day, equal steps, the first at 00:00."""
    rows = []
    for d, values in enumerate(values_by_day):
        step = pd.Timedelta(days=1) / len(values)
        for i, v in enumerate(values):
            a = pd.Timestamp(first_day) + pd.Timedelta(days=d) + i * step
            rows.append((meter, E, f"{a:%Y-%m-%d %H:%M}", f"{a + step:%Y-%m-%d %H:%M}", v))
    return rows


# --- shared cases and own files whose answer is a set of stored figures ---------------------------------------------

BILL_DATES = ["2023-12-25", "2024-01-25", "2024-02-25", "2024-03-25"]
R03_DATES = [*BILL_DATES, "2024-04-25", "2024-05-25", "2024-06-25", "2024-07-25"]
REPLACED = {"meter_replaced", "register_drop"}

FIGURES = [
    # (file, expected totals, meter codes (a set) or how many meters (an int) or None, warnings: one of them reported)
    pytest.param(
        "c03_bill_rollover.csv",
        periods(E, BILL_DATES, [49600, 15200, 51200]),
        {"3100000000456"},
        {"register_rollover"},
        id="c03-bill-rollover",
    ),
    pytest.param(
        "c03b_register_rollover_control.csv",
        periods(E, BILL_DATES, [49600, 15200, 51200]),
        {"3100000000456"},
        {"register_rollover"},
        id="c03b-register-rollover",
    ),
    pytest.param(
        "c05b_chaobiao_shishu_leixing_dates.csv",
        periods(E, ["2024-02-25", "2024-03-25"], [24739]),
        None,
        set(),
        id="c05b-chaobiao-total-not-parts-not-reactive",
    ),
    pytest.param(
        "c06b_month_date_column.csv",
        periods(E, months("2024-01", 4), [52310, 38920, 55140, 50210])
        | periods(NG, months("2024-01", 4), [8120, 7010, 8450, 6020]),
        2,
        set(),
        id="c06b-month-date-column",
    ),
    pytest.param(
        "c06c_template_chinese_month.csv",
        periods(E, months("2024-01", 3), [52310, 38920, 55140]),
        {"总表"},
        set(),
        id="c06c-template-chinese-month",
    ),
    pytest.param(
        "r03_bill_drop_not_rollover.csv",
        periods(E, R03_DATES, [40000, 40800, 39200, 40400, 39600, None, 39920]),
        {"3100000000231"},
        REPLACED,
        id="r03-bill-drop-is-replacement",
    ),
    pytest.param(
        "r04_register_note_lunhuan_chaibiao.csv",
        periods(E, months("2024-01", 3), [600 + 16000, None, 550 + 14000]),
        {"R-01", "R-02"},
        REPLACED,
        id="r04-register-lunhuan-chaibiao",
    ),
    pytest.param(
        "r05_chaobiao_tou_only_reactive.csv",
        periods(E, ["2024-04-25", "2024-05-25"], [1000 + 3020 + 2060 + 4440]),
        None,
        set(),
        id="r05-chaobiao-tou-parts-only",
    ),
    pytest.param(
        "r06a_month_dotted.csv",
        periods(E, months("2024-09", 4), [41000, 43200, 39800, 45150]),
        1,
        set(),
        id="r06a-month-2024.10",
    ),
    pytest.param(
        "r06b_month_yyyymm.csv",
        periods(E, months("2024-01", 4), [30500, 28750, 31020, 29980]),
        1,
        set(),
        id="r06b-month-202401",
    ),
    pytest.param(
        "r06c_month_chinese_gbk.csv",
        periods(E, months("2024-01", 3), [12000, 11500, 12800]) | periods(NG, months("2024-01", 3), [1500, 1320, 1410]),
        2,
        set(),
        id="r06c-month-chinese-gbk",
    ),
    pytest.param(
        "r07a_thousands_separators.csv",
        periods(E, days("2024-03-01", 5), [1234.5, 2480, 987.25, 1010.75, 1050]),
        {"M-07A"},
        set(),
        id="r07a-thousands-separators",
    ),
    pytest.param(
        "r07c_semicolon_dot_decimal.csv",
        periods(E, days("2024-03-01", 4), [1234.5, 1198, 987.25, 1010.75]),
        {"M-07C"},
        set(),
        id="r07c-semicolon-dot-decimal",
    ),
    pytest.param(
        "r10a_wide_huhao_fee.csv",
        periods(E, days("2024-08-01", 4), [3200, 3350.5, 3100, 3275.5]),
        1,
        set(),
        id="r10a-wide-huhao-fee",
    ),
    pytest.param(
        "r10b_wide_hourly_two_meters.xlsx",
        {
            (E, f"2024-08-01 {h:02d}:00", f"2024-08-01 {h + 1:02d}:00"): q
            for h, q in enumerate([120 + 40, 118 + 38, 125 + 42, 130 + 45])
        },
        2,
        set(),
        id="r10b-wide-hourly-two-meters",
    ),
    pytest.param(
        "r12a_bill_two_row_header.csv",
        periods(E, months("2024-01", 3), [20000, 12000, 13000]),
        {"3200000000301"},
        set(),
        id="r12a-bill-two-row-header",
    ),
    pytest.param(
        "r12b_bill_two_row_header_merged.xlsx",
        periods(E, months("2024-01", 3), [12000, 11550, 12575]),
        {"3200000000302"},
        set(),
        id="r12b-bill-merged-header-xlsx",
    ),
]


@pytest.mark.parametrize(("name", "expected", "meters", "warnings"), FIGURES)
def test_stored_figures(engine, ent, name, expected, meters, warnings):
    r, df = ingest(engine, ent, name)
    assert totals(df) == expected, issues(r)
    assert r.status == "stored" and not r.errors, issues(r)
    if isinstance(meters, set):
        assert set(df["meter"]) == meters
    elif meters is not None:
        assert df["meter"].nunique() == meters, sorted(set(df["meter"]))
    assert df.groupby("meter")["carrier"].nunique().max() == 1  # a meter measures one carrier
    if warnings:
        assert warnings & {w.code for w in r.warnings}, issues(r)


def test_two_meters_of_the_hourly_wide_file_keep_their_own_figures(engine, ent):
    _, df = ingest(engine, ent, "r10b_wide_hourly_two_meters.xlsx")
    assert sorted(df.groupby("meter")["quantity"].sum().round(6)) == [165, 493]


def test_register_notes_lunhuan_and_chaibiao_are_replacements_per_meter(engine, ent):
    r, df = ingest(engine, ent, "r04_register_note_lunhuan_chaibiao.csv")
    got = sorted(zip(df["meter"], df["start"].str[:10], df["quantity"].round(6), strict=True))
    expected = [("R-01", "2024-01-01", 600), ("R-01", "2024-03-01", 550)]
    expected += [("R-02", "2024-01-01", 16000), ("R-02", "2024-03-01", 14000)]
    assert got == expected, issues(r)
    assert "meter_replaced" in {w.code for w in r.warnings} and "register_rollover" not in {w.code for w in r.warnings}


def test_bill_drop_that_is_no_plausible_rollover_counts_nothing_for_that_interval(engine, ent):
    r, df = ingest(engine, ent, "r03_bill_drop_not_rollover.csv")
    assert not (df["start"] == "2024-05-25 00:00").any(), issues(r)
    assert not df["quantity"].isin([2012 * 40, 480]).any()  # neither the implied wrap nor the new meter's 12.00
    codes = {i.code for i in r.issues}
    assert REPLACED & codes and "register_rollover" not in codes and "bill_mismatch" not in codes, issues(r)


def test_identity_name_and_fee_columns_are_not_meters(engine, ent):
    r, df = ingest(engine, ent, "r10a_wide_huhao_fee.csv")
    assert {"用户名称", "电费(元)"} <= set(r.ignored_columns), (r.ignored_columns, issues(r))
    assert set(df["carrier"]) == {E} and not df["quantity"].isin([2240, 2345.35, 2170, 2292.85]).any()


# --- day curves (shape day_curve): one meter per account, values placed at the right times -----------------------

C02_DAY = [
    20.63,
    21.25,
    21.88,
    22.49,
    23.11,
    23.71,
    22.21,
    22.8,
    23.38,
    23.94,
    24.5,
    25.04,
    25.56,
    23.97,
    24.46,
    24.93,
    25.38,
    25.82,
    26.23,
    26.63,
    24.9,
    25.26,
    25.59,
    25.9,
    26.19,
    26.46,
    26.7,
    24.83,
    25.03,
    25.22,
    25.38,
    25.53,
    25.66,
    25.77,
    23.76,
    23.84,
    23.9,
    23.94,
    23.98,
    24,
    24.01,
    21.91,
    21.91,
    21.89,
    21.88,
    21.85,
    21.83,
    21.8,
    19.67,
    19.65,
    19.62,
    19.61,
    19.59,
    19.59,
    19.59,
    17.5,
    17.52,
    17.56,
    17.6,
    17.66,
    17.74,
    17.83,
    15.84,
    15.97,
    16.12,
    16.28,
    16.47,
    16.67,
    16.9,
    15.04,
    15.31,
    15.6,
    15.91,
    16.24,
    16.6,
    16.97,
    15.27,
    15.68,
    16.12,
    16.57,
    17.04,
    17.53,
    18.04,
    16.46,
    17,
    17.56,
    18.12,
    18.7,
    19.29,
    19.89,
    18.39,
    19.01,
    19.62,
    20.25,
    20.87,
    21.5,
]
C02 = curve("3100000000123", "2024-03-01", [C02_DAY] * 3)  # 2,006.4 kWh a day, 6,019.2 kWh in all
R01 = curve("3100000000201", "2024-04-01", [[0.5 * i for i in range(1, 49)], [0.25 * i for i in range(1, 49)]])
R01 += curve("3100000000202", "2024-04-01", [[100 - i for i in range(1, 49)]] * 2)
R02 = curve("3300000000301", "2024-04-01", [[h + 1 for h in range(24)], [2 * (h + 1) for h in range(24)]])


@pytest.mark.parametrize(
    ("name", "expected", "total"),
    [
        pytest.param("c02_96dian_e1_e96.xlsx", C02, 6019.2, id="c02-e1-e96"),
        pytest.param("c02b_96dian_timecols.xlsx", C02, 6019.2, id="c02b-end-labels-title"),
        pytest.param("c02c_96dian_timecols_units.csv", C02, 6019.2, id="c02c-end-labels-units-line"),
        pytest.param("r01_48dian_p1_p48_units.csv", R01, 588 + 294 + 2 * 3624, id="r01-p1-p48-two-accounts"),
        pytest.param("r02_24dian_hour_start_labels_title.csv", R02, 300 + 600, id="r02-0:00-23:00-title"),
    ],
)
def test_day_curves(engine, ent, name, expected, total):
    r, df = ingest(engine, ent, name)
    assert set(df["meter"]) == {row[0] for row in expected}, (sorted(set(df["meter"]))[:5], issues(r))
    assert round(df["quantity"].sum(), 6) == total and len(df) == len(expected)
    got = [(m, c, s, e, round(q, 6)) for m, c, s, e, q in df.itertuples(index=False)]
    assert got == sorted(expected)
    assert (r.shape, r.status) == ("day_curve", "stored"), issues(r)


@pytest.mark.parametrize(
    ("name", "hours"),
    [
        pytest.param("c11b_load_curve_kw_huhao.csv", "0.25", id="c11b-load-kw-15min"),
        pytest.param("r11a_96dian_p1_p96_kw.csv", "0.25", id="r11a-p1-p96-units-line-kw"),
        pytest.param("r11b_load_30min_kw.csv", "0.5", id="r11b-fuhe-kw-30min"),
    ],
)
def test_power_curves_are_refused_with_the_conversion(engine, ent, name, hours):
    with pytest.raises(InputError) as exc:
        ingest(engine, ent, name)
    zh, en = (re.sub(r"\s+", "", m) for m in (exc.value.zh, exc.value.en))
    assert ("功率" in zh or "负荷" in zh) and "power" in en.lower(), exc.value.message
    assert f"kWh=kW×{hours}" in zh and f"kWh=kW×{hours}" in en, exc.value.message
    assert stored(engine).empty


# --- files refused as a whole, or read by a convention -------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("c05a_chaobiao_shishu_leixing_nodates.csv", id="c05a-chaobiao-no-dates"),
        pytest.param("c06a_bill_month_only.csv", id="c06a-bill-month-only"),
    ],
)
def test_bills_without_reading_dates_are_refused_naming_them(engine, ent, name):
    with pytest.raises(InputError) as exc:
        ingest(engine, ent, name)
    assert all(word in exc.value.zh for word in ("上次", "本次", "抄表日期")), exc.value.message
    assert stored(engine).empty


DECIMAL_COMMA = periods(E, days("2024-03-01", 5), [1234.5, 1198, 987.25, 1010.75, 1050])  # 5,480.5 kWh


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("c07_decimal_comma.tsv", id="c07-tab"),
        pytest.param("c07b_decimal_comma_semicolon.csv", id="c07b-semicolon"),
    ],
)
def test_decimal_comma_file_is_read_as_a_whole_or_refused(engine, ent, name):
    try:
        r, df = ingest(engine, ent, name)
    except InputError as e:  # refused as a whole: about the numbers or the delimiter, never "no header found"
        assert "No header" not in e.en and "找不到表头" not in e.zh, e.message
        assert stored(engine).empty
        return
    assert not df["quantity"].isin([98725, 105000]).any(), issues(r)
    if r.status == "stored":
        assert totals(df) == DECIMAL_COMMA and set(df["meter"]) == {"DE-HVAC-01"}, issues(r)
        assert round(df["quantity"].sum(), 6) == 5480.5
    else:
        assert df.empty and "ambiguous_number" in {e.code for e in r.errors}, issues(r)


def test_mixed_thousands_and_decimal_comma_refuses_the_ambiguous_value(engine, ent):
    name = "r07b_mixed_thousands_and_decimal_comma.csv"
    r, df = ingest(engine, ent, name)
    assert [(e.row, e.code) for e in r.errors] == [(4, "ambiguous_number")], issues(r)
    (e,) = r.errors
    assert "987,25" in f"{e.value} {e.zh} {e.en}" and df.empty and r.status == "rejected"
    r, df = ingest(engine, ent, name, accept_valid=True)
    assert totals(df) == {
        (E, "2024-03-01 00:00", "2024-03-02 00:00"): 1234.5,
        (E, "2024-03-02 00:00", "2024-03-03 00:00"): 1198,
        (E, "2024-03-04 00:00", "2024-03-05 00:00"): 1010.75,
    }, issues(r)


# --- flows: purchased, generated on site, exported ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "sums", "expected"),
    [
        pytest.param(
            "c08_pv_ems_daily.csv",
            {E: 32630, G: 12350, X: 1760},
            periods(E, days("2024-06-01", 4), [8200, 8350, 7980, 8100])
            | periods(G, days("2024-06-01", 4), [3100, 2900, 3300, 3050])
            | periods(X, days("2024-06-01", 4), [450, 380, 520, 410]),
            id="c08-pv-ems-daily",
        ),
        pytest.param(
            "r08a_ems_daily_generation_export.csv",
            {E: 15700, G: 6280, X: 960},
            periods(E, days("2024-07-01", 3), [5200, 5400, 5100])
            | periods(G, days("2024-07-01", 3), [2100, 1950, 2230])
            | periods(X, days("2024-07-01", 3), [300, 250, 410]),
            id="r08a-ems-generation-export",
        ),
        pytest.param(
            "r08b_chaobiao_forward_reverse.csv",
            {E: 25000, X: 1850},
            periods(E, ["2024-05-01", "2024-06-01"], [25000]) | periods(X, ["2024-05-01", "2024-06-01"], [1850]),
            id="r08b-chaobiao-forward-reverse",
        ),
    ],
)
def test_generation_and_export_are_their_own_flows(engine, ent, name, sums, expected):
    r, df = ingest(engine, ent, name)
    assert round(df.loc[df["carrier"] == E, "quantity"].sum(), 6) == sums[E], issues(r)  # purchased only
    assert dict(df.groupby("carrier")["quantity"].sum().round(6)) == sums
    assert totals(df) == expected and r.status == "stored"
    assert df.groupby("meter")["carrier"].nunique().max() == 1  # exported/generated never on the purchase meter


# --- odd meter ids in a template: a meter id or a refused row, never a crash ---------------------------------------


@pytest.mark.parametrize(
    ("name", "month", "rows"),
    [
        pytest.param(
            "r09a_template_odd_meter_ids.csv",
            "2024-01",
            {"kWh/0": (2, 1000), "E-1/0": (3, 2000), "E2": (4, 3000)},
            id="r09a-csv",
        ),
        pytest.param(
            "r09b_template_odd_meter_ids.xlsx",
            "2024-02",
            {"kWh/0": (2, 1100), "E-1/0": (3, 2100), "E2": (4, 3100)},
            id="r09b-xlsx",
        ),
    ],
)
def test_odd_meter_ids_are_meter_ids_or_refused_by_row(engine, ent, name, month, rows):
    r, df = ingest(engine, ent, name, accept_valid=True)
    got = dict(zip(df["meter"], df["quantity"], strict=True))
    refused = {e.row for e in r.errors}
    assert got.get("E2") == rows["E2"][1], issues(r)
    for code, (row, quantity) in rows.items():
        assert got.get(code) == quantity or (row in refused and code not in got), (code, got, issues(r))
    assert set(got) <= set(rows) and len(df) == len(got)
    assert set(df["start"]) == {f"{month}-01 00:00"}


# Further cases of each kind, built inline: registers in a time series, 24:00 labels, headers and delimiters that
# cannot be read exactly, and rollovers judged by the meter's own rate.


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_forward_and_reverse_registers_in_a_time_series_are_registers_not_meters(engine, ent, tmp_path):
    f = write(
        tmp_path,
        "ems.csv",
        "数据时间,户号,用户名称,正向有功总(kWh),反向有功总(kWh)\n"
        "2024-05-01 00:00,3300000000789,某厂,1000.0,50.0\n"
        "2024-05-02 00:00,3300000000789,某厂,1800.5,60.0\n"
        "2024-05-03 00:00,3300000000789,某厂,2600.5,75.5\n",
    )
    (r,) = ingest_files(engine, [f], ent)
    assert (r.shape, r.stored, r.ignored_columns) == ("register", True, ["用户名称"])
    df = stored(engine)
    got = {(m, c): round(q, 6) for (m, c), q in df.groupby(["meter", "carrier"])["quantity"].sum().items()}
    assert got == {("3300000000789", E): 1600.5, ("3300000000789/反向有功总(kWh)", X): 25.5}


def test_a_long_series_labelled_up_to_24_00_is_end_labelled(engine, ent, tmp_path):
    times = [f"2024-03-01 {h:02d}:00" for h in range(1, 24)] + ["2024-03-01 24:00"]
    f = write(tmp_path, "h.csv", "时间,表号,用量(kWh)\n" + "".join(f"{t},M1,{i + 1}\n" for i, t in enumerate(times)))
    (r,) = ingest_files(engine, [f], ent)
    df = stored(engine)
    assert r.stored and len(df) == 24 and df["quantity"].sum() == 300
    assert (df["start"].iloc[0], df["end"].iloc[-1]) == ("2024-03-01 00:00", "2024-03-02 00:00")


def test_a_two_row_header_that_does_not_combine_is_refused(engine, ent, tmp_path):
    f = write(
        tmp_path,
        "two.csv",
        "户号,抄表日期,,倍率,抄见电量\n,上次读取,本次读取,,\n3100000000456,2024-01-25,2024-02-25,40,15200\n",
    )
    with pytest.raises(InputError) as exc:
        ingest_files(engine, [f], ent)
    assert "两行" in exc.value.zh and "two rows" in exc.value.en and stored(engine).empty


def test_a_file_two_delimiters_split_equally_is_refused_naming_both(engine, ent, tmp_path):
    f = write(tmp_path, "d.csv", "时间;表号,用量;单位\n2024-03-01;A,1;kWh\n2024-03-02;A,2;kWh\n")
    with pytest.raises(InputError) as exc:
        ingest_files(engine, [f], ent)
    assert "分号" in exc.value.zh and "逗号" in exc.value.zh and "semicolon" in exc.value.en


def test_a_register_fall_far_above_the_meters_rate_is_a_replacement_not_a_rollover(engine, ent, tmp_path):
    rows = [("2024-01-01", 90000), ("2024-02-01", 91000), ("2024-03-01", 92100), ("2024-04-01", 93000)]
    rows += [("2024-05-01", 5000), ("2024-06-01", 6000)]  # a wrap would be 12,000 units in April: 12x the rate
    f = write(
        tmp_path,
        "r.csv",
        "表号,能源品种,抄表时间,示数,倍率,单位\n" + "".join(f"R9,电力,{d},{v},1,kWh\n" for d, v in rows),
    )
    (r,) = ingest_files(engine, [f], ent)
    assert [(i.code, i.row) for i in r.warnings if i.code.startswith("register")] == [("register_drop", 6)]
    df = stored(engine)
    assert df["quantity"].tolist() == [1000, 1100, 900, 1000]
    assert "2024-04-01 00:00" not in df["start"].tolist()


def test_a_register_wrap_within_the_meters_rate_is_a_rollover(engine, ent, tmp_path):
    rows = [("2024-01-01", 97000), ("2024-02-01", 98000), ("2024-03-01", 99100), ("2024-04-01", 900)]
    f = write(
        tmp_path,
        "r.csv",
        "表号,能源品种,抄表时间,示数,倍率,单位\n" + "".join(f"R8,电力,{d},{v},1,kWh\n" for d, v in rows),
    )
    (r,) = ingest_files(engine, [f], ent)
    assert [i.code for i in r.warnings] == ["register_rollover"]
    assert stored(engine)["quantity"].tolist() == [1000, 1100, 1800]


def test_register_readings_one_row_per_register_type_continue_across_uploads(engine, ent, tmp_path):
    head = "计量点编号,抄表时间,示数类型,示数,倍率,单位\n"

    def month(day: str, total: float, peak: float, reactive: float, reverse: float) -> str:
        types = [
            ("正向有功（总）", total),
            ("正向有功（峰）", peak),
            ("无功（总）", reactive),
            ("反向有功（总）", reverse),
        ]
        return "".join(f"MP1,{day},{t},{v},10,kWh\n" for t, v in types)

    first = write(
        tmp_path, "a.csv", head + month("2024-01-01", 100, 40, 500, 5) + month("2024-02-01", 300, 110, 900, 8)
    )
    (r,) = ingest_files(engine, [first], ent)
    assert r.stored and {i.code for i in r.issues} >= {"register_part", "not_active_energy"}
    second = write(tmp_path, "b.csv", head + month("2024-03-01", 450, 170, 1200, 12))
    (r2,) = ingest_files(engine, [second], ent)
    assert r2.stored, r2.as_dict()
    df = stored(engine)
    assert totals(df) == {
        (E, "2024-01-01 00:00", "2024-02-01 00:00"): 2000.0,
        (E, "2024-02-01 00:00", "2024-03-01 00:00"): 1500.0,
        (X, "2024-01-01 00:00", "2024-02-01 00:00"): 30.0,
        (X, "2024-02-01 00:00", "2024-03-01 00:00"): 40.0,
    }
    assert set(df["meter"]) == {"MP1", "MP1/反向有功（总）"}


# Files a fresh user made that were read wrong or crashed (n01…n19, see the README): the right totals per carrier,
# the rows refused, or the words a whole-file refusal must say.
FRESH = {
    "n01_address_comma_not_decimal.csv": ({E: 33_720.0}, [], None),  # "5,6号厂房" is text, not a decimal comma
    "n02_register_column_beside_energy.csv": ({E: 330.0}, [], None),  # 用电量 read; 电表示数 never summed
    "n03_wide_total_column.csv": ({E: 320.0}, [], None),  # 合计 is not a meter
    "n04_infinite_values.csv": ({}, [2, 3, 4], None),  # 1e999, inf, 1e308 MWh: not numbers
    "n05_month_2024_1_ambiguous.csv": ({E: 23_000.0}, [2], None),  # 2024.1: January or October
    "n06_bill_new_meter_row.csv": ({E: 28_000.0}, [], None),  # the new meter's own rising registers count
    "n07_register_swap_same_instant.csv": ({E: 3_900.0}, [], None),
    "n08_register_two_values_one_time.csv": ({E: 3_000.0}, [4], None),
    "n09_apparent_energy_type.csv": ({}, [], None),  # 视在 is never electricity use
    "n10_register_curve_title.csv": (None, [], "示值"),
    "n11_register_curve_datatype.csv": (None, [], "示值"),
    "n12_power_curve_datatype.csv": (None, [], "kWh = kW × 0.5 h"),
    "n13_curve_forward_reverse_rows.csv": ({E: 2_203.0, X: 192.0}, [], None),
    "n14_long_forward_reverse_rows.csv": ({E: 21.0, X: 5.0}, [], None),
    "n15_upper_case_units.csv": ({E: 210.0, NG: 11.0}, [], None),
    "n16_two_row_header_uncombinable.csv": (None, [], "两行"),
    "n17_wide_group_merged.xlsx": ({E: 620.0, NG: 105.0}, [], None),
    "n18_curve_95_points.csv": (None, [], "96"),
    "n19_day_first_dates.csv": ({}, [2, 3, 4], None),  # 01/03/2024: day or month first is never guessed
    "n20_curve_total_and_max_rows.csv": ({E: 2_203.0}, [], None),  # 合计 and 最大值 lines are not readings
    "n21_combined_active_register.csv": ({E: 10_000.0, X: 3_000.0}, [], None),  # 组合有功 is never counted
}


@pytest.mark.parametrize("name", sorted(FRESH))
def test_fresh_user_files(engine, ent, name):
    by_carrier, refused_rows, refusal = FRESH[name]
    if refusal is not None:
        with pytest.raises(InputError) as exc:
            ingest(engine, ent, name, accept_valid=True)
        assert refusal in exc.value.zh and exc.value.en and stored(engine).empty
        return
    report, df = ingest(engine, ent, name, accept_valid=True)
    assert sorted(report.refused) == refused_rows, issues(report)
    got = {c: round(q, 6) for c, q in df.groupby("carrier")["quantity"].sum().items()}
    assert got == by_carrier, issues(report)
