"""Find the header row of a sheet and what each column holds.

Header names (Chinese or English) come from ``carbon/data/ingest_columns.csv``.  A unit may sit in the header
(``用量(kWh)``, ``用电量（万千瓦时）``, ``quantity [MWh]``) or in a units line right under it; a carrier may be
named by a header word (电/气/热/油 or a full carrier name).  Title lines above the header are skipped.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

import pandas as pd

from carbon import reference
from carbon.units import parse_unit

HEAD_ROWS = 30  # the header must be within the first rows
TOTAL_WORDS = frozenset({"合计", "总计", "小计", "合 计", "总 计", "total", "totals", "sum", "grand total"})
_UNIT_IN_HEADER = re.compile(r"^(.*?)\s*[(\[]\s*([^()\[\]]+?)\s*[)\]]\s*$")
_CARRIER_WORDS = {"电": "electricity", "气": "natural_gas", "热": "heat", "油": "diesel"}


@cache
def aliases() -> dict[str, str]:
    """Lower-case header name -> field."""
    with resources.files("carbon").joinpath("data/ingest_columns.csv").open(encoding="utf-8") as f:
        table = pd.read_csv(f, dtype=str, keep_default_na=False)
    return {a.strip().lower(): r.field for r in table.itertuples(index=False) for a in r.aliases.split("|")}


def split_unit(text: str) -> tuple[str, str]:
    """``'用量(kWh)'`` -> (``'用量'``, ``'kWh'``): the normalised name and the unit; no unit -> (name, '')."""
    t = unicodedata.normalize("NFKC", str(text)).strip()
    m = _UNIT_IN_HEADER.match(t)
    if m and is_unit(m.group(2)):
        return m.group(1).strip().lower(), m.group(2)
    return t.lower(), ""


def is_unit(text: str) -> bool:
    """True if the text parses as a unit of the registry (and is not a plain number)."""
    t = str(text).strip()
    if not t or t.replace(".", "", 1).isdigit():
        return False
    try:
        parse_unit(t)
    except ValueError:
        return False
    return True


def carrier_in_words(name: str) -> tuple[str | None, bool]:
    """A carrier named inside a header (full names first, then 电/气/热/油); True if it was assumed (油)."""
    carriers = reference.carriers()
    for cid, zh in sorted(carriers["name_zh"].items(), key=lambda kv: -len(kv[1])):
        if zh in name:
            return str(cid), False
    for word, cid in _CARRIER_WORDS.items():
        if word in name:
            return cid, word == "油"
    return None, False


@dataclass
class Header:
    """Where the header is and what each column (by position) holds."""

    row: int
    names: dict[int, str]
    fields: dict[int, str]
    units: dict[int, str] = field(default_factory=dict)
    carriers: dict[int, tuple[str, bool]] = field(default_factory=dict)
    units_row: int | None = None

    @property
    def data_start(self) -> int:
        return (self.units_row or self.row) + 1

    def column(self, name: str) -> int | None:
        """Position of the column holding field ``name``."""
        return next((c for c, f in self.fields.items() if f == name), None)


def _read_header(cells: pd.DataFrame, row: int) -> Header:
    known = aliases()
    names = {int(c): str(v).strip() for c, v in cells.loc[row].items()}
    header = Header(row=row, names=names, fields={})
    for c, text in names.items():
        base, unit = split_unit(text)
        f = known.get(base)
        if f is None and base:  # "用电量" style names: a quantity word with a carrier word
            f = "quantity" if any(base.endswith(w) for w in ("用量", "量", "quantity", "consumption")) else None
        if f is None:
            continue
        header.fields[c] = f
        if unit:
            header.units[c] = unit
        carrier, assumed = carrier_in_words(base) if f == "quantity" else (None, False)
        if carrier:
            header.carriers[c] = (carrier, assumed)
    return header


def find_header(cells: pd.DataFrame) -> Header | None:
    """The first row within ``HEAD_ROWS`` naming the most known fields (at least two, or a time column)."""
    best: Header | None = None
    for row in cells.index[:HEAD_ROWS]:
        h = _read_header(cells, row)
        score = len(set(h.fields.values()))
        if best is None or score > len(set(best.fields.values())):
            best = h
    if best is None or not best.fields:
        return None
    if len(set(best.fields.values())) < 2 and "timestamp" not in best.fields.values():
        return None
    _read_units_row(cells, best)
    return best


def _read_units_row(cells: pd.DataFrame, header: Header) -> None:
    """A line right under the header whose non-empty cells are all units gives each column's unit."""
    nxt = header.row + 1
    if nxt not in cells.index:
        return
    values = {int(c): str(v).strip().strip("()（）[]") for c, v in cells.loc[nxt].items() if str(v).strip()}
    if values and all(is_unit(v) for v in values.values()):
        header.units_row = nxt
        for c, u in values.items():
            header.units.setdefault(c, u)


def is_total_row(cells: pd.DataFrame) -> pd.Series:
    """True for lines that are totals (合计, 总计, Total, ...) in one of their first three cells."""
    first = cells.iloc[:, : min(3, cells.shape[1])]
    return first.apply(lambda c: c.str.strip().str.lower().isin(TOTAL_WORDS)).any(axis=1)
