"""Importing a new sourced factor release (e.g. next year's MEE provincial factors) into the factor table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, insert

from carbon import outbox
from carbon.errors import FactorDataError
from carbon.ledger import load_factors
from carbon.models import Factor
from factors.loader import read_files, record_problems, stored_as_library, stored_records


def import_release(engine: Engine, path: Path) -> pd.DataFrame:
    """Validate a release file (library format) together with the stored library and add its records.

    Refuses the whole file, listing every problem, if any record is malformed, unsourced, already present or
    valid for the same key and period as a stored record.  Returns the added records.
    """
    new = read_files([path], path.parent)
    problems = record_problems(pd.concat([stored_as_library(load_factors(engine)), new], ignore_index=True))
    if problems:
        raise FactorDataError(
            f"因子文件有{len(problems)}处问题，未导入",
            f"The factor file has {len(problems)} problem(s); nothing was imported",
            file=path.name,
            problems="; ".join(problems[:20]),
        )
    records = stored_records(new)
    records = records.astype(object).where(records.notna(), None).to_dict("records")
    with engine.begin() as conn:
        conn.execute(insert(Factor), records)
        outbox.owe(conn, f"factors import {path.name}")  # every result may use the new records
    return new
