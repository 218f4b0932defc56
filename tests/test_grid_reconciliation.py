"""The utility's statements through the intake, and grid figures against uploads and IoT meters, hand-checked.

The enterprise uploads a monthly meter export for meter M1: January 3,100 kWh (100 a day), February 5,800 kWh (200 a
day over 29 days), March 3,100 kWh (100 a day); its IoT meter P1 sends daily readings of 150 kWh from 16 January to
15 February through a connector.  The utility bills from reading date to reading date (the 16th), not by month:

- 16 Jan - 16 Feb (31 days): uploads 16 days x 100 + 15 days x 200 = 4,600; IoT 31 x 150 = 4,650; utility 4,650.
  Tolerance max(2 % x 4,650 = 93, 50) = 93: uploads -50 and IoT 0 agree.
- 16 Feb - 16 Mar (29 days): uploads 14 days x 200 + 15 days x 100 = 4,300; no IoT data; utility 4,800:
  -500 beyond the tolerance of 96: a discrepancy; IoT cannot be compared.
- 16 Mar - 16 Apr (31 days): uploads only to 31 March (16 of 31 days): partial, cannot compare; no IoT data.
"""

from __future__ import annotations

import itertools
import json
from datetime import datetime

import openpyxl
import pandas as pd
import pytest
from sqlmodel import Session, select

from carbon.access import Viewer
from carbon.analytics.grid_reconciliation import (
    agreement_scores,
    grid_comparison,
    period_overlaps,
    unregistered_statements,
)
from carbon.enterprises import add_enterprise
from carbon.errors import AccessDenied, InputError
from carbon.grid_accounts import add_account
from carbon.intake import READING_COLUMNS, receive_files, receive_grid_file, receive_grid_statements, receive_records
from carbon.models import GridStatement
from carbon.reporting import risk
from carbon.views import grid_agreement
from tests.helpers import uscc, write_template
from tests.reporting_fixture import A as RISK_A
from tests.reporting_fixture import B as RISK_B
from tests.test_attacks import run

ZONE = Viewer("zone1", "zone")
E, F = uscc(601), uscc(602, "330421")
ACCOUNT, OTHER = "3100600001", "3300600002"
T1 = "2024-04-20T10:00:00+08:00"


def statement(start: str, end: str, kwh: float, account: str = ACCOUNT, issued: str = T1, **kw) -> dict:
    row = {
        "utility": "sgcc_shanghai",
        "account": account,
        "account_name": "青浦对账甲",
        "period_start": start,
        "period_end": end,
        "energy": kwh,
        "unit": "kWh",
        "issued_at": issued,
    }
    return {**row, **kw}


@pytest.fixture
def grid(engine, tmp_path):
    add_enterprise(engine, code=E, name="青浦对账甲", region="qingpu", industry="26")
    add_enterprise(engine, code=F, name="嘉善对账乙", region="jiashan", industry="26")
    upload = write_template(
        tmp_path / "m1.csv",
        [
            "M1,电力,2024-01-01,2024-02-01,3100,kWh",
            "M1,电力,2024-02-01,2024-03-01,5800,kWh",
            "M1,电力,2024-03-01,2024-04-01,3100,kWh",
        ],
    )
    (report,) = receive_files(engine, [upload], E, actor="test")
    assert report.stored
    earlier = write_template(tmp_path / "j1.csv", ["J1,电力,2023-01-01,2023-02-01,800,kWh"])  # F's meter, 2023
    (report,) = receive_files(engine, [earlier], F, actor="test")
    assert report.stored
    days = pd.date_range("2024-01-16", "2024-02-15", freq="D", tz="Asia/Shanghai")
    readings = pd.DataFrame(
        {
            "enterprise": E,
            "meter": "P1",
            "carrier": "electricity",
            "kind": "interval",
            "start": [d.isoformat() for d in days],
            "end": [(d + pd.Timedelta(days=1)).isoformat() for d in days],
            "value": 150.0,
            "unit": "kWh",
        }
    )[READING_COLUMNS]
    reports, refused = receive_records(engine, readings, "iot-meters")
    assert refused.empty and sum(r.readings for r in reports) == 31
    add_account(engine, ZONE, enterprise=E, utility="sgcc_shanghai", account=ACCOUNT, meters=["M1", "P1"])
    add_account(engine, ZONE, enterprise=F, utility="sgcc_zhejiang", account=OTHER, meters=["J1"])
    got = receive_grid_statements(
        engine,
        pd.DataFrame(
            [
                statement("2024-01-16", "2024-02-16", 4650),
                statement("2024-02-16", "2024-03-16", 4800),
                statement("2024-03-16", "2024-04-16", 5000),
                statement("2024-01-01", "2024-02-01", 900, account=OTHER, utility="sgcc_zhejiang"),
            ]
        ),
        "grid-test",
    )
    assert got.stored == 4 and got.refused.empty and got.unknown_accounts == []
    return engine


