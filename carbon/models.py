"""Database tables (SQLModel).  Columns at rest carry their unit in their name."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Column, DateTime, Index, LargeBinary, Text, UniqueConstraint, text
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
    updated_at: datetime | None = _tz_datetime(nullable=True)  # last change of name, region or industry


class Site(SQLModel, table=True):
    """A site (厂区) of an enterprise, in one jurisdiction (``region_id``), which may differ from the jurisdiction
    the enterprise is registered in: the emissions of its meters count there, at its province's factors."""

    __table_args__ = (UniqueConstraint("enterprise_uscc", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    enterprise_uscc: str = Field(foreign_key="enterprise.uscc", max_length=18, index=True)
    name: str = Field(max_length=128)
    region_id: str = Field(foreign_key="region.id", max_length=16, index=True)
    created_at: datetime = _tz_datetime(nullable=False)


class Meter(SQLModel, table=True):
    """A meter of one enterprise measuring one energy carrier; ``site_id`` its site, None: a meter at the
    enterprise's registered jurisdiction (no site given)."""

    __table_args__ = (UniqueConstraint("enterprise_uscc", "meter_code"),)
    id: int | None = Field(default=None, primary_key=True)
    enterprise_uscc: str = Field(foreign_key="enterprise.uscc", max_length=18)
    meter_code: str = Field(max_length=64)
    carrier: str = Field(max_length=32)
    site_id: int | None = Field(default=None, foreign_key="site.id", index=True)


class FileArchive(SQLModel, table=True):
    """Every uploaded file exactly as received."""

    __tablename__ = "file_archive"
    id: int | None = Field(default=None, primary_key=True)
    enterprise_uscc: str = Field(foreign_key="enterprise.uscc", max_length=18, index=True)
    file_name: str
    sha256: str = Field(max_length=64, index=True)
    size_bytes: int
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    uploaded_by: str | None = None
    received_at: datetime = _tz_datetime(nullable=False)


class Batch(SQLModel, table=True):
    """One ingested file: its shape, what was stored, refused, repeated or corrected.

    ``status`` is ``stored`` (its accepted rows are in ``activity``) or ``rejected`` (nothing stored; its
    refused rows are kept in ``rejected_row`` so the user can fix them).  A file (its SHA-256) is stored at most
    once per enterprise, enforced by ``uq_batch_stored_file``: of two uploads of the same bytes racing, the loser's
    transaction fails and it is reported as a duplicate file.  ``duplicate_file`` marks a second stored batch of
    the same bytes kept from before that index (migration 0006).
    """

    __table_args__ = (
        Index(
            "uq_batch_stored_file",
            "enterprise_uscc",
            "sha256",
            unique=True,
            sqlite_where=text("status = 'stored'"),
            postgresql_where=text("status = 'stored'"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    file_id: int = Field(foreign_key="file_archive.id")
    enterprise_uscc: str = Field(foreign_key="enterprise.uscc", max_length=18, index=True)
    file_name: str
    sha256: str = Field(max_length=64, index=True)
    size_bytes: int
    uploaded_by: str | None = None
    received_at: datetime = _tz_datetime(nullable=False)
    shape: str = Field(max_length=16)
    status: str = Field(max_length=16)
    rows_read: int
    rows_accepted: int
    rows_rejected: int
    rows_duplicate: int
    rows_corrected: int
    warnings: int
    # the validation report as the uploader saw it (JSON): counts, ignored columns, corrections, errors and
    # warnings (the first ``carbon.ingest.pipeline.REPORT_ISSUES_KEPT`` of each, with their totals)
    report_json: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class RejectedRow(SQLModel, table=True):
    """A refused row as the user sent it, with every reason, to download and fix."""

    __tablename__ = "rejected_row"
    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="batch.id", index=True)
    source_row: int
    cells_json: str
    issues_json: str


class Activity(SQLModel, table=True):
    """One activity (energy-use) row: a meter's quantity over ``[period_start, period_end)`` (UTC).

    ``quantity_canonical`` is in the canonical unit of the carrier (``carbon/data/carriers.csv``:
    kWh, m3, t or GJ); the value and unit as received are kept beside it.  A row corrected by a later
    file keeps its values and gets ``superseded_at`` / ``superseded_by_batch``; only rows without
    ``superseded_at`` count.
    """

    __table_args__ = (
        Index(
            "uq_activity_current",
            "meter_id",
            "period_start",
            "period_end",
            unique=True,
            sqlite_where=text("superseded_at IS NULL"),
            postgresql_where=text("superseded_at IS NULL"),
        ),
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
    superseded_at: datetime | None = _tz_datetime(nullable=True)
    superseded_by_batch: int | None = Field(default=None, foreign_key="batch.id")


class RegisterReading(SQLModel, table=True):
    """A register (meter index) reading, kept so the next upload's first reading has its predecessor."""

    __tablename__ = "register_reading"
    __table_args__ = (UniqueConstraint("meter_id", "read_at"),)
    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="batch.id", index=True)
    meter_id: int = Field(foreign_key="meter.id")
    read_at: datetime = _tz_datetime(nullable=False)
    register_value: float
    multiplier: float
    unit: str = Field(max_length=32)
    replaced: bool
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
    __table_args__ = (Index("ix_accounting_run_newest", "subject_kind", "basis", "gwp_set", "subject_id", "year"),)
    id: int | None = Field(default=None, primary_key=True)
    subject_kind: str = Field(max_length=16)
    subject_id: str = Field(max_length=18, index=True)
    year: int
    basis: str = Field(max_length=16)
    gwp_set: str = Field(max_length=8)
    computed_at: datetime = _tz_datetime(nullable=False)
    total_tco2e: float | None  # None: no data for that enterprise and year (never 0)
    scope1_tco2e: float | None
    scope2_tco2e: float | None
    energy_tce: float | None
    flags_json: str
    trigger: str | None = None  # why it was computed: a request, a recalculation after new factors or data


class EmissionResult(SQLModel, table=True):
    """Emissions of one enterprise, site, carrier and month within a run, with the factors it used.

    ``site_id`` is the site of the meters behind the line (None: meters without a site); ``region_id`` the
    jurisdiction the line counts in: the site's, or the enterprise's registered jurisdiction for meters without a
    site, as it was when the run was computed; its province chose the factors."""

    __tablename__ = "emission_result"
    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="accounting_run.id", index=True)
    enterprise_uscc: str = Field(max_length=18)
    site_id: int | None = None  # the site of its meters; None: meters without a site
    region_id: str = Field(max_length=16)
    carrier: str = Field(max_length=32)
    month: int
    quantity_canonical: float
    emissions_tco2e: float
    energy_tce: float
    factor_ids: str
    factor_reason: str
    rows_split: int


class RecalcDue(SQLModel, table=True):
    """Recalculation owed (the outbox): written in the transaction of the change it follows from, deleted once the
    results are stored.  ``enterprise_uscc`` None means every enterprise; ``year_from``/``year_to`` None, every year."""

    __tablename__ = "recalc_due"
    id: int | None = Field(default=None, primary_key=True)
    enterprise_uscc: str | None = Field(default=None, max_length=18)
    year_from: int | None = None
    year_to: int | None = None
    reason: str
    created_at: datetime = _tz_datetime(nullable=False)


class Quarantine(SQLModel, table=True):
    """A message or page a connector could not use, kept as received with the reason."""

    id: int | None = Field(default=None, primary_key=True)
    connector: str = Field(max_length=64, index=True)
    received_at: datetime = _tz_datetime(nullable=False)
    payload: str
    reason: str


class ConnectorState(SQLModel, table=True):
    """Per connector: its watermark (the last reading it stored) and its health, for the dashboard.

    ``newest_reading_at`` is the end of the newest reading it has stored; its lag is measured from it when read
    (``connectors.state.health``), so it keeps growing while the connector fails."""

    __tablename__ = "connector_state"
    name: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=16)
    watermark: str | None = None
    last_run_at: datetime | None = _tz_datetime(nullable=True)
    last_success_at: datetime | None = _tz_datetime(nullable=True)
    last_error_at: datetime | None = _tz_datetime(nullable=True)
    last_error: str | None = None
    consecutive_failures: int = 0
    healthy: bool = True
    newest_reading_at: datetime | None = _tz_datetime(nullable=True)
    runs: int = 0
    readings_stored: int = 0
    readings_duplicate: int = 0
    quarantined: int = 0


class Statistic(SQLModel, table=True):
    """An official statistic (GDP of a region; value added or output value of an enterprise), with its source.

    A revised figure supersedes the earlier one, which stays as history (``superseded_at``).
    """

    id: int | None = Field(default=None, primary_key=True)
    subject_kind: str = Field(max_length=16)
    subject_id: str = Field(max_length=18, index=True)
    year: int
    indicator: str = Field(max_length=16)
    value_wan_cny: float
    status: str = Field(max_length=16)
    source: str
    imported_at: datetime = _tz_datetime(nullable=False)
    superseded_at: datetime | None = _tz_datetime(nullable=True)


class StatsRelease(SQLModel, table=True):
    """One imported file of regional energy statistics: what its figures were read from (name and SHA-256)."""

    __tablename__ = "stats_release"
    id: int | None = Field(default=None, primary_key=True)
    file_name: str
    sha256: str = Field(max_length=64, index=True)
    imported_at: datetime = _tz_datetime(nullable=False)


class RegionalEnergy(SQLModel, table=True):
    """A jurisdiction's energy figure for a year as published: final use of a carrier by an inventory sector, or
    its net imported electricity (``flow`` ``net_import``, sector ``all``), in the carrier's canonical unit
    (``quantity_canonical``) and as written (``quantity_original`` ``unit_original``).

    A revised figure supersedes the stored one, which stays as history (``superseded_at``).
    """

    __tablename__ = "regional_energy"
    id: int | None = Field(default=None, primary_key=True)
    release_id: int = Field(foreign_key="stats_release.id", index=True)
    region_id: str = Field(foreign_key="region.id", max_length=16, index=True)
    year: int
    sector: str = Field(max_length=16)
    carrier: str = Field(max_length=32)
    flow: str = Field(max_length=16)
    quantity_canonical: float
    quantity_original: float
    unit_original: str = Field(max_length=24)
    status: str = Field(max_length=16)
    source: str
    superseded_at: datetime | None = _tz_datetime(nullable=True)


class UserAccount(SQLModel, table=True):
    """A dashboard user: ``role`` zone, region or enterprise with its scope; the password only as an argon2id hash."""

    __tablename__ = "user_account"
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True, index=True)
    password_hash: str
    role: str = Field(max_length=16)
    region_id: str | None = Field(default=None, foreign_key="region.id", max_length=16)
    enterprise_uscc: str | None = Field(default=None, foreign_key="enterprise.uscc", max_length=18)
    created_at: datetime = _tz_datetime(nullable=False)
    disabled: bool = False


class AuditEvent(SQLModel, table=True):
    """Who did what and when (sign-ins, uploads, exports, accounts), never a password.

    ``region_id`` is the jurisdiction the event concerns (it decides which region staff see it); no foreign keys,
    so an event is always written exactly as it happened.  ``detail`` is a JSON object.
    """

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_region_at", "region_id", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _tz_datetime(nullable=False, index=True)
    username: str
    role: str | None = Field(default=None, max_length=16)
    region_id: str | None = Field(default=None, max_length=16)
    enterprise_uscc: str | None = Field(default=None, max_length=18)
    action: str = Field(max_length=32)
    detail: str


class LedgerClock(SQLModel, table=True):
    """One row: the Beijing date on which the result ledger last read which rules are in force (a factor record's
    ``valid_from``/``valid_to``).  When a later date passes one of those dates, a full recalculation is owed."""

    __tablename__ = "ledger_clock"
    id: int | None = Field(default=None, primary_key=True)
    priced_on: date | None = None


class ReportingCycle(SQLModel, table=True):
    """One year's reporting cycle (报送周期): its deadline, who must report and the basis of record of each
    jurisdiction (JSON object, jurisdiction -> basis), fixed when it is opened."""

    __tablename__ = "reporting_cycle"
    id: int | None = Field(default=None, primary_key=True)
    year: int = Field(unique=True)
    deadline: date
    scope: str = Field(max_length=16)  # all, key_emitters or list
    bases_json: str
    opened_at: datetime = _tz_datetime(nullable=False)
    opened_by: str


class CycleEnterprise(SQLModel, table=True):
    """An enterprise that must report in a cycle, fixed when the cycle is opened (or added later by staff)."""

    __tablename__ = "cycle_enterprise"
    __table_args__ = (UniqueConstraint("cycle_id", "enterprise_uscc"),)
    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="reporting_cycle.id", index=True)
    enterprise_uscc: str = Field(foreign_key="enterprise.uscc", max_length=18)
    basis: str = Field(max_length=16)  # the basis of record of its jurisdiction when the cycle was opened


