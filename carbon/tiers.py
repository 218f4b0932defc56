"""Data-quality tier of stored activity data and the tier mix behind each monthly result line.

Tiers (labels: kind ``data_tier`` in ``carbon/data/codes.csv``; half-widths in ``carbon/data/uncertainty.csv``):

- ``metered``: readings a connector sent as records (MQTT, Modbus, HTTP API), stored in a batch of shape
  ``records`` (``carbon.ingest.records``);
- ``billed``: files: uploaded meter exports, bills, templates, and files a file-drop connector took from an inbox.
  A file is an export whoever delivers it, so the batch's shape decides, not ``uploaded_by`` (a file-drop batch
  has ``uploaded_by = "connector:<name>"``, an upload the user's name, connector records the connector's name);
- ``estimated``: figures declared as estimates (the system stores none itself);
- ``statistics``: regional statistics (the inventory's lines, not activity rows).

A result line (enterprise, carrier, month) can rest on rows of several tiers: an enterprise's electricity from an
IoT meter and its gas from bills, or one month of a meter from bills and the next from a connector.  Its tier mix
is the share of the month's quantity from each tier, with rows spread over months exactly as the engine spreads
them (``carbon.accounting.allocate_to_months``, local calendar months).  Quantity shares are the right weights:
within a line one factor multiplies every row, so each tier's part of the line's emissions is its part of the
quantity, and the line's activity error is the sum of its parts' errors (``lines_by_tier`` splits a line so;
``carbon.analytics.uncertainty.line_band`` then combines the parts as independent activity data under the one
factor).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import Engine, String, select, type_coerce

from carbon.accounting import allocate_to_months
from carbon.ledger import current_lines, read_periods, year_bounds_utc
from carbon.models import Activity, Batch

TIERS = ("metered", "billed", "estimated", "statistics")
METERED_SHAPES = ("records",)  # batch shapes written by connectors' records (carbon.ingest.records)
MIX_COLUMNS = ["enterprise_uscc", "carrier", "year", "month", "tier", "share"]


def batch_tier(shape: pd.Series) -> pd.Series:
    """Tier of stored batches by their ``shape``: ``metered`` for connector records, ``billed`` for any file."""
    return pd.Series(np.where(shape.isin(METERED_SHAPES), "metered", "billed"), index=shape.index, name="tier")


def load_activity_tiers(engine: Engine, year: int, enterprises: list[str] | None = None) -> pd.DataFrame:
    """Current activity rows touching the local calendar ``year`` with their tier: ``enterprise_uscc``,
    ``carrier``, ``quantity`` (canonical unit of the carrier), ``period_start``/``period_end`` (UTC),
    ``start_local``/``end_local``, ``shape`` and ``tier``.  All enterprises unless ``enterprises`` is given."""
    start, end = year_bounds_utc(year)
    stmt = (
        select(
            Activity.enterprise_uscc,
            Activity.carrier,
            type_coerce(Activity.period_start, String).label("period_start"),
            type_coerce(Activity.period_end, String).label("period_end"),
            Activity.quantity_canonical.label("quantity"),
            Batch.shape,
        )
        .join(Batch, Batch.id == Activity.batch_id)
        .where(Activity.period_end > start, Activity.period_start < end, Activity.superseded_at.is_(None))
    )
    if enterprises is not None:
        stmt = stmt.where(Activity.enterprise_uscc.in_(enterprises))
    with engine.connect() as conn:
        rows = read_periods(pd.read_sql(stmt, conn))
    return rows.assign(tier=batch_tier(rows["shape"]))


def tier_mix(rows: pd.DataFrame, year: int) -> pd.DataFrame:
    """Share of each tier in each enterprise, carrier and month of ``year`` (``MIX_COLUMNS``; shares of a line
    add up to 1).  ``rows`` as ``load_activity_tiers`` gives them (``enterprise_uscc``, ``carrier``,
    ``start_local``, ``end_local``, ``quantity``, ``tier``).  Shares are of the quantity's magnitude; a month whose
    rows are all zero is shared by the number of its pieces (its emissions are zero either way)."""
    if rows.empty:
        return pd.DataFrame(columns=MIX_COLUMNS)
    pieces = allocate_to_months(
        rows[["enterprise_uscc", "carrier", "start_local", "end_local", "quantity", "tier"]], year
    )
    keys = ["enterprise_uscc", "carrier", "year", "month"]
    pieces = pieces.assign(weight=pieces["quantity"].abs(), pieces=1)
    per = (
        pieces.groupby([*keys, "tier"], sort=True).agg(weight=("weight", "sum"), pieces=("pieces", "sum")).reset_index()
    )
    line_weight = per.groupby(keys)["weight"].transform("sum")
    line_pieces = per.groupby(keys)["pieces"].transform("sum")
    per["share"] = np.where(
        line_weight > 0, per["weight"] / line_weight.where(line_weight > 0, 1), per["pieces"] / line_pieces
    )
    return per[MIX_COLUMNS]


def load_tier_mix(engine: Engine, year: int, enterprises: list[str] | None = None) -> pd.DataFrame:
    """``tier_mix`` of the stored current activity of ``year`` (all enterprises unless ``enterprises``)."""
    return tier_mix(load_activity_tiers(engine, year, enterprises), year)


def lines_by_tier(lines: pd.DataFrame, mix: pd.DataFrame) -> pd.DataFrame:
    """Result lines split by their tier mix: one row per line and tier with ``tier`` and ``emissions_tco2e`` (and
    ``quantity_canonical``, ``energy_tce`` where present) times the tier's share; other columns carried along.

    ``lines`` need ``enterprise_uscc``, ``carrier``, ``month`` and ``year`` (as ``carbon.ledger.current_lines``
    gives them).  Raises ``ValueError`` naming the lines with no activity behind them (their tier is unknown).
    """
    keys = ["enterprise_uscc", "carrier", "year", "month"]
    left = lines.astype({"year": int, "month": int})
    right = mix.astype({"year": int, "month": int})
    out = left.merge(right, on=keys, how="left", validate="one_to_many")
    unknown = out["tier"].isna()
    if unknown.any():
        first = out.loc[unknown, keys].drop_duplicates().head(5).to_dict("records")
        raise ValueError(
            f"结果行没有对应的活动数据，无法确定数据质量等级：{first} / "
            f"result lines with no activity behind them, their data-quality tier is unknown: {first}"
        )
    for column in ("emissions_tco2e", "quantity_canonical", "energy_tce"):
        if column in out.columns:
            out[column] = out[column].astype(float) * out["share"]
    return out.drop(columns="share").reset_index(drop=True)


def tiered_lines(
    engine: Engine, year: int, enterprises: list[str] | None = None, basis: str = "location"
) -> pd.DataFrame:
    """The current result lines of ``year`` on ``basis`` (``carbon.ledger.current_lines``: all enterprises unless
    ``enterprises``) split by their tier mix (``lines_by_tier``): the input of
    ``carbon.analytics.uncertainty.line_band`` for monitored enterprises' totals (tCO2e)."""
    lines = current_lines(engine, basis=basis, years=[year], enterprises=enterprises)
    if lines.empty:
        return lines.assign(tier=pd.Series(dtype=str))
    return lines_by_tier(lines, load_tier_mix(engine, year, enterprises))