def by_period(table: pd.DataFrame, account: str = ACCOUNT) -> pd.DataFrame:
    t = table.loc[table["account_no"] == account]
    return t.set_index(t["period_start"].map(str))


def test_grid_figures_side_by_side_prorated_to_billing_periods(grid):
    t = by_period(grid_comparison(grid, 2024))
    first, second, third = t.loc["2024-01-16"], t.loc["2024-02-16"], t.loc["2024-03-16"]
    assert first["upload_kwh"] == pytest.approx(4600) and first["metered_kwh"] == pytest.approx(4650)
    assert first["utility_kwh"] == 4650 and first["tolerance_kwh"] == pytest.approx(93)
    assert (first["upload_status"], first["metered_status"]) == ("agree", "agree")
    assert bool(first["within_tolerance"]) and not first["discrepancy"]
    assert first["upload_difference_kwh"] == pytest.approx(-50)
    # the billing period not matching calendar months: 14 days of February at 200, 15 of March at 100
    assert second["upload_kwh"] == pytest.approx(4300) and second["billing_days"] == 29
    assert second["upload_status"] == "discrepancy" and bool(second["discrepancy"])
    assert second["upload_difference_kwh"] == pytest.approx(-500) and second["tolerance_kwh"] == pytest.approx(96)
    assert pd.isna(second["metered_kwh"]) and second["metered_status"] == "no_data"  # no data, never 0
    assert second["within_tolerance"] is pd.NA or not bool(second["within_tolerance"])
    # uploads covering half the period: not compared, not a discrepancy, not agreement
    assert third["upload_status"] == "partial" and third["upload_coverage_share"] == pytest.approx(16 / 31)
    assert pd.isna(third["within_tolerance"]) and not third["discrepancy"]


def test_a_missing_side_is_never_agreement(grid):
    other = by_period(grid_comparison(grid, 2024), OTHER).iloc[0]
    assert pd.isna(other["upload_kwh"]) and pd.isna(other["metered_kwh"])
    assert (other["upload_status"], other["metered_status"]) == ("no_data", "no_data")
    assert pd.isna(other["within_tolerance"]) and not other["discrepancy"]
    _meters, ents = agreement_scores(grid, 2024)
    f = ents.set_index("enterprise_uscc").loc[F]
    assert f["periods_compared"] == 0 and f["periods_not_compared"] == 2 and pd.isna(f["agreement_share"])


