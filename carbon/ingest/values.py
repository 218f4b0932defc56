"""Vectorised parsing of cell text: numbers as people type them, and local dates and times.

The fast path handles plain values for whole columns at once; only cells it cannot read go through the
slower forms (full-width digits, thousands separators, trailing units, 20240131, 2024年1月31日, Excel serials).
"""

from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd

from carbon.units import finite_numbers

LOCAL_TZ = "Asia/Shanghai"
_TZ_SUFFIX = r"(?:Z|[+-]\d{2}:?\d{2})$"
_END_OF_DAY = r"[ T]24(?::00){1,2}$|[ T]24时$"
EXCEL_EPOCH = pd.Timestamp("1899-12-30")
EXCEL_SERIAL_RANGE = (20_000, 80_000)  # 1954-10-03 .. 2119-01-10: what a date column can plausibly hold


def _nfkc(text: pd.Series) -> pd.Series:
    return text.map(lambda s: unicodedata.normalize("NFKC", s))


# A number as written: sign, digits with "," or "." separators, an exponent, then any unit text.
_TOKEN = r"^\s*([-+]?(?:\d[\d,.]*|[.,]\d+)(?:[eE][-+]?\d+)?)\s*(.*?)\s*$"
_POINT_FORMS = r"^[-+]?(?:\d+(?:\.\d*)?|\.\d+|\d{1,3}(?:,\d{3})+(?:\.\d*)?)(?:[eE][-+]?\d+)?$"
_COMMA_FORMS = r"^[-+]?(?:\d+(?:,\d*)?|,\d+|\d{1,3}(?:\.\d{3})+(?:,\d*)?)$"
# Evidence of a file's convention: a comma decimal (987,25  1,05  1.234,5) or a point decimal (20.63  1,234.5).
_COMMA_DECIMAL = r"^[-+]?(?:\d+,(?:\d{1,2}|\d{4,})|\d{1,3}(?:\.\d{3})+,\d+)$"
_POINT_DECIMAL = r"^[-+]?(?:\d+\.(?:\d{1,2}|\d{4,})|\d{1,3}(?:,\d{3})+\.\d+)$"
_NUMERIC_CELL = r"^\s*[-+]?[\d.,]+\s*[^\d\s]{0,6}\s*$"


def decimal_comma_file(cells: pd.DataFrame) -> bool:
    """True if the file writes numbers with a decimal comma throughout (``1.234,5``, ``987,25``).

    Decided once per file from its numeric cells: at least one cell can only be a decimal comma and none can
    only be a decimal point.  A file with evidence of both keeps the decimal point, and its ambiguous cells
    (``987,25``) are refused by ``ambiguous_numbers``.
    """

    def tokens(sep: str) -> pd.Series:
        parts = [cells[c].loc[cells[c].str.contains(sep, regex=False)] for c in cells.columns]
        text = pd.Series(pd.unique(pd.concat(parts).to_numpy()), dtype=object).astype(str)
        return _nfkc(text.loc[text.str.match(_NUMERIC_CELL)]).str.extract(_TOKEN)[0].fillna("")

    if not any(cells[c].str.contains(",", regex=False).any() for c in cells.columns):
        return False  # no comma, no decimal comma
    return bool(tokens(",").str.match(_COMMA_DECIMAL).any() and not tokens(".").str.match(_POINT_DECIMAL).any())


def ambiguous_numbers(text: pd.Series, decimal_comma: bool = False) -> pd.Series:
    """True for cells whose separators do not fit the file's convention (``987,25`` or ``1,05`` with a decimal
    point; ``1.5`` with a decimal comma): they could be read two ways and are never guessed.

    Works by position, so the index may repeat."""
    out = np.zeros(len(text), dtype=bool)
    has_sep = (text.str.contains(r"[.,]", regex=True) & text.str.contains(r"\d", regex=True)).to_numpy()
    if has_sep.any():
        token = _nfkc(text[has_sep]).str.replace(" ", "", regex=False).str.extract(_TOKEN)[0]
        forms = _COMMA_FORMS if decimal_comma else _POINT_FORMS
        out[has_sep] = (token.notna() & ~token.fillna("").str.match(forms)).to_numpy()
    return pd.Series(out, index=text.index)


