"""LMDI-I additive decomposition of a change in emissions (Ang 2005): activity, structure, intensity, fuel mix and
emission factor.  C = Σ_ij Q · (Q_i/Q) · (E_i/Q_i) · (E_ij/E_i) · (C_ij/E_ij); each effect is
Σ_ij L(C_ij^T, C_ij^0) · ln(x^T/x^0) with the logarithmic mean L(a, b) = (a − b)/(ln a − ln b); the five effects add
up exactly to C^T − C^0.  Zeros are replaced by ``EPSILON`` (Ang & Liu 2007), so a sector or fuel that appears or
disappears is still accounted for.  Pure functions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select

from carbon import reference
from carbon.analytics.cube import enterprise_results
from carbon.errors import InputError
from carbon.models import Enterprise
from carbon.stats import current_stats

EPSILON = 1e-20
EFFECTS = ("activity", "structure", "intensity", "fuel_mix", "emission_factor")


def log_mean(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The logarithmic mean L(a, b), with L(a, a) = a."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (a - b) / (np.log(a) - np.log(b))
    return np.where(np.isclose(a, b, rtol=1e-12, atol=0), a, out)


def _factors(cells: pd.DataFrame, output: pd.Series) -> pd.DataFrame:
    """Per (sector, carrier): C, and the five factors whose product is C."""
    c = cells["tco2e"].clip(lower=0) + EPSILON
    e = cells["tce"].clip(lower=0) + EPSILON
    e_sector = e.groupby(level="sector").transform("sum")
    q_sector = output.reindex(cells.index.get_level_values("sector")).to_numpy() + EPSILON
    q = output.sum() + EPSILON
    return pd.DataFrame(
        {
            "c": c,
            "activity": q,
            "structure": q_sector / q,
            "intensity": e_sector / q_sector,
            "fuel_mix": e / e_sector,
            "emission_factor": c / e,
        },
        index=cells.index,
    )


def lmdi(cells0: pd.DataFrame, output0: pd.Series, cells1: pd.DataFrame, output1: pd.Series) -> dict[str, float]:
    """Effects (tCO2e) explaining C1 − C0.

    ``cells``: indexed by (sector, carrier) with ``tco2e`` and ``tce``; ``output``: output (e.g. value added,
    10^4 CNY) by sector.  Returns the five effects and ``total``; they add up to ``total``.
    """
    index = cells0.index.union(cells1.index)
    sectors = output0.index.union(output1.index)
    f0 = _factors(cells0.reindex(index, fill_value=0.0), output0.reindex(sectors, fill_value=0.0))
    f1 = _factors(cells1.reindex(index, fill_value=0.0), output1.reindex(sectors, fill_value=0.0))
    weight = log_mean(f1["c"].to_numpy(), f0["c"].to_numpy())
    out = {name: float(np.sum(weight * np.log(f1[name].to_numpy() / f0[name].to_numpy()))) for name in EFFECTS}
    out["total"] = float(f1["c"].sum() - f0["c"].sum())
    return out


def decompose_region(engine: Engine, region: str, year0: int, year1: int, basis: str = "location") -> dict[str, float]:
    """LMDI effects for a region between two years; output per sector is its enterprises' value added."""
    with engine.connect() as conn:
        ents = pd.read_sql(select(Enterprise.uscc, Enterprise.division_code), conn)
    ents["sector"] = ents["division_code"].map(reference.industry_divisions()["sector"])
    sector_of = ents.set_index("uscc")["sector"]
    res = enterprise_results(engine, basis, years=[year0, year1])
    res = res.loc[res["region"].isin(reference.region_ids(region))]
    parts = []
    for year in (year0, year1):
        lines = res.loc[res["year"] == year]
        cells = lines.groupby(["sector", "carrier"])[["emissions_tco2e", "energy_tce"]].sum()
        va = current_stats(engine, "value_added", year)
        va = va.loc[va["subject_id"].isin(lines["enterprise_uscc"].unique())]
        if va.empty:
            raise InputError(
                f"{year}年没有企业增加值，无法分解",
                f"No enterprise value added for {year}: import it with carbon stats import",
                value=year,
            )
        output = va.assign(sector=va["subject_id"].map(sector_of)).groupby("sector")["value_wan_cny"].sum()
        parts.append((cells.rename(columns={"emissions_tco2e": "tco2e", "energy_tce": "tce"}), output))
    return lmdi(parts[0][0], parts[0][1], parts[1][0], parts[1][1])