def test_agreement_per_meter_and_per_enterprise(grid):
    meters, ents = agreement_scores(grid, 2024)
    e = ents.set_index("enterprise_uscc").loc[E]
    # compared: upload and IoT of period 1 (agree), upload of period 2 (discrepancy); the other three sides not
    assert (e["periods_compared"], e["periods_agreeing"], e["periods_discrepant"], e["periods_not_compared"]) == (
        3,
        2,
        1,
        3,
    )
    assert e["agreement_share"] == pytest.approx(2 / 3) and e["grid_accounts"] == 1
    m = meters.loc[meters["enterprise_uscc"] == E].set_index("meter_code")
    assert m.loc["M1", "agreement_share"] == pytest.approx(0.5) and m.loc["M1", "periods_not_compared"] == 1
    assert m.loc["P1", "agreement_share"] == 1.0 and m.loc["P1", "periods_compared"] == 1
    assert set(grid_comparison(grid, 2024, ["jiashan"])["enterprise_uscc"]) == {F}
    assert grid_comparison(grid, 2023).empty


def test_a_restated_statement_supersedes_and_the_same_statement_twice_is_stored_once(grid):
    again = receive_grid_statements(grid, pd.DataFrame([statement("2024-01-16", "2024-02-16", 4650)]), "grid-test")
    assert (again.stored, again.duplicates) == (0, 1)
    restated = receive_grid_statements(
        grid,
        pd.DataFrame([statement("2024-02-16", "2024-03-16", 4310, issued="2024-05-10T09:00:00+08:00")]),
        "grid-test",
    )
    assert (restated.stored, restated.restated) == (1, 1)
    second = by_period(grid_comparison(grid, 2024)).loc["2024-02-16"]
    assert second["utility_kwh"] == 4310 and second["upload_status"] == "agree" and not second["discrepancy"]
    with Session(grid) as s:
        rows = s.exec(select(GridStatement).where(GridStatement.period_start == datetime(2024, 2, 16).date())).all()
    old, new = sorted(rows, key=lambda r: r.id)
    assert old.energy_kwh == 4800 and old.superseded_by == new.id and old.superseded_at is not None
    assert new.superseded_at is None
    stale = receive_grid_statements(grid, pd.DataFrame([statement("2024-02-16", "2024-03-16", 4800)]), "late-copy")
    assert (stale.stored, stale.stale) == (0, 1)  # the older issue arriving late does not undo the restatement
    assert by_period(grid_comparison(grid, 2024)).loc["2024-02-16", "utility_kwh"] == 4310


def test_unknown_accounts_are_kept_and_reported_and_bad_rows_refused_with_reasons(grid):
    got = receive_grid_statements(
        grid,
        pd.DataFrame(
            [
                statement("2024-01-16", "2024-02-16", 10, account="3100999999"),
                statement("2024-02-16", "2024-01-16", 10),
                statement("2024-04-16", "2024-05-16", "1,2", unit="kWh"),
                statement("2024-04-16", "2024-05-16", 3, unit="m3"),
                statement("2024-04-10", "2024-05-10", 1, account="3100999999", utility="国网青浦供电公司"),
                statement("2024-03-20", "2024-04-20", 5000),  # overlaps the stored 16 Mar - 16 Apr with other dates
            ]
        ),
        "grid-test",
    )
    assert got.stored == 1 and got.unknown_accounts == [{"utility": "sgcc_shanghai", "account_no": "3100999999"}]
    (kept,) = unregistered_statements(grid, 2024).itertuples()
    assert (kept.account_no, kept.periods, kept.utility_kwh) == ("3100999999", 1, 10)
    reasons = " | ".join(got.refused["reason"])
    for text in (
        "本次抄表日期须晚于上次抄表日期",
        "结算电量“1,2”的分隔符有两种读法",
        "不是电量单位",
        "Unknown utility",
        "overlaps a stored billing period 2024-03-16 to 2024-04-16",
    ):
        assert text in reasons
    assert len(got.refused) == 5


