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
from carbon.errors import InputError
from carbon.units import parse_unit

HEAD_ROWS = 30  # the header must be within the first rows
TOTAL_WORDS = frozenset(  # summary lines: never readings
    {"合计", "总计", "小计", "合 计", "总 计", "total", "totals", "sum", "grand total"}
    | {"最大值", "最小值", "平均值", "平均", "最大", "最小", "max", "min", "avg", "average", "mean"}
)
_UNIT_IN_HEADER = re.compile(r"^(.*?)\s*[(\[]\s*([^()\[\]]+?)\s*[)\]]\s*$")
_CARRIER_WORDS = {"电": "electricity", "有功": "electricity", "气": "natural_gas", "热": "heat", "油": "diesel"}


@cache
def _columns() -> pd.DataFrame:
    with resources.files("carbon").joinpath("data/ingest_columns.csv").open(encoding="utf-8") as f:
        return pd.read_csv(f, dtype=str, keep_default_na=False)


@cache
def aliases() -> dict[str, str]:
    """Lower-case header name -> field."""
    return {a.strip().lower(): r.field for r in _columns().itertuples(index=False) for a in r.aliases.split("|")}


@cache
def template_names() -> dict[str, str]:
    """Field -> its first header name (the template's Chinese one: ``period_end`` -> ``结束时间``): how a report
    names a column the file does not have (an interval's end inferred from its time labels)."""
    return {r.field: r.aliases.split("|")[0].strip() for r in _columns().itertuples(index=False)}


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
    """A carrier named inside a header (a flow word first: 上网电量 is electricity supplied out, 光伏发电量
    on-site generation; then full names, then 电/气/热/油); True if it was assumed (油)."""
    if (flow := flow_in_words(name)) is not None:
        return flow, False
    carriers = reference.carriers()
    for cid, zh in sorted(carriers["name_zh"].items(), key=lambda kv: -len(kv[1])):
        if zh in name:
            return str(cid), False
    for word, cid in _CARRIER_WORDS.items():
        if word in name:
            return cid, word == "油"
    return None, False


# Words in a column name that say which way the energy flows (checked before any carrier word).
FLOW_WORDS = (
    ("electricity_exported", ("上网", "外供", "反向", "送出", "售电", "余电", "export", "feed-in", "feed in")),
    ("electricity_generated", ("发电", "光伏", "自发", "generat", "pv ")),
)
REGISTER_WORDS = ("示数", "示值", "表码", "读数", "底数", "止码", "起码", "register", "meter reading")
POWER_WORDS = ("负荷", "功率", "需量", "load", "power", "demand")
REACTIVE_WORDS = ("无功", "reactive", "kvar")
CURVE_POINTS = (24, 48, 96)
_POINT = re.compile(r"^(?:(p|e|point|点|第)\s*)?(\d{1,2})\s*点?$", re.IGNORECASE)
_CLOCK = re.compile(r"^(\d{1,2})[:：](\d{2})(?::00)?$")
_CLOCK_RANGE = re.compile(r"^(\d{1,2})[:：](\d{2})\s*[-~—–至]\s*(\d{1,2})[:：](\d{2})$")
_TITLE_UNITS = (  # where a title line states the unit: 单位：kWh, unit: kWh, (kWh)
    re.compile(r"(?:单位|unit)\s*[:：]\s*([^\s)）,，;；]+)", re.I),
    re.compile(r"[(（]\s*([^()（）]+?)\s*[)）]"),
)
SUB_HEADERS = ("上次", "本次", "上期", "本期", "上月", "本月", "起", "止")


def flow_in_words(name: str) -> str | None:
    """``electricity_exported`` or ``electricity_generated`` when a column name says so, else None."""
    low = f"{name.lower()} "
    for flow, words in FLOW_WORDS:
        if any(w in low for w in words):
            return flow
    return None


def dimension_of(unit: str) -> str:
    """``energy``, ``volume``, ``mass``, ``power``, ``reactive`` or ``other`` for a unit string."""
    try:
        dim = parse_unit(unit).dimensionality
    except ValueError:
        return "other"
    kinds = {"kWh": "energy", "m3": "volume", "t": "mass", "kW": "power", "kvarh": "reactive", "var": "reactive"}
    return next((k for u, k in kinds.items() if parse_unit(u).dimensionality == dim), "other")


