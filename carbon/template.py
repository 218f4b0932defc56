"""The bureau's upload template: read a CSV/XLSX file and turn it into validated activity rows.

One row per meter and period; columns in Chinese or English (see README, "Upload template").  Parsing
is vectorised over columns; every refused cell becomes a ``RowIssue`` naming row, column and value.
"""

from __future__ import annotations

import io
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pint

from carbon import reference
from carbon.accounting import LOCAL_TZ
from carbon.errors import InputError, RowIssue
from carbon.units import conversion_factor

COLUMNS = {
    "meter_id": ("表号", "meter_id"),
    "carrier": ("能源品种", "carrier"),
    "period_start": ("开始时间", "period_start"),
    "period_end": ("结束时间", "period_end"),
    "quantity": ("用量", "quantity"),
    "unit": ("单位", "unit"),
}
MAX_XLSX_EXPANSION = 100  # refuse an xlsx whose parts expand more than this (zip bomb)


@dataclass
class ParsedFile:
    """Rows that passed every check (``rows``) and the problems found (``issues``)."""

    rows: pd.DataFrame
    issues: list[RowIssue]
    rows_read: int


def _check_xlsx(data: bytes, name: str) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
    except zipfile.BadZipFile as exc:
        raise InputError("文件不是有效的XLSX文件", "The file is not a valid XLSX workbook", file=name) from exc
    if sum(i.file_size for i in infos) > MAX_XLSX_EXPANSION * len(data):
        raise InputError(
            f"XLSX文件解压后膨胀超过{MAX_XLSX_EXPANSION}倍，疑似压缩炸弹，已拒绝；请另存为普通XLSX或CSV",
            f"The XLSX expands more than {MAX_XLSX_EXPANSION}x when unpacked (zip bomb?); "
            "save it again as a plain XLSX or CSV",
            file=name,
        )


def read_table(path: Path) -> pd.DataFrame:
    """Read the file's cells as text; index = the row number the user sees (header is row 1)."""
    data = path.read_bytes()
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        _check_xlsx(data, path.name)
        df = pd.read_excel(io.BytesIO(data), dtype=str, header=0, engine="openpyxl")
    elif suffix in (".csv", ".txt"):
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise InputError(
                "无法识别文件编码，请另存为UTF-8", "Cannot decode the file; save it as UTF-8", file=path.name
            )
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skip_blank_lines=False)
    else:
        raise InputError(
            f"不支持的文件类型 {suffix}，请上传CSV或XLSX",
            f"Unsupported file type {suffix}; upload CSV or XLSX",
            file=path.name,
        )
    df = df.fillna("").astype(str)
    df.index = pd.RangeIndex(2, len(df) + 2)
    return df


def map_columns(df: pd.DataFrame, file: str) -> pd.DataFrame:
    """Rename template headers (Chinese or English, any order) to canonical names; refuse missing ones."""
    lookup = {alias.lower(): canon for canon, aliases in COLUMNS.items() for alias in aliases}
    renamed = {c: lookup[str(c).strip().lower()] for c in df.columns if str(c).strip().lower() in lookup}
    missing = [c for c in COLUMNS if c not in renamed.values()]
    if missing:
        wanted = "、".join(f"{COLUMNS[c][0]}({COLUMNS[c][1]})" for c in missing)
        raise InputError(
            f"缺少必填列：{wanted}；表头须为：表号、能源品种、开始时间、结束时间、用量、单位",
            f"Missing required column(s): {wanted}; the header must hold meter_id, carrier, period_start, "
            "period_end, quantity, unit (Chinese or English)",
            file=file,
        )
    return df.rename(columns=renamed)[list(COLUMNS)]


def parse_numbers(text: pd.Series) -> pd.Series:
    """Numbers as people type them (full-width digits, thousands separators) to float; NaN if not a number."""
    clean = text.map(lambda s: unicodedata.normalize("NFKC", s)).str.replace(",", "", regex=False)
    return pd.to_numeric(clean.str.strip(), errors="coerce")


def parse_local_times(text: pd.Series) -> pd.Series:
    """Local (Asia/Shanghai) date or date-time text to UTC timestamps; NaT where unreadable."""
    clean = text.map(lambda s: unicodedata.normalize("NFKC", s)).str.strip().str.replace("/", "-")
    parsed = pd.to_datetime(clean, format="ISO8601", errors="coerce")
    if parsed.dt.tz is None:
        parsed = parsed.dt.tz_localize(LOCAL_TZ)
    return parsed.dt.tz_convert("UTC")


class _Issues:
    """Collects row issues from boolean masks over the frame."""

    def __init__(self, df: pd.DataFrame) -> None:
        self.df = df
        self.items: list[RowIssue] = []
        self.bad = pd.Series(False, index=df.index)

    def add(self, mask: pd.Series, column: str, zh: str, en: str, code: str) -> None:
        for row, value in self.df.loc[mask, column].items():
            self.items.append(RowIssue(int(row), column, value, zh, en, code=code))
        self.bad |= mask