def test_statement_files_in_csv_and_xlsx_are_read_exactly(grid, tmp_path):
    csv = tmp_path / "bill.csv"
    csv.write_bytes(
        "户号,户名,上次抄表日期,本次抄表日期,结算电量（万kWh）\n3300600002,嘉善对账乙,20240201,20240301,0.12\n".encode(
            "gbk"
        )
    )
    got = receive_grid_file(grid, csv, "cli:test", utility="sgcc_zhejiang")
    assert got.stored == 1
    with Session(grid) as s:
        row = s.exec(select(GridStatement).where(GridStatement.id == got.statement_ids[0])).one()
    assert row.energy_kwh == pytest.approx(1200) and row.unit_original == "万kWh" and row.source == "cli:test:bill.csv"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["供电单位", "户号", "上次抄表日期", "本次抄表日期", "结算电量", "单位", "发布时间"])
    sheet.append(
        [
            "国网浙江省电力有限公司",
            3300600002,
            datetime(2024, 3, 1),
            datetime(2024, 4, 1),
            1300,
            "kWh",
            "2024-04-05 09:00",
        ]
    )
    book.save(tmp_path / "bill.xlsx")
    got = receive_grid_file(grid, tmp_path / "bill.xlsx", "cli:test")
    assert got.stored == 1 and got.refused.empty
    with pytest.raises(InputError, match="本次抄表日期"):
        receive_grid_file(
            grid, ("x.csv", "户号,上次抄表日期,结算电量(kWh)\n1,2,3\n".encode()), "cli:test", "sgcc_zhejiang"
        )
    with pytest.raises(InputError, match="只保留一处"):
        receive_grid_file(
            grid, ("x.csv", "户号,上次抄表日期,本次抄表日期,结算电量(kWh),单位\n".encode()), "cli:test", "sgcc_zhejiang"
        )


def test_period_overlaps_is_time_weighted():
    day = "datetime64[s]"
    rows = pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"]).to_numpy(day)
    ends = pd.to_datetime(["2024-02-01", "2024-03-01", "2024-04-01"]).to_numpy(day)
    ps = pd.to_datetime(["2024-01-16", "2024-02-16"]).to_numpy(day)
    pe = pd.to_datetime(["2024-02-16", "2024-03-16"]).to_numpy(day)
    row, period, seconds = period_overlaps(rows, ends, ps, pe)
    assert list(zip(row, period, seconds / 86400, strict=True)) == [(0, 0, 16), (1, 0, 15), (1, 1, 14), (2, 1, 15)]


def test_the_comparison_is_scoped_to_who_may_see_it(grid):
    assert set(grid_agreement(grid, ZONE, 2024)["enterprises"]["enterprise_uscc"]) == {E, F}
    qp = grid_agreement(grid, Viewer("qp1", "region", region="qingpu"), 2024)
    assert set(qp["enterprises"]["enterprise_uscc"]) == {E} and set(qp["meters"]["enterprise_uscc"]) == {E}
    assert list(qp["discrepancies"]["period_start"].map(str)) == ["2024-02-16"]
    assert qp["enterprises"].iloc[0]["name"] == "青浦对账甲"
    own = grid_agreement(grid, Viewer("f1", "enterprise", enterprise=F), 2024)
    assert set(own["enterprises"]["enterprise_uscc"]) == {F} and own["discrepancies"].empty
    with pytest.raises(AccessDenied):
        grid_agreement(grid, Viewer("wall", "display", region="zone"), 2024)


