"""The emissions cube: an xarray Dataset of the latest stored enterprise results.

Dimensions ``time`` (month start), ``region``, ``division`` (GB/T 4754 division) and ``carrier``; ``sector``
(of each division) and ``scope`` (of each carrier) are coordinates to group by.  Variables ``emissions_tco2e``,
``energy_tce`` and ``activity`` (in each carrier's canonical unit, see ``activity_units``); units in ``attrs``.
Built with one query per table from the newest run of every enterprise and year (the result ledger), vectorised,
and cached until the ledger or the enterprise register changes.  ``enterprise_results`` keeps the enterprise
level for drill-down.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr
from sqlalchemy import Engine, func, select

from carbon import reference
from carbon.ledger import FIGURE_COLUMNS, GWP_OF_RECORD, current_lines
from carbon.models import AccountingRun, Batch, Enterprise, Statistic


def enterprise_results(
    engine: Engine, basis: str = "location", gwp_set: str = GWP_OF_RECORD, years: list[int] | None = None
) -> pd.DataFrame:
    """Monthly results per enterprise and carrier from the newest runs (the result ledger), with year, time,
    region, division and sector as the enterprise register has them now."""
    lines = current_lines(engine, basis, gwp_set, years, columns=FIGURE_COLUMNS)  # the figures, not the factor ids
    with engine.connect() as conn:
        ents = pd.read_sql(
            select(
                Enterprise.uscc.label("enterprise_uscc"),
                Enterprise.region_id.label("region"),
                Enterprise.division_code.label("division"),
            ),
            conn,
        )
    lines = lines.merge(ents, on="enterprise_uscc")
    lines["time"] = pd.to_datetime({"year": lines["year"], "month": lines["month"], "day": 1})
    lines["sector"] = lines["division"].map(reference.industry_divisions()["sector"])
    return lines.drop(columns=["run_id"])


def ledger_version(engine: Engine) -> tuple:
    """What every figure built from the ledger depends on: the newest run, and the enterprise register (count and
    last change, since a region or industry decides where a result is counted)."""
    with engine.connect() as conn:
        newest = conn.execute(select(func.max(AccountingRun.id))).scalar() or 0
        count, changed = conn.execute(select(func.count(Enterprise.uscc), func.max(Enterprise.updated_at))).one()
    return int(newest), int(count), str(changed)


def data_version(engine: Engine) -> tuple:
    """The ledger version, the newest statistic and the newest upload: every analytic figure changes only when one
    of them does (a cache key)."""
    with engine.connect() as conn:
        ids = tuple(int(conn.execute(select(func.max(col))).scalar() or 0) for col in (Statistic.id, Batch.id))
    return (*ledger_version(engine), *ids)


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
