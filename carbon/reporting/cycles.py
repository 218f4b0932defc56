"""Reporting cycles (报送周期): a year, its deadline, the enterprises that must report and each jurisdiction's basis
of record, fixed when the cycle is opened; and the status board of a cycle.

The basis of record of each jurisdiction comes from ``carbon/data/basis_of_record.csv`` (Qingpu on Shanghai's
local factors, cited; Wujiang and Jiashan on the MEE provincial average, a project default) unless the cycle is
opened with others.  Who must report: every registered enterprise (``all``), those at or over the key-emitter
thresholds in the year's stored results on their basis of record (``key_emitters``), or a list (``list``).  The
list is fixed when the cycle opens, so the board does not change under a reviewer when an enterprise registers.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from functools import cache
from typing import Any

import pandas as pd
from sqlalchemy import Engine, select
from sqlmodel import Session

from carbon import audit, codes, reference
from carbon.access import Viewer, full_regions, require_staff
from carbon.analytics.progress import key_emitters
from carbon.enterprises import list_enterprises
from carbon.errors import AccessDenied, InputError, NotFoundError
from carbon.factor_choice import BASES
from carbon.ledger import GWP_OF_RECORD, current_lines
from carbon.models import CycleEnterprise, ReportingCycle, Submission
from carbon.reference import read_data

SCOPES = ("all", "key_emitters", "list")
# The state of an enterprise in a cycle: its newest version's, or not_submitted (a withdrawn version counts so).
STATES = ("not_submitted", "submitted", "in_review", "returned", "approved", "verified")
BEIJING = "Asia/Shanghai"


@cache
def bases_of_record() -> dict[str, str]:
    """Jurisdiction -> basis of record, from ``carbon/data/basis_of_record.csv``."""
    return read_data("basis_of_record.csv").set_index("region")["basis"].to_dict()


def beijing_today(now: datetime | None = None) -> date:
    """The Beijing date of ``now`` (default: the current time); deadlines are Beijing dates."""
    stamp = pd.Timestamp.now(tz=BEIJING) if now is None else pd.Timestamp(audit.as_utc(now)).tz_convert(BEIJING)
    return stamp.date()


def check_bases(bases: dict[str, str]) -> dict[str, str]:
    """Every jurisdiction's basis, those given over the defaults; ``InputError`` for an unknown one."""
    out = {**bases_of_record(), **bases}
    for region, basis in out.items():
        if region not in reference.JURISDICTIONS or basis not in BASES:
            raise InputError(
                f"核算口径设置无效：{region}={basis}（区县为 {'、'.join(reference.JURISDICTIONS)}，口径为 "
                f"{'、'.join(BASES)}）",
                f"Invalid basis of record {region}={basis} (jurisdictions: {', '.join(reference.JURISDICTIONS)}; "
                f"bases: {', '.join(BASES)})",
                value=f"{region}={basis}",
            )
    return out


def obliged(
    engine: Engine, year: int, scope: str, bases: dict[str, str], listed: list[str] | None = None
) -> pd.DataFrame:
    """The enterprises that must report (``uscc``, ``region_id``, ``basis``) for a cycle of ``scope``."""
    ents = list_enterprises(engine)[["uscc", "region_id"]]
    ents = ents.assign(basis=ents["region_id"].map(bases))
    if scope == "all":
        return ents.reset_index(drop=True)
    if scope == "list":
        wanted = [str(c).strip().upper() for c in listed or []]
        unknown = sorted(set(wanted) - set(ents["uscc"]))
        if not wanted:
            raise InputError("“指定名单”范围须给出企业名单", "A cycle of scope list needs its list of enterprises")
        if unknown:
            raise InputError(
                f"名单中的企业未登记：{'、'.join(unknown)}",
                f"Enterprises on the list are not registered: {', '.join(unknown)}",
                value=",".join(unknown),
            )
        return ents.loc[ents["uscc"].isin(wanted)].reset_index(drop=True)
    keep: list[str] = []
    for basis, group in ents.groupby("basis"):
        lines = current_lines(engine, str(basis), GWP_OF_RECORD, [year], list(group["uscc"]))
        keep += list(key_emitters(lines)["enterprise_uscc"])
    return ents.loc[ents["uscc"].isin(keep)].reset_index(drop=True)


def open_cycle(
    engine: Engine,
    viewer: Viewer,
    year: int,
    deadline: date,
    scope: str = "all",
    enterprises: list[str] | None = None,
    bases: dict[str, str] | None = None,
    now: datetime | None = None,
) -> int:
    """Open the reporting cycle of ``year`` (zone staff only); returns its id.  ``InputError`` when the year has a
    cycle already, the deadline is not after the year, the scope or a basis is unknown, or a listed enterprise is
    not registered, a list is given for another scope, the year has not ended (Beijing date), or no enterprise must
    report; nothing is stored then."""
    require_staff(viewer)
    if viewer.role != "zone":
        raise AccessDenied(
            "只有示范区工作人员可以开启报送周期", "Only zone staff open a reporting cycle", user=viewer.username
        )
    if scope not in SCOPES:
        raise InputError(f"报送范围须为 {'、'.join(SCOPES)}", f"Scope must be one of {', '.join(SCOPES)}", value=scope)
    if enterprises and scope != "list":
        raise InputError(
            "只有“指定名单”范围（scope=list）才按名单报送；请去掉名单或改用 list",
            "Only a cycle of scope list reports a list of enterprises: drop the list or use scope list",
            value=scope,
        )
    if year >= beijing_today(now).year:
        raise InputError(
            f"{year}年尚未结束，不能开启该年度的报送周期",
            f"{year} has not ended: its reporting cycle cannot open yet",
            value=year,
        )
    if deadline <= date(year, 12, 31):
        raise InputError(
            f"截止日期 {deadline} 须在 {year} 年结束之后",
            f"The deadline {deadline} must be after the end of {year}",
            value=str(deadline),
        )
    every = check_bases(bases or {})
    must = obliged(engine, year, scope, every, enterprises)
    if must.empty:
        raise InputError(
            f"按“{codes.label('cycle_scope', scope, 'zh')}”没有需要报送的企业，未开启周期",
            f"No enterprise must report under '{codes.label('cycle_scope', scope, 'en')}'; no cycle was opened",
            value=scope,
        )
    at = audit.as_utc(now)
    with Session(engine) as session:
        if session.scalars(select(ReportingCycle).where(ReportingCycle.year == year)).first() is not None:
            raise InputError(f"{year}年的报送周期已开启", f"The {year} reporting cycle is already open", value=year)
        cycle = ReportingCycle(
            year=year,
            deadline=deadline,
            scope=scope,
            bases_json=json.dumps(every),
            opened_at=at,
            opened_by=viewer.username,
        )
        session.add(cycle)
        session.flush()
        assert cycle.id is not None
        session.add_all(
            CycleEnterprise(cycle_id=cycle.id, enterprise_uscc=r.uscc, basis=r.basis) for r in must.itertuples()
        )
        detail = {"year": year, "deadline": deadline.isoformat(), "scope": scope, "enterprises": len(must)}
        audit.add_event(session, viewer, "cycle_open", detail, region="zone", now=at)
        session.commit()
        return cycle.id


