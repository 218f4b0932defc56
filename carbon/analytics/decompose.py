"""LMDI-I additive decomposition of a change in emissions (Ang 2005): activity, structure, intensity, fuel mix and
emission factor, with zero values handled by their analytical limits (Ang & Liu 2007).  Pure functions.

Identity, per sector i and carrier j: C_ij = Q · (Q_i/Q) · (E_i/Q_i) · (E_ij/E_i) · (C_ij/E_ij), the factors
activity, structure, intensity, fuel mix and emission factor.  Each is a ratio of consecutive links of the chain
Q → Q_i → E_i → E_ij → C_ij (output, sector output, sector energy, cell energy, cell emissions).  For a cell
positive in both years each effect is L(C_ij^T, C_ij^0) · ln(x^T/x^0), with the logarithmic mean
L(a, b) = (a − b)/(ln a − ln b); the five terms of a cell add up to L · ln(C^T/C^0) = C^T − C^0, so the effects add
up exactly to the change.

Zero values (a sector or carrier that appears or disappears, a sector without output) follow the analytical limits
of the LMDI terms (Ang, Zhang & Choi 1998, Table 2; Wood & Lenzen 2006; generalised by Ang & Liu 2007), not a small
value put in place of zero (that shifts the split by several per cent and depends on the units of the input):

- A cell that appears (C^0 = 0 < C^T) contributes exactly C^T: as x^0 → 0, L(C^T, C^0) · ln(x^T/x^0) → C^T for the
  factor x that is zero in year 0, and L · ln(x^T/x^0) → 0 for a factor positive in both years.  A cell that
  disappears contributes exactly −C^0 to the factor that is zero in year T.  A cell zero in both years contributes 0.
- Which factor is zero: the first zero link of the chain (e.g. Q_i^0 = 0: structure, a new sector; E_ij^0 = 0 in a
  sector that used energy: fuel mix, a new carrier; C_ij^0 = 0 with E_ij^0 > 0: emission factor, e.g. electricity
  at a zero factor).  The factors after it are 0/0, not zero: a new sector has no intensity, fuel mix or emission
  factor in year 0.  They are taken as unchanged (no effect).  This is the limit of the small-value strategy when
  every zero in the data goes to zero together (the 0/0 ratios are then δ/δ = 1), and it keeps the sum exact,
  which the 1998 table does not when two factors of a cell are zero at once (each would receive C^T).  Because the
  factors are nested shares, only one factor of a cell is ever zero in a year; the others are 0/0.  So a whole new
  sector goes entirely to structure, a new carrier in an existing sector entirely to fuel mix.
- A zero link followed by a positive one in the same year (a sector with energy but no output, a carrier with
  emissions but no energy) makes one factor 0 and the next infinite; their terms have no limit (one tends to +∞, the
  other to −∞).  The two factors are then merged for that cell in both years, and the merged term (e.g.
  L · ln((E_i/Q)^T/(E_i/Q)^0) for zero sector output) is booked to the later one: intensity for a sector without
  output, emission factor for emissions without energy (activity and structure merge into intensity likewise
  when all output is zero).  The merged ratio is finite, so the rules above apply to it.

Negative values count as zero.  No constant is added anywhere: scaling all emissions by k scales every effect by k;
scaling energy or output leaves the effects unchanged.

References: B.W. Ang (2005), The LMDI approach to decomposition analysis: a practical guide, Energy Policy 33:
867–871.  B.W. Ang, N. Liu (2007), Handling zero values in the logarithmic mean Divisia index decomposition
approach, Energy Policy 35: 238–246.  R. Wood, M. Lenzen (2006), Zero-value problems of the logarithmic mean Divisia
index decomposition method, Energy Policy 34: 1326–1331.  B.W. Ang, F.Q. Zhang, K.-H. Choi (1998), Factorizing
changes in energy and environmental indicators through decomposition, Energy 23: 489–495.
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

EFFECTS = ("activity", "structure", "intensity", "fuel_mix", "emission_factor")


def log_mean(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The logarithmic mean L(a, b) of positive a and b, with L(a, a) = a (``log1p`` keeps it accurate for a ≈ b)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (a - b) / np.log1p((a - b) / b)
    return np.where(np.isclose(a, b, rtol=1e-12, atol=0), a, out)


def _chain(cells: pd.DataFrame, output: pd.Series) -> np.ndarray:
    """Per (sector, carrier) the links 1, Q, Q_i, E_i, E_ij, C_ij: factor k (``EFFECTS[k]``) is link k+1 over link k."""
    c = cells["emissions_tco2e"].fillna(0.0).clip(lower=0).to_numpy(dtype=float)
    e = cells["energy_tce"].fillna(0.0).clip(lower=0)
    e_sector = e.groupby(level="sector").transform("sum").to_numpy(dtype=float)
    output = output.fillna(0.0).clip(lower=0)
    q_sector = output.reindex(cells.index.get_level_values("sector"), fill_value=0.0).to_numpy(dtype=float)
    n = len(cells)
    return np.column_stack([np.ones(n), np.full(n, float(output.sum())), q_sector, e_sector, e.to_numpy(float), c])


def _merged(links: np.ndarray) -> np.ndarray:
    """Per cell and link 1..4 (Q..E_ij): whether the link is zero while a later one is positive (no limit there)."""
    positive = links[:, 1:] > 0
    later = np.flip(np.logical_or.accumulate(np.flip(positive[:, 1:], axis=1), axis=1), axis=1)
    return ~positive[:, :-1] & later


def _cell_effects(n0: np.ndarray, n1: np.ndarray) -> np.ndarray:
    """Per cell and factor, the effect (tCO2e); each row adds up to C^T − C^0."""
    merged = _merged(n0) | _merged(n1)  # factor k merged with k+1 (both years)
    cells, k_max = len(n0), len(EFFECTS)
    start = np.zeros((cells, k_max), dtype=int)  # first factor of the group holding factor k
    for k in range(1, k_max):
        start[:, k] = np.where(merged[:, k - 1], start[:, k - 1], k)
    ends = np.column_stack([~merged, np.ones(cells, dtype=bool)])  # factor k ends its group: it gets the term
    rows = np.arange(cells)
    num0, num1 = n0[:, 1:], n1[:, 1:]  # numerator link of factor k
    den0, den1 = n0[rows[:, None], start], n1[rows[:, None], start]  # denominator link of k's group
    c0, c1 = n0[:, -1], n1[:, -1]
    out = np.zeros((cells, k_max))

    both = (c0 > 0) & (c1 > 0)  # every group ratio is positive and finite in both years
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = np.log((num1 / den1) / (num0 / den0))  # finite where ``ends`` in a cell positive both years
    weight = log_mean(c1[both], c0[both])[:, None]
    out[both] = weight * np.where(ends[both], log_ratio[both], 0.0)

    for gone, numerator, value in ((c0 == 0) & (c1 > 0), num0, c1), ((c0 > 0) & (c1 == 0), num1, -c0):
        # the first group whose ratio is zero that year: its denominator is positive, the groups after it are 0/0
        first = np.argmax(ends[gone] & (numerator[gone] == 0), axis=1)
        out[np.flatnonzero(gone), first] = value[gone]
    return out


def lmdi(cells0: pd.DataFrame, output0: pd.Series, cells1: pd.DataFrame, output1: pd.Series) -> dict[str, float]:
    """Effects (tCO2e) explaining C1 − C0.

    ``cells``: indexed by (sector, carrier) with ``emissions_tco2e`` and ``energy_tce``; ``output``: output (e.g.
    value added, 10^4 CNY) by sector.  Returns the five effects and ``total``; they add up to ``total``.  Zero
    values: see the module docstring.
    """
    index = cells0.index.union(cells1.index)
    sectors = output0.index.union(output1.index)
    n0 = _chain(cells0.reindex(index, fill_value=0.0), output0.reindex(sectors, fill_value=0.0))
    n1 = _chain(cells1.reindex(index, fill_value=0.0), output1.reindex(sectors, fill_value=0.0))
    effects = _cell_effects(n0, n1)
    out = {name: float(effects[:, k].sum()) for k, name in enumerate(EFFECTS)}
    out["total"] = float(n1[:, -1].sum() - n0[:, -1].sum())
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
        output = va.assign(sector=va["subject_id"].map(sector_of)).groupby("sector")["value_10k_cny"].sum()
        parts.append((cells, output))
    return lmdi(parts[0][0], parts[0][1], parts[1][0], parts[1][1])
