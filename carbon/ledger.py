"""Accounting runs: load activity and factors from the database, compute, store a versioned result.

Thin orchestration over the pure functions in ``carbon.accounting`` and ``carbon.factor_choice``.
A result is never overwritten: every run is a new ``accounting_run`` row with its as-of time.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from itertools import chain
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlalchemy import ColumnElement, Engine, Select, String, func, insert, or_, select, type_coerce

from carbon import reference
from carbon.accounting import LOCAL_TZ, allocate_to_months, group_ids, key_codes, to_local_naive
from carbon.arrow_read import read_frame
from carbon.enterprises import get_enterprise
from carbon.factor_choice import BASES, choice_table
from carbon.models import AccountingRun, Activity, EmissionResult, Enterprise, Factor, Meter, Region, Site

# The GWP set the ledger keeps current on every basis (project default: IPCC AR5, the set of the current national
# guidelines' GWP table); ``carbon account --gwp`` computes the others on request without storing them.
GWP_OF_RECORD = "AR5"

# a result line's figures, and the whole line as stored (with the factor records it used and why): ``site_id`` is
# the site of its meters (NaN: meters without a site), ``region_id`` the jurisdiction the line counts in (the site's,
# else the enterprise's registered one)
FIGURE_COLUMNS = [
    "enterprise_uscc", "site_id", "region_id", "carrier", "month", "quantity_canonical", "emissions_tco2e",
    "energy_tce",
]  # fmt: skip
LINE_KEY = ["site_id", "region_id", "carrier", "month"]  # what tells an enterprise's lines of a run apart
LINE_COLUMNS = [*FIGURE_COLUMNS, "factor_ids", "factor_reason", "rows_split"]


def _figure(value: float) -> float | None:
    """A figure as served in JSON: None (no data) for NaN."""
    return None if pd.isna(value) else float(value)


@dataclass
class AccountResult:
    """Emissions of an enterprise or region for one year, with the factors used and flags."""

    subject_kind: str
    subject_id: str
    year: int
    basis: str
    gwp_set: str
    computed_at: datetime | None  # None: a stored result with no run behind it (no data)
    lines: pd.DataFrame
    flags: list[str] = field(default_factory=list)
    run_id: int | None = None
    run_ids: list[int] = field(default_factory=list)  # the stored runs behind a stored result

    @property
    def has_data(self) -> bool:
        """False when no activity lies behind the result: its figures are then None ("no data"), never 0."""
        return bool(len(self.lines))

    def _sum(self, col: str, scope: str | None = None) -> float | None:
        if not self.has_data:
            return None
        lines = self.lines
        if scope is not None:
            lines = lines.loc[lines["carrier"].map(reference.carriers()["scope"]) == scope]
        return float(lines[col].sum())

    @property
    def total_tco2e(self) -> float | None:
        """tCO2e in all; None when there is no data."""
        return self._sum("emissions_tco2e")

    def by_carrier(self) -> pd.DataFrame:
        """One row per carrier: quantity in its canonical unit, tCO2e, tce and the factor ids used."""
        carriers = reference.carriers()
        g = self.lines.groupby("carrier", sort=True)
        out = pd.DataFrame(
            {
                "quantity_canonical": g["quantity_canonical"].sum(),
                "emissions_tco2e": g["emissions_tco2e"].sum(),
                "energy_tce": g["energy_tce"].sum(),
                "factor_ids": g["factor_ids"].agg(lambda s: sorted({i for ids in s for i in ids.split(",") if i})),
                "factor_reasons": g["factor_reason"].agg(lambda s: sorted(set(s))),
            }
        )
        out["unit"] = carriers["canonical_unit"].reindex(out.index)
        out["name_zh"] = carriers["name_zh"].reindex(out.index)
        out["scope"] = carriers["scope"].reindex(out.index).astype(int)
        return out.reset_index().sort_values("emissions_tco2e", ascending=False, kind="stable")

    def by_month(self) -> pd.DataFrame:
        """Twelve rows (month 1-12): tCO2e and tce; a month without any data is NaN (no data), not zero."""
        g = self.lines.groupby("month")[["emissions_tco2e", "energy_tce"]].sum()
        return g.reindex(range(1, 13)).astype(float).rename_axis("month").reset_index()

    def totals(self) -> dict[str, float | None]:
        """tCO2e in all, of scope 1 and of scope 2, and tce (what a stored run keeps); each None when there is no
        data (scopes are 0 when there is data but no carrier of that scope)."""
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
            "as_of": None if self.computed_at is None else self.computed_at.isoformat(),
            "run_id": self.run_id,
            "run_ids": self.run_ids,
            "has_data": self.has_data,
            **self.totals(),
            "flags": self.flags,
            "by_carrier": [
                {
                    "carrier": r.carrier,
                    "name_zh": r.name_zh,
                    "scope": r.scope,
                    "quantity_canonical": r.quantity_canonical,
                    "unit": r.unit,
                    "emissions_tco2e": r.emissions_tco2e,
                    "energy_tce": r.energy_tce,
                    "factor_ids": r.factor_ids,
                    "factor_reasons": r.factor_reasons,
                }
                for r in self.by_carrier().itertuples(index=False)
            ],
            "by_month": [
                {
                    "month": int(r.month),
                    "emissions_tco2e": _figure(r.emissions_tco2e),
                    "energy_tce": _figure(r.energy_tce),
                }
                for r in self.by_month().itertuples(index=False)
            ],
        }


def local_today() -> date:
    """Today's date in Beijing time: the accounting date on which a rule's validity (valid_from/valid_to) is read."""
    return pd.Timestamp.now(tz=LOCAL_TZ).date()


def load_factors(engine: Engine) -> pd.DataFrame:
    """The factor library as stored by ``carbon init`` (one query)."""
    with engine.connect() as conn:
        return pd.read_sql(select(Factor), conn)


def enterprise_runs(engine: Engine, basis: str = "location", gwp_set: str = "AR5") -> pd.DataFrame:
    """Every stored enterprise run of a basis and GWP set, oldest first (id, subject, year, as-of, totals, trigger);
    the totals of a run stored when the enterprise had no data left are NaN."""
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
    runs = read_frame(engine, stmt)
    runs["computed_at"] = pd.to_datetime(runs["computed_at"], utc=True)
    runs[["total_tco2e", "energy_tce"]] = runs[["total_tco2e", "energy_tce"]].astype(float)  # NaN: a run without data
    return runs


def result_lines(engine: Engine, run_ids: list[int] | None = None) -> pd.DataFrame:
    """Stored monthly result lines (run, enterprise, site (NaN: none), jurisdiction counted in, carrier, month,
    quantity, tCO2e, tce), of some runs or all."""
    stmt = select(
        EmissionResult.run_id,
        EmissionResult.enterprise_uscc,
        EmissionResult.site_id,
        EmissionResult.region_id,
        EmissionResult.carrier,
        EmissionResult.month,
        EmissionResult.quantity_canonical,
        EmissionResult.emissions_tco2e,
        EmissionResult.energy_tce,
    )
    if run_ids is not None:
        stmt = stmt.where(EmissionResult.run_id.in_(run_ids))
    return _site_ids(read_frame(engine, stmt, split_by=EmissionResult.run_id))


def _site_ids(lines: pd.DataFrame) -> pd.DataFrame:
    """``site_id`` as read (int, float with NaN, or all None) as float64 with NaN for "no site": one dtype to
    compare and group by."""
    if "site_id" in lines.columns:
        lines["site_id"] = lines["site_id"].astype("float64")
    return lines


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
    enterprises: list[str] | None = None,
) -> pd.DataFrame:
    """Current activity rows touching ``year`` for one enterprise, some enterprises or (``regions``, by default the
    zone's three) the rows that count in some jurisdictions (``current_activity``'s columns, periods parsed): each
    with ``region_id``, the jurisdiction it counts in (its meter's site's; for a meter without a site the
    enterprise's registered one), and that jurisdiction's province and grid."""
    start, end = year_bounds_utc(year)
    counts_in = line_jurisdiction()
    stmt = current_activity().where(Activity.period_end > start, Activity.period_start < end)
    if enterprise:
        stmt = stmt.where(Activity.enterprise_uscc == enterprise)
    elif enterprises is not None:
        stmt = stmt.where(Activity.enterprise_uscc.in_(enterprises))
    else:
        stmt = stmt.where(counts_in.in_(list(reference.JURISDICTIONS) if regions is None else regions))
    return _site_ids(read_periods(read_frame(engine, stmt, split_by=Activity.id)))


def current_activity(*extra: ColumnElement[Any]) -> Select:
    """The current (not superseded) activity rows: enterprise, site, ``region_id`` (the jurisdiction each counts in,
    ``line_jurisdiction``), carrier, period start and end (raw text on SQLite, datetimes on PostgreSQL:
    ``read_periods`` parses whole columns), ``quantity`` (in the carrier's canonical unit), that jurisdiction's
    province and grid, then the ``extra`` columns."""
    counts_in = line_jurisdiction()
    return (
        select(
            Activity.enterprise_uscc,
            Meter.site_id,
            counts_in.label("region_id"),
            Activity.carrier,
            type_coerce(Activity.period_start, String).label("period_start"),
            type_coerce(Activity.period_end, String).label("period_end"),
            Activity.quantity_canonical.label("quantity"),
            Region.province,
            Region.grid,
            *extra,
        )
        .join(Enterprise, Enterprise.uscc == Activity.enterprise_uscc)
        .join(Meter, Meter.id == Activity.meter_id)
        .outerjoin(Site, Site.id == Meter.site_id)
        .join(Region, Region.id == counts_in)
        .where(Activity.superseded_at.is_(None))
    )


def line_jurisdiction() -> ColumnElement[str]:
    """The jurisdiction a meter's activity counts in, as a SQL expression over ``site`` (outer-joined on the meter)
    and ``enterprise``: its site's, else the enterprise's registered one."""
    return func.coalesce(Site.region_id, Enterprise.region_id)


def read_periods(df: pd.DataFrame) -> pd.DataFrame:
    """Parse ``period_start``/``period_end`` as read from the database (text on SQLite, datetimes on PostgreSQL;
    UTC) for whole columns at once, and add their local wall-clock times."""
    for col in ("period_start", "period_end"):
        df[col] = pd.to_datetime(df[col], utc=True, format="ISO8601")
    df["start_local"] = to_local_naive(df["period_start"])
    df["end_local"] = to_local_naive(df["period_end"])
    return df


def compute(
    activity: pd.DataFrame, factors: pd.DataFrame, *, year: int, basis: str, gwp_set: str, as_of: date
) -> tuple[pd.DataFrame, list[str]]:
    """Monthly emissions per enterprise, jurisdiction counted in and carrier (``LINE_COLUMNS``) and the flags of all
    of them."""
    lines, flags = price(month_pieces(activity, year), factors, year=year, basis=basis, gwp_set=gwp_set, as_of=as_of)
    return lines, merge_flags(list(flags.values()))


def merge_flags(flag_lists: list[list[str]]) -> list[str]:
    """The flags of several enterprises as one list: each flag once, ``period_split`` counts added up;
    ``no_activity`` when there is nothing."""
    if not flag_lists:
        return ["no_activity"]
    counts = Counter(chain.from_iterable(flag_lists))  # each distinct flag once, with how many lists have it
    split = sum(n * int(f.split(":")[1]) for f, n in counts.items() if f.startswith("period_split:"))
    merged = sorted(f for f in counts if not f.startswith(("period_split:", "no_activity")))
    if not merged and not split and all("no_activity" in fs for fs in flag_lists):
        return ["no_activity"]
    return merged + ([f"period_split:{split}"] if split else [])


PIECE_CODED = ("enterprise_uscc", "region_id", "carrier", "province", "grid")  # month pieces' categorical columns


def month_pieces(activity: pd.DataFrame, year: int) -> pd.DataFrame:
    """Activity rows (as ``load_activity`` gives them) split over the local calendar months of ``year``
    (``allocate_to_months``) with the keys a line needs and the month's ``quantity``, the text keys
    (``PIECE_CODED``) as categoricals: coded once, grouped by code on every basis they are priced on."""
    needed = ["enterprise_uscc", "site_id", "region_id", "carrier", "province", "grid", "quantity"]
    pieces = allocate_to_months(activity, year, carry=needed)
    for col in PIECE_CODED:
        if not isinstance(pieces[col].dtype, pd.CategoricalDtype):
            pieces[col] = pieces[col].astype("category")
    return pieces


def price(
    pieces: pd.DataFrame, factors: pd.DataFrame, *, year: int, basis: str, gwp_set: str, as_of: date
) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Monthly lines (``LINE_COLUMNS``: one per enterprise, site, carrier and month, counted in the site's
    jurisdiction and priced at its province) of month pieces on a basis, and each enterprise's flags: those of the
    factor choices it used and ``period_split:N`` (its rows spread over more than one month).

    Lines are ordered by enterprise, site (no site last), jurisdiction, carrier and month.  The pieces are grouped
    by integer codes and summed with ``numpy.bincount``; the factor records and reasons are attached to the lines
    (a line's from its first piece) once the sums are done."""
    if pieces.empty:
        return pd.DataFrame(columns=LINE_COLUMNS), {}
    coded = {col: key_codes(pieces[col]) for col in ("enterprise_uscc", "site_id", "region_id", "carrier")}
    province, grid = key_codes(pieces["province"]), key_codes(pieces["grid"])
    carrier = coded["carrier"]
    combo, combo_rep = group_ids([province[0], grid[0], carrier[0]], [len(province[1]), len(grid[1]), len(carrier[1])])
    pairs = pd.DataFrame(
        {
            "province": province[1][province[0][combo_rep]],
            "grid": grid[1][grid[0][combo_rep]],
            "carrier": carrier[1][carrier[0][combo_rep]],
        }
    )
    choices = choice_table(factors, pairs, year=year, basis=basis, gwp_set=gwp_set, as_of=as_of)  # row i: combo i
    quantity = pieces["quantity"].to_numpy(dtype="float64")
    month = pieces["month"].to_numpy(dtype="int64")
    line, rep = group_ids([*(c for c, _ in coded.values()), month - 1], [*(len(v) for _, v in coded.values()), 12])
    n_lines = len(rep)
    line_combo = combo[rep]
    uniform = bool((combo == line_combo[line]).all())  # every piece of a line at its line's factors
    per_unit = choices[["tco2e_per_unit", "tce_per_unit"]].to_numpy(dtype="float64")
    summed = np.bincount(line, weights=quantity, minlength=n_lines)
    if uniform:  # a line's quantity times its factors
        emissions, energy = summed * per_unit[line_combo, 0], summed * per_unit[line_combo, 1]
    else:  # pieces of one line priced at different provinces: each piece at its own, the line named by its first
        first = np.full(n_lines, len(line), dtype="int64")
        np.minimum.at(first, line, np.arange(len(line)))
        line_combo = combo[first]
        emissions = np.bincount(line, weights=quantity * per_unit[combo, 0], minlength=n_lines)
        energy = np.bincount(line, weights=quantity * per_unit[combo, 1], minlength=n_lines)
    split = pieces["split"].to_numpy(dtype=bool)
    lines = pd.DataFrame(
        {
            "enterprise_uscc": _text(coded["enterprise_uscc"][1], coded["enterprise_uscc"][0][rep]),
            "site_id": coded["site_id"][1][coded["site_id"][0][rep]].astype("float64"),
            "region_id": _text(coded["region_id"][1], coded["region_id"][0][rep]),
            "carrier": _text(coded["carrier"][1], coded["carrier"][0][rep]),
            "month": month[rep],
            "quantity_canonical": summed,
            "emissions_tco2e": emissions,
            "energy_tce": energy,
            "factor_ids": _text(choices["factor_ids"].to_numpy(), line_combo),
            "factor_reason": _text(choices["reason"].to_numpy(), line_combo),
            "rows_split": np.bincount(line[split], minlength=n_lines),
        }
    )
    who, what = (coded["enterprise_uscc"][0][rep], line_combo) if uniform else (coded["enterprise_uscc"][0], combo)
    flags = _flags(pieces, coded["enterprise_uscc"], who, what, choices["flags"].to_numpy())
    return lines[LINE_COLUMNS], flags


def _text(values: np.ndarray, codes: np.ndarray) -> pd.Series:
    """``values[codes]`` as a text column (pandas ``str``), through an Arrow dictionary array: each distinct value
    converted once, none per row."""
    dictionary = pa.array(pd.Series(values, dtype=object).astype(str), type=pa.string())
    return pd.Series(
        pa.DictionaryArray.from_arrays(pa.array(codes, type=pa.int32()), dictionary).cast(pa.string()), dtype="str"
    )


def _flags(
    pieces: pd.DataFrame,
    enterprise: tuple[np.ndarray, np.ndarray],
    who: np.ndarray,
    what: np.ndarray,
    combo_flags: np.ndarray,
) -> dict[str, list[str]]:
    """Each enterprise's flags (by USCC, in order): those of the factor choices it used (``who`` used choice
    ``what``: enterprise and choice codes of lines or pieces; ``combo_flags`` each choice's) and
    ``period_split:N``, N its rows (``row`` of the pieces) that crossed a month boundary."""
    codes, values = enterprise
    _, used = group_ids([who, what], [len(values), len(combo_flags)])
    who, what = who[used], what[used]  # each enterprise and choice it used, once
    present = np.unique(who)
    if len(combo_flags) <= 63:  # the choices an enterprise used as bits: the flags of each distinct set once
        mask = np.zeros(len(values), dtype="int64")
        np.bitwise_or.at(mask, who, np.left_shift(1, what, dtype="int64"))
        sets, of = np.unique(mask[present], return_inverse=True)
        lists = [
            sorted({f for c in range(len(combo_flags)) if m >> c & 1 for f in combo_flags[c]}) for m in sets.tolist()
        ]
        found = dict(zip(present.tolist(), (lists[i] for i in of.tolist()), strict=True))
    else:
        found = {int(e): set() for e in present}
        for e, c in zip(who.tolist(), what.tolist(), strict=True):
            found[e].update(combo_flags[c])
    names = {e: str(values[e]) for e in found}
    flags = {names[e]: sorted(found[e]) for e in sorted(found, key=names.__getitem__)}
    split = pieces["split"].to_numpy(dtype=bool)
    if split.any():
        row = pieces["row"].to_numpy(dtype="int64")
        if len(row) < 2 or (row[1:] >= row[:-1]).all():  # pieces in row order: a row's first piece counts it
            first = np.concatenate([[True], row[1:] != row[:-1]])
            crossed = np.bincount(codes[split & first], minlength=len(values))
        else:
            crossed = np.bincount(
                pd.unique(row[split] * len(values) + codes[split]) % len(values), minlength=len(values)
            )
        for e in np.flatnonzero(crossed).tolist():
            flags[names[e]].append(f"period_split:{int(crossed[e])}")
    return flags


def account(
    engine: Engine,
    *,
    year: int,
    enterprise: str | None = None,
    region: str | None = None,
    basis: str = "location",
    gwp_set: str = GWP_OF_RECORD,
    as_of: date | None = None,
) -> AccountResult:
    """Compute the emissions of an enterprise (all its sites) or region (the activity that counts there: of the
    sites in it and of the meters without a site of the enterprises registered in it) for ``year`` now, from the
    stored activity and factors.  A region's flags are those of the enterprises with lines in it (each
    enterprise's flags, of all its sites), as its stored result has them.

    Nothing is stored: the stored results (``stored_result``) are kept current by ``recalc``.
    """
    now = datetime.now(UTC)
    if enterprise:
        kind, subject = "enterprise", get_enterprise(engine, enterprise).uscc
        activity = load_activity(engine, year, enterprise=subject)
    else:
        kind, subject = "region", str(region)
        parts = reference.region_ids(subject)
        activity = load_activity(engine, year, enterprises=present_enterprises(engine, parts))
    if kind == "enterprise":
        lines, flags = compute(
            activity, load_factors(engine), year=year, basis=basis, gwp_set=gwp_set, as_of=as_of or local_today()
        )
        return AccountResult(kind, subject, year, basis, gwp_set, now, lines, flags)
    lines, by_enterprise = price(
        month_pieces(activity, year),
        load_factors(engine),
        year=year,
        basis=basis,
        gwp_set=gwp_set,
        as_of=as_of or local_today(),
    )
    lines = lines.loc[lines["region_id"].isin(parts)].reset_index(drop=True)  # the lines that count in the region
    flags = merge_flags([by_enterprise[e] for e in sorted(set(lines["enterprise_uscc"]))])
    return AccountResult(kind, subject, year, basis, gwp_set, now, lines, flags)


# --- the result ledger: newest stored run per enterprise, year, basis and GWP set ------------------------------


def _newest_runs(basis: str, gwp_set: str, years: list[int] | None, enterprises: list[str] | None) -> Select:
    stmt = select(func.max(AccountingRun.id)).where(
        AccountingRun.subject_kind == "enterprise", AccountingRun.basis == basis, AccountingRun.gwp_set == gwp_set
    )
    if years is not None:
        stmt = stmt.where(AccountingRun.year.in_(years))
    if enterprises is not None:
        stmt = stmt.where(AccountingRun.subject_id.in_(enterprises))
    return stmt.group_by(AccountingRun.subject_id, AccountingRun.year)


def current_runs(
    engine: Engine,
    basis: str = "location",
    gwp_set: str = GWP_OF_RECORD,
    years: list[int] | None = None,
    enterprises: list[str] | None = None,
) -> pd.DataFrame:
    """The newest stored run of each enterprise and year (``run_id``, ``enterprise_uscc``, ``year``,
    ``computed_at`` UTC, ``flags`` list), of some years or enterprises or all."""
    stmt = select(
        AccountingRun.id.label("run_id"),
        AccountingRun.subject_id.label("enterprise_uscc"),
        AccountingRun.year,
        AccountingRun.computed_at,
        AccountingRun.flags_json,
    ).where(AccountingRun.id.in_(_newest_runs(basis, gwp_set, years, enterprises)))
    runs = read_frame(engine, stmt)
    runs["computed_at"] = pd.to_datetime(runs["computed_at"], utc=True, format="ISO8601")
    runs["flags"] = runs.pop("flags_json").map(json.loads)
    return runs


def current_lines(
    engine: Engine,
    basis: str = "location",
    gwp_set: str = GWP_OF_RECORD,
    years: list[int] | None = None,
    enterprises: list[str] | None = None,
    columns: list[str] = LINE_COLUMNS,
    regions: list[str] | None = None,
    *,
    division: bool = False,
) -> pd.DataFrame:
    """Monthly result lines (``run_id``, ``year`` and ``columns``, by default ``LINE_COLUMNS``) of the newest stored
    run of each enterprise and year: the figures every view serves; of the lines that count in ``regions``
    (jurisdictions) only, if given.  With ``division``, also the enterprise's industry division as the register has
    it now (``division``; the lines of enterprises not in the register are left out).  One query; only the newest
    runs are read (in SQL), Arrow-native (``carbon.arrow_read``)."""
    stmt = (
        select(EmissionResult.run_id, AccountingRun.year, *(getattr(EmissionResult, c) for c in columns))
        .join(AccountingRun, AccountingRun.id == EmissionResult.run_id)
        .where(EmissionResult.run_id.in_(_newest_runs(basis, gwp_set, years, enterprises)))
    )
    if division:  # joined per run (an enterprise run's lines are its subject's), not per line
        stmt = stmt.add_columns(Enterprise.division_code.label("division")).join(
            Enterprise, Enterprise.uscc == AccountingRun.subject_id
        )
    if regions is not None:
        stmt = stmt.where(EmissionResult.region_id.in_(regions))
    return _site_ids(read_frame(engine, stmt, split_by=AccountingRun.id))  # runs: the query's outer loop


def newest_as_of(engine: Engine, basis: str = "location") -> pd.Timestamp | None:
    """Time (UTC) of the newest stored enterprise result of a basis; None before any."""
    with engine.connect() as conn:
        newest = conn.execute(
            select(func.max(AccountingRun.computed_at)).where(
                AccountingRun.subject_kind == "enterprise", AccountingRun.basis == basis
            )
        ).scalar()
    return None if newest is None else pd.to_datetime(newest, utc=True, format="ISO8601")


def result_years(engine: Engine) -> list[int]:
    """Years that have stored enterprise results, oldest first."""
    with engine.connect() as conn:
        years = conn.execute(
            select(AccountingRun.year).where(AccountingRun.subject_kind == "enterprise").distinct()
        ).scalars()
        return sorted(int(y) for y in years)


def stored_result(
    engine: Engine,
    *,
    year: int,
    enterprise: str | None = None,
    region: str | None = None,
    basis: str = "location",
    gwp_set: str = GWP_OF_RECORD,
) -> AccountResult:
    """The stored figures of an enterprise (all its sites) or region (the lines that count in it, whichever
    jurisdiction their enterprise is registered in) for ``year`` (what the dashboard serves), as an
    ``AccountResult`` with the run ids and the as-of time of the newest run behind it: for a region, the runs of
    the enterprises registered in it or with a site in it, and the flags of those with lines in it."""
    parts: list[str] | None = None
    if enterprise:
        kind, subject = "enterprise", get_enterprise(engine, enterprise).uscc
        codes = [subject]
    else:
        kind, subject = "region", str(region)
        parts = reference.region_ids(subject)
        codes = present_enterprises(engine, parts)
    runs = current_runs(engine, basis, gwp_set, [year], codes)
    lines = current_lines(engine, basis, gwp_set, [year], codes, regions=parts)
    flagged = runs if kind == "enterprise" else runs.loc[runs["enterprise_uscc"].isin(lines["enterprise_uscc"])]
    computed_at = runs["computed_at"].max() if len(runs) else None
    result = AccountResult(
        kind,
        subject,
        year,
        basis,
        gwp_set,
        computed_at.to_pydatetime() if computed_at is not None else None,
        lines[LINE_COLUMNS].reset_index(drop=True),
        merge_flags(list(flagged["flags"])),
        run_id=int(runs["run_id"].iloc[0]) if kind == "enterprise" and len(runs) else None,
    )
    result.run_ids = sorted(int(i) for i in runs["run_id"])
    return result


def present_enterprises(engine: Engine, regions: list[str]) -> list[str]:
    """USCCs of the enterprises present in some jurisdictions: registered there or with a site there."""
    sited = select(Site.enterprise_uscc).where(Site.region_id.in_(regions))
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(Enterprise.uscc)
                .where(or_(Enterprise.region_id.in_(regions), Enterprise.uscc.in_(sited)))
                .order_by(Enterprise.uscc)
            ).scalars()
        )


