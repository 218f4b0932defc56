"""Registering and looking up enterprises."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import Session

from carbon import reference
from carbon.errors import InputError, NotFoundError
from carbon.models import Enterprise
from carbon.uscc import validate_uscc


def add_enterprise(engine: Engine, *, code: str, name: str, region: str, industry: str) -> Enterprise:
    """Register an enterprise; refuses a wrong USCC, region or industry code, or a code already registered."""
    uscc = validate_uscc(code)
    if region not in reference.JURISDICTIONS:
        raise InputError(
            f"区域须为 qingpu、wujiang 或 jiashan，而不是 {region}",
            f"region must be qingpu, wujiang or jiashan, not {region}",
            value=region,
        )
    division = reference.industry_division(industry)
    if not name.strip():
        raise InputError("企业名称不能为空", "The enterprise name cannot be empty")
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


def get_enterprise(engine: Engine, code: str) -> Enterprise:
    """The registered enterprise with this USCC, or ``NotFoundError``."""
    with Session(engine) as session:
        ent = session.get(Enterprise, str(code).strip().upper())
        if ent is None:
            raise NotFoundError(f"企业 {code} 未登记", f"Enterprise {code} is not registered", value=code)
        return ent
