"""A from-scratch recomputation of every enterprise and region, in a process of its own: ``python -m
tests.recompute URL YEAR...`` prints, per basis, year and subject, what ``carbon account`` gives from the stored
activity and factors (JSON), and per enterprise the tCO2e of each of its sites (``none``: meters on no site).  It
reads nothing from the result ledger and settles nothing."""

from __future__ import annotations

import json
import sys

from sqlalchemy import select

from carbon import db, reference
from carbon.factor_choice import BASES
from carbon.ledger import account
from carbon.models import Enterprise


def figures(d: dict) -> dict:
    """The figures of an ``AccountResult.as_dict`` that every served view must agree with."""
    return {
        "total_tco2e": d["total_tco2e"],
        "energy_tce": d["energy_tce"],
        "scope1_tco2e": d["scope1_tco2e"],
        "scope2_tco2e": d["scope2_tco2e"],
        "by_month": [m["emissions_tco2e"] for m in d["by_month"]],
        "by_carrier": {c["carrier"]: c["emissions_tco2e"] for c in d["by_carrier"]},
        "flags": d["flags"],
    }


def recompute(url: str, years: list[int]) -> dict[str, dict]:
    engine = db.make_engine(url)
    with engine.connect() as conn:
        codes = list(conn.execute(select(Enterprise.uscc).order_by(Enterprise.uscc)).scalars())
    out = {}
    for basis in BASES:
        for year in years:
            for code in codes:
                result = account(engine, year=year, enterprise=code, basis=basis)
                out[f"{basis}|{year}|{code}"] = figures(result.as_dict())
                sites = result.lines.groupby(result.lines["site_id"].fillna(-1))["emissions_tco2e"].sum()
                out[f"{basis}|{year}|{code}|sites"] = {
                    ("none" if s < 0 else str(int(s))): float(v) for s, v in sites.items()
                }
            for region in ("zone", *reference.JURISDICTIONS):
                out[f"{basis}|{year}|{region}"] = figures(
                    account(engine, year=year, region=region, basis=basis).as_dict()
                )
    return out


if __name__ == "__main__":
    print(json.dumps(recompute(sys.argv[1], [int(y) for y in sys.argv[2:]])))