def store_runs(engine: Engine, results: list[AccountResult], trigger: str | None = None) -> list[int]:
    """Store results as new runs with their lines, all in one transaction; returns the run ids."""
    if not results:
        return []
    runs = [
        {
            "subject_kind": r.subject_kind,
            "subject_id": r.subject_id,
            "year": r.year,
            "basis": r.basis,
            "gwp_set": r.gwp_set,
            "computed_at": r.computed_at,
            **r.totals(),
            "flags_json": json.dumps(r.flags, ensure_ascii=False),
            "trigger": trigger,
        }
        for r in results
    ]
    with engine.begin() as conn:
        ids = [
            int(i)
            for i in conn.execute(
                insert(AccountingRun).returning(AccountingRun.id, sort_by_parameter_order=True), runs
            ).scalars()
        ]
        lines = [r.lines.assign(run_id=i) for r, i in zip(results, ids, strict=True) if len(r.lines)]
        if lines:
            records = pd.concat(lines, ignore_index=True)
            site = records["site_id"].astype("float64").astype("Int64")
            records["site_id"] = site.astype(object).where(site.notna(), None)  # NULL: meters without a site
            conn.execute(insert(EmissionResult), records.to_dict("records"))
    for r, i in zip(results, ids, strict=True):
        r.run_id = i
    return ids