def test_discrepancies_through_the_cli(grid, db_url):
    r = run(db_url, "reconcile", "grid", "--year", "2024", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["periods"] == 4 and out["discrepancies"] == 1
    (row,) = out["rows"]
    assert (row["period_start"], row["utility_kwh"], row["metered_kwh"]) == ("2024-02-16", 4800.0, None)
    assert row["upload_kwh"] == pytest.approx(4300)
    text = run(db_url, "reconcile", "grid", "--year", "2024", "--region", "qingpu").stdout
    assert "4,800" in text and "4,300" in text and "无数据（无法比对）" in text
    assert "不一致 / discrepancies: 1 / 3" in text
    assert "no discrepancies" in run(db_url, "reconcile", "grid", "--year", "2024", "--region", "jiashan").stdout


def test_the_grid_signal_raises_the_review_risk_score(reporting_cycle):
    engine, _ids = reporting_cycle
    # A's meter E-1 reads 5,000 kWh every month of 2025; its utility bills 6,000 from the 10th to the 10th
    add_account(engine, ZONE, enterprise=RISK_A, utility=None, account="3100700001", meters=["E-1"])
    add_account(engine, ZONE, enterprise=RISK_B, utility=None, account="3200700002", meters=["E-1"])
    dates = [f"2025-{m:02d}-10" for m in range(1, 13)]
    rows = [
        statement(a, b, 6000, account="3100700001", issued="2026-01-05T00:00:00+08:00")
        for a, b in itertools.pairwise(dates)
    ]
    got = receive_grid_statements(engine, pd.DataFrame(rows), "grid-test")
    assert got.stored == 11
    scored = risk.assess(engine, ZONE, 2025).set_index("enterprise_uscc")
    reasons = {r[0]: r for r in scored.loc[RISK_A, "reasons"]}
    assert "grid" in reasons and "11个账期中11个超出允许偏差" in reasons["grid"][1]
    assert "beyond the tolerance (agreement 0%)" in reasons["grid"][2]
    assert "grid" not in {r[0] for r in scored.loc[RISK_B, "reasons"]}  # no statement: no data, no signal
    weight = risk.parameters()["weight_grid"]
    without = scored.loc[RISK_A, "score"] - weight
    assert without >= 0 and scored.loc[RISK_A, "score"] == without + weight


def test_the_documented_sample_file_is_read_exactly(grid):
    from pathlib import Path

    sample = Path(__file__).parent / "data" / "grid_statements_sample.csv"
    got = receive_grid_file(grid, sample, "cli:test")
    assert got.stored == 3 and got.refused.empty
    with Session(grid) as s:
        rows = s.exec(select(GridStatement).where(GridStatement.account_no == "3200700001")).all()
    assert sorted(r.energy_kwh for r in rows) == [1000, 1100, 1200]
    assert {str(r.period_start) for r in rows} == {"2024-01-05", "2024-02-05", "2024-03-05"}


def test_two_deliveries_of_one_statement_racing_store_it_once(grid):
    import threading

    barrier = threading.Barrier(2)
    reports = []
    new = pd.DataFrame([statement("2024-04-16", "2024-05-16", 3000)])

    def deliver() -> None:
        barrier.wait()
        reports.append(receive_grid_statements(grid, new, "race"))

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted((r.stored, r.duplicates) for r in reports) == [(0, 1), (1, 0)]
    with Session(grid) as s:
        assert (
            len(s.exec(select(GridStatement).where(GridStatement.period_start == datetime(2024, 4, 16).date())).all())
            == 1
        )


def bill_file(tmp_path, *rows: str, name: str = "bill.csv"):
    path = tmp_path / name
    path.write_text("供电单位,户号,上次抄表日期,本次抄表日期,结算电量,单位,发布时间\n" + "\n".join(rows) + "\n")
    return path


def stored_periods(engine, account: str = OTHER) -> list[str]:
    with Session(engine) as s:
        rows = s.exec(select(GridStatement).where(GridStatement.account_no == account)).all()
    return sorted(str(r.period_start) for r in rows)


def test_a_statement_file_is_stored_whole_or_not_at_all_with_every_problem_listed(grid, tmp_path):
    before = stored_periods(grid)
    bad = bill_file(
        tmp_path,
        "sgcc_zhejiang,3300600002,2024-02-01,2024-03-01,1200,kWh,2024-04-05 09:00",
        'sgcc_zhejiang,3300600002,2024-03-01,2024-04-01,"1,000,000",Wh,2024-04-05 09:00',
        "sgcc_zhejiang,3300600002,2024-04-01,2024-05-01,12.5.3,kWh,2024-05-05 09:00",
        "sgcc_zhejiang,3300600002,2023-12-15,2024-01-15,800,kWh,2024-05-05 09:00",
        "sgcc_zhejiang,3300699999,2024-02-01,2024-03-01,5,kWh,2024-04-05 09:00",
    )
    got = receive_grid_file(grid, bad, "cli:test")
    assert got.stored == 0 and got.as_dict()["nothing_stored"] and stored_periods(grid) == before
    assert got.unknown_accounts == []  # nothing kept, so no account is reported as kept
    rows = dict(zip(got.refused["source_row"], got.refused["reason"], strict=True))
    assert set(rows) == {4, 5}  # "1,000,000" Wh is read (1,000 kWh); the bad number and the overlap are listed
    assert "结算电量“12.5.3”" in rows[4] and "energy “12.5.3”" in rows[4]
    overlap = "上次抄表日期“2023-12-15”至本次抄表日期“2024-01-15”与已存的户号 3300600002 账期 2024-01-01 至 2024-02-01"
    assert overlap in rows[5]
    good = bill_file(
        tmp_path,
        "sgcc_zhejiang,3300600002,2024-02-01,2024-03-01,1200,kWh,2024-04-05 09:00",
        'sgcc_zhejiang,3300600002,2024-03-01,2024-04-01,"1,000,000",Wh,2024-04-05 09:00',
        name="good.csv",
    )
    got = receive_grid_file(grid, good, "cli:test")
    assert got.stored == 2 and got.refused.empty and not got.as_dict()["nothing_stored"]
    assert stored_periods(grid) == sorted([*before, "2024-02-01", "2024-03-01"])


def test_the_cli_import_stores_nothing_and_exits_2_when_a_row_is_refused(grid, db_url, tmp_path):
    bad = bill_file(
        tmp_path,
        "sgcc_zhejiang,3300600002,2024-02-01,2024-03-01,1200,kWh,2024-04-05 09:00",
        "sgcc_zhejiang,3300600002,2024-03-01,2024-04-01,abc,kWh,2024-04-05 09:00",
    )
    r = run(db_url, "grid", "import", str(bad))
    assert r.returncode == 2 and stored_periods(grid) == ["2024-01-01"]
    assert "未存储任何数据" in r.stdout and "nothing stored" in r.stdout and "第3行" in r.stdout
    assert "结算电量“abc”不是数字" in r.stdout


def test_numbers_and_dates_are_read_as_meter_files_are_and_never_guessed(grid, tmp_path):
    got = receive_grid_file(
        grid,
        bill_file(
            tmp_path,
            'sgcc_zhejiang,3300600002,2024/2/1,2024年3月1日,"1,200",kWh,2024-04-05 09:00',
            "sgcc_zhejiang,3300600002,20240301,2024.4.1,1300,kWh,2024-04-05 09:00",
        ),
        "cli:test",
    )
    assert got.stored == 2 and got.refused.empty
    assert stored_periods(grid) == ["2024-01-01", "2024-02-01", "2024-03-01"]
    with Session(grid) as s:
        kwh = {str(r.period_start): r.energy_kwh for r in s.exec(select(GridStatement)).all()}
    assert kwh["2024-02-01"] == 1200 and kwh["2024-03-01"] == 1300
    refused = receive_grid_file(
        grid,
        bill_file(
            tmp_path,
            "sgcc_zhejiang,3300600002,01/04/2024,2024-05-01,1,kWh,2024-05-05 09:00",
            'sgcc_zhejiang,3300600002,2024-05-01,2024-06-01,"987,25",kWh,2024-06-05 09:00',
            name="ambiguous.csv",
        ),
        "cli:test",
    ).refused
    reasons = dict(zip(refused["source_row"], refused["reason"], strict=True))
    assert "上次抄表日期“01/04/2024”无法读取" in reasons[2] and "never guessed" in reasons[2]
    assert "两种读法" in reasons[3] and "can be read two ways" in reasons[3]


def test_an_issue_time_in_the_future_is_refused_and_blocks_no_real_restatement(grid):
    future = receive_grid_statements(
        grid, pd.DataFrame([statement("2024-02-16", "2024-03-16", 9999, issued="2099-01-01T00:00:00+08:00")]), "x"
    )
    assert future.stored == 0
    (reason,) = future.refused["reason"]
    assert "发布时间“2099-01-01T00:00:00+08:00”晚于当前时间" in reason and "later than now" in reason
    now = datetime.fromisoformat("2024-06-01T12:00:00+08:00")
    skew = receive_grid_statements(
        grid,
        pd.DataFrame([statement("2024-02-16", "2024-03-16", 4700, issued="2024-06-01T12:05:00+08:00")]),
        "x",
        now=now,
    )
    assert skew.stored == 1 and skew.restated == 1  # five minutes ahead is a clock, not a future statement
    real = receive_grid_statements(
        grid, pd.DataFrame([statement("2024-02-16", "2024-03-16", 4310, issued="2024-07-01T09:00:00+08:00")]), "x"
    )
    assert (real.stored, real.restated, real.stale) == (1, 1, 0)
    assert by_period(grid_comparison(grid, 2024)).loc["2024-02-16", "utility_kwh"] == 4310
    # one stored before such times were refused (as it would be received in 2024) blocks no real restatement
    kept = receive_grid_statements(
        grid,
        pd.DataFrame([statement("2024-03-16", "2024-04-16", 1, issued="2099-01-01T00:00:00+08:00")]),
        "x",
        now=datetime.fromisoformat("2099-06-01T00:00:00+08:00"),
    )
    assert kept.stored == 1
    real = receive_grid_statements(
        grid, pd.DataFrame([statement("2024-03-16", "2024-04-16", 5100, issued="2024-07-01T09:00:00+08:00")]), "x"
    )
    assert (real.stored, real.stale) == (1, 0)
    assert by_period(grid_comparison(grid, 2024)).loc["2024-03-16", "utility_kwh"] == 5100


def test_overlaps_in_one_delivery_name_the_dates_and_the_other_period(grid):
    got = receive_grid_statements(
        grid,
        pd.DataFrame(
            [
                statement("2024-04-16", "2024-05-16", 10),
                statement("2024-05-10", "2024-06-10", 20),
            ]
        ),
        "x",
    )
    assert got.stored == 0 and len(got.refused) == 2
    first, second = sorted(got.refused["reason"])
    assert "2024-04-16" in first and "2024-05-10 至 2024-06-10" in first
    assert "上次抄表日期“2024-05-10”至本次抄表日期“2024-06-10”与本批数据中户号 3100600001 账期 2024-04-16" in second


def test_a_billing_period_across_the_new_year_is_compared_whole_in_both_years(grid, db_url):
    got = receive_grid_statements(grid, pd.DataFrame([statement("2023-12-16", "2024-01-16", 3000)]), "x")
    assert got.stored == 1
    for year in (2023, 2024):
        row = by_period(grid_comparison(grid, year)).loc["2023-12-16"]
        assert row["utility_kwh"] == 3000 and row["billing_days"] == 31  # whole, never split
    assert list(by_period(grid_comparison(grid, 2023))["period_start"].map(str)) == ["2023-12-16"]
    ends_on_new_year = receive_grid_statements(
        grid, pd.DataFrame([statement("2023-12-01", "2024-01-01", 100, account=OTHER, utility="sgcc_zhejiang")]), "x"
    )
    assert ends_on_new_year.stored == 1  # its last day is 31 December: 2023 only
    assert "2023-12-01" not in set(by_period(grid_comparison(grid, 2024), OTHER).index)
    assert "2023-12-01" in set(by_period(grid_comparison(grid, 2023), OTHER).index)
    out = json.loads(run(db_url, "reconcile", "grid", "--year", "2023", "--all", "--json").stdout)
    spans = {(r["account_no"], r["period_start"]): r["crosses_year"] for r in out["rows"]}
    assert spans == {(ACCOUNT, "2023-12-16"): True, (OTHER, "2023-12-01"): False}
    text = run(db_url, "reconcile", "grid", "--year", "2024", "--all").stdout
    assert "2024-01-16*" in text and "跨年账期" in text and "appears in both years" in text


def test_every_refusal_names_the_column_and_the_value(grid):
    got = receive_grid_statements(
        grid,
        pd.DataFrame(
            [
                statement("2024-04-16", "2024-05-16", 10, account=""),
                statement("2024-04-16", "2024-05-16", "1e308", unit="万kWh"),
                statement("2024-04-16", "2024-05-16", -5),
                statement("2024-04-16", "2024-09-16", 5),
                statement("2024-04-16", "2024-05-16", 5, issued="yesterday"),
            ]
        ),
        "x",
    )
    reasons = list(got.refused.sort_values("source_row")["reason"])
    assert "户号（account）为空" in reasons[0] and "account (户号) is empty" in reasons[0]
    assert "结算电量“1e308”（单位“万kWh”）换算为kWh后超出数值范围" in reasons[1]
    assert "结算电量为负数（-5）" in reasons[2]
    assert "2024-04-16 至 2024-09-16" in reasons[3]
    assert "发布时间“yesterday”无法读取" in reasons[4] and "issued_at “yesterday” is not a time" in reasons[4]


def test_an_enterprise_across_jurisdictions_is_scored_per_jurisdiction_and_a_wrong_utility_warned(
    grid, tmp_path, db_url
):
    from carbon.grid_accounts import accounts
    from carbon.intake import settle
    from carbon.sites import add_site, assign_meter

    upload = write_template(tmp_path / "m2.csv", ["M2,电力,2024-01-16,2024-02-16,2000,kWh"])
    assert receive_files(grid, [upload], E, actor="test")[0].stored
    site = add_site(grid, enterprise=E, name="吴江分厂", region="wujiang")
    assign_meter(grid, enterprise=E, meter="M2", site_id=site.id)
    settle(grid)
    # registered at the enterprise's own province's utility, while M2 counts in Wujiang (Jiangsu)
    add_account(grid, ZONE, enterprise=E, utility=None, account="3100600009", meters=["M2"])
    got = receive_grid_statements(
        grid, pd.DataFrame([statement("2024-01-16", "2024-02-16", 2000, account="3100600009")]), "x"
    )
    assert got.stored == 1
    _, per_enterprise = agreement_scores(grid, 2024)
    mine = per_enterprise.loc[per_enterprise["enterprise_uscc"] == E].set_index("region_id")
    assert mine["grid_accounts"].to_dict() == {"qingpu": 1, "wujiang": 1}
    assert mine.loc["wujiang", "periods_agreeing"] == 1
    listed = accounts(grid).set_index("account_no")
    assert listed.loc["3100600009", "meter_region_ids"] == ["wujiang"] and listed.loc["3100600009", "utility_mismatch"]
    assert not listed.loc[ACCOUNT, "utility_mismatch"] and not listed.loc[OTHER, "utility_mismatch"]
    text = run(db_url, "grid", "account", "list").stdout
    assert "户号 3100600009 登记在国网上海市电力公司，但其电表计入" in text and "check the utility" in text
    assert text.count("注意 / warning") == 1
    out = json.loads(run(db_url, "reconcile", "grid", "--year", "2024", "--json").stdout)
    assert [w["account_no"] for w in out["utility_warnings"]] == ["3100600009"]
    assert "国网江苏省电力有限公司" in out["utility_warnings"][0]["warning"]
    from carbon.views import grid_accounts as page_accounts

    (warning,) = page_accounts(grid, ZONE, E)["utility_warnings"]  # the upload page shows it too
    assert "请核对供电单位" in warning[0] and "check the utility" in warning[1]
