"""What reviewers and verifiers type: comments and reasons (length, no control or direction-override characters),
carriers named by id or by their Chinese or English name, and figures that must be finite.  Pure functions."""

from __future__ import annotations

import math
import unicodedata

from carbon import reference
from carbon.errors import InputError
from carbon.limits import limit

ALLOWED_CONTROLS = {"\n", "\t"}


def checked_text(text: str, what_zh: str, what_en: str) -> str:
    """``text`` stripped, once it is 1 to ``max_cell_chars`` characters without control or format characters (a
    right-to-left override would make a comment read otherwise than it is stored); ``InputError`` otherwise."""
    text, most = text.strip(), limit("max_cell_chars")
    if not text or len(text) > most:
        raise InputError(
            f"{what_zh}须为1至{most}个字符", f"A {what_en} must be 1 to {most} characters", value=text[:40]
        )
    bad = [ch for ch in text if ch not in ALLOWED_CONTROLS and unicodedata.category(ch) in ("Cc", "Cf")]
    if bad:
        code = f"U+{ord(bad[0]):04X}"
        raise InputError(
            f"{what_zh}含有不可见的控制字符 {code}，请删去后重填",
            f"The {what_en} holds an invisible control character {code}; remove it and try again",
            value=code,
        )
    return text


def carrier_named(name: str, held: set[str]) -> str:
    """The carrier id of ``name`` (an id, or a carrier's Chinese or English name), once the report holds it;
    ``InputError`` listing the carriers it holds by name and id otherwise."""
    table = reference.carriers()
    names = {str(n): cid for cid, n in table["name_zh"].items()} | {str(n): cid for cid, n in table["name_en"].items()}
    cid = name if name in table.index else names.get(name.strip(), name)
    if cid not in held:
        listed_zh = "、".join(f"{table.loc[c, 'name_zh']}（{c}）" for c in sorted(held))
        listed_en = ", ".join(f"{table.loc[c, 'name_en']} ({c})" for c in sorted(held))
        raise InputError(
            f"报告中没有能源品种“{name}”（报告中有：{listed_zh}）",
            f"The report has no carrier '{name}' (it has: {listed_en})",
            value=name,
        )
    return str(cid)


def finite(value: float, what_zh: str, what_en: str) -> float:
    """``value`` once it is a finite number; ``InputError`` for NaN or an infinity."""
    if not math.isfinite(value):
        raise InputError(
            f"{what_zh}须为有限数值，而不是 {value}",
            f"The {what_en} must be a finite number, not {value}",
            value=str(value),
        )
    return float(value)
