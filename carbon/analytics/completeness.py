"""Data completeness by reporting cadence: which time of each month an enterprise's meters cover, which was due and
has no data (a gap), and which is not yet due.

A meter reports in periods of its own: a 15-minute curve, monthly bills, gas bills read every two months on the
15th.  No meter metadata declares this, so each meter's cadence is inferred from its own readings (``meter_cadence``):
its typical period is the median length of its readings, weighted by the time each covers (so one month of
15-minute data on a meter billed monthly for years does not make it a 15-minute meter); a period of at least 28
days is a bill of whole months, due on its billing day (the day of month its last reading ended).  Its next
reading is expected one period after its last one and is overdue ``bill_overdue_after_days`` later
(``carbon/data/analytics_parameters.csv``, a project default).

Within a year each meter counted (one with a reading touching the year, or one whose next bill, expected in the
year, is not yet overdue) splits its time into:

- covered: inside one of its readings (a reading of zero is covered: missing is not zero);
- not yet due: after its last reading while its next bill is not yet overdue, and any time after ``as_of``;
- missing: the rest, due and without data.

An enterprise none of whose meters counts (nothing in the year, its old meters long overdue) has all time until
``as_of`` missing.  ``as_of`` is the time the data is judged at (``data_as_of``): the end of the newest stored
reading, capped at now, so that a database read later than its data (the demo, an archive) is judged as of its own
data and live data keeps it close to now.

An enterprise-month's completeness is covered / due time of its meters, NaN when nothing was due (no figure, not
zero).  Its state for the year (``completeness_state`` in ``carbon/data/codes.csv``): ``gaps`` (due time without
data), ``no_data`` (gaps, and no reading in the year at all), ``pending`` (nothing missing, but a bill or a part of
the year not yet due) or ``complete``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from sqlalchemy import Engine, String, func, select, type_coerce

from carbon.accounting import LOCAL_TZ, month_shares
from carbon.analytics.progress import parameters
from carbon.ledger import read_periods, year_bounds_utc
from carbon.models import Activity, Enterprise

METER = ["enterprise_uscc", "meter_id"]
MONTHS = pd.Index(range(1, 13), name="month")
STATES = ("complete", "pending", "gaps", "no_data")  # codes of kind completeness_state
MEAN_MONTH_DAYS = 365.2425 / 12  # Gregorian calendar
SHORTEST_MONTH_DAYS = 28  # a reading at least this long is a bill of whole months
TOLERANCE_S = 1.0  # readings are stored to the second: less than a second uncovered is rounding, not a gap
STATE_COLUMNS = ["completeness_state", *MONTHS]


def typical_period(periods: pd.DataFrame) -> pd.Series:
    """Per meter (index ``enterprise_uscc, meter_id``), the median length of its readings in seconds, each reading
    weighted by the time it covers.  ``periods``: ``enterprise_uscc, meter_id, start_local, end_local``.  Pure."""
    length = (periods["end_local"] - periods["start_local"]).dt.total_seconds().to_numpy()
    df = periods[METER].assign(length=length).sort_values([*METER, "length"])
    grouped = df.groupby(METER, sort=False)["length"]
    reached = grouped.cumsum() >= grouped.transform("sum") / 2
    return df.loc[reached.to_numpy()].groupby(METER)["length"].first().rename("period_s")


def add_months(t: np.ndarray, months: np.ndarray) -> np.ndarray:
    """``t`` (``datetime64``) plus whole calendar months, on the same day and time (the month's last day when it is
    shorter): 2025-12-15 + 2 → 2026-02-15, 2024-01-31 + 1 → 2024-02-29.  Vectorised; returns ``datetime64[s]``."""
    t = np.asarray(t, dtype="datetime64[s]")
    month = t.astype("datetime64[M]")
    into = t - month.astype("datetime64[s]")
    target = month + np.asarray(months, dtype="int64").astype("timedelta64[M]")
    start = target.astype("datetime64[s]")
    length = (target + np.timedelta64(1, "M")).astype("datetime64[s]") - start
    day = np.timedelta64(1, "D")
    last_day = length - day + into % day  # same time on the month's last day
    return start + np.minimum(into, last_day)


def meter_cadence(periods: pd.DataFrame) -> pd.DataFrame:
    """How each meter reports, from its own readings (``enterprise_uscc, meter_id, start_local, end_local``, local
    naive datetimes).  Index ``enterprise_uscc, meter_id``; columns ``period_days`` (typical reading length, days),
    ``period_months`` (whole months of a bill; 0 for readings shorter than ``SHORTEST_MONTH_DAYS``),
    ``billing_day`` (day of month a bill of whole months closes on; NaN otherwise), ``last_end`` (end of its newest
    reading) and ``next_due`` (when its next reading is expected to end).  Pure; no readings, no rows."""
    if periods.empty:
        empty = pd.Series([], dtype="datetime64[s]")
        return pd.DataFrame(
            {"period_days": [], "period_months": pd.Series([], dtype=int), "billing_day": [], "last_end": empty,
             "next_due": empty},
            index=pd.MultiIndex.from_arrays([[], []], names=METER),
        )  # fmt: skip
    period_s = typical_period(periods)
    out = period_s.to_frame()
    out["period_days"] = out.pop("period_s") / 86_400
    whole = out["period_days"] >= SHORTEST_MONTH_DAYS
    out["period_months"] = np.where(whole, np.round(out["period_days"] / MEAN_MONTH_DAYS), 0).astype(int)
    out["last_end"] = periods.groupby(METER)["end_local"].max().reindex(out.index)
    last = out["last_end"].to_numpy(dtype="datetime64[s]")
    by_months = add_months(last, out["period_months"].to_numpy())
    by_length = last + np.round(period_s.reindex(out.index).to_numpy()).astype("int64").astype("timedelta64[s]")
    out["next_due"] = pd.to_datetime(np.where(whole.to_numpy(), by_months, by_length))
    out["billing_day"] = out["last_end"].dt.day.where(whole)
    return out[["period_days", "period_months", "billing_day", "last_end", "next_due"]]


def _month_seconds(spans: pd.DataFrame, keys: list[str], year: int) -> pd.Series:
    """Whole seconds of ``spans`` (``start_local, end_local`` and ``keys``) in each month of ``year``, by keys and
    month: exact overlaps, so that a span covering its due time gives exactly 1."""
    first, after = np.datetime64(f"{year}-01-01", "s"), np.datetime64(f"{year + 1}-01-01", "s")
    start = np.maximum(spans["start_local"].to_numpy(dtype="datetime64[s]"), first)
    end = np.minimum(spans["end_local"].to_numpy(dtype="datetime64[s]"), after)
    keep = end > start
    start, end = start[keep], end[keep]
    row, month, _ = month_shares(start, end)
    m_start = month.astype("datetime64[s]")
    m_end = (month + np.timedelta64(1, "M")).astype("datetime64[s]")
    seconds = (np.minimum(end[row], m_end) - np.maximum(start[row], m_start)).astype("int64").astype(float)
    pieces = spans.loc[keep, keys].iloc[row].reset_index(drop=True)
    pieces["month"] = month.astype("int64") % 12 + 1
    pieces["seconds"] = seconds
    return pieces.groupby([*keys, "month"])["seconds"].sum()


def completeness_seconds(
    periods: pd.DataFrame,
    enterprises: Iterable[str],
    year: int,
    as_of: pd.Timestamp,
    overdue_after: pd.Timedelta,
) -> pd.DataFrame:
    """Enterprise × month seconds: ``covered_s``, ``due_s`` (time its meters owed data, covered or not) and
    ``not_due_s``, with ``has_readings`` (a reading touches the year).  One row per enterprise of ``enterprises``
    and month 1–12 (index ``enterprise_uscc, month``).

    ``periods``: ``enterprise_uscc, meter_id, start_local, end_local`` (local naive) of the year and the history
    before it that the cadence is read from; ``as_of``: local naive time the data is judged at; ``overdue_after``:
    how long after it is expected a meter's next reading is overdue.  Pure."""
    ents = pd.Index(list(dict.fromkeys(enterprises)), name="enterprise_uscc")
    first, after = pd.Timestamp(year=year, month=1, day=1), pd.Timestamp(year=year + 1, month=1, day=1)
    periods = periods.loc[ents.get_indexer(periods["enterprise_uscc"]) >= 0]
    cad = meter_cadence(periods)
    pending = cad["next_due"] + overdue_after >= as_of
    touch = (periods["end_local"] > first) & (periods["start_local"] < after)
    in_year = periods.loc[touch]
    touching = cad.index.get_level_values("meter_id").isin(in_year["meter_id"].unique())  # meter ids are unique
    meters = cad.loc[touching | pending.to_numpy()].copy()
    # due until the last reading while the next is not yet overdue, else until as_of (never before the last reading)
    meters["due_until"] = meters["last_end"].where(pending.reindex(meters.index), meters["last_end"].clip(lower=as_of))
    silent = ents.difference(meters.index.get_level_values("enterprise_uscc").unique())
    due_spans = pd.concat(
        [
            meters.reset_index()[[*METER, "due_until"]],
            pd.DataFrame({"enterprise_uscc": silent, "meter_id": -1, "due_until": as_of}),  # one meter owing all
        ],
        ignore_index=True,
    )
    due_spans["start_local"] = first
    due_spans["end_local"] = due_spans["due_until"].clip(lower=first, upper=after)
    due = _month_seconds(due_spans, METER, year)
    covered = _month_seconds(in_year, METER, year).reindex(due.index).fillna(0.0)
    covered = np.minimum(covered, due)  # overlapping readings of a meter count once
    grid = pd.MultiIndex.from_product([ents, MONTHS])
    out = pd.DataFrame(
        {
            "covered_s": covered.groupby(["enterprise_uscc", "month"]).sum().reindex(grid, fill_value=0.0),
            "due_s": due.groupby(["enterprise_uscc", "month"]).sum().reindex(grid, fill_value=0.0),
        }
    )
    starts = pd.date_range(first, periods=13, freq="MS")
    month_s = pd.Series(np.diff(starts.to_numpy()).astype("timedelta64[s]").astype(float), index=MONTHS)
    counted = due_spans.groupby("enterprise_uscc")["meter_id"].nunique().reindex(ents)
    total = pd.DataFrame(np.outer(counted.to_numpy(), month_s.to_numpy()), index=ents, columns=MONTHS).stack()
    out["not_due_s"] = (total.reindex(grid).to_numpy() - out["due_s"]).clip(lower=0.0)
    reporting = pd.Index(in_year["enterprise_uscc"].unique())
    out["has_readings"] = reporting.get_indexer(out.index.get_level_values("enterprise_uscc")) >= 0
    return out


