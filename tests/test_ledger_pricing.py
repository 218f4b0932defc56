"""The engine's monthly lines and flags (``month_pieces`` + ``price``) against a straightforward reference: every row
walked month by month in Python, priced per piece, summed with a pandas groupby."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carbon.accounting import allocate_to_months, to_local_naive
from carbon.factor_choice import choice_table
from carbon.ledger import LINE_COLUMNS, compute, merge_flags, month_pieces, price

YEAR = 2024
AS_OF = date(2026, 1, 1)
ENTERPRISES = ["91310118MA1JL0001X", "91320509MA1MX0002Y", "91330421MA2BG0003Z"]
# where each enterprise's meters without a site count, and two sites counting elsewhere
REGISTERED = {0: "qingpu", 1: "wujiang", 2: "jiashan"}
SITES = {1.0: "jiashan", 2.0: "qingpu"}
PROVINCE = {"qingpu": "CN-SH", "wujiang": "CN-JS", "jiashan": "CN-ZJ"}
CARRIERS = ["electricity", "natural_gas", "diesel", "heat", "green_electricity"]


@pytest.fixture(scope="module")
def factors(library) -> pd.DataFrame:
    return library


def activity(rows: list[tuple[int, float, int, int, int, float]]) -> pd.DataFrame:
    """Activity as ``load_activity`` gives it: (enterprise, site or NaN, carrier, start hour from 2023-11-01 UTC,
    hours, quantity) per row; local times Asia/Shanghai."""
    t0 = pd.Timestamp("2023-11-01", tz="UTC")
    frame = pd.DataFrame(
        {
            "enterprise_uscc": [ENTERPRISES[e] for e, *_ in rows],
            "site_id": [s for _, s, *_ in rows],
            "region_id": [SITES.get(s, REGISTERED[e]) for e, s, *_ in rows],
            "carrier": [CARRIERS[c] for _, _, c, *_ in rows],
            "period_start": [t0 + pd.Timedelta(hours=h) for *_, h, _, _ in rows],
            "period_end": [t0 + pd.Timedelta(hours=h + d) for *_, h, d, _ in rows],
            "quantity": [q for *_, q in rows],
        }
    ).astype({"site_id": "float64"})
    frame["province"] = frame["region_id"].map(PROVINCE)
    frame["grid"] = "CN-GRID-EAST"
    frame["start_local"] = to_local_naive(frame["period_start"])
    frame["end_local"] = to_local_naive(frame["period_end"])
    return frame


def months_of(start: datetime, end: datetime) -> list[tuple[int, int, float]]:
    """(year, month, share of the period's duration) of each calendar month ``[start, end)`` touches."""
    out, m = [], datetime(start.year, start.month, 1)
    while m < end:
        after = datetime(m.year + m.month // 12, m.month % 12 + 1, 1)
        out.append((m.year, m.month, (min(end, after) - max(start, m)) / (end - start)))
        m = after
    return out


def reference(rows: pd.DataFrame, factors: pd.DataFrame, year: int, basis: str) -> tuple[pd.DataFrame, dict]:
    """Lines and flags the slow, obvious way."""
    choices = choice_table(factors, rows, year=year, basis=basis, gwp_set="AR5", as_of=AS_OF)
    chosen = choices.set_index(["province", "carrier"])
    pieces = []
    for i, r in enumerate(rows.itertuples(index=False)):
        parts = months_of(pd.Timestamp(r.start_local).to_pydatetime(), pd.Timestamp(r.end_local).to_pydatetime())
        for y, m, share in parts:
            if y == year:
                c = chosen.loc[(r.province, r.carrier)]
                q = r.quantity * share
                pieces.append(
                    {
                        "enterprise_uscc": r.enterprise_uscc, "site_id": r.site_id, "region_id": r.region_id,
                        "carrier": r.carrier, "month": m, "row": i, "split": len(parts) > 1,
                        "quantity": q, "emissions": q * c["tco2e_per_unit"], "energy": q * c["tce_per_unit"],
                        "factor_ids": c["factor_ids"], "reason": c["reason"], "flags": c["flags"],
                    }
                )  # fmt: skip
    if not pieces:
        return pd.DataFrame(columns=LINE_COLUMNS), {}
    p = pd.DataFrame(pieces)
    keys = ["enterprise_uscc", "site_id", "region_id", "carrier", "month"]
    lines = p.groupby(keys, dropna=False, sort=True, as_index=False).agg(
        quantity_canonical=("quantity", "sum"),
        emissions_tco2e=("emissions", "sum"),
        energy_tce=("energy", "sum"),
        factor_ids=("factor_ids", "first"),
        factor_reason=("reason", "first"),
        rows_split=("split", "sum"),
    )
    flags = {}
    for uscc, g in p.groupby("enterprise_uscc", sort=True):
        crossed = g.loc[g["split"], "row"].nunique()
        flags[uscc] = sorted({f for fs in g["flags"] for f in fs}) + ([f"period_split:{crossed}"] if crossed else [])
    return lines[LINE_COLUMNS], flags


def assert_same(rows: pd.DataFrame, factors: pd.DataFrame, basis: str = "location", every_form: bool = True) -> None:
    """The engine's lines and flags equal the reference's; with ``every_form`` also from categorical keys and
    through ``compute``."""
    want_lines, want_flags = reference(rows, factors, YEAR, basis)
    forms = [rows]
    if every_form:
        forms.append(rows.astype({c: "category" for c in ("enterprise_uscc", "region_id", "carrier")}))
    for given_rows in forms:
        lines, flags = price(
            month_pieces(given_rows, YEAR), factors, year=YEAR, basis=basis, gwp_set="AR5", as_of=AS_OF
        )
        pd.testing.assert_frame_equal(lines, want_lines, check_exact=False, rtol=1e-12, check_index_type=False)
        assert list(flags.items()) == list(want_flags.items())
    if every_form:
        _, merged = compute(rows, factors, year=YEAR, basis=basis, gwp_set="AR5", as_of=AS_OF)
        assert merged == (merge_flags(list(want_flags.values())) if want_flags else ["no_activity"])


# rows inside one local month, rows crossing months (also the year boundary: 2023-12 into 2024-01), and both;
# start hours count from 2023-11-01 00:00 UTC = 08:00 local
INSIDE = [(0, np.nan, 0, 24 * 61 + 1, 24 * 30, 100.0), (1, np.nan, 1, 24 * 100, 48, 7.5), (2, 1.0, 0, 24 * 200, 5, 3.0)]
CROSSING = [
    (0, np.nan, 0, 24 * 45, 24 * 31, 310.0),  # 2023-12-16 08:00 local to 2024-01-16: split over the new year
    (1, 2.0, 3, 24 * 80, 24 * 90, 90.0),  # 2024-01-20 to 2024-04-19: four months
    (2, np.nan, 2, 24 * 91 - 9, 2, 1.0),  # 2024-01-31 23:00 to 02-01 01:00 local: one hour each side
]


@pytest.mark.parametrize("rows", [INSIDE, CROSSING, INSIDE + CROSSING], ids=["inside", "crossing", "mixed"])
@pytest.mark.parametrize("basis", ["location", "local", "market"])
def test_lines_and_flags_equal_the_reference(rows, basis, factors):
    assert_same(activity(rows), factors, basis)


def test_no_piece_in_the_year_gives_no_lines(factors):
    rows = activity([(0, np.nan, 0, 0, 24, 5.0)])  # 2023-11-01
    lines, flags = price(month_pieces(rows, YEAR), factors, year=YEAR, basis="location", gwp_set="AR5", as_of=AS_OF)
    assert lines.empty and list(lines.columns) == LINE_COLUMNS and flags == {}


row = st.tuples(
    st.integers(0, 2),
    st.sampled_from([np.nan, 1.0, 2.0]),
    st.integers(0, len(CARRIERS) - 1),
    st.integers(0, 24 * 500),
    st.sampled_from([1, 5, 24, 24 * 14, 24 * 30, 24 * 31, 24 * 45, 24 * 120]),
    st.floats(0, 1e6),
)


@settings(max_examples=25)  # each example chooses factors twice (about 0.1 s each)
@given(st.lists(row, min_size=1, max_size=30))
def test_any_rows_give_the_reference_lines_and_flags(library, rows):
    assert_same(activity(rows), library, every_form=False)


def test_pieces_keep_row_and_month_order_and_the_columns_asked_for():
    rows = activity(CROSSING + INSIDE)
    pieces = allocate_to_months(rows, YEAR, carry=["carrier", "quantity", "site_id"])
    assert list(pieces.columns) == ["carrier", "quantity", "site_id", "row", "year", "month", "split"]
    order = pieces[["row", "month"]].to_numpy()
    assert (np.diff(order[:, 0]) >= 0).all()
    assert all((np.diff(g["month"].to_numpy()) > 0).all() for _, g in pieces.groupby("row"))
    assert (pieces["year"] == YEAR).all()
    every = allocate_to_months(rows, YEAR)
    assert list(every.columns) == [*rows.columns, "row", "year", "month", "split"]
    np.testing.assert_allclose(every["quantity"], pieces["quantity"], rtol=0)
    assert every["split"].tolist() == pieces["split"].tolist()


def test_a_period_over_the_local_new_year_is_split_at_local_midnight():
    start = datetime(2023, 12, 31, 15, 0)  # UTC: 2023-12-31 23:00 local
    rows = activity([(0, np.nan, 0, int((start - datetime(2023, 11, 1)) / timedelta(hours=1)), 2, 2.0)])
    pieces = allocate_to_months(rows)
    assert pieces[["year", "month"]].values.tolist() == [[2023, 12], [2024, 1]]
    np.testing.assert_allclose(pieces["quantity"], [1.0, 1.0])
