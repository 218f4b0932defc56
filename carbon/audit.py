"""The audit log: who signed in, uploaded, exported or added an account, and when; never a password.

Each event names the jurisdiction it concerns, so region staff see the events of their own jurisdiction and zone
staff see all; enterprise users see none.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Engine
from sqlmodel import Session, select

from carbon import reference
from carbon.access import Viewer, full_regions, require_staff
from carbon.errors import InputError
from carbon.models import AuditEvent, Enterprise, UserAccount

# The actions the dashboard and the CLI record; others may be added as new features need them.
ACTIONS = (
    "login",
    "login_failed",
    "login_attempt",
    "login_locked",
    "logout",
    "session_expired",
    "access_denied",
    "upload_preview",
    "upload_confirm",
    "ingest",
    "readings_received",
    "enterprise_update",
    "site_add",
    "site_update",
    "site_assign",
    "export",
    "user_add",
    "cycle_open",
    "submit",
    "withdraw",
    "review_start",
    "review_return",
    "review_approve",
    "verification_draw",
    "verify",
    "grid_account_add",
    "grid_statements_received",
)
COLUMNS = ["at", "username", "role", "region", "enterprise", "action", "detail"]
MAX_USERNAME_RECORDED = 128  # a name typed at the sign-in form is kept, cut to this length
MAX_ASKED_RECORDED = 64  # what a refused request asked for (a code from a URL) is kept, cut to this length


def as_utc(now: datetime | None = None) -> datetime:
    """``now`` (timezone-aware) in UTC, or the current time; a naive datetime is refused."""
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None or now.utcoffset() is None:
        raise InputError(
            f"时间 {now} 缺少时区：请给出带时区的时间（如 UTC）",
            f"Time {now} has no timezone: give a timezone-aware time (e.g. UTC)",
            value=str(now),
        )
    return now.astimezone(UTC)


def record(
    engine: Engine,
    viewer_or_username: Viewer | str,
    action: str,
    detail: dict[str, Any] | None = None,
    region: str | None = None,
    enterprise: str | None = None,
    now: datetime | None = None,
) -> None:
    """Write one event (committed at once).

    Unless given, the region is the viewer's jurisdiction, else the enterprise's (the viewer's own for an enterprise
    user), else a jurisdiction named as ``detail["region"]``.  A plain username is looked up among the accounts for
    its role and scope (unknown names, e.g. from a failed sign-in, are recorded without them).
    """
    with Session(engine) as session:
        add_event(session, viewer_or_username, action, detail, region, enterprise, now)
        session.commit()


def record_denied(engine: Engine, viewer: Viewer, asked: str, value: object, now: datetime | None = None) -> None:
    """Write a refused request (``access_denied``): who asked (the viewer), when, and what for: ``asked`` the kind
    of thing (``enterprise``, ``batch``) and ``value`` the code asked for, as text cut to ``MAX_ASKED_RECORDED``
    characters (its full length kept as ``value_chars`` when cut), so a request can never write more than that.

    Nothing is looked up about what was asked: an unknown code and another's enterprise are recorded alike, with no
    name or jurisdiction of it.  The event concerns the zone (``region_id`` ``zone``), so only zone staff read it:
    filed under a jurisdiction it would show that jurisdiction's staff (the asker among them) a code of an enterprise
    they may not see, or, filed under the owner's, tell the asker by its absence that the code exists."""
    text = str(value)
    detail: dict[str, Any] = {"asked": asked, "value": text[:MAX_ASKED_RECORDED]}
    if len(text) > MAX_ASKED_RECORDED:
        detail["value_chars"] = len(text)
    record(engine, viewer, "access_denied", detail, region="zone", now=now)


def add_event(
    session: Session,
    viewer_or_username: Viewer | str,
    action: str,
    detail: dict[str, Any] | None = None,
    region: str | None = None,
    enterprise: str | None = None,
    now: datetime | None = None,
) -> AuditEvent:
    """``record`` within the caller's transaction: the event is added and flushed (it has its id), not committed."""
    if not action or len(action) > 32:
        raise InputError(
            f"审计操作名 {action!r} 须为1至32个字符",
            f"Audit action {action!r} must be 1 to 32 characters",
            value=action,
        )
    if detail is not None and not isinstance(detail, dict):
        raise InputError(
            "审计详情须为字典（JSON对象）", "Audit detail must be a dict (a JSON object)", value=type(detail).__name__
        )
    at = as_utc(now)
    detail = detail or {}
    if isinstance(viewer_or_username, Viewer):
        username, role = viewer_or_username.username, viewer_or_username.role
        own_region, own_enterprise = viewer_or_username.region, viewer_or_username.enterprise
    else:
        username, role, own_region, own_enterprise = str(viewer_or_username), None, None, None
        account = session.exec(select(UserAccount).where(UserAccount.username == username)).first()
        if account is not None:
            role, own_region, own_enterprise = account.role, account.region_id, account.enterprise_uscc
    enterprise = enterprise or own_enterprise
    if region is None:
        region = own_region
    if region is None and enterprise is not None:
        ent = session.get(Enterprise, enterprise)
        region = ent.region_id if ent is not None else None
    if region is None and detail.get("region") in reference.JURISDICTIONS:
        region = detail["region"]
    event = AuditEvent(
        at=at,
        username=username[:MAX_USERNAME_RECORDED],
        role=role,
        region_id=region,
        enterprise_uscc=enterprise,
        action=action,
        detail=detail_json(detail),
    )
    session.add(event)
    session.flush()
    return event


def detail_json(detail: dict[str, Any]) -> str:
    """An event's detail as stored: JSON, keys sorted, non-ASCII kept."""
    return json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str)


def audit_log(engine: Engine, viewer: Viewer, since: datetime | None = None, limit: int = 1000) -> pd.DataFrame:
    """Events newest first (columns ``COLUMNS``; ``at`` in UTC, ``detail`` a dict), at most ``limit``.

    Staff only: zone staff see every event, region staff the events of their own jurisdiction.
    """
    require_staff(viewer)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InputError(f"条数上限 {limit} 须为正整数", f"limit {limit} must be a positive integer", value=limit)
    stmt = select(
        AuditEvent.at,
        AuditEvent.username,
        AuditEvent.role,
        AuditEvent.region_id.label("region"),
        AuditEvent.enterprise_uscc.label("enterprise"),
        AuditEvent.action,
        AuditEvent.detail,
    )
    if viewer.role != "zone":
        stmt = stmt.where(AuditEvent.region_id.in_(full_regions(viewer)))
    if since is not None:
        stmt = stmt.where(AuditEvent.at >= as_utc(since))
    stmt = stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)
    with engine.connect() as conn:
        df = pd.DataFrame(conn.execute(stmt).all(), columns=COLUMNS)
    df["at"] = pd.to_datetime(df["at"], utc=True)
    df["detail"] = df["detail"].map(json.loads)
    return df
