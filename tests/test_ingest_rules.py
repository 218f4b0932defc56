"""Every validation rule in carbon/data/validation_rules.csv fires on a file that breaks it, at the right row."""

from __future__ import annotations

import pytest

from carbon.enterprises import add_enterprise
from carbon.ingest import ingest_files
from carbon.ingest.rules import SEVERITIES, rules
from tests.helpers import HEADER_ZH, uscc

T = HEADER_ZH + "\n"
REG = "表号,能源品种,抄表时间,示数,倍率,单位,备注\n"
BILL = "户号,电费年月,上次抄表日期,本次抄表日期,上次示数,本次示数,倍率,抄见电量\n"
JAN = "E1,电力,2024-01-01,2024-02-01,100,kWh\n"
TYPED = "户号,示数类型,上次抄表日期,本次抄表日期,上次示数,本次示数,倍率,抄见电量\n"
TYPED_ROW = "A1,{},2024-01-01,2024-02-01,{},{},1,{}\n"
CURVE_24 = "户号,日期," + ",".join(f"e{i}" for i in range(1, 25)) + "\nA1,2024-03-01," + ",".join(["1"] * 24) + "\n"
# code -> (text stored first or None, text of the file under test, row expected to carry the code)
CASES = {
    "missing_meter": (None, T + ",电力,2024-01-01,2024-02-01,1,kWh\n", 2),
    "unknown_carrier": (None, T + "E1,电炉丝,2024-01-01,2024-02-01,1,kWh\n", 2),
    "missing_value": (None, T + "E1,电力,2024-01-01,2024-02-01,,kWh\n", 2),
    "bad_time": (None, T + "E1,电力,2024-02-30,2024-03-01,1,kWh\n", 2),
    "not_a_number": (None, T + "E1,电力,2024-01-01,2024-02-01,约一百,kWh\n", 2),
    "negative": (None, T + "E1,电力,2024-01-01,2024-02-01,-1,kWh\n", 2),
    "too_large_converted": (None, T + "E1,电力,2024-01-01,2024-02-01,1e308,万kWh\n", 2),
    "missing_unit": (None, T + "E1,电力,2024-01-01,2024-02-01,1,\n", 2),
    "unknown_unit": (None, T + "E1,电力,2024-01-01,2024-02-01,1,马力\n", 2),
    "wrong_dimension": (None, T + "E1,电力,2024-01-01,2024-02-01,1,m3\n", 2),
    "power_unit": (None, T + "E1,电力,2024-01-01,2024-02-01,1,千瓦\n", 2),
    "unit_conflict": (None, T + "E1,电力,2024-01-01,2024-02-01,1 MWh,kWh\n", 2),
    "end_before_start": (None, T + "E1,电力,2024-02-01,2024-01-01,1,kWh\n", 2),
    "future": (None, T + "E1,电力,2099-01-01,2099-02-01,1,kWh\n", 2),
    "meter_carrier": (T + JAN, T + "E1,天然气,2024-02-01,2024-03-01,1,m3\n", 2),
    "conflict_in_file": (None, T + JAN + "E1,电力,2024-01-01,2024-02-01,101,kWh\n", 2),
    "overlap": (T + JAN, T + "E1,电力,2024-01-20,2024-02-20,1,kWh\n", 2),
    "duplicate": (T + JAN, T + "E1,电力,2024-01-01,2024-02-01,0.1,MWh\nE1,电力,2024-02-01,2024-03-01,1,kWh\n", 2),
    "correction": (T + JAN, T + "E1,电力,2024-01-01,2024-02-01,120,kWh\n", 2),
    "bill_mismatch": (None, BILL + "A1,202401,2024-01-01,2024-02-01,10,20,1,11\n", 2),
    "register_rollover": (None, REG + "R1,电力,2024-01-01,9990,1,kWh,\nR1,电力,2024-02-01,10,1,kWh,\n", 3),
    "meter_replaced": (None, REG + "R1,电力,2024-01-01,500,1,kWh,\nR1,电力,2024-02-01,3,1,kWh,换表\n", 3),
    "register_drop": (None, REG + "R1,电力,2024-01-01,5000,1,kWh,\nR1,电力,2024-02-01,3,1,kWh,\n", 3),
    "register_decrease": (None, REG + "R1,电力,2024-01-01,5000,1,kWh,\nR1,电力,2024-02-01,4000,1,kWh,\n", 3),
    "meter_id_too_long": (None, T + "E" * 65 + ",电力,2024-01-01,2024-02-01,1,kWh\n", 2),
    "time_out_of_range": (None, T + "Y1,电力,1989-12-01,1990-01-01,1,kWh\n", 2),
    "register_twice": (None, REG + "R1,电力,2024-01-01,500,1,kWh,\nR1,电力,2024-01-01,510,1,kWh,\n", 3),
    "register_conflict": (REG + "R1,电力,2024-01-01,500,1,kWh,\n", REG + "R1,电力,2024-01-01,501,1,kWh,\n", 2),
    "irregular_interval": (
        None,
        "时间,表号,用量(kWh)\n2024-05-01 00:00,A,1\n2024-05-01 00:15,A,1\n2024-05-01 00:30,A,1\n2024-05-01 00:35,A,1\n",
        5,
    ),
    "unknown_interval": (None, "时间,表号,用量(kWh)\n2024-05-01 00:00,A,1\n2024-05-01 00:07,A,1\n", 2),
    "assumed_carrier": (None, "表号,开始时间,结束时间,用油量(t)\nV1,2024-03-01,2024-04-01,2\n", 2),
    "gap": (None, T + JAN + "E1,电力,2024-03-01,2024-04-01,100,kWh\n", 3),
    "spike": (
        None,
        T + "".join(f"E1,电力,2024-01-{d:02d},2024-01-{d + 1:02d},{900 if d == 5 else 10},kWh\n" for d in range(1, 11)),
        6,
    ),
    "totals_row": (None, T + JAN + "合计,,,,100,\n", 3),
    "ambiguous_number": (None, T + JAN.replace("100", "987.5") + 'E1,电力,2024-02-01,2024-03-01,"987,25",kWh\n', 3),
    "decimal_comma": (None, "时间;表号;用电量;单位\n2024-03-01;A;1.234,5;kWh\n2024-03-02;A;987,25;kWh\n", 2),
    "month_labels": (None, T + "E1,电力,2024年01月,2024年02月,1,kWh\n", 2),
    "ambiguous_month": (None, "月份,用电量(kWh)\n2024.1,10\n2024.11,11\n2024.12,12\n", 2),
    "assumed_unit": (None, CURVE_24, 2),
    "register_part": (
        None,
        TYPED
        + TYPED_ROW.format("有功（总）", 10, 20, 10)
        + TYPED_ROW.format("有功（峰）", 5, 11, 6)
        + TYPED_ROW.format("有功（谷）", 5, 9, 4),
        3,
    ),
    "register_parts_summed": (
        None,
        TYPED + TYPED_ROW.format("有功（峰）", 5, 11, 6) + TYPED_ROW.format("有功（谷）", 5, 9, 4),
        2,
    ),
    "register_parts_mismatch": (
        None,
        TYPED
        + TYPED_ROW.format("有功（总）", 10, 20, 10)
        + TYPED_ROW.format("有功（峰）", 5, 11, 6)
        + TYPED_ROW.format("有功（谷）", 5, 8, 3),
        3,
    ),
    "not_active_energy": (
        None,
        TYPED + TYPED_ROW.format("有功（总）", 10, 20, 10) + TYPED_ROW.format("无功（总）", 1, 4, 3),
        3,
    ),
    "unknown_register_type": (None, TYPED + TYPED_ROW.format("备用示数", 10, 20, 10), 2),
}


def test_every_rule_is_data_with_a_case_here():
    table = rules()
    assert set(table) == set(CASES)
    for rule in table.values():
        assert rule.severity in SEVERITIES and rule.message_zh and rule.message_en


@pytest.mark.parametrize("code", sorted(CASES))
def test_rule_fires(engine, tmp_path, code):
    ent = uscc(41)
    add_enterprise(engine, code=ent, name="青浦规则测试", region="qingpu", industry="26")
    first, text, row = CASES[code]
    if first:
        (tmp_path / "first.csv").write_text(first, encoding="utf-8")
        (done,) = ingest_files(engine, [tmp_path / "first.csv"], ent)
        assert done.stored, done.as_dict()
    (tmp_path / "test.csv").write_text(text, encoding="utf-8")
    (r,) = ingest_files(engine, [tmp_path / "test.csv"], ent, accept_valid=True)
    hits = [i for i in r.issues if i.code == code]
    assert hits and hits[0].row == row, [i.as_dict() for i in r.issues]
    rule = rules()[code]
    assert hits[0].severity == rule.severity
    assert (row in r.refused) == (rule.severity == "error")
    assert hits[0].zh and hits[0].en and "{" not in hits[0].zh + hits[0].en