class Submission(SQLModel, table=True):
    """One version of an enterprise's annual report: frozen when submitted, never changed but for its state.

    ``state``: submitted, in_review, returned, approved, verified or withdrawn.  Its figures are the stored results
    on the basis of record at the moment of submission (``submission_line``) over the activity rows then current
    (``submission_activity``); ``quality_json`` the data-quality summary, ``manifest_json`` what it rests on."""

    __table_args__ = (UniqueConstraint("cycle_id", "enterprise_uscc", "version"),)
    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="reporting_cycle.id", index=True)
    enterprise_uscc: str = Field(foreign_key="enterprise.uscc", max_length=18, index=True)
    version: int
    state: str = Field(max_length=16)
    basis: str = Field(max_length=16)
    gwp_set: str = Field(max_length=8)
    submitted_at: datetime = _tz_datetime(nullable=False)
    submitted_by: str
    declaration: str
    total_tco2e: float
    scope1_tco2e: float
    scope2_tco2e: float
    energy_tce: float
    quality_json: str
    manifest_json: str
    result_sha256: str = Field(max_length=64)


class SubmissionLine(SQLModel, table=True):
    """A result line of a submission (site, carrier and month), as stored when it was submitted: ``site_id`` the
    site of its meters (None: none), ``region_id`` the jurisdiction it counted in (None: a version submitted before
    sites, counted where the enterprise was, its manifest's ``place``)."""

    __tablename__ = "submission_line"
    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submission.id", index=True)
    site_id: int | None = None
    region_id: str | None = Field(default=None, max_length=16)
    carrier: str = Field(max_length=32)
    month: int
    quantity_canonical: float
    emissions_tco2e: float
    energy_tce: float
    factor_ids: str
    factor_reason: str


