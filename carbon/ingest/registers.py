"""Register (meter index) readings to consumption: pure functions over sorted readings of one or many meters.

Consumption between two readings of a meter = (later - earlier) x multiplier.  A register that wraps past
its maximum (99999.99 -> 0) is a rollover; a reading flagged 换表, or a drop far below the previous reading
with no rollover fit, is a meter replacement: neither ever yields negative or absurd consumption.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

REPLACEMENT_WORDS = ("换表", "更换", "replace", "replaced", "new meter")


def register_maximum(value: np.ndarray) -> np.ndarray:
    """The wrap point of a register showing ``value``: 10^(digits of its integer part), e.g. 99876.5 -> 100000."""
    digits = np.floor(np.log10(np.maximum(np.abs(value), 1))) + 1
    return 10.0**digits


def classify_steps(
    earlier: np.ndarray, later: np.ndarray, replaced: np.ndarray, drop_fraction: float, max_wrap_share: float = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    """Kind of each step and its register delta (before the multiplier).

    Kinds: ``ok`` (later >= earlier), ``rollover`` (wrapped past the maximum; delta across the wrap),
    ``replaced`` (flagged or dropped to at most ``drop_fraction`` of the earlier reading with no rollover fit;
    delta NaN), ``decrease`` (any other fall; delta NaN).  A wrap fits when it would use at most
    ``max_wrap_share`` of the register range.
    """
    maximum = register_maximum(earlier)
    wrap = maximum - earlier + later
    fits = (later < earlier) & (wrap <= max_wrap_share * maximum)
    kind = np.where(later >= earlier, "ok", np.where(fits, "rollover", "decrease")).astype(object)
    far_drop = (later < earlier) & ~fits & (later <= drop_fraction * earlier)
    kind[far_drop | replaced] = "replaced"
    delta = np.where(kind == "ok", later - earlier, np.where(kind == "rollover", wrap, np.nan))
    return kind, delta.astype("float64")


def register_intervals(readings: pd.DataFrame, drop_fraction: float) -> pd.DataFrame:
    """Intervals between consecutive readings of each meter.

    ``readings``: ``meter_code``, ``read_at``, ``register``, ``multiplier``, ``replaced`` (bool), ``source_row``
    (earlier stored readings may be included with ``source_row`` < 0).  Returns one row per step:
    ``meter_code``, ``period_start``, ``period_end``, ``kind``, ``quantity`` (delta x multiplier of the later
    reading; NaN for replaced/decrease), ``earlier``, ``later``, ``maximum``, ``source_row`` (the later reading).
    """
    r = readings.sort_values(["meter_code", "read_at"], kind="stable").reset_index(drop=True)
    same_meter = r["meter_code"].eq(r["meter_code"].shift())
    later = r.loc[same_meter]
    earlier = r.shift().loc[same_meter]
    kind, delta = classify_steps(
        earlier["register"].to_numpy(dtype=float),
        later["register"].to_numpy(dtype=float),
        later["replaced"].to_numpy(dtype=bool),
        drop_fraction,
    )
    return pd.DataFrame(
        {
            "meter_code": later["meter_code"].to_numpy(),
            "period_start": pd.DatetimeIndex(pd.to_datetime(earlier["read_at"], utc=True)),
            "period_end": pd.DatetimeIndex(pd.to_datetime(later["read_at"], utc=True)),
            "kind": kind,
            "quantity": delta * later["multiplier"].to_numpy(dtype=float),
            "earlier": earlier["register"].to_numpy(dtype=float),
            "later": later["register"].to_numpy(dtype=float),
            "maximum": register_maximum(earlier["register"].to_numpy(dtype=float)),
            "source_row": later["source_row"].to_numpy(),
        }
    )
