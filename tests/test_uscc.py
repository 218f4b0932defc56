"""Unified social credit code check character (GB 32100-2015)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carbon.errors import InputError
from carbon.uscc import ALPHABET, check_character, validate_uscc


def test_published_sample_code_is_valid():
    assert validate_uscc(" 91350100m000100y43 ") == "91350100M000100Y43"


@pytest.mark.parametrize(
    ("code", "fragment"),
    [("91350100M000100Y44", "should be 3"), ("9135010", "18"), ("91350100M000100YI3", "I")],
)
def test_bad_codes_say_what_is_wrong(code, fragment):
    with pytest.raises(InputError) as exc:
        validate_uscc(code)
    assert fragment in exc.value.message
    assert "统一社会信用代码" in exc.value.zh


body = st.text(alphabet=ALPHABET, min_size=17, max_size=17)


@given(body, st.integers(0, 16), st.sampled_from(ALPHABET))
def test_any_single_substitution_is_caught(first17, pos, ch):
    code = first17 + check_character(first17)
    assert validate_uscc(code) == code
    changed = code[:pos] + ch + code[pos + 1 :]
    if changed != code:
        with pytest.raises(InputError):
            validate_uscc(changed)