def monthly_completeness(seconds: pd.DataFrame) -> pd.DataFrame:
    """Enterprise × month (1–12) share of the due time covered, 0–1; NaN where nothing was due.  Pure."""
    share = (seconds["covered_s"] / seconds["due_s"].where(seconds["due_s"] > 0)).clip(upper=1.0)
    return share.unstack("month").reindex(columns=MONTHS)


def states(seconds: pd.DataFrame) -> pd.Series:
    """Each enterprise's state for the year (``STATES``): ``gaps`` where due time has no data (``no_data`` when no
    reading touches the year), else ``pending`` where some time is not yet due, else ``complete``.  Pure."""
    per = seconds.groupby("enterprise_uscc").agg(
        covered_s=("covered_s", "sum"), due_s=("due_s", "sum"), not_due_s=("not_due_s", "sum"),
        has_readings=("has_readings", "any"),
    )  # fmt: skip
    gaps = per["due_s"] - per["covered_s"] > TOLERANCE_S
    state = np.select(
        [gaps & ~per["has_readings"], gaps, per["not_due_s"] > TOLERANCE_S],
        ["no_data", "gaps", "pending"],
        "complete",
    )
    return pd.Series(state, index=per.index, name="completeness_state")


# --- from the database --------------------------------------------------------------------------------------------


