"""The emissions cube: an xarray Dataset of the latest stored enterprise results.

Dimensions ``time`` (month start), ``region``, ``division`` (GB/T 4754 division) and ``carrier``; ``sector``
(of each division) and ``scope`` (of each carrier) are coordinates to group by.  Variables ``emissions_tco2e``,
``energy_tce`` and ``activity`` (in each carrier's canonical unit, see ``activity_units``); units in ``attrs``.
Built with one query per table from the newest run of every enterprise and year (the result ledger), vectorised,
and cached until the ledger or the enterprise register changes.  ``enterprise_results`` keeps the enterprise
level for drill-down.

A long-running reader (the dashboard server) calls ``keep_results(store)`` once per thread or script run: from
then on in that context, ``enterprise_results`` serves the years it has already read from ``store`` (one dict per
server) until the ledger or the register changes, so the cube, the indicators and the splits of one page read the
stored results of a year once instead of once each.  Without it (the CLI, tests, benchmarks) every call reads.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr
from sqlalchemy import Engine, func, select

from carbon import reference
from carbon.ledger import FIGURE_COLUMNS, GWP_OF_RECORD, current_lines
from carbon.models import (
    AccountingRun,
    Batch,
    Enterprise,
    GridAccount,
    GridAccountMeter,
    GridStatement,
    Statistic,
    StatsRelease,
)

# Result lines a reader keeps (``keep_results``), about 140 bytes each: beyond this (about 280 MB) it reads again.
# A project default, sized for a dashboard server beside the analytics (see the analytics benchmark in README).
KEEP_ROWS = 2_000_000
_KEPT: ContextVar[dict | None] = ContextVar("carbon_kept_results", default=None)


@dataclass
class _Kept:
    """The results read at one ``version`` (database URL, ``ledger_version``): per (basis, GWP set), the lines of
    each year read (an empty frame for a year read without results), whether every year is there, and an empty
    frame with the columns of an answer."""

    version: tuple
    years: dict[tuple[str, str], dict[int, pd.DataFrame]] = field(default_factory=dict)
    complete: set[tuple[str, str]] = field(default_factory=set)
    empty: dict[tuple[str, str], pd.DataFrame] = field(default_factory=dict)
    rows: int = 0

    def store(self, key: tuple[str, str], read: pd.DataFrame, years: list[int] | None) -> dict[int, pd.DataFrame]:
        """The lines ``read`` for ``years`` (None: every year) by year; kept unless that would pass ``KEEP_ROWS``."""
        self.empty.setdefault(key, read.iloc[0:0])
        by_year = {int(y): g for y, g in read.groupby("year", sort=False)}
        if years is not None:
            by_year = {y: by_year.get(y, self.empty[key]) for y in years}
        if self.rows + len(read) <= KEEP_ROWS:
            self.years.setdefault(key, {}).update(by_year)
            self.rows += len(read)
            if years is None:
                self.complete.add(key)
        return by_year


def keep_results(store: dict) -> None:
    """From now on in the current context (a thread, a dashboard script run), let ``enterprise_results`` keep what
    it reads in ``store`` and serve it again while the ledger and the register are unchanged (see the module
    docstring).  ``store``: a dict the caller holds for as long as it wants the results kept (one per server)."""
    _KEPT.set(store)


def enterprise_results(
    engine: Engine, basis: str = "location", gwp_set: str = GWP_OF_RECORD, years: list[int] | None = None
) -> pd.DataFrame:
    """Monthly results per enterprise, jurisdiction counted in (``region``: the line's, its site's) and carrier from
    the newest runs (the result ledger), with year, time, and division and sector as the enterprise register has
    them now; of ``years`` (None: every year).  Within
    ``keep_results``, years already read at the current ledger version are not read again, and the rows come in
    year order (each year's as read); otherwise in the database's order."""
    store = _KEPT.get()
    if store is None:
        return _read_results(engine, basis, gwp_set, years)
    version = (engine.url.render_as_string(hide_password=True), ledger_version(engine))
    kept = store.get("results")
    if not isinstance(kept, _Kept) or kept.version != version:
        kept = store["results"] = _Kept(version)
    key = (basis, gwp_set)
    found = dict(kept.years.get(key, {}))
    if key not in kept.complete:
        missing = None if years is None else sorted({int(y) for y in years} - set(found))
        if missing is None or missing:
            found.update(kept.store(key, _read_results(engine, basis, gwp_set, missing), missing))
    if key not in kept.empty:  # nothing read yet, nothing asked for (``years=[]``)
        return _read_results(engine, basis, gwp_set, years)
    wanted = sorted(found) if years is None else sorted({int(y) for y in years})
    frames = [found[y] for y in wanted if y in found and len(found[y])]
    return pd.concat(frames, ignore_index=True) if frames else kept.empty[key].copy()


def _read_results(engine: Engine, basis: str, gwp_set: str, years: list[int] | None) -> pd.DataFrame:
    """``enterprise_results`` read from the database (one query: the newest runs' lines with their enterprise's
    division)."""
    lines = current_lines(engine, basis, gwp_set, years, columns=FIGURE_COLUMNS, division=True)  # not the factor ids
    # a line counts in its own jurisdiction (its site's), not necessarily where its enterprise is registered
    lines = lines.rename(columns={"region_id": "region"})
    lines["time"] = month_starts(lines["year"], lines["month"])
    lines["sector"] = mapped(lines["division"], reference.industry_divisions()["sector"])
    return lines.drop(columns=["run_id"])


def month_starts(year: pd.Series, month: pd.Series) -> pd.Series:
    """The first day of each (year, month) as datetime64[us] (``pd.to_datetime`` of year, month and day 1, computed
    on whole integer columns).  Pure."""
    if not len(year):
        return pd.to_datetime({"year": year, "month": month, "day": 1})
    months = (year.to_numpy(dtype="int64") - 1970) * 12 + month.to_numpy(dtype="int64") - 1
    return pd.Series(months.astype("datetime64[M]").astype("datetime64[us]"), index=year.index)


def mapped(values: pd.Series, mapping: pd.Series) -> pd.Series:
    """``values.map(mapping)`` for a column of few distinct values: each distinct value looked up once.  Pure."""
    if not len(values):
        return values.map(mapping)
    codes, distinct = pd.factorize(values)
    looked_up = pd.array(np.asarray(distinct.map(mapping), dtype=object), dtype=values.dtype)
    return pd.Series(looked_up.take(codes, allow_fill=True), index=values.index, name=values.name)


def ledger_version(engine: Engine) -> tuple:
    """What every figure built from the ledger depends on: the runs stored (the newest id and how many: a run
    committed after a newer one, by a concurrent writer, still changes the count), and the enterprise register
    (count and last change, since a region or industry decides where a result is counted)."""
    with engine.connect() as conn:
        newest, runs = conn.execute(select(func.max(AccountingRun.id), func.count(AccountingRun.id))).one()
        count, changed = conn.execute(select(func.count(Enterprise.uscc), func.max(Enterprise.updated_at))).one()
    return int(newest or 0), int(runs), int(count), str(changed)


def data_version(engine: Engine) -> tuple:
    """The ledger version and what else the analytics read: the statistics (economic, and regional energy by release),
    uploads, grid accounts with their meters, and the utility's statements (newest id and count of each, as for
    runs; a restated statement is a new row).  Every analytic figure changes only when one of them does (a cache
    key)."""
    tables = (Statistic.id, StatsRelease.id, GridAccount.id, GridAccountMeter.id, GridStatement.id, Batch.id)
    with engine.connect() as conn:
        stored = [conn.execute(select(func.max(col), func.count(col))).one() for col in tables]
    return (*ledger_version(engine), *(int(x or 0) for row in stored for x in row))


def build_cube(
    engine: Engine, basis: str = "location", gwp_set: str = GWP_OF_RECORD, cache: dict | None = None
) -> xr.Dataset:
    """The cube of the newest results; with a ``cache`` dict (held by the caller, e.g. the dashboard) it is
    rebuilt only when the ledger or the enterprise register changed since the last build."""
    key = (engine.url.render_as_string(hide_password=True), ledger_version(engine), basis, gwp_set)
    if cache is not None and key in cache:
        return cache[key]
    cube = cube_from_results(enterprise_results(engine, basis, gwp_set))
    if cache is not None:
        cache.clear()
        cache[key] = cube
    return cube


def cube_from_results(results: pd.DataFrame) -> xr.Dataset:
    """Aggregate enterprise results into the cube (pure)."""
    carriers = reference.carriers()
    grouped = (
        results.groupby(["time", "region", "division", "carrier"], observed=True)[
            ["emissions_tco2e", "energy_tce", "quantity_canonical"]
        ]
        .sum()
        .rename(columns={"quantity_canonical": "activity"})
    )
    if grouped.empty:  # no results yet: the same variables over empty dimensions
        dims = ("time", "region", "division", "carrier")
        coords = {"time": pd.DatetimeIndex([]), "region": [], "division": [], "carrier": []}
        ds = xr.Dataset({v: (dims, np.zeros((0, 0, 0, 0))) for v in grouped.columns}, coords=coords)
    else:
        ds = xr.Dataset.from_dataframe(grouped).fillna(0.0)
    divisions = reference.industry_divisions()
    ds = ds.assign_coords(
        sector=("division", divisions["sector"].reindex(ds["division"].values).to_numpy()),
        scope=("carrier", carriers["scope"].reindex(ds["carrier"].values).astype(int).to_numpy()),
    )
    ds["emissions_tco2e"].attrs["units"] = "t_CO2e"
    ds["energy_tce"].attrs["units"] = "tce"
    ds["activity"].attrs["units"] = "canonical unit of each carrier (see activity_units)"
    ds.attrs["activity_units"] = {c: carriers.loc[c, "canonical_unit"] for c in ds["carrier"].values}
    return ds
