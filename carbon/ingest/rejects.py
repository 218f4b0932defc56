"""The refused rows of a batch, as the user sent them plus the reasons, ready to fix and upload again."""

from __future__ import annotations

import json

import pandas as pd
from sqlalchemy import Engine, select

from carbon.errors import NotFoundError
from carbon.models import Batch, RejectedRow

REASON_COLUMN = "错误原因 / reasons"
ROW_COLUMN = "原行号 / row"


def rejected_rows(engine: Engine, batch_id: int) -> pd.DataFrame:
    """One row per refused row: its original cells, its row number in the file, and every reason."""
    with engine.connect() as conn:
        if conn.execute(select(Batch.id).where(Batch.id == batch_id)).first() is None:
            raise NotFoundError(f"批次 {batch_id} 不存在", f"Batch {batch_id} does not exist", value=batch_id)
        stored = conn.execute(
            select(RejectedRow.source_row, RejectedRow.cells_json, RejectedRow.issues_json)
            .where(RejectedRow.batch_id == batch_id)
            .order_by(RejectedRow.source_row)
        ).all()
    records = []
    for source_row, cells_json, issues_json in stored:
        issues = json.loads(issues_json)
        reasons = "; ".join(f"{i['column']}: {i['message']}" for i in issues if i["severity"] == "error")
        records.append({ROW_COLUMN: source_row, **json.loads(cells_json), REASON_COLUMN: reasons})
    return pd.DataFrame(records)
