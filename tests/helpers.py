"""Small builders shared by tests: valid USCCs, template files, and figures summed as real data sum them."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from carbon.cli import main
from carbon.uscc import check_character

HEADER_ZH = "表号,能源品种,开始时间,结束时间,用量,单位"
HEADER_EN = "meter_id,carrier,period_start,period_end,quantity,unit"


def uscc(serial: int, admin: str = "310118") -> str:
    """A valid unified social credit code."""
    first17 = f"91{admin}{serial:08d}0"
    return first17 + check_character(first17)


def write_template(path: Path, rows: list[str], header: str = HEADER_ZH, bom: bool = True) -> Path:
    """Write a template CSV (UTF-8, with BOM by default) with the given data lines."""
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8-sig" if bom else "utf-8")
    return path


def monthly_lines(total: str, shift: int = 0, step: str = "0.1", months: int = 12) -> list[str]:
    """A year's monthly amounts as decimal strings, ``step`` apart around the mean (``shift`` turns the pattern), that
    add up to ``total`` exactly in decimal."""
    mean = (Decimal(total) / months).quantize(Decimal("0.1"))
    first = [mean + Decimal(step) * ((m + shift) % 3 - 1) for m in range(months - 1)]
    return [str(x) for x in [*first, Decimal(total) - sum(first)]]


def float_sum(parts: list[str] | tuple[str, ...]) -> float:
    """Decimal strings summed as floats in a pandas column, as stored figures are summed."""
    return float(pd.Series([float(p) for p in parts]).sum())


def decimal_sum(parts: list[str] | tuple[str, ...]) -> Decimal:
    """Decimal strings summed exactly."""
    return sum((Decimal(p) for p in parts), Decimal(0))


def carbon(db_url: str, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    """Run ``carbon --db URL ARGS`` through the real entry point (exit codes included); (code, stdout, stderr)."""
    with CliRunner().isolation(input=stdin) as (out, err, _):
        try:
            main(["--db", db_url, *args])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return code, out.getvalue().decode(), err.getvalue().decode()