class SubmissionActivity(SQLModel, table=True):
    """An activity row a submission rests on, copied when it was submitted (the file it came from by SHA-256), with
    the site of its meter then (``site_id``, None: none) and the jurisdiction it counted in (``region_id``; None: a
    version submitted before sites, its manifest's ``place``)."""

    __tablename__ = "submission_activity"
    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submission.id", index=True)
    activity_id: int
    batch_id: int
    file_sha256: str = Field(max_length=64)
    meter_code: str = Field(max_length=64)
    site_id: int | None = None
    region_id: str | None = Field(default=None, max_length=16)
    carrier: str = Field(max_length=32)
    period_start: datetime = _tz_datetime(nullable=False)
    period_end: datetime = _tz_datetime(nullable=False)
    quantity_canonical: float
    quantity_original: float
    unit_original: str = Field(max_length=32)


class SubmissionEvent(SQLModel, table=True):
    """A step of a submission's review (submit, withdraw, start_review, return, approve, verify) with its note."""

    __tablename__ = "submission_event"
    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submission.id", index=True)
    at: datetime = _tz_datetime(nullable=False)
    actor: str
    action: str = Field(max_length=16)
    note: str | None = None


class ReviewComment(SQLModel, table=True):
    """A reviewer's comment on a line of a submission: a carrier, and where given a month and a meter."""

    __tablename__ = "review_comment"
    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submission.id", index=True)
    at: datetime = _tz_datetime(nullable=False)
    author: str
    carrier: str | None = Field(default=None, max_length=32)
    month: int | None = None
    meter_code: str | None = Field(default=None, max_length=64)
    text: str