def is_power(name: str, unit: str) -> bool:
    """A column of power (kW, 负荷, 需量), not energy."""
    return dimension_of(unit) == "power" or (not unit and any(w in name.lower() for w in POWER_WORDS))


def is_reactive(name: str, unit: str) -> bool:
    """A column of reactive energy (无功, kvarh): never electricity use."""
    return dimension_of(unit) == "reactive" or any(w in name.lower() for w in REACTIVE_WORDS)


@dataclass(frozen=True)
class Curve:
    """The point columns of a day curve: column -> (start, end) minutes after midnight, and how they look."""

    points: dict[int, tuple[int, int]]
    label: str
    prefix: str

    @property
    def minutes(self) -> int:
        return 1440 // len(self.points)


def point_labels(names: dict[int, str]) -> list[int]:
    """Columns whose names look like the points of a day curve (p1, e12, 00:15, 00:00-00:15)."""
    patterns = (_POINT, _CLOCK, _CLOCK_RANGE)
    return [c for c, raw in names.items() if any(p.match(unicodedata.normalize("NFKC", raw).strip()) for p in patterns)]


def curve_columns(names: dict[int, str]) -> Curve | None:
    """The 96/48/24 point columns of a day curve (``p1…p96``, ``e1…e96``, ``00:15…24:00``, ``0:00…23:45``,
    ``00:00-00:15``), or None.  Point k covers [(k-1)·step, k·step); clock labels ending at 24:00 are ends."""
    numbered: dict[int, tuple[str, int]] = {}
    clocks: dict[int, int] = {}
    ranges: dict[int, tuple[int, int]] = {}
    for c, raw in names.items():
        text = unicodedata.normalize("NFKC", raw).strip()
        if m := _POINT.match(text):
            numbered[c] = ((m.group(1) or "").lower(), int(m.group(2)))
        elif m := _CLOCK.match(text):
            clocks[c] = int(m.group(1)) * 60 + int(m.group(2))
        elif m := _CLOCK_RANGE.match(text):
            ranges[c] = (int(m.group(1)) * 60 + int(m.group(2)), int(m.group(3)) * 60 + int(m.group(4)))
    for n in CURVE_POINTS:
        step = 1440 // n
        if len(numbered) >= n and sorted(k for _, k in numbered.values()) == list(range(1, n + 1)):
            prefixes = {p for p, _ in numbered.values()}
            if len(prefixes) == 1:
                points = {c: ((k - 1) * step, k * step) for c, (_, k) in numbered.items()}
                first, last = min(points), max(points)
                prefix = prefixes.pop()
                return Curve(points, f"{names[first]}…{names[last]}", prefix)
        if len(clocks) == n:
            cols = sorted(clocks)
            mins = [clocks[c] for c in cols]
            if mins[0] == step and mins[-1] == 0:  # 00:15 … 23:45, 00:00: the last is the day's end
                mins[-1] = 1440
            if sorted(mins) == list(range(step, 1441, step)):
                points = {c: (m - step, m) for c, m in zip(cols, mins, strict=True)}
            elif sorted(mins) == list(range(0, 1440, step)):
                points = {c: (m, m + step) for c, m in zip(cols, mins, strict=True)}
            else:
                continue
            return Curve(points, f"{names[cols[0]]}…{names[cols[-1]]}", "clock")
        if len(ranges) == n and sorted(ranges.values()) == [(m, m + step) for m in range(0, 1440, step)]:
            cols = sorted(ranges)
            return Curve(dict(ranges), f"{names[cols[0]]}…{names[cols[-1]]}", "clock")
    return None