# --- recalculation: bring the ledger up to date -----------------------------------------------------------------

REL_TOLERANCE = 1e-12  # a recomputed line equal to the stored one within this is the same figure (float noise)


def activity_years(engine: Engine, enterprises: list[str] | None = None) -> list[int]:
    """Local calendar years touched by current activity (of some enterprises or all) or holding stored results."""
    current = Activity.superseded_at.is_(None)
    stmt = select(func.min(Activity.period_start), func.max(Activity.period_end)).where(current)
    runs = select(AccountingRun.year).where(AccountingRun.subject_kind == "enterprise").distinct()
    if enterprises is not None:
        stmt = stmt.where(Activity.enterprise_uscc.in_(enterprises))
        runs = runs.where(AccountingRun.subject_id.in_(enterprises))
    with engine.connect() as conn:
        lo, hi = conn.execute(stmt).one()
        years = {int(y) for y in conn.execute(runs).scalars()}
    if lo is not None:
        first = pd.Timestamp(lo).tz_localize("UTC") if pd.Timestamp(lo).tzinfo is None else pd.Timestamp(lo)
        last = pd.Timestamp(hi).tz_localize("UTC") if pd.Timestamp(hi).tzinfo is None else pd.Timestamp(hi)
        years |= set(
            range(first.tz_convert(LOCAL_TZ).year, (last - pd.Timedelta(seconds=1)).tz_convert(LOCAL_TZ).year + 1)
        )
    return sorted(years)


