"""Cell suppression for jurisdiction staff: sector totals that would let a viewer work out another jurisdiction's
single enterprises are not shown.

Method (ESSnet, Hundepool et al., *Handbook on Statistical Disclosure Control* v1.2, 2010, ch. 4, magnitude tables),
applied against what the viewer already knows: a viewer sees the enterprises of its own jurisdiction one by one,
so it can subtract them from any cell.  Only the *hidden part* of a cell (its enterprises the viewer cannot see)
is protected.

- **One pattern for every basis**: emissions differ by basis while energy does not, so a viewer who compared the
  cells shown on two bases could combine them.  The rules below are applied to the emissions on every basis and the
  energy together, and every basis shows the same suppressed cells.
- **Primary suppression**: a cell is sensitive when its hidden part has 1 to ``min_hidden - 1`` enterprises
  (threshold rule) or when the ``n`` largest hidden enterprises make up more than ``k`` of the hidden part's
  emissions on some basis or energy ((n,k) dominance rule).  Values: ``carbon/data/analytics_parameters.csv`` (project
  defaults).
- **Complementary suppression**: the cells form a table, jurisdiction × sector, whose margins are published (each
  jurisdiction's total on its overview, the zone's sector split and total).  While a suppressed cell's value still
  follows exactly from the published figures (a linear-algebra test over all the table's equations, not only
  "one suppressed cell in a row"), the smallest other cell with a hidden part in its row or column is suppressed
  too (the smallest by energy, the same on every basis).

A jurisdiction's own total is always published (``carbon.access``: staff see every jurisdiction's totals); a
jurisdiction with one or two enterprises in all is therefore not protected by this module.

Pure functions over pandas frames.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ZONE = "zone"
KEYS = ("enterprise_uscc", "region", "sector")
SIZE = "energy_tce"  # orders the complementary candidates: the same on every basis, so every basis gets one pattern


def cells(contributions: pd.DataFrame, visible_regions: list[str], n: int) -> pd.DataFrame:
    """The jurisdiction × sector table and its zone row, with what the viewer cannot see in each cell.

    ``contributions``: one row per enterprise (``enterprise_uscc``, ``region``, ``sector``) and its magnitudes, every
    other column (``energy_tce`` and the emissions on each basis that will be shown).  Returns one row per
    (``region``, ``sector``), ``region`` ``zone`` for the sector margins: the magnitudes, ``enterprises``,
    ``hidden`` (enterprises the viewer cannot see), and per magnitude ``hidden_<m>`` (the hidden part) and
    ``top_<m>`` (its ``n`` largest contributions)."""
    magnitudes = [c for c in contributions.columns if c not in KEYS]
    c = contributions.assign(hidden=~contributions["region"].isin(visible_regions))
    for m in magnitudes:
        c[f"hidden_{m}"] = c[m].where(c["hidden"], 0.0)

    def table(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
        g = frame.groupby(keys)
        out = g[magnitudes].sum(min_count=1)
        out["enterprises"] = g["enterprise_uscc"].nunique()
        out["hidden"] = g["hidden"].sum().astype(int)
        for m in magnitudes:
            out[f"hidden_{m}"] = g[f"hidden_{m}"].sum()
            top = frame.loc[frame["hidden"]].groupby(keys)[m].apply(lambda s: s.nlargest(n).sum())
            out[f"top_{m}"] = top.reindex(out.index).fillna(0.0)
        return out

    inner = table(c, ["region", "sector"])
    margin = table(c.assign(region=ZONE), ["region", "sector"])
    return pd.concat([inner, margin])


def primary(table: pd.DataFrame, min_hidden: int, k: float) -> pd.Series:
    """Sensitive cells: a hidden part of 1 to ``min_hidden - 1`` enterprises, or dominated by its ``n`` largest
    hidden contributions (more than ``k`` of the hidden part, in any magnitude)."""
    few = (table["hidden"] >= 1) & (table["hidden"] < min_hidden)
    dominated = pd.Series(False, index=table.index)
    for m in [c[len("hidden_") :] for c in table.columns if c.startswith("hidden_")]:
        part = table[f"hidden_{m}"].abs()
        dominated |= (part > 0) & (table[f"top_{m}"].abs() > k * part)
    return few | dominated


def recoverable(table: pd.DataFrame, suppressed: pd.Series) -> pd.Series:
    """Suppressed cells the viewer cannot compute whose value still follows exactly from what is published.

    The published equations: each jurisdiction's cells add up to its total, the zone row's cells add up to the zone
    total, and each sector's jurisdiction cells add up to its zone cell.  Restricted to the unknowns (suppressed
    cells with a hidden part), a cell is recoverable when its unit vector lies in the span of those equations."""
    unknown = suppressed & (table["hidden"] > 0)
    names = list(table.index[unknown])
    out = pd.Series(False, index=table.index)
    if not names:
        return out
    col = {name: i for i, name in enumerate(names)}
    rows = []
    for region in table.index.get_level_values("region").unique():
        rows.append({col[n]: 1.0 for n in names if n[0] == region})
    for sector in table.index.get_level_values("sector").unique():
        rows.append({col[n]: (-1.0 if n[0] == ZONE else 1.0) for n in names if n[1] == sector})
    a = np.zeros((len(rows), len(names)))
    for i, r in enumerate(rows):
        for j, v in r.items():
            a[i, j] = v
    rank = np.linalg.matrix_rank(a)
    for name, j in col.items():
        e = np.zeros((1, len(names)))
        e[0, j] = 1.0
        out[name] = np.linalg.matrix_rank(np.vstack([a, e])) == rank
    return out


def complementary(table: pd.DataFrame, suppressed: pd.Series) -> pd.Series:
    """Add suppressions until no suppressed cell can be recovered from what is published (``recoverable``): for a
    recoverable cell, the smallest cell of its row or column that has a hidden part and is still shown is suppressed
    too.  A cell stays recoverable only when its row and column have no such cell left (see the module note)."""
    suppressed = suppressed.copy()
    unknown = table["hidden"] > 0
    regions = table.index.get_level_values("region")
    sectors = table.index.get_level_values("sector")
    while True:
        exposed = recoverable(table, suppressed)
        added = False
        for region, sector in table.index[exposed]:
            near = unknown & ~suppressed & ((regions == region) | (sectors == sector))
            if near.any():
                suppressed[table.loc[near, SIZE].abs().idxmin()] = True
                added = True
                break
        if not added:
            return suppressed


def suppression(contributions: pd.DataFrame, visible_regions: list[str], params: pd.Series) -> pd.DataFrame:
    """``cells`` with a ``suppressed`` column (primary and complementary) for a viewer who sees the enterprises of
    ``visible_regions`` one by one.  ``params``: the ``disclosure_*`` analytics parameters."""
    table = cells(contributions, visible_regions, int(params["disclosure_dominance_n"]))
    first = primary(table, int(params["disclosure_min_hidden_enterprises"]), float(params["disclosure_dominance_k"]))
    return table.assign(suppressed=complementary(table, first))
