"""The jurisdiction's review (审核) of a submitted report: start it, return it with comments on its lines, approve it.

Staff of the enterprise's jurisdiction (or the zone) review; a returned report waits for the enterprise's next
version.  A comment names the line it is about: a carrier of the report, and where given a month (1-12) and a meter
of its activity rows; a comment on something the report does not hold is refused.  Every step is one transaction
with its event and audit record (``submissions.transition``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import Engine, select
from sqlmodel import Session

from carbon import audit
from carbon.access import Viewer, require_staff
from carbon.errors import InputError
from carbon.models import ReviewComment, Submission, SubmissionActivity, SubmissionLine
from carbon.reporting.submissions import _owned, get_submission, transition
from carbon.reporting.text import carrier_named, checked_text


@dataclass(frozen=True)
class LineComment:
    """A reviewer's comment on a line of a report: a carrier, and optionally a month and a meter."""

    text: str
    carrier: str | None = None
    month: int | None = None
    meter_code: str | None = None


def check_comment(c: LineComment, carriers: set[str], meters: set[str]) -> LineComment:
    """The comment as stored (its carrier by id, its text stripped); ``InputError`` for an empty, over-long or
    unreadable text, or a carrier (by id or name), month or meter the report does not hold.  Pure."""
    text = checked_text(c.text, "审核意见", "review comment")
    carrier = None if c.carrier is None else carrier_named(c.carrier, carriers)
    if c.month is not None and not 1 <= c.month <= 12:
        raise InputError(f"月份须为1至12，而不是 {c.month}", f"The month must be 1 to 12, not {c.month}", value=c.month)
    if c.meter_code is not None and c.meter_code not in meters:
        raise InputError(
            f"报告的活动数据中没有计量表 {c.meter_code}",
            f"The report's activity data have no meter {c.meter_code}",
            value=c.meter_code,
        )
    return LineComment(text, carrier, c.month, c.meter_code)


def _reviewer(engine: Engine, viewer: Viewer, submission_id: int) -> Submission:
    """The submission, once the viewer is staff who may review it (its jurisdiction's or the zone's)."""
    require_staff(viewer)
    sub = get_submission(engine, submission_id)
    _owned(engine, viewer, sub.enterprise_uscc)
    return sub


def start_review(engine: Engine, viewer: Viewer, submission_id: int, now: datetime | None = None) -> Submission:
    """Take a submitted version into review (it can no longer be withdrawn)."""
    _reviewer(engine, viewer, submission_id)
    return transition(engine, viewer, submission_id, ("submitted",), "in_review", "review_start", now=now)


def approve(
    engine: Engine, viewer: Viewer, submission_id: int, note: str | None = None, now: datetime | None = None
) -> Submission:
    """Approve a version in review (or waiting for it)."""
    _reviewer(engine, viewer, submission_id)
    return transition(
        engine, viewer, submission_id, ("submitted", "in_review"), "approved", "review_approve", note=note, now=now
    )


def return_submission(
    engine: Engine, viewer: Viewer, submission_id: int, comments: list[LineComment], now: datetime | None = None
) -> Submission:
    """Return a version in review (or waiting for it) to the enterprise with at least one comment on its lines;
    the comments are stored in the same transaction as the step."""
    _reviewer(engine, viewer, submission_id)
    if not comments:
        raise InputError("退回须附至少一条审核意见", "Returning a report needs at least one comment")
    with engine.connect() as conn:
        carriers = set(
            conn.execute(select(SubmissionLine.carrier).where(SubmissionLine.submission_id == submission_id)).scalars()
        )
        meters = set(
            conn.execute(
                select(SubmissionActivity.meter_code).where(SubmissionActivity.submission_id == submission_id)
            ).scalars()
        )
    comments = [check_comment(c, carriers, meters) for c in comments]
    at = audit.as_utc(now)

    def add_comments(session: Session, sub: Submission) -> None:
        session.add_all(
            ReviewComment(
                submission_id=sub.id,
                at=at,
                author=viewer.username,
                carrier=c.carrier,
                month=c.month,
                meter_code=c.meter_code,
                text=c.text.strip(),
            )
            for c in comments
        )

    return transition(
        engine,
        viewer,
        submission_id,
        ("submitted", "in_review"),
        "returned",
        "review_return",
        note=f"{len(comments)}",
        now=at,
        session_extra=add_comments,
    )


def review_comments(engine: Engine, viewer: Viewer, submission_id: int) -> pd.DataFrame:
    """The comments on a version (the enterprise's user and staff of its jurisdiction see them): at, author,
    carrier, month, meter_code, text, oldest first."""
    sub = get_submission(engine, submission_id)
    _owned(engine, viewer, sub.enterprise_uscc, write=False)
    with engine.connect() as conn:
        df = pd.read_sql(
            select(
                ReviewComment.at,
                ReviewComment.author,
                ReviewComment.carrier,
                ReviewComment.month,
                ReviewComment.meter_code,
                ReviewComment.text,
            )
            .where(ReviewComment.submission_id == submission_id)
            .order_by(ReviewComment.id),
            conn,
        )
    df["at"] = pd.to_datetime(df["at"], utc=True, format="ISO8601")
    return df
