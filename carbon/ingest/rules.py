"""Validation rules: severities, messages and thresholds live in ``carbon/data/validation_rules.csv``.

``Issues`` collects ``RowIssue`` objects from boolean masks over a frame indexed by user-visible row
number; a rule's severity decides whether its rows are refused (``error``) or kept and reported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from carbon.errors import RowIssue

SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True)
class Rule:
    """One validation rule as data."""

    code: str
    severity: str
    column: str
    param: float | None
    message_zh: str
    message_en: str


@cache
def rules() -> dict[str, Rule]:
    """All rules by code."""
    with resources.files("carbon").joinpath("data/validation_rules.csv").open(encoding="utf-8") as f:
        table = pd.read_csv(f, dtype=str, keep_default_na=False)
    return {
        r.code: Rule(r.code, r.severity, r.column, float(r.param) if r.param else None, r.message_zh, r.message_en)
        for r in table.itertuples(index=False)
    }


def param(code: str) -> float:
    """The numeric parameter (threshold) of a rule."""
    value = rules()[code].param
    if value is None:
        raise KeyError(f"rule {code} has no parameter")
    return value


def _aligned(series: pd.Series, index: pd.Index) -> Callable[[int, int], Any]:
    """A getter by position when ``series`` shares the mask's index (which may repeat), else by row label."""
    if series.index.equals(index):
        values = series.to_numpy()
        return lambda pos, _row: values[pos]

    def by_label(_pos: int, row: int) -> Any:
        v = series.get(row, "")
        return v.iloc[0] if isinstance(v, pd.Series) else v

    return by_label


class Issues:
    """Row issues of one file; ``refused`` holds the rows with at least one error."""

    def __init__(self) -> None:
        self.items: list[RowIssue] = []
        self.refused: set[int] = set()

    def add(
        self,
        mask: pd.Series,
        code: str,
        values: pd.Series | Callable[[], pd.Series],
        column: str | None = None,
        **fmt: Any,
    ) -> None:
        """Record ``code`` for every row where ``mask`` is True.

        ``values`` (the cell text to show) and ``fmt`` values may be Series or callables returning them; they are
        only evaluated when some row is hit, so checks on clean data cost nothing but the mask.
        """
        mask = mask.astype("boolean").fillna(False).astype(bool)
        if not mask.any():
            return
        rule = rules()[code]
        col = column or rule.column
        positions = np.flatnonzero(mask.to_numpy())
        hit = mask.index[positions]
        values = values() if callable(values) else values
        fmt = {k: v() if callable(v) else v for k, v in fmt.items()}
        per_row = {k: _aligned(v, mask.index) for k, v in fmt.items() if isinstance(v, pd.Series)}
        fixed = {k: v for k, v in fmt.items() if not isinstance(v, pd.Series)}
        shown = _aligned(values, mask.index)
        for pos, row in zip(positions, hit, strict=True):
            args = {**fixed, **{k: get(pos, row) for k, get in per_row.items()}}
            self.items.append(
                RowIssue(
                    int(row),
                    col,
                    shown(pos, row),
                    rule.message_zh.format(**args),
                    rule.message_en.format(**args),
                    severity=rule.severity,
                    code=code,
                )
            )
        if rule.severity == "error":
            self.refused.update(int(r) for r in hit)

    def ok(self, index: pd.Index) -> pd.Series:
        """True for rows of ``index`` without an error so far."""
        return pd.Series(~index.isin(list(self.refused)), index=index)

    def of(self, severity: str) -> list[RowIssue]:
        return sorted((i for i in self.items if i.severity == severity), key=lambda i: (i.row, i.column))