@dataclass
class Header:
    """Where the header is and what each column (by position) holds.

    ``rows`` is 2 for a header whose groups are merged over sub-headers (抄表日期 over 上次/本次), combined
    into one name per column; ``title`` is the text above the header and ``title_unit`` a unit it states
    (``日电量曲线（单位：kWh）``); ``curve`` the point columns of a day curve.
    """

    row: int
    names: dict[int, str]
    fields: dict[int, str]
    units: dict[int, str] = field(default_factory=dict)
    carriers: dict[int, tuple[str, bool]] = field(default_factory=dict)
    units_row: int | None = None
    rows: int = 1
    title: str = ""
    title_unit: str = ""
    curve: Curve | None = None
    decimal_comma: bool = False

    @property
    def data_start(self) -> int:
        return (self.units_row or self.row + self.rows - 1) + 1

    @property
    def score(self) -> int:
        return len(set(self.fields.values()) - {"info"}) + (2 if self.curve else 0)

    def column(self, name: str) -> int | None:
        """Position of the column holding field ``name``."""
        return next((c for c, f in self.fields.items() if f == name), None)

    def columns(self, name: str) -> list[int]:
        """Positions of every column holding field ``name``."""
        return [c for c, f in self.fields.items() if f == name]

    def identity(self) -> int | None:
        """The column that names the meter: meter id (计量点编号, 表号), else account (户号), else asset number."""
        return next((c for f in ("meter_id", "account", "asset") if (c := self.column(f)) is not None), None)

    def unit_of(self, col: int) -> str:
        """A column's unit: from its header, the units line, else the title line."""
        return self.units.get(col) or self.title_unit


def _read_header(cells: pd.DataFrame, row: int, names: dict[int, str] | None = None, rows: int = 1) -> Header:
    known = aliases()
    names = names or {int(c): str(v).strip() for c, v in cells.loc[row].items()}
    header = Header(row=row, names=names, fields={}, rows=rows)
    header.curve = curve_columns(names)
    for c, text in names.items():
        if header.curve and c in header.curve.points:
            continue
        base, unit = split_unit(text)
        if unit:
            header.units[c] = unit
        f = known.get(base) or known.get(unicodedata.normalize("NFKC", text).strip().lower())
        if f is None and base and any(w in base for w in REGISTER_WORDS):  # 电表示数, 正向有功示值: cumulative
            f = "register"
        if f is None and base:  # "用电量" style names: a quantity word with a carrier word
            f = "quantity" if any(base.endswith(w) for w in ("用量", "量", "quantity", "consumption")) else None
        if f is None:
            continue
        header.fields[c] = f
        carrier, assumed = carrier_in_words(base) if f in ("quantity", "register") else (None, False)
        if carrier:
            header.carriers[c] = (carrier, assumed)
    return header


def _is_text_label(value: str) -> bool:
    """A short label, not a number or a date: what a sub-header looks like."""
    v = value.strip()
    return bool(v) and len(v) <= 20 and not re.search(r"\d", v)


def _combined(cells: pd.DataFrame, row: int) -> tuple[dict[int, str], bool] | None:
    """Names of a header merged over two rows (groups over sub-headers), and whether it surely is one (the
    utilities' 上次/本次 words, or a label under a blank, merged header cell); None if the next row does not
    look like sub-headers."""
    below = row + 1
    if below not in cells.index:
        return None
    top = [str(v).strip() for v in cells.loc[row]]
    sub = [str(v).strip() for v in cells.loc[below]]
    sure = any(sum(x in SUB_HEADERS for x in line) >= 2 for line in (top, sub))
    merged = any(not t and s and _is_text_label(s) for t, s in zip(top, sub, strict=True))
    if not sure and not (merged and all(_is_text_label(x) for x in sub if x)):
        return None
    names, group = {}, ""
    for c, (t, s) in enumerate(zip(top, sub, strict=True)):
        group = t or group  # a merged cell is blank after its first column
        if not s:
            names[c], group = t, t
        elif any(s.startswith(w) for w in SUB_HEADERS) or not group:
            names[c] = s + group
        elif any(group.startswith(w) for w in SUB_HEADERS):
            names[c] = group + s
        else:  # 用电量(kWh) over 车间A / 车间B: the sub-header names the column, the group gives its unit
            unit = split_unit(group)[1]
            names[c] = f"{s}({unit})" if unit else group + s
    return names, sure or merged


