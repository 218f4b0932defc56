"""Limits on what is read and stored, checked before any work is done.

Counts and dates are data, ``carbon/data/input_limits.csv`` (each a ``project_default`` with its reasoning); the
length of a stored text is the length of its column in ``carbon.models``, never repeated here.
"""

from __future__ import annotations

from datetime import UTC
from functools import cache
from typing import Any

import pandas as pd

from carbon.errors import InputError, RowIssue
from carbon.reference import read_data


@cache
def _table() -> pd.DataFrame:
    return read_data("input_limits.csv").set_index("name")


def limit(name: str) -> int:
    """A count limit of ``input_limits.csv`` (``max_cell_chars``, ``max_cells_per_file`` ...)."""
    return int(_table().loc[name, "value"])


def time_limits() -> tuple[pd.Timestamp, pd.Timestamp]:
    """The earliest and latest time a reading, period or statistic may have (UTC, latest exclusive)."""
    table = _table()
    return (
        pd.Timestamp(table.loc["earliest_time", "value"], tz=UTC),
        pd.Timestamp(table.loc["latest_time", "value"], tz=UTC),
    )


def years() -> range:
    """The years the system takes, everywhere (a statistic imported, an inventory, progress, coverage or
    reconciliation asked for): from the year of ``earliest_time`` to the year before ``latest_time``."""
    earliest, latest = time_limits()
    return range(earliest.year, latest.year)


def max_length(column: Any) -> int:
    """The stored length of a text column of ``carbon.models`` (e.g. ``Meter.meter_code`` -> 64)."""
    return int(column.expression.type.length)


def check_length(value: str, column: Any, label_zh: str, label_en: str, **context: Any) -> str:
    """``value`` if it fits the column (or ``max_cell_chars`` for a column without a length), else ``InputError``
    naming the value's start, its length and the limit."""
    most = column.expression.type.length or limit("max_cell_chars")
    if len(value) <= most:
        return value
    shown = value[:40] + "…"
    raise InputError(
        f"{label_zh}“{shown}”有 {len(value)} 个字符，超过上限 {most}；请缩短后重试",
        f"{label_en} “{shown}” has {len(value)} characters, more than the limit of {most}; shorten it and try again",
        value=shown,
        **context,
    )


def long_cells(row: int, cells: dict[str, object], code: str) -> list[RowIssue]:
    """A refusal for each of a row's ``cells`` (column -> value) longer than ``max_cell_chars``, quoting its first 40
    characters, so that nothing later (pint, a parser) reads a huge cell.  Pure."""
    n = limit("max_cell_chars")
    return [
        RowIssue(
            row,
            column,
            str(value)[:40] + "…",
            f"超过 {n} 个字符（max_cell_chars），请缩短",
            f"longer than {n} characters (max_cell_chars); shorten it",
            code=code,
        )
        for column, value in cells.items()
        if len(str(value)) > n
    ]
