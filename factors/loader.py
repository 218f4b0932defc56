"""Read and check the factor library (``factors/data/**/*.csv``).

Each row is one sourced record; see ``factors/data/README.md`` for the columns.  The loader refuses a
library with an unsourced, unparseable, mis-dimensioned or ambiguous record.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources
from itertools import pairwise
from pathlib import Path

import pandas as pd
import pint

from carbon import reference, sources
from carbon.errors import FactorDataError
from carbon.units import finite_numbers, parse_unit

COLUMNS = (
    "id",
    "parameter",
    "carrier",
    "gas",
    "region",
    "basis",
    "vintage",
    "value",
    "unit",
    "valid_from",
    "valid_to",
    "superseded_by",
    "status",
    "publisher",
    "document_title",
    "document_number",
    "published_on",
    "source_url",
    "notes",
)
# Stated in a file but not stored: whether ``source_url`` is the issuer's own page or a repost.  The shipped library
# states it for every link; a release may leave the column out, and the kind is judged from the link either way
# (``carbon.sources.source_kind``).  A stated kind must agree with that judgement.
CHECKED_COLUMNS = ("source_kind",)
PARAMETERS = (
    "emission_factor",
    "net_calorific_value",
    "carbon_content",
    "oxidation_rate",
    "coal_equivalent",
    "gwp",
)
STATUSES = ("verified", "single_source", "unverified")
KEY = ("parameter", "carrier", "gas", "region", "basis", "vintage")


def data_dir() -> Path:
    """Folder of the shipped library."""
    return Path(str(resources.files("factors").joinpath("data")))


def read_files(paths: Iterable[Path], root: Path) -> pd.DataFrame:
    """Read factor CSV files into one frame with typed columns, a ``dataset`` column (path under root),
    ``file_row`` and ``source_kind`` (as the file states it; None where it has no such column) for the checks."""
    frames = []
    for path in sorted(paths):
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
        missing = [c for c in COLUMNS if c not in df.columns]
        if missing:
            raise FactorDataError(
                f"因子文件缺少列：{', '.join(missing)}",
                f"Factor file lacks columns: {', '.join(missing)}",
                file=str(path),
            )
        df = df[[*COLUMNS, *(c for c in CHECKED_COLUMNS if c in df.columns)]].copy()
        for col in CHECKED_COLUMNS:
            if col not in df.columns:
                df[col] = ""
        df["dataset"] = path.relative_to(root).as_posix()
        df["file_row"] = range(2, len(df) + 2)
        frames.append(df)
    if not frames:
        raise FactorDataError("因子库为空", "The factor library is empty", file=str(root))
    df = pd.concat(frames, ignore_index=True)
    df = df.replace({"": None})
    df["value"] = finite_numbers(df["value"])  # inf, 1e400: "value is not a number", never a factor
    df["vintage"] = pd.to_numeric(df["vintage"], errors="coerce").astype("Int64")
    for col in ("valid_from", "valid_to", "published_on"):
        parsed = pd.to_datetime(df[col], format="%Y-%m-%d", errors="coerce")
        df[col] = pd.Series([d.date() if pd.notna(d) else None for d in parsed], index=df.index, dtype=object)
    return df


def _expected_dimension(parameter: str, carrier: str | None) -> pint.util.UnitsContainer | None:
    canonical = reference.carriers().loc[carrier, "canonical_unit"] if carrier else None
    per = parse_unit(canonical).dimensionality if canonical else None
    dims = {
        "emission_factor": lambda: parse_unit("t_CO2").dimensionality / per,
        "net_calorific_value": lambda: parse_unit("GJ").dimensionality / per,
        "coal_equivalent": lambda: parse_unit("GJ").dimensionality / per,
        "carbon_content": lambda: parse_unit("t_C/TJ").dimensionality,
        "oxidation_rate": lambda: parse_unit("percent").dimensionality,
        "gwp": lambda: parse_unit("t_CO2e/t").dimensionality,
    }
    if parameter not in dims or (per is None and parameter not in ("carbon_content", "oxidation_rate", "gwp")):
        return None
    return dims[parameter]()


def stored_as_library(stored: pd.DataFrame) -> pd.DataFrame:
    """Factor records as read from the ``factor`` table, typed as ``read_files`` types them (vintage ``Int64``,
    empty text None, ``file_row`` 0), so that ``record_problems`` can check them together with a file."""
    out = stored.assign(file_row=0)
    out["vintage"] = pd.to_numeric(out["vintage"]).astype("Int64")
    text = [c for c in out.columns if c not in ("value", "vintage", "file_row")]
    out[text] = out[text].astype(object).where(out[text].notna(), None)
    return out


def record_problems(df: pd.DataFrame) -> list[str]:
    """Every problem in the library, one line each (empty list = library is sound)."""
    problems: list[str] = []
    known_carriers = set(reference.carriers().index)
    for r in df.itertuples(index=False):
        where = f"{r.dataset} row {r.file_row} ({r.id})"
        for col in ("id", "parameter", "region", "basis", "unit", "status", "publisher", "document_title"):
            if getattr(r, col) is None:
                problems.append(f"{where}: {col} is empty")
        if r.status not in STATUSES:
            problems.append(f"{where}: status {r.status!r} is not one of {STATUSES}")
        if r.status != "unverified" and not (r.source_url or r.document_number):
            problems.append(f"{where}: a {r.status} record needs a source_url or a document_number")
        if kind := sources.kind_problem(r.publisher, r.source_url, getattr(r, "source_kind", None), required=False):
            problems.append(f"{where}: {kind}")
        if r.parameter not in PARAMETERS:
            problems.append(f"{where}: parameter {r.parameter!r} is not one of {PARAMETERS}")
        if r.parameter == "gwp" and not r.gas:
            problems.append(f"{where}: a gwp record needs a gas")
        if r.parameter != "gwp" and r.carrier not in known_carriers:
            problems.append(f"{where}: carrier {r.carrier!r} is not in carbon/data/carriers.csv")
            continue
        if pd.isna(r.value):
            problems.append(f"{where}: value is not a number")
        elif r.value < 0 or (r.value == 0 and r.carrier != "green_electricity"):
            problems.append(f"{where}: value {r.value} must be positive (zero only for green electricity)")
        try:
            dim = parse_unit(r.unit).dimensionality
        except ValueError as exc:
            problems.append(f"{where}: unit {r.unit!r} does not parse ({exc})")
            continue
        expected = _expected_dimension(r.parameter, r.carrier)
        if expected is not None and dim != expected:
            problems.append(f"{where}: unit {r.unit!r} is {dim}, expected {expected}")
    problems += _key_problems(df)
    return problems


def stored_records(df: pd.DataFrame) -> pd.DataFrame:
    """The library's records as the ``factor`` table stores them: without the columns that are only checked."""
    return df.drop(columns=["file_row", *CHECKED_COLUMNS], errors="ignore")


