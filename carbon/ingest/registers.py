"""Register (meter index) readings to consumption: one set of plausibility rules for every shape.

Consumption between two readings of a meter = (later - earlier) x multiplier.  Register files, bills
(上次/本次示数) and polled meters all go through ``classify_steps``:

- ``ok``: the register rose (or stayed);
- ``rollover``: it fell, and reading it across the wrap (maximum - earlier + later) is plausible for this
  meter: a bill's own energy agrees with it, or (no bill energy) the rate is at most ``rollover_rate`` times
  the meter's own median rate where it has risen in ordinary steps, or, with no such history, the wrap uses at
  most ``max_wrap_share`` of the register's range;
- ``replaced``: flagged by the utility's words (换表, 轮换, 拆表 …), or a fall to at most ``drop_fraction`` of
  the earlier reading that is not a plausible rollover: nothing is counted for that interval;
- ``decrease``: any other fall (refused).

Neither a rollover nor a replacement ever yields negative or absurd consumption.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# Words utilities and meter systems use for a meter swap (periodic rotation, removal, installation).
REPLACEMENT_WORDS = (
    "换表",
    "更换",
    "轮换",
    "周期轮换",
    "拆表",
    "装表",
    "新表",
    "换装",
    "replace",
    "replaced",
    "new meter",
    "swap",
)


def register_maximum(value: np.ndarray) -> np.ndarray:
    """The wrap point of a register showing ``value``: 10^(digits of its integer part), e.g. 99876.5 -> 100000."""
    digits = np.floor(np.log10(np.maximum(np.abs(value), 1))) + 1
    return 10.0**digits


def digits_maximum(text: pd.Series) -> pd.Series:
    """The wrap point from a 抄表位数 cell (``6.2``: six digits before the point -> 1,000,000); NaN if unreadable."""
    whole = pd.to_numeric(text.astype(str).str.extract(r"^\s*(\d{1,2})(?:\.\d+)?\s*$")[0], errors="coerce")
    return (10.0**whole).where(whole.between(1, 15))


def replacement_marked(note: pd.Series) -> pd.Series:
    """True where a note names a meter swap (``REPLACEMENT_WORDS``)."""
    low = note.astype(str).str.lower()
    return pd.Series(
        np.logical_or.reduce([low.str.contains(w, regex=False) for w in REPLACEMENT_WORDS]), index=note.index
    )


def classify_steps(
    meter: np.ndarray,
    earlier: np.ndarray,
    later: np.ndarray,
    hours: np.ndarray,
    replaced: np.ndarray,
    maximum: np.ndarray,
    drop_fraction: float,
    rollover_rate: float,
    max_wrap_share: float,
    wrap_agrees: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Kind of each step (see the module docstring) and its register delta before the multiplier (NaN for
    ``replaced`` and ``decrease``).  Arrays are aligned, one element per step; ``maximum`` is each register's
    wrap point (``register_maximum`` of the earlier reading where the file does not give it).  ``wrap_agrees``
    (1 where a bill's own energy agrees with reading the step across the wrap, 0 where it disagrees, NaN where
    the bill gives none) decides over the rate where it is known: the utility has read the wrap itself.
    ``max_wrap_share``: with no history, the largest share of the register's range a wrap may use."""
    earlier = np.asarray(earlier, dtype="float64")
    later = np.asarray(later, dtype="float64")
    hours = np.asarray(hours, dtype="float64")
    maximum = np.asarray(maximum, dtype="float64")
    replaced = np.asarray(replaced, dtype=bool)
    rising = later >= earlier
    rate = np.where(rising & ~replaced & (hours > 0), (later - earlier) / np.where(hours > 0, hours, 1), np.nan)
    typical = pd.Series(rate).groupby(pd.Series(meter)).transform("median").to_numpy()
    wrap = maximum - earlier + later
    wrap_rate = wrap / np.where(hours > 0, hours, np.nan)
    with np.errstate(invalid="ignore"):
        plausible = np.where(
            np.isnan(typical) | (typical <= 0),
            wrap <= max_wrap_share * maximum,
            wrap_rate <= rollover_rate * typical,
        )
    falling = ~rising & ~np.isnan(later) & ~np.isnan(earlier)
    if wrap_agrees is not None:  # the bill's own energy, where given, decides
        agrees = np.asarray(wrap_agrees, dtype="float64")
        plausible = np.where(np.isnan(agrees), plausible, agrees == 1)
    rollover = falling & plausible & (later < maximum) & (earlier < maximum)
    kind = np.where(rising, "ok", np.where(rollover, "rollover", "decrease")).astype(object)
    kind[falling & ~rollover & (later <= drop_fraction * earlier)] = "replaced"
    kind[replaced] = "replaced"
    delta = np.where(kind == "ok", later - earlier, np.where(kind == "rollover", wrap, np.nan))
    return kind, delta.astype("float64")


def register_intervals(
    readings: pd.DataFrame, drop_fraction: float, rollover_rate: float, max_wrap_share: float
) -> pd.DataFrame:
    """Intervals between consecutive readings of each meter.

    ``readings``: ``meter_code``, ``read_at``, ``register``, ``multiplier``, ``replaced`` (bool), ``source_row``
    and optionally ``maximum`` (the register's wrap point; NaN to infer it); earlier stored readings may be
    included with ``source_row`` < 0.  Returns one row per step: ``meter_code``, ``period_start``,
    ``period_end``, ``kind``, ``quantity`` (delta x multiplier of the later reading; NaN for replaced/decrease),
    ``earlier``, ``later``, ``maximum``, ``source_row`` and ``pos`` (the later reading's position in
    ``readings``).
    """
    r = readings.assign(pos=np.arange(len(readings)))
    r = r.sort_values(["meter_code", "read_at"], kind="stable").reset_index(drop=True)
    same_meter = r["meter_code"].eq(r["meter_code"].shift())
    later = r.loc[same_meter]
    earlier = r.shift().loc[same_meter]
    start = pd.DatetimeIndex(pd.to_datetime(earlier["read_at"], utc=True))
    end = pd.DatetimeIndex(pd.to_datetime(later["read_at"], utc=True))
    maximum = later["maximum"] if "maximum" in later else pd.Series(np.nan, index=later.index)
    earlier_reg = earlier["register"].to_numpy(dtype=float)
    maximum = np.where(np.isnan(maximum.to_numpy(dtype=float)), register_maximum(earlier_reg), maximum)
    kind, delta = classify_steps(
        later["meter_code"].to_numpy(),
        earlier_reg,
        later["register"].to_numpy(dtype=float),
        ((end - start).total_seconds() / 3600).to_numpy(),
        later["replaced"].to_numpy(dtype=bool),
        maximum,
        drop_fraction,
        rollover_rate,
        max_wrap_share,
    )
    return pd.DataFrame(
        {
            "meter_code": later["meter_code"].to_numpy(),
            "period_start": start,
            "period_end": end,
            "kind": kind,
            "quantity": delta * later["multiplier"].to_numpy(dtype=float),
            "earlier": earlier_reg,
            "later": later["register"].to_numpy(dtype=float),
            "maximum": maximum,
            "source_row": later["source_row"].to_numpy(),
            "pos": later["pos"].to_numpy(),
        }
    )