def parse_numbers(text: pd.Series, decimal_comma: bool = False) -> tuple[pd.Series, pd.Series]:
    """Numbers and any unit text written after them (``'1,234.5 kWh'`` -> 1234.5, ``'kWh'``); NaN if none.

    Thousands separators are taken only in groups of three (``1,234``); with ``decimal_comma`` the roles of
    "," and "." swap (``1.234,5`` -> 1234.5).  A cell whose separators fit neither is NaN (see
    ``ambiguous_numbers`` for the message).  Works by position, so the index may repeat.
    """
    plain = ~text.str.contains(r"[.,]", regex=True) if decimal_comma else pd.Series(True, index=text.index)
    values = pd.to_numeric(text.where(plain, ""), errors="coerce").to_numpy(dtype="float64", copy=True)
    inline = np.full(len(text), "", dtype=object)
    hard = np.isnan(values) & (text.str.strip() != "").to_numpy()
    if hard.any():
        parts = _nfkc(text[hard]).str.replace(" ", "", regex=False).str.extract(_TOKEN)
        token = parts[0].fillna("")
        fits = token.str.match(_COMMA_FORMS if decimal_comma else _POINT_FORMS)
        if decimal_comma:
            token = token.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
        else:
            token = token.str.replace(",", "", regex=False)
        values[hard] = pd.to_numeric(token.where(fits, ""), errors="coerce").to_numpy(dtype="float64")
        inline[hard] = parts[1].fillna("").to_numpy()
    return finite_numbers(pd.Series(values, index=text.index)), pd.Series(inline, index=text.index)


# 2024.1 is refused: it is how a spreadsheet shows 2024.10 (October) as a number
_MONTH = r"^(\d{4})\s*(?:[-/]\s*(\d{1,2})|\.(\d{2})|年\s*(\d{1,2})\s*月?)$|^(\d{4})(\d{2})$"


def parse_months(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Month labels (``202401``, ``2024-01``, ``2024/1``, ``2024.01``, ``2024年1月``) to the month as a local
    period ``[first day, first day of the next month)`` in UTC; NaT where the text is not a month label."""
    text = text.astype(str)
    if not (text.str.strip().str.match(_MONTH) | text.str.contains("[\uff10-\uff19]", regex=True)).any():
        # no month label (full-width digits are normalised below): nothing to parse
        none = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us, UTC]")
        return none, none.copy()
    parts = _nfkc(text).str.strip().str.extract(_MONTH).astype(object)
    year = pd.to_numeric(parts[0].fillna(parts[4]), errors="coerce")
    month = pd.to_numeric(parts[1].fillna(parts[2]).fillna(parts[3]).fillna(parts[5]), errors="coerce")
    ok = month.between(1, 12) & year.notna()
    first = pd.to_datetime(
        pd.DataFrame({"year": year.where(ok, 2000), "month": month.where(ok, 1), "day": 1}), errors="coerce"
    ).where(ok)
    first = first.astype("datetime64[us]")
    start = _localise(first).astype("datetime64[us, UTC]")
    end = _localise(first + pd.offsets.MonthBegin(1)).astype("datetime64[us, UTC]")
    return start, end


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
    midnight = rest.str.contains(_END_OF_DAY, regex=True)  # 24:00 is the end of that day
    rest = rest.str.replace(_END_OF_DAY, " 00:00", regex=True)
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
    parsed[midnight] = parsed[midnight] + pd.Timedelta(days=1)
    out[~with_tz] = parsed
    return out


def parse_times(text: pd.Series) -> pd.Series:
    """Local (Asia/Shanghai) date/time text to UTC timestamps; NaT where unreadable or empty."""
    # 2024.1 / 2024.10 are month labels or spreadsheet numbers, never a date (see parse_months)
    dotted = text.str.contains(".", regex=False)
    if dotted.any():
        text = text.where(~(dotted & text.str.match(r"^\s*\d{4}\.\d{1,2}\s*$")), "\x00")
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