def _key_problems(df: pd.DataFrame) -> list[str]:
    problems = [f"id {i!r} appears more than once" for i in df.loc[df["id"].duplicated(), "id"]]
    ids = set(df["id"])
    for r in df.loc[df["superseded_by"].notna()].itertuples(index=False):
        if r.superseded_by not in ids:
            problems.append(f"{r.id}: superseded_by {r.superseded_by!r} is not a record id")
    key = df[list(KEY)].astype(object).where(df[list(KEY)].notna(), "").astype(str).agg("|".join, axis=1)
    for _, group in df.groupby(key):
        if len(group) < 2:
            continue
        spans = sorted(
            (r.valid_from or pd.Timestamp.min.date(), r.valid_to or pd.Timestamp.max.date(), r.id)
            for r in group.itertuples(index=False)
        )
        for (_, end_a, id_a), (start_b, _, id_b) in pairwise(spans):
            if start_b <= end_a:
                problems.append(f"{id_a} and {id_b} are both valid for the same key and period")
    return problems


def validate_library(df: pd.DataFrame) -> pd.DataFrame:
    """Raise ``FactorDataError`` listing every problem, or return the frame without helper columns."""
    problems = record_problems(df)
    if problems:
        raise FactorDataError(
            f"因子库有{len(problems)}处问题，请修正后重试",
            f"The factor library has {len(problems)} problem(s)",
            problems="; ".join(problems[:20]),
        )
    return stored_records(df)


def load_library(root: Path | None = None) -> pd.DataFrame:
    """Read and validate every CSV under ``root`` (default: the shipped ``factors/data``)."""
    root = root or data_dir()
    return validate_library(read_files(root.rglob("*.csv"), root))
