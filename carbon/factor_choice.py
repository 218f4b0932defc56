"""Which factor applies to a carrier, province, data year and basis: pure functions over the factor table.

Rules (README, "Factor choice"):

- ``location`` (default): electricity (green electricity included) at the MEE/NBS average factor of the
  province for the data year; if that vintage is not published, the latest earlier one (flagged); heat at
  the national default; fuels from GB/T 32150 parameters (NCV x CC x OF x 44/12).
- ``local``: the jurisdiction's own rule where it has one in force (Shanghai: electricity, heat, green
  electricity); otherwise as ``location``.
- ``market``: green electricity at zero, other electricity at the national residual-mix factor of the vintage.

Every choice returns the ids of the records it used and flags for anything an auditor should know.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import date
from numbers import Integral

import pandas as pd

from carbon import reference
from carbon.accounting import combustion_co2_factor
from carbon.errors import FactorDataError, InputError
from carbon.limits import years
from carbon.units import conversion_factor

BASES = ("location", "local", "market")
GWP_SETS = ("SAR", "AR4", "AR5", "AR6")
YEARS = years()  # the years the system takes, from carbon/data/input_limits.csv (one range for import and view)


def check_choices(basis: str | None = None, *years: int, gwp_set: str | None = None) -> None:
    """Refuse an unknown basis, year or GWP set where it enters (a view argument, a CLI option), with the choices."""
    if basis is not None and basis not in BASES:
        raise InputError(
            f"未知的核算口径 {basis!r}：可选 {', '.join(BASES)}", f"Unknown basis {basis!r}: one of {', '.join(BASES)}",
            value=basis,
        )  # fmt: skip
    for year in years:
        if not isinstance(year, Integral) or isinstance(year, bool) or int(year) not in YEARS:
            raise InputError(
                f"年份 {year!r} 不在 {YEARS.start}–{YEARS.stop - 1} 之内",
                f"Year {year!r} is not within {YEARS.start}–{YEARS.stop - 1}",
                value=year,
            )
    if gwp_set is not None and gwp_set not in GWP_SETS:
        raise InputError(
            f"未知的GWP值集 {gwp_set!r}：可选 {', '.join(GWP_SETS)}",
            f"Unknown GWP set {gwp_set!r}: one of {', '.join(GWP_SETS)}",
            value=gwp_set,
        )


@dataclass(frozen=True)
class Choice:
    """Factors for one carrier in one province: per canonical unit of the carrier."""

    carrier: str
    province: str
    tco2e_per_unit: float
    tce_per_unit: float
    factor_ids: tuple[str, ...]
    flags: tuple[str, ...]
    reason: str


def in_force(factors: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Records whose validity period contains ``as_of`` (records without dates are always in force)."""
    start_ok = factors["valid_from"].isna() | (factors["valid_from"] <= as_of)
    end_ok = factors["valid_to"].isna() | (factors["valid_to"] >= as_of)
    return factors.loc[start_ok & end_ok]


def _select(factors: pd.DataFrame, **key: object) -> pd.DataFrame:
    mask = pd.Series(True, index=factors.index)
    for col, val in key.items():
        mask &= factors[col].isna() if val is None else factors[col] == val
    return factors.loc[mask]


def pick_vintage(candidates: pd.DataFrame, year: int) -> tuple[pd.Series, str | None]:
    """The record for data year ``year``: exact vintage, else the latest earlier, else the earliest later."""
    vint = candidates["vintage"].astype("Int64")
    exact = candidates.loc[vint == year]
    if len(exact):
        return exact.iloc[0], None
    earlier = candidates.loc[vint < year]
    if len(earlier):
        row = earlier.loc[earlier["vintage"].astype(int).idxmax()]
        return row, f"vintage_fallback:{row['carrier']}:{row['region']}:{int(row['vintage'])}->{year}"
    row = candidates.loc[candidates["vintage"].astype(int).idxmin()]
    return row, f"vintage_later_than_data:{row['carrier']}:{row['region']}:{int(row['vintage'])}->{year}"


def _one(factors: pd.DataFrame, what: str, **key: object) -> pd.Series:
    rows = _select(factors, **key)
    if len(rows) != 1:
        raise FactorDataError(
            f"因子库中{what}的记录数为{len(rows)}，应为1",
            f"Expected exactly one factor record for {what}, found {len(rows)}",
            key=key,
        )
    return rows.iloc[0]