def find_header(cells: pd.DataFrame) -> Header | None:
    """The first row within ``HEAD_ROWS`` naming the most known fields (at least two, or a time column).

    A header merged over two rows (抄表日期 over 上次/本次) is combined into one.  Raises ``InputError`` for a
    two-row header it cannot combine, rather than reading half of it.
    """
    best: Header | None = None
    for row in cells.index[:HEAD_ROWS]:
        candidates = [_read_header(cells, row)]
        if (merged := _combined(cells, row)) is not None:
            two = _read_header(cells, row, merged[0], rows=2)
            candidates = [two] if merged[1] and two.score >= candidates[0].score - 1 else [*candidates, two]
        for h in candidates:
            if best is None or h.score > best.score:
                best = h
    if best is None or (not best.fields and not best.curve):
        return None
    if best.score < 2 and "timestamp" not in best.fields.values():
        return None
    top = {int(c): str(v).strip() for c, v in cells.loc[best.row].items()}
    unread = [  # names made from a group and a sub-header that mean nothing to us
        n for c, n in best.names.items() if c not in best.fields and not best.units.get(c) and n.strip() != top[c]
    ]
    if (best.rows == 1 and (merged := _combined(cells, best.row)) is not None and merged[1]) or (
        best.rows == 2 and unread
    ):
        raise InputError(
            f"表头占两行（第{best.row}行的分组下有第{best.row + 1}行的“上次/本次”等子标题），无法合并成可识别的列名；"
            "请改成一行表头，如 上次抄表日期、本次抄表日期、上次示数、本次示数",
            f"The header spans two rows (groups in row {best.row} over sub-headers such as 上次/本次 in row "
            f"{best.row + 1}) that do not combine into known column names; use one header row, e.g. 上次抄表日期, "
            "本次抄表日期, 上次示数, 本次示数",
            row=best.row,
        )
    best.title = " ".join(str(v).strip() for r in cells.index if r < best.row for v in cells.loc[r] if str(v).strip())
    title = unicodedata.normalize("NFKC", best.title)
    found = (m.group(1) for pattern in _TITLE_UNITS for m in pattern.finditer(title))
    best.title_unit = next((u for u in found if is_unit(u)), "")
    _read_units_row(cells, best)
    if (pair := ambiguous_columns(best)) is not None:
        raise _ambiguous(best, *pair)
    return best


MANY_COLUMNS = ("info", "note", "register", "timestamp")  # fields a file may give in several columns


def _same(name: str) -> str:
    return unicodedata.normalize("NFKC", name).strip().lower()


def ambiguous_columns(header: Header) -> tuple[int, int] | None:
    """Two columns a file gives for one thing, of which we would silently read one: the same name twice (a field,
    or a meter of a wide file), or two known names of one field (``用量`` and ``quantity``, ``用量`` and
    ``用量(MWh)``, ``用量(kWh)`` and ``quantity [MWh]``) naming the same carrier or none, whatever their units.
    Their positions, or None."""
    known = aliases()
    read = sorted(c for c in header.names if header.names[c].strip() and (c in header.fields or header.units.get(c)))
    for i, a in enumerate(read):
        for b in read[i + 1 :]:
            if {header.fields.get(a), header.fields.get(b)} & set(MANY_COLUMNS):
                continue
            if _same(header.names[a]) == _same(header.names[b]):
                return a, b
            field = known.get(split_unit(header.names[a])[0])
            twins = field is not None and field == known.get(split_unit(header.names[b])[0])
            if twins and header.carriers.get(a) == header.carriers.get(b):  # 用电量(kWh), 用气量(m3): two carriers
                return a, b
    return None


def refuse_repeated(header: Header, fields: tuple[str, ...]) -> None:
    """Refuse a header with two columns of one of ``fields`` that its shape reads from one column only (the
    template's 用量 beside 用电量（万千瓦时）), naming both: the second is never silently dropped."""
    for f in fields:
        if f not in MANY_COLUMNS and len(found := header.columns(f)) > 1:
            raise _ambiguous(header, found[0], found[1])


def _ambiguous(header: Header, a: int, b: int) -> InputError:
    """The refusal of a header with two columns for one thing, naming both."""
    first, second = header.names[a], header.names[b]
    what = header.fields.get(a) or first
    return InputError(
        f"表头第{a + 1}列“{first}”和第{b + 1}列“{second}”都表示“{what}”，无法判断该读哪一列，未入库；"
        "请只保留其中一列（删去另一列），或把它们改成不同的名称（如不同的表号）",
        f"Columns {a + 1} ({first}) and {b + 1} ({second}) of the header both give {what}; we cannot tell which to "
        "read and nothing was stored: keep one of them (delete the other), or give them different names (e.g. "
        "different meter ids)",
        row=header.row,
        column=f"{first}, {second}",
    )


def _read_units_row(cells: pd.DataFrame, header: Header) -> None:
    """A line right under the header whose non-empty cells are all units gives each column's unit."""
    nxt = header.row + header.rows
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