def cycle_years(engine: Engine) -> list[int]:
    """Years with a reporting cycle, newest first."""
    with engine.connect() as conn:
        return sorted((int(y) for y in conn.execute(select(ReportingCycle.year)).scalars()), reverse=True)


def get_cycle(engine: Engine, year: int) -> dict[str, Any]:
    """The cycle of ``year`` (id, year, deadline, scope, bases, opened_at, opened_by); ``NotFoundError`` if none."""
    with Session(engine) as session:
        c = session.scalars(select(ReportingCycle).where(ReportingCycle.year == year)).first()
        if c is None:
            raise NotFoundError(f"{year}年尚未开启报送周期", f"No reporting cycle is open for {year}", value=year)
        return {
            "id": c.id,
            "year": c.year,
            "deadline": c.deadline,
            "scope": c.scope,
            "bases": json.loads(c.bases_json),
            "opened_at": c.opened_at,
            "opened_by": c.opened_by,
        }


def cycle_enterprises(engine: Engine, cycle_id: int) -> pd.DataFrame:
    """The enterprises that must report in a cycle: ``uscc``, ``name``, ``region_id``, ``basis``."""
    ents = list_enterprises(engine)[["uscc", "name", "region_id"]]
    with engine.connect() as conn:
        must = pd.read_sql(
            select(CycleEnterprise.enterprise_uscc.label("uscc"), CycleEnterprise.basis).where(
                CycleEnterprise.cycle_id == cycle_id
            ),
            conn,
        )
    return must.merge(ents, on="uscc", how="left")[["uscc", "name", "region_id", "basis"]]


def latest_versions(engine: Engine, cycle_id: int) -> pd.DataFrame:
    """Per enterprise with any submission in a cycle: its newest version (``submission_id``, ``version``,
    ``state``, ``submitted_at``)."""
    with engine.connect() as conn:
        subs = pd.read_sql(
            select(
                Submission.id.label("submission_id"),
                Submission.enterprise_uscc.label("uscc"),
                Submission.version,
                Submission.state,
                Submission.submitted_at,
            ).where(Submission.cycle_id == cycle_id),
            conn,
        )
    subs["submitted_at"] = pd.to_datetime(subs["submitted_at"], utc=True, format="ISO8601")
    return subs.sort_values("version").groupby("uscc").tail(1).reset_index(drop=True)


def board_rows(must: pd.DataFrame, latest: pd.DataFrame, deadline: date, today: date) -> pd.DataFrame:
    """Per obliged enterprise: ``state`` (its newest version's; ``not_submitted`` without one or when withdrawn),
    ``version`` (NaN without one), ``overdue`` (past the deadline and not submitted, or returned and not yet
    submitted again) and ``days_to_deadline`` (negative once past).  Pure."""
    out = must.merge(latest, on="uscc", how="left")
    out["state"] = out["state"].fillna("not_submitted").replace({"withdrawn": "not_submitted"})
    out["overdue"] = (today > deadline) & out["state"].isin(["not_submitted", "returned"])
    out["days_to_deadline"] = (deadline - today).days
    return out


def status_board(engine: Engine, viewer: Viewer, year: int, now: datetime | None = None) -> pd.DataFrame:
    """The cycle's status board for staff: one row per obliged enterprise of the viewer's jurisdictions
    (``board_rows``).  ``AccessDenied`` for others, ``NotFoundError`` without a cycle."""
    require_staff(viewer)
    cycle = get_cycle(engine, year)
    must = cycle_enterprises(engine, cycle["id"])
    must = must.loc[must["region_id"].isin(full_regions(viewer))]
    return board_rows(must, latest_versions(engine, cycle["id"]), cycle["deadline"], beijing_today(now))


def board_counts(board: pd.DataFrame) -> pd.DataFrame:
    """Counts by jurisdiction (rows) and state (columns, in ``STATES`` order, 0 where none), with ``overdue``.
    Pure."""
    counts = pd.crosstab(board["region_id"], board["state"]).reindex(columns=list(STATES), fill_value=0)
    counts["overdue"] = board.groupby("region_id")["overdue"].sum().astype(int)
    order = [r for r in reference.JURISDICTIONS if r in counts.index]  # Qingpu, Wujiang, Jiashan
    return counts.loc[order].rename_axis(index="region_id", columns=None).reset_index()