def _electricity_row(
    factors: pd.DataFrame, province: str, grid: str, year: int, basis: str
) -> tuple[pd.Series, list[str]]:
    flags: list[str] = []
    if basis == "market":
        candidates = _select(
            factors, parameter="emission_factor", carrier="electricity", region="CN", basis="residual_mix"
        )
    else:
        candidates = pd.DataFrame()
        for region in (province, grid, "CN"):
            candidates = _select(
                factors, parameter="emission_factor", carrier="electricity", region=region, basis="location"
            )
            if len(candidates):
                if region != province:
                    flags.append(f"region_fallback:electricity:{province}->{region}")
                break
    if not len(candidates):
        raise FactorDataError(
            "缺少电力排放因子", "No electricity emission factor in the library", province=province, basis=basis
        )
    row, flag = pick_vintage(candidates, year)
    return row, [*flags, *([flag] if flag else [])]


def _grid_factor_row(
    factors: pd.DataFrame, carrier: str, province: str, grid: str, year: int, basis: str
) -> tuple[pd.Series, list[str]]:
    """Emission-factor record for electricity, green electricity or heat under ``basis``."""
    if basis == "local":
        local = _select(factors, parameter="emission_factor", carrier=carrier, region=province, basis="local")
        if len(local):
            return local.iloc[0], []
    if carrier == "green_electricity" and basis == "market":
        return _one(
            factors,
            "market green electricity",
            parameter="emission_factor",
            carrier="green_electricity",
            region="CN",
            basis="market",
        ), []
    if carrier == "heat":
        return _one(
            factors, "purchased heat", parameter="emission_factor", carrier="heat", region="CN", basis="default"
        ), []
    return _electricity_row(factors, province, grid, year, basis)


def _gwp(factors: pd.DataFrame, gas: str, gwp_set: str) -> tuple[float, str | None]:
    if gas == "CO2":
        return 1.0, None
    row = _one(factors, f"GWP {gas} {gwp_set}", parameter="gwp", gas=gas, basis=gwp_set)
    return float(row["value"]) * conversion_factor(row["unit"], "t_CO2e/t"), str(row["id"])


def _fuel_factor(factors: pd.DataFrame, carrier: str, canonical: str) -> tuple[float, list[pd.Series]]:
    """t CO2 per canonical unit from NCV x CC x OF x 44/12 (GB/T 32150)."""
    key = {"carrier": carrier, "region": "CN", "basis": "default"}
    ncv = _one(factors, f"NCV {carrier}", parameter="net_calorific_value", **key)
    cc = _one(factors, f"carbon content {carrier}", parameter="carbon_content", **key)
    of = _one(factors, f"oxidation rate {carrier}", parameter="oxidation_rate", **key)
    value = combustion_co2_factor(
        ncv["value"] * conversion_factor(ncv["unit"], f"GJ/{canonical}"),
        cc["value"] * conversion_factor(cc["unit"], "t_C/GJ"),
        of["value"] * conversion_factor(of["unit"], "dimensionless"),
    )
    return float(value), [ncv, cc, of]


def _coal_equivalent(
    factors: pd.DataFrame, physical: str, canonical: str
) -> tuple[float, pd.Series | None, str | None]:
    """tce per canonical unit: GB/T 2589 coefficient, else NCV / 29 307 kJ per kgce (flagged)."""
    rows = _select(factors, parameter="coal_equivalent", carrier=physical, region="CN", basis="default")
    if len(rows):
        row = rows.iloc[0]
        return float(row["value"] * conversion_factor(row["unit"], f"tce/{canonical}")), row, None
    ncv = _select(factors, parameter="net_calorific_value", carrier=physical, region="CN", basis="default")
    if not len(ncv):
        raise FactorDataError("缺少折标系数和低位发热量", "No coal-equivalent coefficient or NCV", carrier=physical)
    row = ncv.iloc[0]
    return float(row["value"] * conversion_factor(row["unit"], f"tce/{canonical}")), row, f"tce_from_ncv:{physical}"


