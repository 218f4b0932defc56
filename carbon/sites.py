"""Sites (厂区) of enterprises: each in one jurisdiction, which may differ from where the enterprise is registered.

A meter belongs to at most one site of its own enterprise.  The activity of a meter counts in its site's
jurisdiction (and is priced at that jurisdiction's province); a meter without a site counts where its enterprise is
registered, so an enterprise with no sites works as before and a change of its registered jurisdiction still moves
those meters.  Moving a meter to another site, or a site to another jurisdiction, changes figures: the
recalculation it makes owed is recorded in the same transaction (``carbon.outbox``), so no figure stays stale.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, func, select
from sqlmodel import Session

from carbon import outbox, reference
from carbon.errors import InputError, NotFoundError
from carbon.limits import check_length
from carbon.models import Activity, Enterprise, Meter, Site
from carbon.uscc import validate_uscc

SITE_COLUMNS = [
    "site_id", "enterprise_uscc", "enterprise_name", "registered_region_id", "name", "region_id", "meters",
    "created_at",
]  # fmt: skip


def _check_region(region: str) -> str:
    if region not in reference.JURISDICTIONS:
        raise InputError(
            f"厂区所在区域须为 qingpu、wujiang 或 jiashan，而不是 {region}",
            f"a site's region must be qingpu, wujiang or jiashan, not {region}",
            value=region,
        )
    return region


def _check_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise InputError("厂区名称不能为空", "The site name cannot be empty")
    return check_length(name, Site.name, "厂区名称", "The site name")


def _enterprise(session: Session, code: str) -> Enterprise:
    ent = session.get(Enterprise, validate_uscc(code))
    if ent is None:
        raise NotFoundError(f"企业 {code} 未登记", f"Enterprise {code} is not registered", value=code)
    return ent


def _site(session: Session, site_id: int) -> Site:
    site = session.get(Site, int(site_id))
    if site is None:
        raise NotFoundError(f"厂区 {site_id} 不存在", f"Site {site_id} does not exist", value=site_id)
    return site


def _meter_years(conn: Connection, meter_ids: list[int]) -> tuple[int, int] | None:
    """First and last local year of the current activity of some meters; None without any."""
    lo, hi = conn.execute(
        select(func.min(Activity.period_start), func.max(Activity.period_end)).where(
            Activity.meter_id.in_(meter_ids), Activity.superseded_at.is_(None)
        )
    ).one()
    if lo is None:
        return None
    return outbox.local_years(pd.Series([lo]), pd.Series([hi]))


def add_site(engine: Engine, *, enterprise: str, name: str, region: str) -> Site:
    """Register a site of an enterprise in a jurisdiction (qingpu, wujiang or jiashan).  Refuses an unknown
    enterprise or region, an empty or too long name, or a name the enterprise already gave another site.  No
    figure changes until a meter is assigned to it."""
    name, region = _check_name(name), _check_region(region)
    with Session(engine) as session:
        ent = _enterprise(session, enterprise)
        taken = session.execute(
            select(Site.id).where(Site.enterprise_uscc == ent.uscc, Site.name == name)
        ).scalar_one_or_none()
        if taken is not None:
            raise InputError(
                f"企业 {ent.uscc} 已有名为“{name}”的厂区（编号 {taken}）",
                f"Enterprise {ent.uscc} already has a site named “{name}” (id {taken})",
                value=name,
            )
        site = Site(enterprise_uscc=ent.uscc, name=name, region_id=region, created_at=datetime.now(UTC))
        session.add(site)
        session.commit()
        session.refresh(site)
        return site


def update_site(engine: Engine, site_id: int, *, name: str | None = None, region: str | None = None) -> Site:
    """Rename a site or change its jurisdiction.  A new jurisdiction moves the figures of its meters (where they
    count, and their province's factors): the recalculation of the enterprise over the years of those meters'
    activity is owed in the same transaction."""
    name = _check_name(name) if name is not None else None
    region = _check_region(region) if region is not None else None
    with Session(engine) as session:
        site = _site(session, site_id)
        moved = region is not None and region != site.region_id
        if name is not None:
            site.name = name
        if region is not None:
            site.region_id = region
        session.add(site)
        session.flush()
        if moved:
            conn = session.connection()
            meters = list(conn.execute(select(Meter.id).where(Meter.site_id == site.id)).scalars())
            years = _meter_years(conn, meters) if meters else None
            if years is not None:
                outbox.owe(conn, f"site {site.id} of {site.enterprise_uscc} moved to {region}", site.enterprise_uscc,
                           years)  # fmt: skip
        session.commit()
        session.refresh(site)
        return site


def assign_meter(engine: Engine, *, enterprise: str, meter: str, site_id: int | None) -> dict[str, Any]:
    """Put a meter of an enterprise on one of its sites (``site_id`` None: on no site, so at the enterprise's
    registered jurisdiction).  Refuses an unknown meter or site, and a site of another enterprise.  The
    recalculation of the enterprise over the years of the meter's activity is owed in the same transaction.
    Returns ``meter``, ``enterprise_uscc``, ``from_site`` and ``to_site`` (ids or None) and ``years`` owed."""
    with Session(engine) as session:
        ent = _enterprise(session, enterprise)
        m = session.execute(
            select(Meter).where(Meter.enterprise_uscc == ent.uscc, Meter.meter_code == str(meter).strip())
        ).scalar_one_or_none()
        if m is None:
            raise NotFoundError(
                f"企业 {ent.uscc} 没有计量表 {meter}", f"Enterprise {ent.uscc} has no meter {meter}", value=meter
            )
        if site_id is not None:
            site = _site(session, site_id)
            if site.enterprise_uscc != ent.uscc:
                raise InputError(
                    f"厂区 {site_id} 不属于企业 {ent.uscc}：计量表只能归入本企业的厂区",
                    f"Site {site_id} is not a site of enterprise {ent.uscc}: a meter goes only to its own "
                    "enterprise's sites",
                    value=site_id,
                )
        before = m.site_id
        years = None
        if before != site_id:
            m.site_id = site_id
            session.add(m)
            session.flush()
            conn = session.connection()
            years = _meter_years(conn, [int(m.id)])
            if years is not None:
                outbox.owe(conn, f"meter {m.meter_code} of {ent.uscc} moved to site {site_id}", ent.uscc, years)
        session.commit()
        return {
            "meter": m.meter_code,
            "enterprise_uscc": ent.uscc,
            "from_site": before,
            "to_site": site_id,
            "years": None if years is None else list(years),
        }


def list_sites(engine: Engine, *, enterprise: str | None = None, regions: list[str] | None = None) -> pd.DataFrame:
    """Sites (``SITE_COLUMNS``: id, enterprise and the jurisdiction it is registered in, name, the site's
    jurisdiction, number of meters, created at UTC), of one enterprise and/or in some jurisdictions, or all;
    ordered by enterprise and id.  ``NotFoundError`` for an enterprise that is not registered (an empty list would
    read as "no sites"), ``InputError`` for a malformed USCC."""
    meters = (
        (select(Meter.site_id, func.count(Meter.id).label("meters")).where(Meter.site_id.is_not(None)))
        .group_by(Meter.site_id)
        .subquery()
    )
    stmt = (
        select(
            Site.id.label("site_id"),
            Site.enterprise_uscc,
            Enterprise.name.label("enterprise_name"),
            Enterprise.region_id.label("registered_region_id"),
            Site.name,
            Site.region_id,
            func.coalesce(meters.c.meters, 0).label("meters"),
            Site.created_at,
        )
        .join(Enterprise, Enterprise.uscc == Site.enterprise_uscc)
        .outerjoin(meters, meters.c.site_id == Site.id)
        .order_by(Site.enterprise_uscc, Site.id)
    )
    if enterprise is not None:
        with Session(engine) as session:
            code = _enterprise(session, str(enterprise).strip().upper()).uscc
        stmt = stmt.where(Site.enterprise_uscc == code)
    if regions is not None:
        stmt = stmt.where(Site.region_id.in_(regions))
    with engine.connect() as conn:
        df = pd.read_sql(stmt, conn)
    df["created_at"] = pd.to_datetime(df["created_at"], utc=True, format="ISO8601")
    df["meters"] = df["meters"].astype(int)
    return df[SITE_COLUMNS]


def meter_sites(engine: Engine, enterprise: str) -> pd.DataFrame:
    """An enterprise's meters with their site: ``meter_code``, ``carrier``, ``site_id`` (NaN: none), ``site_name``
    (None: none) and ``region_id``, the jurisdiction the meter counts in."""
    stmt = (
        select(
            Meter.meter_code,
            Meter.carrier,
            Meter.site_id,
            Site.name.label("site_name"),
            func.coalesce(Site.region_id, Enterprise.region_id).label("region_id"),
        )
        .join(Enterprise, Enterprise.uscc == Meter.enterprise_uscc)
        .outerjoin(Site, Site.id == Meter.site_id)
        .where(Meter.enterprise_uscc == str(enterprise).strip().upper())
        .order_by(Meter.meter_code)
    )
    with engine.connect() as conn:
        df = pd.read_sql(stmt, conn)
    df["site_id"] = df["site_id"].astype("float64")
    return df