def same_lines(old: pd.DataFrame, new: pd.DataFrame) -> bool:
    """True when two sets of an enterprise's lines (``LINE_COLUMNS``) give the same figures with the same factors,
    counted in the same jurisdictions.  Pure."""
    if len(old) != len(new):
        return False
    if not len(old):
        return True
    key = LINE_KEY
    both = old.merge(new, on=key, how="outer", suffixes=("_old", "_new"), indicator=True)
    if (both["_merge"] != "both").any():
        return False
    for col in ("quantity_canonical", "emissions_tco2e", "energy_tce"):
        if not np.allclose(both[f"{col}_old"], both[f"{col}_new"], rtol=REL_TOLERANCE, atol=0):
            return False
    return bool(
        (both["factor_ids_old"] == both["factor_ids_new"]).all()
        and (both["factor_reason_old"] == both["factor_reason_new"]).all()
    )


# How ``recalc`` gets a year's figures: ``(engine, year, enterprises (None: all), factors, bases=, gwp_set=, as_of=)``
# -> (each basis's ``price`` output: lines and flags by enterprise; where the activity came from, or None).  The
# default, ``lines_of_year``, reads the database and prices the whole frame in process; ``carbon.partitioned`` runs
# the same pure functions partition by partition on Dask.
LinesOfYear = Callable[..., tuple[dict[str, tuple[pd.DataFrame, dict[str, list[str]]]], str | None]]


