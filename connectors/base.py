"""What every connector returns, and the errors that say whether a retry can help."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from carbon.intake import READING_COLUMNS
from connectors.config import ConnectorConfig


class TransientError(Exception):
    """The source failed in a way a later retry may fix (5xx, timeout, broker down); ``retry_after`` in s."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(Exception):
    """The source refused us (e.g. 401): retrying will not help until someone fixes the configuration."""


@dataclass
class Fetched:
    """Decoded readings (``READING_COLUMNS``), payloads that could not be used, and the next watermark."""

    records: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=READING_COLUMNS))
    quarantined: list[tuple[str, str]] = field(default_factory=list)
    watermark: str | None = None
    acknowledge: list[object] = field(default_factory=list)  # what to confirm to the source once stored
    files: list[tuple[Path, str]] = field(default_factory=list)  # (file, enterprise) for the file importer
    # grid statements (``carbon.intake.STATEMENT_COLUMNS``): (source, statements, the file they came in or None)
    statements: list[tuple[str, pd.DataFrame, Path | None]] = field(default_factory=list)
    more: bool = False  # the source has more right now: store this batch, acknowledge it, fetch again


class Connector(ABC):
    """The small interface every connector module implements: ``fetch``; ``acknowledge``/``finish`` if needed."""

    def __init__(self, config: ConnectorConfig) -> None:
        self.config = config

    @abstractmethod
    def fetch(self, watermark: str | None) -> Fetched:
        """Readings (or files) newer than ``watermark``; raises ``TransientError`` or ``PermanentError``."""

    def acknowledge(self, items: list[object]) -> None:  # noqa: B027  (optional hook)
        """Confirm to the source what has been stored (MQTT QoS 1 acks)."""

    def finish(self, path: Path, ok: bool, details: dict) -> None:  # noqa: B027  (optional hook)
        """Called for each file handed over in ``Fetched.files`` once the importer is done with it."""

    def close(self) -> None:  # noqa: B027  (optional hook)
        """Release connections at the end of a run."""


def records_frame(rows: list[dict]) -> pd.DataFrame:
    """A list of reading dicts as a frame with exactly ``READING_COLUMNS``."""
    return pd.DataFrame(rows, columns=READING_COLUMNS)