def overdue_after() -> pd.Timedelta:
    """How long after it is expected a meter's next reading is overdue (``bill_overdue_after_days``)."""
    return pd.Timedelta(days=float(parameters()["bill_overdue_after_days"]))


def data_as_of(engine: Engine, now: datetime | None = None) -> pd.Timestamp:
    """The local (Asia/Shanghai, naive) time completeness is judged at: the end of the newest current reading in
    the database, not later than ``now``."""
    now_local = pd.Timestamp(now or datetime.now(UTC)).tz_convert(LOCAL_TZ).tz_localize(None)
    with engine.connect() as conn:
        newest = conn.execute(
            select(type_coerce(func.max(Activity.period_end), String)).where(Activity.superseded_at.is_(None))
        ).scalar()
    if newest is None:
        return now_local
    newest_local = pd.to_datetime(newest, utc=True, format="ISO8601").tz_convert(LOCAL_TZ).tz_localize(None)
    return min(newest_local, now_local)


def read_meter_periods(engine: Engine, year: int, enterprises: list[str]) -> pd.DataFrame:
    """Current readings (``enterprise_uscc, meter_id, start_local, end_local``) of some enterprises touching
    ``year`` or the year before (the history each meter's cadence is read from)."""
    start, _ = year_bounds_utc(year - 1)
    _, end = year_bounds_utc(year)
    stmt = (
        select(
            Activity.enterprise_uscc,
            Activity.meter_id,
            type_coerce(Activity.period_start, String).label("period_start"),
            type_coerce(Activity.period_end, String).label("period_end"),
        )
        .where(Activity.period_end > start, Activity.period_start < end, Activity.superseded_at.is_(None))
        .where(Activity.enterprise_uscc.in_(enterprises))
    )
    with engine.connect() as conn:
        periods = read_periods(pd.read_sql(stmt, conn))
    return periods[["enterprise_uscc", "meter_id", "start_local", "end_local"]]


def completeness(engine: Engine, year: int, enterprises: list[str], as_of: pd.Timestamp | None = None) -> pd.DataFrame:
    """Per enterprise (index ``uscc``, in the order given): ``completeness_state`` and the share of due time
    covered in each month (columns 1–12, NaN where nothing was due), judged as of ``as_of`` (default
    ``data_as_of``)."""
    as_of = data_as_of(engine) if as_of is None else as_of
    seconds = completeness_seconds(read_meter_periods(engine, year, enterprises), enterprises, year, as_of,
                                   overdue_after())  # fmt: skip
    out = monthly_completeness(seconds)
    out.insert(0, "completeness_state", states(seconds))
    return out.reindex(pd.Index(enterprises, name="uscc"))[STATE_COLUMNS]


def coverage(engine: Engine, year: int, regions: list[str]) -> pd.DataFrame:
    """Monthly share of due time covered (enterprise × month, NaN where nothing was due) for every enterprise of
    some jurisdictions."""
    with engine.connect() as conn:
        ents = list(conn.execute(select(Enterprise.uscc).where(Enterprise.region_id.in_(regions))).scalars())
    return completeness(engine, year, ents)[list(MONTHS)].rename_axis("enterprise_uscc")
