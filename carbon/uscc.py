"""Unified social credit code (统一社会信用代码) validation, GB 32100-2015."""

from __future__ import annotations

from carbon.errors import InputError

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, S, V, Z
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_VALUE = {c: i for i, c in enumerate(ALPHABET)}


def check_character(first17: str) -> str:
    """The 18th (check) character for the first 17 characters of a code."""
    total = sum(_VALUE[c] * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def validate_uscc(code: str) -> str:
    """Return the normalised code (upper case, stripped) or raise ``InputError`` saying what is wrong."""
    c = str(code).strip().upper()
    if len(c) != 18:
        raise InputError(
            f"统一社会信用代码应为18位，实际为{len(c)}位，请核对营业执照",
            f"A unified social credit code has 18 characters, this one has {len(c)}; check the business licence",
            value=code,
        )
    bad = [ch for ch in c if ch not in _VALUE]
    if bad:
        raise InputError(
            f"统一社会信用代码含有不允许的字符 {''.join(bad)}（不使用 I、O、S、V、Z）",
            f"The code contains characters that are not allowed: {''.join(bad)} (I, O, S, V, Z are never used)",
            value=code,
        )
    expected = check_character(c[:17])
    if c[17] != expected:
        raise InputError(
            f"统一社会信用代码校验位错误：第18位应为 {expected}，实际为 {c[17]}，请核对是否抄错",
            f"Wrong check character: the 18th character should be {expected}, not {c[17]}; check for a typing error",
            value=code,
        )
    return c
