"""One error hierarchy for the project; every error carries its context and says what to do.

Messages are bilingual: Chinese first, then English.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class CarbonError(Exception):
    """Base error: a Chinese and an English message plus context (file, row, column, value, ...)."""

    def __init__(self, zh: str, en: str, **context: Any) -> None:
        self.zh = zh
        self.en = en
        self.context = {k: v for k, v in context.items() if v is not None}
        super().__init__(self.message)

    @property
    def message(self) -> str:
        where = ", ".join(f"{k}={v!r}" for k, v in self.context.items())
        return f"{self.zh} / {self.en}" + (f" [{where}]" if where else "")


class InputError(CarbonError):
    """The user's input (arguments, a file, a code) is wrong; nothing was changed."""


class NotFoundError(InputError):
    """A referenced enterprise, region or record does not exist."""


class AccessDenied(CarbonError):
    """The signed-in user may not see or change this; nothing was shown or changed."""


class FactorDataError(CarbonError):
    """A factor record is malformed, unsourced or ambiguous."""


@dataclass(frozen=True)
class RowIssue:
    """One problem in one row of an input file, as the user sees it (1-based row, header = row 1)."""

    row: int
    column: str
    value: Any
    zh: str
    en: str
    severity: str = "error"
    code: str = "invalid"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def message(self) -> str:
        return f"{self.zh} / {self.en}"

    def as_dict(self) -> dict[str, Any]:
        value = self.value
        if value is not None and not isinstance(value, str | int | float | bool):
            value = str(value)
        return {
            "row": self.row,
            "column": self.column,
            "value": value,
            "message": self.message,
            "zh": self.zh,
            "en": self.en,
            "severity": self.severity,
            "code": self.code,
        }


class DerivedDataWarning(UserWarning):
    """A derived store or a compute cluster (the readings dataset, a Dask scheduler) could not be used; the stored
    data is safe and the figures were computed from the database on this machine instead."""
