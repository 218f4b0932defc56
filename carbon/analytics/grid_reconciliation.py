"""Grid data against enterprise data (对账): for each utility account (户号) and billing period, the utility's settled
energy beside the enterprise's uploads and the sum of its IoT meters on the account's meters, each prorated to the
billing period by time.

Where the figures come from (stored rows only; nothing is recomputed):

- ``utility_kwh``: the current statement of the account and period (``grid_statement``; a restatement replaces it).
- ``upload_kwh``: current activity rows (``activity``) on the account's meters from uploaded files: their batch has a
  file shape (``batch.shape`` long, wide, register, ...), whoever sent it (the dashboard, ``carbon ingest``, or a file
  drop connector handing files to the importer).  Data-quality tier ``billed``.
- ``metered_kwh``: current activity rows on the account's meters stored from connector readings (MQTT, Modbus, HTTP
  platform): their batch has the shape ``records`` (``carbon.ingest.records``).  Data-quality tier ``metered``.

An activity row counts for a billing period by the share of its time inside the period ([00:00 of the previous
reading date, 00:00 of this one), Beijing time); ``period_overlaps`` is the pure overlap function.  A side's figure
is None (no data, never 0) when none of its meters has a row in the period, and is compared only when each of its
meters (the account's meters with rows of that side in the year) covers at least ``grid_min_coverage`` of the
period; otherwise the side is ``partial`` and cannot be compared.  A comparison with a missing side is never
agreement.

Tolerance (``carbon/data/reconciliation_parameters.csv``, project defaults): a side agrees when
``|side - utility| <= max(grid_relative_tolerance x utility, grid_absolute_tolerance_kwh)``.

Agreement score: the share of compared periods within tolerance, where a compared period is one side (upload or
metered) of one billing period with status ``agree`` or ``discrepancy``; per meter, over the compared periods of the
side it has rows on in that period; per enterprise and jurisdiction, over its accounts whose meters count in that
jurisdiction (``grid_accounts`` counts those only).  None when nothing could be compared.
A year's comparison holds every billing period that overlaps the year: a period across the new year (2022-12-15 to
2023-01-15) is compared whole, as a period, and appears in both years (``crosses_year``); its figures are never
split between them.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select

from carbon.grid_accounts import account_meters
from carbon.grid_statements import current_statements, parameters
from carbon.ledger import line_jurisdiction
from carbon.models import Activity, Batch, Enterprise, Meter, Site

LOCAL_TZ = "Asia/Shanghai"
CONNECTOR_SHAPE = "records"  # the batch shape of readings stored from connectors (carbon.ingest.records)
SIDES = ("upload", "metered")
STATUSES = ("agree", "discrepancy", "no_data", "partial")
COMPARISON_COLUMNS = [
    "account_id",
    "utility",
    "account_no",
    "enterprise_uscc",
    "region_id",
    "period_start",
    "period_end",
    "billing_days",
    "utility_kwh",
    "upload_kwh",
    "upload_coverage_share",
    "upload_difference_kwh",
    "upload_difference_share",
    "upload_status",
    "metered_kwh",
    "metered_coverage_share",
    "metered_difference_kwh",
    "metered_difference_share",
    "metered_status",
    "tolerance_kwh",
    "within_tolerance",
    "discrepancy",
]
METER_SCORE_COLUMNS = [
    "enterprise_uscc",
    "region_id",
    "utility",
    "account_no",
    "meter_code",
    "periods_compared",
    "periods_agreeing",
    "periods_discrepant",
    "periods_not_compared",
    "agreement_share",
]
ENTERPRISE_SCORE_COLUMNS = [
    "enterprise_uscc",
    "region_id",
    "grid_accounts",
    "periods_compared",
    "periods_agreeing",
    "periods_discrepant",
    "periods_not_compared",
    "agreement_share",
]


def period_overlaps(
    starts: np.ndarray, ends: np.ndarray, p_starts: np.ndarray, p_ends: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Overlaps of rows ``[starts, ends)`` with periods ``[p_starts, p_ends)`` (``datetime64``; the periods sorted
    and not overlapping each other).  Returns ``(row, period, seconds)``: for each pair that overlaps, the row's
    index, the period's index and the overlapping time in seconds.  A row's share in a period is
    ``seconds / (end - start)``.  Pure, vectorised."""
    starts = np.asarray(starts, dtype="datetime64[s]")
    ends = np.asarray(ends, dtype="datetime64[s]")
    p_starts = np.asarray(p_starts, dtype="datetime64[s]")
    p_ends = np.asarray(p_ends, dtype="datetime64[s]")
    first = np.searchsorted(p_ends, starts, side="right")  # first period ending after the row starts
    last = np.searchsorted(p_starts, ends, side="left")  # periods starting before the row ends: [first, last)
    n = np.maximum(last - first, 0)
    row = np.repeat(np.arange(len(starts)), n)
    period = np.repeat(first, n) + (np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n))
    lo = np.maximum(starts[row], p_starts[period])
    hi = np.minimum(ends[row], p_ends[period])
    seconds = (hi - lo).astype("int64").astype("float64")
    keep = seconds > 0
    return row[keep], period[keep], seconds[keep]


