"""Small builders shared by tests: valid USCCs and template files."""

from __future__ import annotations

from pathlib import Path

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