def lines_of_year(
    engine: Engine,
    year: int,
    enterprises: list[str] | None,
    factors: pd.DataFrame,
    *,
    bases: tuple[str, ...],
    gwp_set: str,
    as_of: date,
) -> tuple[dict[str, tuple[pd.DataFrame, dict[str, list[str]]]], str | None]:
    """Each basis's monthly lines and flags of enterprises (all if None) for ``year``, from the activity in the
    database, priced as one frame in process (``month_pieces`` then ``price``); no source named (None)."""
    rows = load_activity(engine, year, enterprises=enterprises)
    pieces = month_pieces(rows, year)
    del rows
    return {b: price(pieces, factors, year=year, basis=b, gwp_set=gwp_set, as_of=as_of) for b in bases}, None


def recalc(
    engine: Engine,
    *,
    years: list[int] | None = None,
    enterprises: list[str] | None = None,
    bases: tuple[str, ...] = BASES,
    gwp_set: str = GWP_OF_RECORD,
    trigger: str = "manual",
    compute_lines: LinesOfYear = lines_of_year,
) -> dict[str, int]:
    """Recompute enterprises (all if None) for ``years`` (all with activity or results if None) on every basis;
    store a new run wherever a figure, a factor or a flag changed (also when an enterprise has no data left for a
    year: an empty run).  Earlier runs are never overwritten.  Returns counts.

    ``compute_lines`` computes a year's lines (``LinesOfYear``); when it names where the activity came from (a
    dataset version, "database"), the stored runs' ``trigger`` says so after the reason: ``"<trigger> [data: ...]"``.
    """
    factors = load_factors(engine)
    now = datetime.now(UTC)
    stored = unchanged = 0
    for year in years if years is not None else activity_years(engine, enterprises):
        by_basis, source = compute_lines(
            engine, year, enterprises, factors, bases=bases, gwp_set=gwp_set, as_of=local_today()
        )
        run_trigger = trigger if source is None else f"{trigger} [data: {source}]"
        for basis in bases:
            lines, flags = by_basis[basis]
            runs = current_runs(engine, basis, gwp_set, [year], enterprises).set_index("enterprise_uscc")
            old = current_lines(engine, basis, gwp_set, [year], enterprises)
            old_by = dict(iter(old.groupby("enterprise_uscc")))
            new_by = dict(iter(lines.groupby("enterprise_uscc")))
            empty = pd.DataFrame(columns=LINE_COLUMNS)
            changed = []
            for uscc in sorted(set(new_by) | set(runs.index)):
                mine = new_by.get(uscc, empty).reset_index(drop=True)
                mine_flags = flags.get(uscc, ["no_activity"])
                if (
                    uscc in runs.index
                    and runs.loc[uscc, "flags"] == mine_flags
                    and same_lines(old_by.get(uscc, empty)[LINE_COLUMNS], mine)
                ):
                    unchanged += 1
                    continue
                changed.append(AccountResult("enterprise", uscc, year, basis, gwp_set, now, mine, mine_flags))
            stored += len(store_runs(engine, changed, run_trigger))
    return {"runs_stored": stored, "unchanged": unchanged}