def local_midnight_utc(days: pd.Series) -> pd.Series:
    """Beijing dates as the UTC time of their 00:00 (the day-freeze reading).  Pure."""
    return pd.to_datetime(pd.Series(days, dtype=object).astype(str)).dt.tz_localize(LOCAL_TZ).dt.tz_convert("UTC")


def year_statements(statements: pd.DataFrame, year: int) -> pd.DataFrame:
    """Statements whose billing period overlaps ``year`` (some day of ``[period_start, period_end)`` in it).  A
    period across the new year (2022-12-15 to 2023-01-15) is in both years, whole: it is compared as a billing
    period, never split (``crosses_year``).  Pure."""
    first, after = date(year, 1, 1), date(year + 1, 1, 1)
    keep = [
        (s < after and e > first) for s, e in zip(statements["period_start"], statements["period_end"], strict=True)
    ]
    return statements.loc[keep].reset_index(drop=True)


def crosses_year(period_start: pd.Series, period_end: pd.Series) -> pd.Series:
    """True for billing periods whose days (``[period_start, period_end)``) lie in two calendar years: such a
    period appears, whole, in the comparison of each.  Pure."""
    last = [e - timedelta(days=1) for e in period_end]
    return pd.Series([s.year != d.year for s, d in zip(period_start, last, strict=True)], index=period_start.index)


