"""Plain-text tables for the CLI (aligned for Chinese, which is two columns wide), and number formats."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import pandas as pd


def width(text: str) -> int:
    """Display width: East Asian wide and full-width characters count twice."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def render(headers: Sequence[str], rows: Sequence[Sequence[object]], right: Sequence[int] = ()) -> str:
    """Render rows under headers; columns whose index is in ``right`` are right-aligned (numbers)."""
    cells = [[str(c) for c in headers], *[[str(c) for c in r] for r in rows]]
    widths = [max(width(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        parts = []
        for i, c in enumerate(row):
            pad = " " * (widths[i] - width(c))
            parts.append(pad + c if i in right else c + pad)
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])


def num(value: float, digits: int = 2) -> str:
    """A number with thousands separators."""
    return f"{value:,.{digits}f}"


def beijing_time(value: object) -> str:
    """A stored time (UTC, aware or naive-UTC, or ISO text) as people read it: Beijing time to the minute,
    ``2026-11-30 18:34 (北京时间)``."""
    ts = pd.Timestamp(value)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts
    return f"{ts.tz_convert('Asia/Shanghai'):%Y-%m-%d %H:%M} (北京时间)"
