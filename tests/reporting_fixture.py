"""A 2025 reporting cycle with three submitted enterprises, for the reporting tests (a fixture of conftest.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from carbon.access import Viewer
from carbon.enterprises import add_enterprise
from carbon.intake import receive_files
from carbon.reporting import cycles, submissions
from tests.helpers import uscc, write_template

ZONE = Viewer("zone1", "zone")
A, B, C = uscc(401), uscc(402, "320509"), uscc(403)
BEFORE = datetime(2026, 2, 1, tzinfo=UTC)
VARIED = [
    10_312.4,
    9_876.1,
    11_020.7,
    10_455.3,
    9_990.2,
    10_801.9,
    12_230.5,
    12_011.8,
    10_660.4,
    10_120.6,
    9_705.3,
    10_944.2,
]


def series(meter: str, carrier: str, quantities: list[float], unit: str, year: int = 2025) -> list[str]:
    return [
        f"{meter},{carrier},{year}-{m:02d}-01,{year + (m == 12)}-{m % 12 + 1:02d}-01,{q},{unit}"
        for m, q in zip(range(1, 13), quantities, strict=True)
    ]


@pytest.fixture
def reporting_cycle(engine, tmp_path):
    """Three enterprises submitted for 2025: A with a meter reading 5,000 kWh every month, B and C with the very
    same varied series (C copied B's)."""
    for code, name, region in ((A, "青浦风险甲", "qingpu"), (B, "吴江风险乙", "wujiang"), (C, "青浦风险丙", "qingpu")):
        add_enterprise(engine, code=code, name=name, region=region, industry="2614")
    for code, qs in ((A, [5000] * 12), (B, VARIED), (C, VARIED)):
        path = write_template(tmp_path / f"{code}.csv", series("E-1", "电力", qs, "kWh"))
        receive_files(engine, [path], code, actor="test")
    cycles.open_cycle(engine, ZONE, 2025, date(2026, 3, 31), now=BEFORE)
    ids = {code: submissions.submit(engine, ZONE, 2025, code, declared=True) for code in (A, B, C)}
    return engine, ids
