"""Accounting runs: load activity and factors from the database, compute, store a versioned result.

Thin orchestration over the pure functions in ``carbon.accounting`` and ``carbon.factor_choice``.
A result is never overwritten: every run is a new ``accounting_run`` row with its as-of time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Engine, String, insert, select, type_coerce
from sqlmodel import Session

from carbon import reference
from carbon.accounting import LOCAL_TZ, allocate_to_months, apply_factors, to_local_naive
from carbon.enterprises import get_enterprise
from carbon.factor_choice import choice_table
from carbon.models import AccountingRun, Activity, EmissionResult, Enterprise, Factor, Region

LINE_COLUMNS = [
    "enterprise_uscc",
    "carrier",
    "month",
    "quantity_canonical",
    "emissions_tco2e",
    "energy_tce",
    "factor_ids",
    "factor_reason",
    "rows_split",
]


@dataclass
class AccountResult:
    """Emissions of an enterprise or region for one year, with the factors used and flags."""

    subject_kind: str
    subject_id: str
    year: int
    basis: str
    gwp_set: str
    computed_at: datetime
    lines: pd.DataFrame
    flags: list[str] = field(default_factory=list)
    run_id: int | None = None

    def _sum(self, col: str, scope: str | None = None) -> float:
        lines = self.lines
        if scope is not None:
            lines = lines.loc[lines["carrier"].map(reference.carriers()["scope"]) == scope]
        return float(lines[col].sum())

    @property
    def total_tco2e(self) -> float:
        return self._sum("emissions_tco2e")

    def by_carrier(self) -> pd.DataFrame:
        """One row per carrier: quantity in its canonical unit, tCO2e, tce and the factor ids used."""
        carriers = reference.carriers()
        g = self.lines.groupby("carrier", sort=True)
        out = pd.DataFrame(
            {
                "quantity": g["quantity_canonical"].sum(),
                "tco2e": g["emissions_tco2e"].sum(),
                "energy_tce": g["energy_tce"].sum(),
                "factor_ids": g["factor_ids"].agg(lambda s: sorted({i for ids in s for i in ids.split(",") if i})),
                "factor_reasons": g["factor_reason"].agg(lambda s: sorted(set(s))),
            }
        )
        out["unit"] = carriers["canonical_unit"].reindex(out.index)
        out["name_zh"] = carriers["name_zh"].reindex(out.index)
        out["scope"] = carriers["scope"].reindex(out.index).astype(int)
        return out.reset_index().sort_values("tco2e", ascending=False, kind="stable")

    def by_month(self) -> pd.DataFrame:
        """Twelve rows (month 1-12): tCO2e and tce; months without data are zero."""
        g = self.lines.groupby("month")[["emissions_tco2e", "energy_tce"]].sum()
        return g.reindex(range(1, 13), fill_value=0.0).rename_axis("month").reset_index()

    def totals(self) -> dict[str, float]:
        """tCO2e in all, of scope 1 and of scope 2, and tce (what a stored run keeps)."""
        return {
            "total_tco2e": self.total_tco2e,
            "scope1_tco2e": self._sum("emissions_tco2e", "1"),
            "scope2_tco2e": self._sum("emissions_tco2e", "2"),
            "energy_tce": self._sum("energy_tce"),
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "subject": {"kind": self.subject_kind, "id": self.subject_id},
            "year": self.year,
            "basis": self.basis,
            "gwp_set": self.gwp_set,
            "as_of": self.computed_at.isoformat(),
            "run_id": self.run_id,
            **self.totals(),
            "flags": self.flags,
            "by_carrier": [
                {
                    "carrier": r.carrier,
                    "name_zh": r.name_zh,
                    "scope": r.scope,
                    "quantity": r.quantity,
                    "unit": r.unit,
                    "tco2e": r.tco2e,
                    "energy_tce": r.energy_tce,
                    "factor_ids": r.factor_ids,
                    "factor_reasons": r.factor_reasons,
                }
                for r in self.by_carrier().itertuples(index=False)
            ],
            "by_month": [
                {"month": int(r.month), "tco2e": float(r.emissions_tco2e), "energy_tce": float(r.energy_tce)}
                for r in self.by_month().itertuples(index=False)
            ],
        }


def load_factors(engine: Engine) -> pd.DataFrame:
    """The factor library as stored by ``carbon init`` (one query)."""
    with engine.connect() as conn:
        return pd.read_sql(select(Factor), conn)


def enterprise_runs(engine: Engine, basis: str = "location", gwp_set: str = "AR5") -> pd.DataFrame:
    """Every stored enterprise run of a basis and GWP set, oldest first (id, subject, year, as-of, totals, trigger)."""
    stmt = (
        select(
            AccountingRun.id,
            AccountingRun.subject_id,
            AccountingRun.year,
            AccountingRun.computed_at,
            AccountingRun.total_tco2e,
            AccountingRun.energy_tce,
            AccountingRun.trigger,
        )
        .where(
            AccountingRun.subject_kind == "enterprise", AccountingRun.basis == basis, AccountingRun.gwp_set == gwp_set
        )
        .order_by(AccountingRun.id)
    )
    with engine.connect() as conn:
        runs = pd.read_sql(stmt, conn)
    runs["computed_at"] = pd.to_datetime(runs["computed_at"], utc=True)
    return runs


def result_lines(engine: Engine, run_ids: list[int] | None = None) -> pd.DataFrame:
    """Stored monthly result lines (run, enterprise, carrier, month, quantity, tCO2e, tce), of some runs or all."""
    stmt = select(
        EmissionResult.run_id,
        EmissionResult.enterprise_uscc,
        EmissionResult.carrier,
        EmissionResult.month,
        EmissionResult.quantity_canonical,
        EmissionResult.emissions_tco2e,
        EmissionResult.energy_tce,
    )
    if run_ids is not None:
        stmt = stmt.where(EmissionResult.run_id.in_(run_ids))
    with engine.connect() as conn:
        return pd.read_sql(stmt, conn)


def year_bounds_utc(year: int) -> tuple[datetime, datetime]:
    """Start and end of a local (Asia/Shanghai) calendar year, as UTC datetimes."""
    start = pd.Timestamp(year=year, month=1, day=1, tz=LOCAL_TZ).tz_convert("UTC")
    end = pd.Timestamp(year=year + 1, month=1, day=1, tz=LOCAL_TZ).tz_convert("UTC")
    return start.to_pydatetime(), end.to_pydatetime()


def load_activity(
    engine: Engine,
    year: int,
    *,
    enterprise: str | None = None,
    regions: list[str] | None = None,
    last_year: int | None = None,
    exclude_batches: list[int] | None = None,
) -> pd.DataFrame:
    """Current activity rows touching ``year`` (to ``last_year``) for one enterprise or some jurisdictions, with
    province and grid; rows of ``exclude_batches`` are left out (the caller holds them already)."""
    start, _ = year_bounds_utc(year)
    _, end = year_bounds_utc(last_year or year)
    stmt = (
        select(
            Activity.enterprise_uscc,
            Activity.carrier,
            # raw text (SQLite) or datetimes (PostgreSQL), parsed below for whole columns at once
            type_coerce(Activity.period_start, String).label("period_start"),
            type_coerce(Activity.period_end, String).label("period_end"),
            Activity.quantity_canonical.label("quantity"),
            Region.province,
            Region.grid,
        )
        .join(Enterprise, Enterprise.uscc == Activity.enterprise_uscc)
        .join(Region, Region.id == Enterprise.region_id)
        .where(Activity.period_end > start, Activity.period_start < end, Activity.superseded_at.is_(None))
    )
    stmt = (
        stmt.where(Activity.enterprise_uscc == enterprise)
        if enterprise
        else stmt.where(Enterprise.region_id.in_(regions or []))
    )
    if exclude_batches:
        stmt = stmt.where(Activity.batch_id.not_in(exclude_batches))
    with engine.connect() as conn:
        return read_periods(pd.read_sql(stmt, conn))


def read_periods(df: pd.DataFrame) -> pd.DataFrame:
    """Parse ``period_start``/``period_end`` as read from the database (text on SQLite, datetimes on PostgreSQL;
    UTC) for whole columns at once, and add their local wall-clock times."""
    for col in ("period_start", "period_end"):
        df[col] = pd.to_datetime(df[col], utc=True, format="ISO8601")
    return with_local_times(df)


def with_local_times(df: pd.DataFrame) -> pd.DataFrame:
    """Add ``start_local`` and ``end_local`` (Asia/Shanghai wall clock) to rows with UTC periods."""
    df["start_local"] = to_local_naive(df["period_start"])
    df["end_local"] = to_local_naive(df["period_end"])
    return df


def compute(
    activity: pd.DataFrame, factors: pd.DataFrame, *, year: int, basis: str, gwp_set: str, as_of: date
) -> tuple[pd.DataFrame, list[str]]:
    """Monthly emissions per enterprise and carrier (``LINE_COLUMNS``) and the run's flags."""
    needed = ["enterprise_uscc", "carrier", "province", "grid", "start_local", "end_local", "quantity"]
    pieces = allocate_to_months(activity[needed], year)
    if pieces.empty:
        return pd.DataFrame(columns=LINE_COLUMNS), ["no_activity"]
    choices = choice_table(factors, pieces, year=year, basis=basis, gwp_set=gwp_set, as_of=as_of)
    priced = apply_factors(pieces, choices)
    lines = priced.groupby(["enterprise_uscc", "carrier", "month"], as_index=False).agg(
        quantity_canonical=("quantity", "sum"),
        emissions_tco2e=("emissions_tco2e", "sum"),
        energy_tce=("energy_tce", "sum"),
        factor_ids=("factor_ids", "first"),
        factor_reason=("factor_reason", "first"),
        rows_split=("split", "sum"),
    )
    flags = sorted({f for fs in choices["flags"] for f in fs})
    split = pieces.loc[pieces["split"], "row"].nunique()
    if split:
        flags.append(f"period_split:{split}")
    return lines[LINE_COLUMNS], flags