def choose(
    factors: pd.DataFrame,
    *,
    carrier: str,
    province: str,
    grid: str,
    year: int,
    basis: str = "location",
    gwp_set: str = "AR5",
    as_of: date | None = None,
) -> Choice:
    """Pick the factors for one carrier in one province, data year and basis."""
    if basis not in BASES:
        raise InputError(f"未知核算口径 {basis}", f"Unknown basis {basis}; use one of {BASES}", value=basis)
    if gwp_set not in GWP_SETS:
        raise InputError(f"未知GWP版本 {gwp_set}", f"Unknown GWP set {gwp_set}; use one of {GWP_SETS}")
    flows = reference.electricity_flows()
    if carrier in flows.index:
        return _flow_choice(factors, flows.loc[carrier], carrier, province, grid, year, basis, gwp_set, as_of)
    carriers = reference.carriers()
    info = carriers.loc[carrier]
    canonical, physical = info["canonical_unit"], info["physical_carrier"]
    usable = in_force(factors, as_of or pd.Timestamp.now(tz="Asia/Shanghai").date())  # the Beijing date
    flags: list[str] = []
    if info["kind"] == "fuel":
        tco2, used = _fuel_factor(usable, carrier, canonical)
        gas = "CO2"
        reason = f"NCV x CC x OF x 44/12 ({_citation(used[0])})"
    else:
        row, flags = _grid_factor_row(usable, carrier, province, grid, year, basis)
        used = [row]
        gas = str(row["gas"])
        tco2 = float(row["value"] * conversion_factor(row["unit"], f"t_CO2/{canonical}"))
        vintage = f" {int(row['vintage'])}" if pd.notna(row["vintage"]) else ""
        reason = f"{row['basis']} {row['region']}{vintage}: {row['value']:g} {row['unit']} ({_citation(row)})"
    gwp, gwp_id = _gwp(usable, gas, gwp_set)
    tce, tce_row, tce_flag = _coal_equivalent(usable, physical, canonical)
    if tce_row is not None and tce_flag is None:
        used.append(tce_row)
    flags += [tce_flag] if tce_flag else []
    flags += [f"{r['status']}_factor:{r['id']}" for r in used if r["status"] != "verified"]
    ids = [str(r["id"]) for r in used] + ([gwp_id] if gwp_id else [])
    return Choice(carrier, province, tco2 * gwp, tce, tuple(ids), tuple(flags), reason)


def _flow_choice(
    factors: pd.DataFrame,
    rule: pd.Series,
    carrier: str,
    province: str,
    grid: str,
    year: int,
    basis: str,
    gwp_set: str,
    as_of: date | None,
) -> Choice:
    """Electricity supplied out (subtracted from purchases: net purchased electricity) or generated on site
    (not counted): the purchased-electricity choice times the flow's sign, flagged with the method used."""
    flag = f"electricity_flow:{carrier}"
    if not rule["counts_as"]:
        return Choice(carrier, province, 0.0, 0.0, (), (flag,), f"{rule['method_en']} ({rule['source']})")
    base = choose(
        factors,
        carrier=rule["counts_as"],
        province=province,
        grid=grid,
        year=year,
        basis=basis,
        gwp_set=gwp_set,
        as_of=as_of,
    )
    sign = int(rule["sign"])
    reason = f"{rule['method_en']}: {sign:+d} x ({base.reason})"
    return Choice(
        carrier,
        province,
        sign * base.tco2e_per_unit,
        sign * base.tce_per_unit,
        base.factor_ids,
        (*base.flags, flag),
        reason,
    )


def _citation(row: pd.Series) -> str:
    number = row["document_number"]
    return str(number) if isinstance(number, str) and number else str(row["document_title"])


def choice_table(
    factors: pd.DataFrame,
    pairs: pd.DataFrame,
    *,
    year: int,
    basis: str = "location",
    gwp_set: str = "AR5",
    as_of: date | None = None,
) -> pd.DataFrame:
    """Choices for every distinct (province, grid, carrier) in ``pairs``, one row each (``Choice`` fields)."""
    combos = pairs[["province", "grid", "carrier"]].drop_duplicates().itertuples(index=False)
    # the library's text columns as Python objects: each choice filters the (small) table a few dozen times, and
    # comparing object columns costs a fraction of comparing Arrow-backed ones
    factors = factors.astype({c: object for c in factors.columns if isinstance(factors[c].dtype, pd.StringDtype)})
    choices = [
        choose(
            factors,
            carrier=p.carrier,
            province=p.province,
            grid=p.grid,
            year=year,
            basis=basis,
            gwp_set=gwp_set,
            as_of=as_of,
        )
        for p in combos
    ]
    table = pd.DataFrame([asdict(c) for c in choices], columns=[f.name for f in fields(Choice)])
    table["factor_ids"] = table["factor_ids"].map(",".join)
    return table