def _unit_factors(frame: pd.DataFrame) -> pd.Series:
    """Multiplier to the carrier's canonical unit for each row; NaN (unknown unit) or -inf (wrong dimension)."""
    canon = reference.carriers()["canonical_unit"]
    out = pd.Series(np.nan, index=frame.index)
    for (carrier, unit), idx in frame.groupby(["carrier_id", "unit"]).groups.items():
        try:
            out[idx] = conversion_factor(unit, canon[carrier])
        except pint.errors.DimensionalityError:
            out[idx] = -np.inf
        except (pint.errors.PintError, ValueError, AttributeError, TypeError, AssertionError):
            pass
    return out


def parse_template(df: pd.DataFrame, file: str, now: datetime | None = None) -> ParsedFile:
    """Validate template rows; return the good ones in canonical units and an issue per refused cell."""
    raw = map_columns(df, file)
    raw = raw.loc[~(raw.apply(lambda c: c.str.strip()) == "").all(axis=1)]
    raw = raw.apply(lambda c: c.str.strip())
    issues = _Issues(raw)
    carriers = reference.carriers()
    frame = pd.DataFrame(index=raw.index)
    frame["meter_code"] = raw["meter_id"]
    frame["carrier_id"] = raw["carrier"].str.lower().map(reference.carrier_lookup())
    frame["unit"] = raw["unit"]
    frame["quantity"] = parse_numbers(raw["quantity"])
    frame["period_start"] = parse_local_times(raw["period_start"])
    frame["period_end"] = parse_local_times(raw["period_end"])
    accepted = "、".join(carriers["name_zh"])

    issues.add(
        raw["meter_id"] == "",
        "meter_id",
        "表号为空，请填写计量表编号",
        "meter_id is empty; fill in the meter id",
        "missing",
    )
    issues.add(
        frame["carrier_id"].isna(),
        "carrier",
        f"未知能源品种，可填：{accepted}",
        f"Unknown carrier; accepted: {', '.join(carriers.index)}",
        "unknown_carrier",
    )
    for col in ("period_start", "period_end"):
        issues.add(
            frame[col].isna(),
            col,
            "无法识别的时间，请写成 2024-01-31 或 2024-01-31 08:00",
            "Unreadable date; write it as 2024-01-31 or 2024-01-31 08:00",
            "bad_time",
        )
    issues.add(
        frame["quantity"].isna(),
        "quantity",
        "用量不是数字，请填写数值（单位写在“单位”列）",
        "quantity is not a number; give a number and put the unit in the unit column",
        "not_a_number",
    )
    issues.add(
        frame["quantity"] < 0,
        "quantity",
        "用量为负数，请核对（用量不能为负）",
        "Negative quantity; consumption cannot be negative",
        "negative",
    )
    known = frame["carrier_id"].notna()
    frame["to_canonical"] = _unit_factors(frame.loc[known]).reindex(frame.index)
    issues.add(
        raw["unit"] == "",
        "unit",
        "单位为空，请填写单位（如 kWh、m3、t、GJ）",
        "unit is empty; give the unit (e.g. kWh, m3, t, GJ)",
        "missing",
    )
    checked = known & (raw["unit"] != "")
    issues.add(
        checked & frame["to_canonical"].isna(),
        "unit",
        "无法识别的单位，可用如 kWh、度、万kWh、MWh、m3、万m3、t、吨、kg、GJ",
        "Unknown unit; use e.g. kWh, 度, 万kWh, MWh, m3, 万m3, t, 吨, kg, GJ",
        "unknown_unit",
    )
    wrong_dim = checked & np.isneginf(frame["to_canonical"].fillna(0))
    for cid in frame.loc[wrong_dim, "carrier_id"].unique():
        name, canonical = carriers.loc[cid, "name_zh"], carriers.loc[cid, "canonical_unit"]
        issues.add(
            wrong_dim & (frame["carrier_id"] == cid),
            "unit",
            f"单位不适用于{name}：须用可换算为 {canonical} 的单位",
            f"The unit does not fit {cid}: use a unit convertible to {canonical}",
            "wrong_dimension",
        )
    ok_time = frame["period_start"].notna() & frame["period_end"].notna()
    issues.add(
        ok_time & (frame["period_end"] <= frame["period_start"]),
        "period_end",
        "结束时间不晚于开始时间，请核对（结束时间不含当日，如1月为 2024-01-01 至 2024-02-01）",
        "period_end is not after period_start (the end is exclusive: January is 2024-01-01 to 2024-02-01)",
        "end_before_start",
    )
    now_utc = pd.Timestamp(now or datetime.now(UTC))
    issues.add(
        ok_time & (frame["period_end"] > now_utc),
        "period_end",
        "结束时间在未来，只能上报已结束的时段",
        "period_end is in the future; report finished periods only",
        "future",
    )

    good = frame.loc[~issues.bad].copy()
    good["quantity_canonical"] = good["quantity"] * good["to_canonical"]
    good["source_row"] = good.index.astype(int)
    rows = good.rename(columns={"carrier_id": "carrier", "quantity": "quantity_original", "unit": "unit_original"})
    rows = rows[
        [
            "meter_code",
            "carrier",
            "period_start",
            "period_end",
            "quantity_canonical",
            "quantity_original",
            "unit_original",
            "source_row",
        ]
    ]
    return ParsedFile(
        rows=rows.reset_index(drop=True), issues=sorted(issues.items, key=lambda i: i.row), rows_read=len(raw)
    )
