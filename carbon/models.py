"""Database tables (SQLModel).  Columns at rest carry their unit in their name."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, DateTime, Index, UniqueConstraint
from sqlmodel import Field, SQLModel


def _tz_datetime(**kw: object) -> Field:  # type: ignore[valid-type]
    return Field(sa_column=Column(DateTime(timezone=True), **kw))


class Region(SQLModel, table=True):
    """The zone and its jurisdictions; ``province`` (ISO 3166-2:CN) decides provincial factors."""

    id: str = Field(primary_key=True, max_length=16)
    name_zh: str
    name_en: str
    admin_code: str | None = Field(default=None, max_length=6)
    province: str | None = Field(default=None, max_length=8)
    grid: str | None = Field(default=None, max_length=24)
    parent_id: str | None = Field(default=None, foreign_key="region.id", max_length=16)


class IndustryDivision(SQLModel, table=True):
    """GB/T 4754-2017 division (大类) and the dashboard sector it belongs to."""

    __tablename__ = "industry_division"
    code: str = Field(primary_key=True, max_length=2)
    section: str = Field(max_length=1)
    name_zh: str
    name_en: str
    sector: str = Field(max_length=32)


class Enterprise(SQLModel, table=True):
    """An enterprise keyed by its unified social credit code (统一社会信用代码)."""

    uscc: str = Field(primary_key=True, min_length=18, max_length=18)
    name: str
    region_id: str = Field(foreign_key="region.id", max_length=16, index=True)
    industry_code: str = Field(max_length=5)
    division_code: str = Field(foreign_key="industry_division.code", max_length=2, index=True)
    created_at: datetime = _tz_datetime(nullable=False)


class Meter(SQLModel, table=True):
    """A meter of one enterprise measuring one energy carrier."""

    __table_args__ = (UniqueConstraint("enterprise_uscc", "meter_code"),)
    id: int | None = Field(default=None, primary_key=True)
    enterprise_uscc: str = Field(foreign_key="enterprise.uscc", max_length=18)
    meter_code: str = Field(max_length=64)
    carrier: str = Field(max_length=32)


class Batch(SQLModel, table=True):
    """One ingested file: what came in, from whom, and what was stored."""

    __table_args__ = (UniqueConstraint("enterprise_uscc", "sha256"),)
    id: int | None = Field(default=None, primary_key=True)
    enterprise_uscc: str = Field(foreign_key="enterprise.uscc", max_length=18, index=True)
    file_name: str
    sha256: str = Field(max_length=64)
    size_bytes: int
    uploaded_by: str | None = None
    received_at: datetime = _tz_datetime(nullable=False)
    rows_read: int
    rows_accepted: int
    rows_duplicate: int


class Activity(SQLModel, table=True):
    """One activity (energy-use) row: a meter's quantity over ``[period_start, period_end)`` (UTC).

    ``quantity_canonical`` is in the canonical unit of the carrier (``carbon/data/carriers.csv``:
    kWh, m3, t or GJ); the value and unit as received are kept beside it.
    """

    __table_args__ = (
        UniqueConstraint("meter_id", "period_start", "period_end"),
        Index("ix_activity_enterprise_period", "enterprise_uscc", "period_start"),
    )
    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="batch.id", index=True)
    meter_id: int = Field(foreign_key="meter.id")
    enterprise_uscc: str = Field(foreign_key="enterprise.uscc", max_length=18)
    carrier: str = Field(max_length=32)
    period_start: datetime = _tz_datetime(nullable=False)
    period_end: datetime = _tz_datetime(nullable=False)
    quantity_canonical: float
    quantity_original: float
    unit_original: str = Field(max_length=32)
    source_row: int


class Factor(SQLModel, table=True):
    """A sourced factor or parameter record from the ``factors/`` library."""

    id: str = Field(primary_key=True, max_length=96)
    parameter: str = Field(max_length=32, index=True)
    carrier: str | None = Field(default=None, max_length=32)
    gas: str | None = Field(default=None, max_length=24)
    region: str = Field(max_length=24)
    basis: str = Field(max_length=24)
    vintage: int | None = None
    value: float
    unit: str = Field(max_length=32)
    valid_from: date | None = None
    valid_to: date | None = None
    superseded_by: str | None = Field(default=None, max_length=96)
    status: str = Field(max_length=16)
    publisher: str
    document_title: str
    document_number: str | None = None
    published_on: date | None = None
    source_url: str | None = None
    notes: str | None = None
    dataset: str = Field(max_length=128)


class AccountingRun(SQLModel, table=True):
    """One computed result set, never overwritten: each recalculation is a new run with its as-of time."""

    __tablename__ = "accounting_run"
    id: int | None = Field(default=None, primary_key=True)
    subject_kind: str = Field(max_length=16)
    subject_id: str = Field(max_length=18, index=True)
    year: int
    basis: str = Field(max_length=16)
    gwp_set: str = Field(max_length=8)
    computed_at: datetime = _tz_datetime(nullable=False)
    total_tco2e: float
    scope1_tco2e: float
    scope2_tco2e: float
    energy_tce: float
    flags_json: str


class EmissionResult(SQLModel, table=True):
    """Emissions of one enterprise, carrier and month within a run, with the factors it used."""

    __tablename__ = "emission_result"
    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="accounting_run.id", index=True)
    enterprise_uscc: str = Field(max_length=18)
    carrier: str = Field(max_length=32)
    month: int
    quantity_canonical: float
    emissions_tco2e: float
    energy_tce: float
    factor_ids: str
    factor_reason: str
    rows_split: int
