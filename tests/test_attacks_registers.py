"""Attacks on the register rules through the connectors' door: the same readings of a cumulative counter sent as
connector records (``carbon.intake.receive_records``, as the MQTT and HTTP connectors send them) and as a register
file must meet the same rules (``carbon.ingest.registers``): a fall that is neither a rollover nor a replacement is
refused with the file's reason, a plausible rollover is read across the wrap with a warning, a replacement counts
nothing for its interval with a warning; nothing is dropped without a word.  SQLite, and PostgreSQL when configured.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest
from sqlalchemy import select

from carbon.enterprises import add_enterprise
from carbon.intake import READING_COLUMNS, receive_files, receive_records
from carbon.models import Activity, RegisterReading
from tests.helpers import uscc

ENT = uscc(83)
DAYS = ["2024-05-01", "2024-05-02", "2024-05-03", "2024-05-04"]


@pytest.fixture
def company(engine):
    add_enterprise(engine, code=ENT, name="示数测试企业", region="jiashan", industry="26")
    return engine


def records(values: list[float]) -> pd.DataFrame:
    """One meter's register readings as connector records, one a day."""
    rows = [
        [ENT, "M1", "electricity", "register", None, f"{d}T00:00:00+08:00", v, "kWh"]
        for d, v in zip(DAYS, values, strict=False)
    ]
    return pd.DataFrame(rows, columns=READING_COLUMNS)


def register_file(tmp_path, values: list[float]):
    path = tmp_path / "reg.csv"
    lines = [f"M1,电力,{d},{v:g},1,kWh" for d, v in zip(DAYS, values, strict=False)]
    path.write_text("表号,能源品种,抄表时间,示数,倍率,单位\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def stored(engine) -> list[tuple[str, float]]:
    """Current activity rows: (local day the interval starts, kWh)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(Activity.period_start, Activity.quantity_canonical).where(Activity.superseded_at.is_(None))
        ).all()
    starts = pd.to_datetime([s for s, _ in rows], utc=True)  # SQLite gives UTC without its offset
    return sorted(zip(starts.tz_convert("Asia/Shanghai").strftime("%Y-%m-%d"), (q for _, q in rows), strict=True))


def registers_kept(engine) -> list[float]:
    with engine.connect() as conn:
        return sorted(conn.execute(select(RegisterReading.register_value)).scalars())


def codes(report, severity: str) -> list[str]:
    return [i.code for i in getattr(report, severity)]


def test_a_falling_register_record_is_refused_with_the_files_reason(company, tmp_path):
    """5000 -> 4000 -> 4100: the fall is neither a rollover nor a replacement.  The file importer refuses row 3;
    the connector record was silently dropped (only 4000 -> 4100 stored, no error, no quarantine).  Now the record
    is refused, Chinese first then English, with the file's own message, and stored like ``--accept-valid``."""
    engine = company
    reports, refused = receive_records(engine, records([5000, 4000, 4100]), "test")
    assert list(refused["value"]) == [4000], refused
    reason = refused["reason"].iloc[0]
    assert re.search(r"[\u4e00-\u9fff].* / [A-Za-z]", reason), reason
    assert "表码小于上次读数（5000 → 4000）" in reason and "below the previous reading (5000 → 4000)" in reason
    assert codes(reports[0], "errors") == ["register_decrease"] and reports[0].rows_rejected == 1
    by_record = (stored(engine), registers_kept(engine))
    assert by_record == ([("2024-05-02", 100.0)], [4100.0, 5000.0])

    # the same readings as a file: the same rule and message; all or nothing by default
    path = register_file(tmp_path, [5000, 4000, 4100])
    file_report = receive_files(engine, [path], ENT, actor="test")[0]
    [error] = file_report.errors
    assert (error.row, error.code, error.column) == (3, "register_decrease", "示数")
    assert error.message in reason and not file_report.stored


def test_the_file_importer_accepting_valid_rows_stores_what_the_records_store(engine, tmp_path):
    """The same outcome by both doors (a fresh database for each)."""
    add_enterprise(engine, code=ENT, name="示数测试企业", region="jiashan", industry="26")
    file_report = receive_files(
        engine, [register_file(tmp_path, [5000, 4000, 4100])], ENT, actor="t", accept_valid=True
    )
    assert codes(file_report[0], "errors") == ["register_decrease"]
    assert (stored(engine), registers_kept(engine)) == ([("2024-05-02", 100.0)], [4100.0, 5000.0])


@pytest.mark.parametrize(
    "values, kept, warning",
    [
        # a five-digit register wrapping past 100,000 at its usual rate: read across the wrap
        (
            [99_950, 99_990, 30, 70],
            [("2024-05-01", 40.0), ("2024-05-02", 40.0), ("2024-05-03", 40.0)],
            "register_rollover",
        ),
        # a fall to under half, not a plausible wrap: a replacement, nothing counted for its interval
        ([5000, 5100, 100, 200], [("2024-05-01", 100.0), ("2024-05-03", 100.0)], "register_drop"),
    ],
)
def test_rollover_and_replacement_records_are_read_as_files_are(company, tmp_path, values, kept, warning):
    """Neighbours: a falling register that is a rollover (the record carries no 抄表位数, so the wrap point is
    10^digits of the earlier reading, as for a file without that column) or a replacement: accepted with the
    file's warning, never silently."""
    engine = company
    reports, refused = receive_records(engine, records(values), "test")
    assert refused.empty and codes(reports[0], "errors") == []
    assert codes(reports[0], "warnings") == [warning]
    assert stored(engine) == kept


@pytest.mark.parametrize(
    "values, warning",
    [([99_950, 99_990, 30, 70], "register_rollover"), ([5000, 5100, 100, 200], "register_drop")],
)
def test_rollover_and_replacement_files_give_the_same_warning(company, tmp_path, values, warning):
    reports = receive_files(company, [register_file(tmp_path, values)], ENT, actor="test")
    assert codes(reports[0], "errors") == [] and warning in codes(reports[0], "warnings")  # and a gap, for files
    assert reports[0].readings == (3 if warning == "register_rollover" else 2)


def test_a_fall_against_a_stored_reading_is_refused_too(company):
    """Across batches: 5000 stored by one run, 4000 sent by the next is refused (not dropped)."""
    engine = company
    receive_records(engine, records([5000]), "test")
    late = records([5000, 4000]).iloc[1:]
    reports, refused = receive_records(engine, late, "test")
    assert list(refused["value"]) == [4000] and "5000 → 4000" in refused["reason"].iloc[0]
    assert codes(reports[0], "errors") == ["register_decrease"] and registers_kept(engine) == [5000.0]