def side_figures(periods: pd.DataFrame, rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Prorate activity rows to billing periods and sum them per period and side.

    ``periods``: account_id, start_utc, end_utc (one account's periods not overlapping); ``rows``: account_id,
    meter_id, side, period_start, period_end (UTC), quantity_kwh.  Returns per period (its index in ``periods``) and
    side: ``kwh`` (None where no row), ``coverage_share`` (the smallest share of the period covered among the side's
    meters: those with rows of that side at all), and per (period, side, meter) in a second frame the meters that had
    rows.  Pure."""
    out = []
    contributed = []
    for account, p in periods.groupby("account_id", sort=False):
        p = p.sort_values("start_utc")
        r = rows.loc[rows["account_id"] == account]
        for side in SIDES:
            rs = r.loc[r["side"] == side].reset_index(drop=True)
            if rs.empty:
                continue
            ri, pi, sec = period_overlaps(
                rs["period_start"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(),
                rs["period_end"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(),
                p["start_utc"].dt.tz_localize(None).to_numpy(),
                p["end_utc"].dt.tz_localize(None).to_numpy(),
            )
            if not len(ri):
                continue
            duration = (rs["period_end"] - rs["period_start"]).dt.total_seconds().to_numpy()
            pieces = pd.DataFrame(
                {
                    "period": p.index.to_numpy()[pi],
                    "meter_id": rs["meter_id"].to_numpy()[ri],
                    "kwh": rs["quantity_kwh"].to_numpy()[ri] * sec / duration[ri],
                    "seconds": sec,
                }
            )
            length = ((p["end_utc"] - p["start_utc"]).dt.total_seconds()).to_numpy()
            per_meter = pieces.groupby(["period", "meter_id"], as_index=False)[["kwh", "seconds"]].sum()
            meters = rs["meter_id"].unique()
            full = pd.MultiIndex.from_product([pieces["period"].unique(), meters], names=["period", "meter_id"])
            per_meter = per_meter.set_index(["period", "meter_id"]).reindex(full, fill_value=0.0).reset_index()
            per_meter["share"] = (
                per_meter["seconds"] / pd.Series(length, index=p.index).loc[per_meter["period"]].to_numpy()
            )
            agg = per_meter.groupby("period").agg(kwh=("kwh", "sum"), coverage_share=("share", "min"))
            out.append(agg.reset_index().assign(side=side))
            contributed.append(pieces[["period", "meter_id"]].drop_duplicates().assign(side=side))
    cols = ["period", "side", "kwh", "coverage_share"]
    figures = pd.concat(out, ignore_index=True)[cols] if out else pd.DataFrame(columns=cols)
    meters = (
        pd.concat(contributed, ignore_index=True)
        if contributed
        else pd.DataFrame(columns=["period", "meter_id", "side"])
    )
    return figures, meters


def compare(table: pd.DataFrame, p: pd.Series) -> pd.DataFrame:
    """Differences, tolerance and status per side.  ``table`` has utility_kwh and per side ``{side}_kwh`` and
    ``{side}_coverage_share`` (NaN where no data).  Status: ``no_data`` (no row), ``partial`` (coverage below
    ``grid_min_coverage``), ``agree`` (within ``tolerance_kwh``) or ``discrepancy``.  ``within_tolerance``: True
    when every compared side agrees, False when one does not, NA when no side could be compared; ``discrepancy``
    True when a compared side is beyond the tolerance.  Pure."""
    t = table.copy()
    t["tolerance_kwh"] = np.maximum(p["grid_relative_tolerance"] * t["utility_kwh"], p["grid_absolute_tolerance_kwh"])
    any_out = pd.Series(False, index=t.index)
    all_in = pd.Series(True, index=t.index)
    compared = pd.Series(False, index=t.index)
    for side in SIDES:
        kwh, cov = t[f"{side}_kwh"].astype(float), t[f"{side}_coverage_share"].astype(float)
        diff = kwh - t["utility_kwh"]
        t[f"{side}_difference_kwh"] = diff
        t[f"{side}_difference_share"] = (diff / t["utility_kwh"]).where(t["utility_kwh"] > 0)
        inside = np.round(diff.abs(), 3) <= np.round(t["tolerance_kwh"], 3)
        full = np.round(cov, 6) >= p["grid_min_coverage"]
        status = np.select([kwh.isna(), ~full, inside], ["no_data", "partial", "agree"], default="discrepancy")
        t[f"{side}_status"] = status
        ok = pd.Series(status, index=t.index)
        compared |= ok.isin(["agree", "discrepancy"])
        any_out |= ok == "discrepancy"
        all_in &= ok != "discrepancy"
    t["within_tolerance"] = pd.array(np.where(compared, all_in, None), dtype="boolean")
    t["discrepancy"] = any_out.astype(bool)
    return t


def account_jurisdiction(links: pd.DataFrame, meter_region: dict[int, str]) -> pd.Series:
    """The jurisdiction each account (a row of ``links``: account_id, meter_id) counts in: where its meters count
    (``meter_region``: a meter's site's jurisdiction, else its enterprise's), the first of them by meter id if an
    account's meters lie in two.  Pure."""
    ordered = links.assign(region=links["meter_id"].astype(int).map(meter_region)).sort_values("meter_id")
    return links["account_id"].map(ordered.groupby("account_id")["region"].first())


def _inputs(engine: Engine, year: int, regions: list[str] | None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The year's statements of registered accounts (with enterprise and the jurisdiction the account's meters count
    in: a site's in another jurisdiction is that one's), the account meters, and the activity rows on those meters
    around the billing periods (with their side)."""
    with engine.connect() as conn:
        links = account_meters(conn)
        where = dict(
            conn.execute(
                select(Meter.id, line_jurisdiction())
                .join(Enterprise, Enterprise.uscc == Meter.enterprise_uscc)
                .outerjoin(Site, Site.id == Meter.site_id)
                .where(Meter.id.in_([int(i) for i in links["meter_id"]]))
            ).all()
        )
    links["region_id"] = account_jurisdiction(links, where)
    if regions is not None:
        links = links.loc[links["region_id"].isin(regions)]
    accounts = links.drop_duplicates("account_id")[
        ["account_id", "utility", "account_no", "enterprise_uscc", "region_id"]
    ]
    st = current_statements(engine, list(zip(accounts["utility"], accounts["account_no"], strict=True)))
    st = year_statements(st, year).merge(accounts, on=["utility", "account_no"])
    st["start_utc"] = local_midnight_utc(st["period_start"])
    st["end_utc"] = local_midnight_utc(st["period_end"])
    rows = pd.DataFrame(columns=["account_id", "meter_id", "side", "period_start", "period_end", "quantity_kwh"])
    ids = [int(i) for i in links.loc[links["account_id"].isin(st["account_id"]), "meter_id"]]
    if len(st) and ids:
        lo, hi = st["start_utc"].min().to_pydatetime(), st["end_utc"].max().to_pydatetime()
        with engine.connect() as conn:
            rows = pd.read_sql(
                select(
                    Activity.meter_id,
                    Activity.period_start,
                    Activity.period_end,
                    Activity.quantity_canonical.label("quantity_kwh"),
                    Batch.shape,
                )
                .join(Batch, Batch.id == Activity.batch_id)
                .where(
                    Activity.meter_id.in_(ids),
                    Activity.superseded_at.is_(None),
                    Activity.carrier == "electricity",
                    Activity.period_start < hi,
                    Activity.period_end > lo,
                ),
                conn,
            )
        for col in ("period_start", "period_end"):
            rows[col] = pd.to_datetime(rows[col], utc=True, format="ISO8601")
        rows["side"] = np.where(rows.pop("shape") == CONNECTOR_SHAPE, "metered", "upload")
        rows["account_id"] = rows["meter_id"].map(links.set_index("meter_id")["account_id"])
    return st, links, rows


def _comparison_and_meters(
    engine: Engine, year: int, regions: list[str] | None
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    st, links, rows = _inputs(engine, year, regions)
    figures, meters = side_figures(st[["account_id", "start_utc", "end_utc"]], rows)
    table = st.copy()
    for side in SIDES:
        f = figures.loc[figures["side"] == side].set_index("period")
        table[f"{side}_kwh"] = table.index.map(f["kwh"]).astype(float)
        table[f"{side}_coverage_share"] = table.index.map(f["coverage_share"]).astype(float)
    table["utility_kwh"] = table["energy_kwh"].astype(float)
    table["billing_days"] = [(e - s).days for s, e in zip(table["period_start"], table["period_end"], strict=True)]
    table = compare(table, parameters())
    table = table.sort_values(["enterprise_uscc", "utility", "account_no", "period_start"])
    meters = meters.assign(row=meters["period"])
    return table, meters, links


def grid_comparison(engine: Engine, year: int, regions: list[str] | None = None) -> pd.DataFrame:
    """One row per registered account and billing period of ``year`` (``COMPARISON_COLUMNS``): the utility's kWh,
    the enterprise's uploads and IoT meters prorated to the period (kWh; None where no data), their coverage of
    the period (share), differences to the utility (kWh and share of the utility's figure), status per side
    (``agree``, ``discrepancy``, ``no_data``, ``partial``), the tolerance in kWh, ``within_tolerance`` (nullable
    boolean: NA when no side could be compared) and ``discrepancy``.  ``regions``: jurisdictions of the
    enterprises (None: all).  No access check: callers scope (``carbon.views.grid_reconciliation``)."""
    table, _, _ = _comparison_and_meters(engine, year, regions)
    return table[COMPARISON_COLUMNS].reset_index(drop=True)


def _score(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    g = frame.groupby(by, dropna=False)["status"]
    out = pd.DataFrame(
        {
            "periods_compared": g.agg(lambda s: int(s.isin(["agree", "discrepancy"]).sum())),
            "periods_agreeing": g.agg(lambda s: int((s == "agree").sum())),
            "periods_discrepant": g.agg(lambda s: int((s == "discrepancy").sum())),
            "periods_not_compared": g.agg(lambda s: int(s.isin(["no_data", "partial"]).sum())),
        }
    ).reset_index()
    counts = ["periods_compared", "periods_agreeing", "periods_discrepant", "periods_not_compared"]
    out[counts] = out[counts].astype(int)
    compared = out["periods_compared"].where(out["periods_compared"] > 0).astype(float)
    out["agreement_share"] = out["periods_agreeing"] / compared  # NaN (no data) when nothing was compared
    return out


def agreement_scores(engine: Engine, year: int, regions: list[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Agreement of enterprise data with the utility's in ``year``: ``(per_meter, per_enterprise)``.

    ``per_meter`` (``METER_SCORE_COLUMNS``): per meter behind an account, over the (billing period, side) pairs its
    rows took part in.  ``per_enterprise`` (``ENTERPRISE_SCORE_COLUMNS``): over every side of every billing period of
    its accounts, both sides counted (``no_data`` sides among ``periods_not_compared``).  ``agreement_share`` =
    periods_agreeing / periods_compared, NaN (no data) when nothing was compared; every enterprise with a
    registered account and a statement in the year has a row."""
    _, per_meter, per_enterprise = grid_reconciliation(engine, year, regions)
    return per_meter, per_enterprise


def grid_reconciliation(
    engine: Engine, year: int, regions: list[str] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``grid_comparison`` and ``agreement_scores`` from one reading: ``(comparison, per_meter, per_enterprise)``."""
    table, meters, links = _comparison_and_meters(engine, year, regions)
    if table.empty:
        return (
            table.reindex(columns=COMPARISON_COLUMNS),
            pd.DataFrame(columns=METER_SCORE_COLUMNS),
            pd.DataFrame(columns=ENTERPRISE_SCORE_COLUMNS),
        )
    long = pd.concat([table.assign(side=side, status=table[f"{side}_status"]) for side in SIDES], ignore_index=False)
    long["row"] = long.index
    per_enterprise = _score(long, ["enterprise_uscc", "region_id"])
    # per enterprise and jurisdiction: the accounts whose meters count in that row's jurisdiction
    counts = table.groupby(["enterprise_uscc", "region_id"])["account_id"].nunique()
    per_enterprise["grid_accounts"] = [
        int(counts.get((e, r), 0))
        for e, r in zip(per_enterprise["enterprise_uscc"], per_enterprise["region_id"], strict=True)
    ]
    m = meters.merge(long[["row", "side", "status"]], on=["row", "side"])
    m = m.merge(
        links[["meter_id", "meter_code", "utility", "account_no", "enterprise_uscc", "region_id"]], on="meter_id"
    )
    per_meter = _score(m, ["enterprise_uscc", "region_id", "utility", "account_no", "meter_code"])
    return (
        table[COMPARISON_COLUMNS].reset_index(drop=True),
        per_meter.reindex(columns=METER_SCORE_COLUMNS).reset_index(drop=True),
        per_enterprise.reindex(columns=ENTERPRISE_SCORE_COLUMNS).reset_index(drop=True),
    )


def unregistered_statements(engine: Engine, year: int) -> pd.DataFrame:
    """Current statements overlapping ``year`` (``year_statements``) whose account no enterprise has registered:
    utility, account_no, account_name, periods, utility_kwh (their sum).  Energy the zone's grid billed that no
    monitored enterprise claims (zone staff; no jurisdiction can be told from an account alone)."""
    with engine.connect() as conn:
        links = account_meters(conn)
    registered = set(zip(links["utility"], links["account_no"], strict=True))
    st = year_statements(current_statements(engine), year)
    st = st.loc[[(u, a) not in registered for u, a in zip(st["utility"], st["account_no"], strict=True)]]
    out = st.groupby(["utility", "account_no"], as_index=False).agg(
        account_name=("account_name", "last"), periods=("id", "size"), utility_kwh=("energy_kwh", "sum")
    )
    return out.reindex(columns=["utility", "account_no", "account_name", "periods", "utility_kwh"])