class Verification(SQLModel, table=True):
    """The verified figures of a version (现场核查): the reported ones with each adjustment and its reason
    (``adjustments_json``: carrier, month or null, change in tCO2e and tce, reason).  Both stay; the verified
    figures are the year's official ones."""

    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submission.id", unique=True)
    verified_at: datetime = _tz_datetime(nullable=False)
    verified_by: str
    total_tco2e: float
    scope1_tco2e: float
    scope2_tco2e: float
    energy_tce: float
    adjustments_json: str
    note: str | None = None
    record_sha256: str = Field(max_length=64)  # of the verified figures and adjustments (``verification.record_hash``)


class VerificationDraw(SQLModel, table=True):
    """A draw of submissions for on-site verification: the top ``top_n`` by risk score and a random ``random_share``
    of the rest, drawn with ``seed`` so that it can be made again (``scores_json``: every score and its reasons)."""

    __tablename__ = "verification_draw"
    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="reporting_cycle.id", index=True)
    drawn_at: datetime = _tz_datetime(nullable=False)
    drawn_by: str
    seed: int = Field(sa_column=Column(BigInteger, nullable=False))
    top_n: int
    random_share: float
    selected_json: str
    scores_json: str


class GridAccount(SQLModel, table=True):
    """A utility account (户号) of an enterprise at its utility (供电单位, a ``utility`` code of ``codes.csv``).

    One account belongs to one enterprise: ``uq_grid_account`` refuses a second claim of the same utility and
    account number, also when two registrations race (a utility's energy counted for two enterprises would be
    counted twice).  ``registered_by`` is the user (or CLI / connector name) who registered it."""

    __tablename__ = "grid_account"
    __table_args__ = (UniqueConstraint("utility", "account_no", name="uq_grid_account"),)
    id: int | None = Field(default=None, primary_key=True)
    utility: str = Field(max_length=32)
    account_no: str = Field(max_length=32)
    enterprise_uscc: str = Field(foreign_key="enterprise.uscc", max_length=18, index=True)
    registered_by: str
    registered_at: datetime = _tz_datetime(nullable=False)


