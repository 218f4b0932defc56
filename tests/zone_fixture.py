"""A small zone for the dashboard tests: four enterprises in three jurisdictions, data for 2020, 2023 and 2024,
and accounts.

- qingpu: A (industry 26, gas + electricity) and B (industry 39, electricity; no data for 2024-06);
- wujiang: C (industry 26); jiashan: D (industry 70).
Accounts (password ``PASSWORD``): ``zone1`` (zone), ``qp-staff`` (qingpu staff), ``wj-staff`` (wujiang staff),
``ent-a`` and ``ent-c`` (enterprise users of A and C), ``wall-zone`` and ``wall-qp`` (wall displays of the zone and
of qingpu).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from carbon import db
from carbon.enterprises import add_enterprise
from carbon.intake import receive_files, settle
from carbon.stats import import_stats
from carbon.users import add_user
from tests.helpers import uscc, write_template

PASSWORD = "correct-horse-7"
A, B = uscc(11, "310118"), uscc(12, "310118")
C, D = uscc(21, "320509"), uscc(31, "330421")
ENTERPRISES = {
    A: ("青浦甲化工有限公司", "qingpu", "2614"),
    B: ("青浦乙电子有限公司", "qingpu", "3982"),
    C: ("吴江丙化工有限公司", "wujiang", "2614"),
    D: ("嘉善丁商业有限公司", "jiashan", "7010"),
}
KWH = {A: 500_000, B: 200_000, C: 400_000, D: 100_000}


def _rows(code: str) -> list[str]:
    rows = []
    for year in (2020, 2023, 2024):
        for m in range(1, 13):
            if code == B and (year, m) == (2024, 6):
                continue
            start = pd.Timestamp(year=year, month=m, day=1)
            end = start + pd.offsets.MonthBegin(1)
            kwh = KWH[code] * (0.97 if year == 2024 else 1.0)
            rows.append(f"E-01,电力,{start:%Y-%m-%d},{end:%Y-%m-%d},{kwh:.0f},kWh")
            if code == A:
                rows.append(
                    f"G-01,天然气,{start:%Y-%m-%d},{end:%Y-%m-%d},{20_000 * (0.95 if year == 2024 else 1):.0f},m3"
                )
    return rows


def build(url: str, folder: Path) -> str:
    """Create the zone in the empty database ``url`` (files written under ``folder``); returns the URL."""
    engine = db.make_engine(url)
    db.initialise(engine)
    for code, (name, region, industry) in ENTERPRISES.items():
        add_enterprise(engine, code=code, name=name, region=region, industry=industry)
        path = write_template(folder / f"{code}.csv", _rows(code))
        receive_files(engine, [path], code, actor="fixture", settle_now=False)
    stats = [
        {"subject": r, "year": y, "indicator": "gdp", "value": v, "unit": "亿元", "status": "final", "source": "test"}
        for r, base in (("qingpu", 1000), ("wujiang", 1500), ("jiashan", 800))
        for y, v in ((2020, base), (2023, base * 1.15), (2024, base * 1.2))
    ] + [
        {
            "subject": c,
            "year": y,
            "indicator": "value_added",
            "value": v,
            "unit": "万元",
            "status": "final",
            "source": "test",
        }
        for c, base in ((A, 20_000), (B, 30_000), (C, 15_000), (D, 5_000))
        for y, v in ((2020, base), (2023, base), (2024, base * 1.05))
    ]
    pd.DataFrame(stats).to_csv(folder / "stats.csv", index=False)
    import_stats(engine, folder / "stats.csv")
    settle(engine)
    add_user(engine, "zone1", PASSWORD, "zone")
    add_user(engine, "qp-staff", PASSWORD, "region", region="qingpu")
    add_user(engine, "wj-staff", PASSWORD, "region", region="wujiang")
    add_user(engine, "ent-a", PASSWORD, "enterprise", enterprise=A)
    add_user(engine, "ent-c", PASSWORD, "enterprise", enterprise=C)
    add_user(engine, "wall-zone", PASSWORD, "display", region="zone")
    add_user(engine, "wall-qp", PASSWORD, "display", region="qingpu")
    engine.dispose()
    return url
