"""Vectorised parsing of cell text: numbers as people type them, and local dates and times.

The fast path handles plain values for whole columns at once; only cells it cannot read go through the
slower forms (full-width digits, thousands separators, trailing units, 20240131, 2024年1月31日, Excel serials).
"""

from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd

LOCAL_TZ = "Asia/Shanghai"
_NUMBER = r"^\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*(.*?)\s*$"
_TZ_SUFFIX = r"(?:Z|[+-]\d{2}:?\d{2})$"
EXCEL_EPOCH = pd.Timestamp("1899-12-30")
EXCEL_SERIAL_RANGE = (20_000, 80_000)  # 1954-10-03 .. 2119-01-10: what a date column can plausibly hold


def _nfkc(text: pd.Series) -> pd.Series:
    return text.map(lambda s: unicodedata.normalize("NFKC", s))


def parse_numbers(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Numbers and any unit text written after them (``'1,234.5 kWh'`` -> 1234.5, ``'kWh'``); NaN if none."""
    values = pd.to_numeric(text, errors="coerce").astype("float64")
    inline = pd.Series("", index=text.index, dtype=object)
    hard = values.isna() & (text.str.strip() != "")
    if hard.any():
        clean = _nfkc(text[hard]).str.replace(",", "", regex=False).str.replace(" ", "", regex=False)
        parts = clean.str.extract(_NUMBER)
        values[hard] = pd.to_numeric(parts[0], errors="coerce")
        inline[hard] = parts[1].fillna("")
    return values, inline


def _localise(parsed: pd.Series) -> pd.Series:
    if parsed.dt.tz is None:
        parsed = parsed.dt.tz_localize(LOCAL_TZ, nonexistent="NaT", ambiguous="NaT")
    return parsed.dt.tz_convert("UTC")


def _slow_times(text: pd.Series) -> pd.Series:
    """The forms the fast path does not take; NaT where nothing fits."""
    s = _nfkc(text).str.strip()
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[us, UTC]")
    with_tz = s.str.contains(_TZ_SUFFIX, regex=True)
    if with_tz.any():
        out[with_tz] = pd.to_datetime(s[with_tz], format="ISO8601", utc=True, errors="coerce")
    rest = s[~with_tz]
    chinese = (
        rest.str.replace(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?", r"\1-\2-\3 ", regex=True)
        .str.replace(r"(\d{1,2})时(\d{1,2})分?", r"\1:\2", regex=True)
        .str.replace(r"(\d{1,2})时$", r"\1:00", regex=True)
        .str.replace(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})", r"\1-\2-\3", regex=True)
        .str.replace(r"^(\d{4})(\d{2})(\d{2})(?=$|[ T])", r"\1-\2-\3", regex=True)
        .str.replace(r"^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?$", r"\1-\2-\3 \4:\5", regex=True)
        .str.replace("/", "-", regex=False)
        .str.replace(r"\s+", " ", regex=True)
        .str.strip()
    )
    parsed = _localise(pd.to_datetime(chinese, format="ISO8601", errors="coerce"))
    serial = pd.to_numeric(rest, errors="coerce")
    is_serial = parsed.isna() & serial.between(*EXCEL_SERIAL_RANGE)
    if is_serial.any():
        days = serial[is_serial].to_numpy()
        stamps = EXCEL_EPOCH + pd.to_timedelta(np.round(days * 86400), unit="s")
        parsed[is_serial] = _localise(pd.Series(stamps, index=serial[is_serial].index))
    out[~with_tz] = parsed
    return out


def parse_times(text: pd.Series) -> pd.Series:
    """Local (Asia/Shanghai) date/time text to UTC timestamps; NaT where unreadable or empty."""
    dashed = text.str.replace("/", "-", regex=False)
    try:
        fast = pd.to_datetime(dashed, format="ISO8601", errors="coerce")
    except ValueError:  # some cells carry a UTC offset and some do not: the slow path takes them apart
        fast = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    fast = fast.dt.tz_convert("UTC") if fast.dt.tz is not None else _localise(fast)
    fast = fast.astype("datetime64[us, UTC]")
    hard = fast.isna() & (text.str.strip() != "")
    if hard.any():
        fast[hard] = _slow_times(text[hard])
    return fast
