"""Registering and looking up enterprises."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
from sqlalchemy import Engine, select
from sqlmodel import Session

from carbon import outbox, reference
from carbon.errors import InputError, NotFoundError
from carbon.limits import check_length
from carbon.models import Enterprise
from carbon.uscc import validate_uscc


def _check_region(region: str) -> None:
    if region not in reference.JURISDICTIONS:
        raise InputError(
            f"区域须为 qingpu、wujiang 或 jiashan，而不是 {region}",
            f"region must be qingpu, wujiang or jiashan, not {region}",
            value=region,
        )


def _check_name(name: str) -> None:
    if not name.strip():
        raise InputError("企业名称不能为空", "The enterprise name cannot be empty")
    check_length(name.strip(), Enterprise.name, "企业名称", "The enterprise name")


def add_enterprise(engine: Engine, *, code: str, name: str, region: str, industry: str) -> Enterprise:
    """Register an enterprise; refuses a wrong USCC, region or industry code, or a code already registered."""
    uscc = validate_uscc(code)
    _check_region(region)
    division = reference.industry_division(industry)
    _check_name(name)
    with Session(engine) as session:
        if session.get(Enterprise, uscc) is not None:
            raise InputError(f"企业 {uscc} 已登记", f"Enterprise {uscc} is already registered", value=uscc)
        ent = Enterprise(
            uscc=uscc,
            name=name.strip(),
            region_id=region,
            industry_code=industry.strip().upper(),
            division_code=division,
            created_at=datetime.now(UTC),
        )
        session.add(ent)
        session.commit()
        session.refresh(ent)
        return ent


def update_enterprise(
    engine: Engine, code: str, *, name: str | None = None, region: str | None = None, industry: str | None = None
) -> Enterprise:
    """Change an enterprise's name, jurisdiction or industry.  A new jurisdiction can change the factors of its
    results (the province decides them), so its recalculation on every year is owed in the same transaction."""
    if region is not None:
        _check_region(region)
    if name is not None:
        _check_name(name)
    division = reference.industry_division(industry) if industry is not None else None
    with Session(engine) as session:
        ent = session.get(Enterprise, str(code).strip().upper())
        if ent is None:
            raise NotFoundError(f"企业 {code} 未登记", f"Enterprise {code} is not registered", value=code)
        moved = region is not None and region != ent.region_id
        if name is not None:
            ent.name = name.strip()
        if region is not None:
            ent.region_id = region
        if industry is not None:
            ent.industry_code, ent.division_code = industry.strip().upper(), division
        ent.updated_at = datetime.now(UTC)
        session.add(ent)
        session.flush()
        if moved:
            outbox.owe(session.connection(), f"enterprise {ent.uscc} moved to {region}", ent.uscc)
        session.commit()
        session.refresh(ent)
        return ent


def list_enterprises(engine: Engine, region: str | None = None) -> pd.DataFrame:
    """Registered enterprises (optionally of one jurisdiction) with division name and sector."""
    stmt = select(
        Enterprise.uscc, Enterprise.name, Enterprise.region_id, Enterprise.industry_code, Enterprise.division_code
    ).order_by(Enterprise.region_id, Enterprise.uscc)
    if region:
        stmt = stmt.where(Enterprise.region_id == region)
    with engine.connect() as conn:
        df = pd.read_sql(stmt, conn)
    divisions = reference.industry_divisions()
    df["division_name"] = df["division_code"].map(divisions["name_zh"])
    df["sector"] = df["division_code"].map(divisions["sector"])
    df["sector_zh"] = df["sector"].map(reference.sectors()["name_zh"])
    return df


def get_enterprise(engine: Engine, code: str) -> Enterprise:
    """The registered enterprise with this USCC, or ``NotFoundError``."""
    with Session(engine) as session:
        ent = session.get(Enterprise, str(code).strip().upper())
        if ent is None:
            raise NotFoundError(f"企业 {code} 未登记", f"Enterprise {code} is not registered", value=code)
        return ent