class GridAccountMeter(SQLModel, table=True):
    """A meter (electricity) of the account's enterprise behind the account; a meter is behind one account only."""

    __tablename__ = "grid_account_meter"
    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="grid_account.id", index=True)
    meter_id: int = Field(foreign_key="meter.id", unique=True)


class GridStatement(SQLModel, table=True):
    """The utility's statement of one account and billing period: the settled active energy (结算电量) between the
    previous meter-reading date (上次抄表日期, ``period_start``) and this one (本次抄表日期, ``period_end``), each
    read at 00:00 Beijing time, so the period is ``[period_start, period_end)`` in Beijing dates.

    ``account_no`` is not a foreign key: a statement of an account no enterprise has registered yet is kept (and
    reported).  A restatement by the utility supersedes the current statement of the same account and period, which
    stays as history (``superseded_at``, ``superseded_by``); ``uq_grid_statement_current`` keeps one current
    statement per account and period, also when two deliveries race."""

    __tablename__ = "grid_statement"
    __table_args__ = (
        Index(
            "uq_grid_statement_current",
            "utility",
            "account_no",
            "period_start",
            "period_end",
            unique=True,
            sqlite_where=text("superseded_at IS NULL"),
            postgresql_where=text("superseded_at IS NULL"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    utility: str = Field(max_length=32)
    account_no: str = Field(max_length=32, index=True)
    account_name: str | None = None
    period_start: date
    period_end: date
    energy_kwh: float
    energy_original: float
    unit_original: str = Field(max_length=32)
    issued_at: datetime = _tz_datetime(nullable=False)  # when the utility issued (or restated) it
    received_at: datetime = _tz_datetime(nullable=False)
    source: str  # the connector, or the file it came in
    source_row: int
    superseded_at: datetime | None = _tz_datetime(nullable=True)
    superseded_by: int | None = Field(default=None, foreign_key="grid_statement.id")