def region_lines(
    engine: Engine, region: str, year: int, basis: str = "location", factors: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Monthly lines (``LINE_COLUMNS``) of every enterprise of a region for a year, computed now (not stored)."""
    lines, _ = compute(
        load_activity(engine, year, regions=reference.region_ids(region)),
        load_factors(engine) if factors is None else factors,
        year=year,
        basis=basis,
        gwp_set="AR5",
        as_of=datetime.now(UTC).date(),
    )
    return lines


def account(
    engine: Engine,
    *,
    year: int,
    enterprise: str | None = None,
    region: str | None = None,
    basis: str = "location",
    gwp_set: str = "AR5",
    as_of: date | None = None,
    store: bool = True,
) -> AccountResult:
    """Compute (and by default store as a new run) the emissions of an enterprise or region for ``year``."""
    now = datetime.now(UTC)
    if enterprise:
        kind, subject = "enterprise", get_enterprise(engine, enterprise).uscc
        activity = load_activity(engine, year, enterprise=subject)
    else:
        kind, subject = "region", str(region)
        activity = load_activity(engine, year, regions=reference.region_ids(subject))
    lines, flags = compute(
        activity, load_factors(engine), year=year, basis=basis, gwp_set=gwp_set, as_of=as_of or now.date()
    )
    result = AccountResult(kind, subject, year, basis, gwp_set, now, lines, flags)
    if store:
        result.run_id = store_run(engine, result)
    return result


def store_run(engine: Engine, result: AccountResult, trigger: str | None = None) -> int:
    d = result.totals()
    with Session(engine) as session:
        run = AccountingRun(
            subject_kind=result.subject_kind,
            subject_id=result.subject_id,
            year=result.year,
            basis=result.basis,
            gwp_set=result.gwp_set,
            computed_at=result.computed_at,
            total_tco2e=d["total_tco2e"],
            scope1_tco2e=d["scope1_tco2e"],
            scope2_tco2e=d["scope2_tco2e"],
            energy_tce=d["energy_tce"],
            flags_json=json.dumps(result.flags, ensure_ascii=False),
            trigger=trigger,
        )
        session.add(run)
        session.flush()
        if len(result.lines):
            records = result.lines.assign(run_id=run.id).to_dict("records")
            session.connection().execute(insert(EmissionResult), records)
        session.commit()
        return int(run.id)
