"""Annual reports (年度排放报告) as submitted: frozen versions of an enterprise's year, never changed but for state.

A submission copies, at the moment it is made, the stored result lines of the enterprise's year on the basis of
record of its jurisdiction (``submission_line``), the activity rows they rest on with the SHA-256 of the file each
came from (``submission_activity``), a data-quality summary and a manifest (files, factor records and their values,
code and data versions, the SHA-256 of the result lines).  Results owed a recalculation are settled first, so a
report is never frozen from stale figures.

A correction is a new version (v2, v3 ...); every version is kept and can be compared (``difference``).  A version
may be withdrawn only while it waits for review.  A new version may be made when there is none, or the newest was
returned, withdrawn or approved; not while one waits for or is in review, nor after verification.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

import pandas as pd
from sqlalchemy import Engine, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

import carbon
from carbon import audit, codes, reference
from carbon.access import Viewer, full_regions, require_enterprise, require_writer
from carbon.analytics.completeness import completeness
from carbon.enterprises import get_enterprise, list_enterprises
from carbon.errors import AccessDenied, InputError, NotFoundError
from carbon.intake import settle
from carbon.ledger import GWP_OF_RECORD, line_jurisdiction, load_factors, local_today, stored_result, year_bounds_utc
from carbon.models import (
    Activity,
    Batch,
    CycleEnterprise,
    Enterprise,
    Meter,
    Site,
    Submission,
    SubmissionActivity,
    SubmissionEvent,
    SubmissionLine,
)
from carbon.reporting.cycles import get_cycle

# The declaration of the report template (附一 报告格式模板) of the NDRC enterprise accounting guidelines for
# industry (发改办气候〔2013〕2526号 and the later batches), which closes every enterprise's annual report.
DECLARATION = (
    "本报告真实、可靠，如报告中的信息与实际情况不符，本企业将承担相应的法律责任。",
    "This report is true and reliable; should its information not match the facts, the enterprise bears the legal "
    "responsibility.",
)
LINE_FIELDS = ["carrier", "month", "quantity_canonical", "emissions_tco2e", "energy_tce", "factor_ids"]
SITE_FIELDS = ["region_id", "site_id"]  # where a line counted and the site of its meters (None: none)
# a new version may follow a newest version in these states
RESUBMITTABLE = ("returned", "withdrawn", "approved")


ACTIVITY_FIELDS = [
    "activity_id",
    "file_sha256",
    "meter_code",
    "carrier",
    "period_start",
    "period_end",
    "quantity_canonical",
    "quantity_original",
    "unit_original",
]


def _site_suffixes(frame: pd.DataFrame) -> list[str]:
    """Per row, ``|region|site`` for a row of a meter on a site, else nothing: a version without sites hashes as
    it did before sites existed.  Pure."""
    if "site_id" not in frame.columns:
        return [""] * len(frame)
    site = frame["site_id"].astype("float64")
    region = frame["region_id"] if "region_id" in frame.columns else pd.Series("", index=frame.index)
    return ["" if pd.isna(s) else f"|{r}|{int(s)}" for s, r in zip(site, region.fillna("").astype(str), strict=True)]


def activity_hash(activity: pd.DataFrame) -> str:
    """SHA-256 of frozen activity rows (``ACTIVITY_FIELDS``, and for a row of a meter on a site its jurisdiction
    and site) in activity-id order, times as UTC ISO text and quantities to the last bit.  Pure."""
    a = activity.sort_values("activity_id")
    starts, ends = (pd.to_datetime(a[c], utc=True, format="ISO8601") for c in ("period_start", "period_end"))
    text = "\n".join(
        f"{int(i)}|{f}|{m}|{c}|{s.isoformat()}|{e.isoformat()}|{float(q).hex()}|{float(o).hex()}|{u}{w}"
        for i, f, m, c, s, e, q, o, u, w in zip(
            a["activity_id"],
            a["file_sha256"],
            a["meter_code"],
            a["carrier"],
            starts,
            ends,
            a["quantity_canonical"],
            a["quantity_original"],
            a["unit_original"],
            _site_suffixes(a),
            strict=True,
        )
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def line_hash(lines: pd.DataFrame) -> str:
    """SHA-256 of result lines (``LINE_FIELDS``, and for a line of meters on a site its jurisdiction and site), in
    carrier, month and site order, every figure to the last bit (``float.hex``): the same lines give the same hash
    on any machine and database.  Pure."""
    frame = lines[LINE_FIELDS].assign(where_=_site_suffixes(lines))
    rows = frame.sort_values(["carrier", "month", "where_"]).itertuples(index=False)
    text = "\n".join(
        f"{r.carrier}|{int(r.month)}|{float(r.quantity_canonical).hex()}|{float(r.emissions_tco2e).hex()}|"
        f"{float(r.energy_tce).hex()}|{r.factor_ids}{r.where_}"
        for r in rows
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@cache
def data_versions() -> dict[str, str]:
    """SHA-256 of every rule, parameter and factor table the package ships (the CSV files under ``carbon/data`` and
    ``factors/data``), by path: what a result rests on besides its inputs."""
    out = {}

    def walk(item: Any, path: str) -> None:
        if item.is_dir():
            for child in sorted(item.iterdir(), key=lambda c: c.name):
                walk(child, f"{path}/{child.name}")
        elif item.name.endswith(".csv"):
            out[path] = hashlib.sha256(item.read_bytes()).hexdigest()

    for package in ("carbon", "factors"):
        walk(resources.files(package).joinpath("data"), f"{package}/data")
    return out


def activity_rows(engine: Engine, uscc: str, year: int) -> pd.DataFrame:
    """The enterprise's current activity rows overlapping the (Beijing) year, with their meter code, the SHA-256
    of the file each came from, the site of its meter (``site_id``, NaN: none) and the jurisdiction it counts in
    (``region_id``)."""
    start, end = year_bounds_utc(year)
    stmt = (
        select(
            Activity.id.label("activity_id"),
            Activity.batch_id,
            Batch.sha256.label("file_sha256"),
            Meter.meter_code,
            Meter.site_id,
            line_jurisdiction().label("region_id"),
            Activity.carrier,
            Activity.period_start,
            Activity.period_end,
            Activity.quantity_canonical,
            Activity.quantity_original,
            Activity.unit_original,
        )
        .join(Meter, Meter.id == Activity.meter_id)
        .join(Enterprise, Enterprise.uscc == Activity.enterprise_uscc)
        .outerjoin(Site, Site.id == Meter.site_id)
        .join(Batch, Batch.id == Activity.batch_id)
        .where(
            Activity.enterprise_uscc == uscc,
            Activity.superseded_at.is_(None),
            Activity.period_start < end,
            Activity.period_end > start,
        )
        .order_by(Activity.id)
    )
    with engine.connect() as conn:
        rows = pd.read_sql(stmt, conn)
    rows["site_id"] = rows["site_id"].astype("float64")
    return rows


def quality_summary(engine: Engine, uscc: str, year: int) -> dict[str, Any]:
    """What a reviewer weighs besides the figures: the completeness state and the share of due time covered per
    month (``carbon.analytics.completeness``), the activity rows of the year corrected by later files, the files and
    the rows refused in files received in or after the year.  The system records no estimated values, so none is
    reported as such."""
    cov = completeness(engine, year, [uscc]).iloc[0]
    start, end = year_bounds_utc(year)
    with engine.connect() as conn:
        corrected = conn.execute(
            select(func.count()).where(
                Activity.enterprise_uscc == uscc,
                Activity.superseded_at.is_not(None),
                Activity.period_start < end,
                Activity.period_end > start,
            )
        ).scalar_one()
        files, refused = conn.execute(
            select(func.count(), func.coalesce(func.sum(Batch.rows_rejected), 0)).where(
                Batch.enterprise_uscc == uscc, Batch.received_at >= start
            )
        ).one()
    months = {str(m): (None if pd.isna(cov[m]) else float(cov[m])) for m in range(1, 13)}
    return {
        "completeness_state": str(cov["completeness_state"]),
        "months": months,
        "rows_corrected": int(corrected),
        "files_received": int(files),
        "rows_refused": int(refused),
    }


def manifest(
    lines: pd.DataFrame,
    activity: pd.DataFrame,
    run_ids: list[int],
    factors: pd.DataFrame,
    place: dict[str, str],
    as_of: str,
) -> dict:
    """What a version rests on: its source files (SHA-256), the hash of its activity rows, where the enterprise was
    (``place``: region, province, grid) and the Beijing date the factors were chosen on (``as_of``), the factor
    records it used with their values and units, the stored runs its lines came from, the code and data versions
    and the hash of its lines.  Pure."""
    ids = sorted({i for ids in lines["factor_ids"] for i in str(ids).split(",") if i})
    used = factors.loc[factors.index.intersection(ids)]
    return {
        "files": sorted(set(activity["file_sha256"])),
        "activity_sha256": activity_hash(activity),
        "place": place,
        "as_of": as_of,
        "factors": [{"id": i, "value": float(r["value"]), "unit": str(r["unit"])} for i, r in used.iterrows()],
        "runs": run_ids,
        "code_version": carbon.__version__,
        "data_versions": data_versions(),
        "result_sha256": line_hash(lines),
    }


def _owned(engine: Engine, viewer: Viewer, uscc: str, write: bool = True) -> str:
    """The enterprise's jurisdiction, once the viewer may see it (its own user, or staff of its jurisdiction or the
    zone) and, with ``write``, act for it (not a display account).  A refusal is audited."""
    if write:
        require_writer(viewer)
    ent = get_enterprise(engine, uscc)
    try:
        require_enterprise(viewer, ent.uscc, ent.region_id)
    except AccessDenied:
        audit.record_denied(engine, viewer, "enterprise", uscc)
        raise
    return ent.region_id


def newest(session: Session, cycle_id: int, uscc: str) -> Submission | None:
    """The newest version of an enterprise's report in a cycle, or None."""
    return session.scalars(
        select(Submission)
        .where(Submission.cycle_id == cycle_id, Submission.enterprise_uscc == uscc)
        .order_by(Submission.version.desc())
    ).first()


def submit(
    engine: Engine, viewer: Viewer, year: int, uscc: str, declared: bool = False, now: datetime | None = None
) -> int:
    """Submit the enterprise's report of ``year`` (a new version, frozen); returns its id.

    ``InputError`` when the declaration is not made, the year has no cycle, the enterprise need not report in it,
    its year has no data, a version waits for or is in review (withdraw it first, or wait), or the year is verified;
    also when another submission or new data arrive at the same moment (then submit again).  Nothing is stored then.
    """
    region = _owned(engine, viewer, uscc)
    if not declared:
        raise InputError(f"请先确认声明：{DECLARATION[0]}", f"Make the declaration first: {DECLARATION[1]}")
    cycle = get_cycle(engine, year)
    with Session(engine) as session:
        must = session.scalars(
            select(CycleEnterprise).where(
                CycleEnterprise.cycle_id == cycle["id"], CycleEnterprise.enterprise_uscc == uscc
            )
        ).first()
    if must is None:
        raise InputError(f"{uscc} 不在{year}年报送范围内", f"{uscc} is not required to report for {year}", value=uscc)
    settle(engine)  # never freeze figures a recalculation is owed for
    result = stored_result(engine, year=year, enterprise=uscc, basis=must.basis, gwp_set=GWP_OF_RECORD)
    if not result.has_data:
        raise InputError(
            f"{uscc} {year}年没有活动数据，无法报送：请先上报本年度的能源数据",
            f"{uscc} has no activity data for {year}, so there is nothing to submit: upload the year's energy data",
            value=uscc,
        )
    lines = result.lines
    activity = activity_rows(engine, uscc, year)
    ent = get_enterprise(engine, uscc)
    where = reference.regions().loc[ent.region_id]
    place = {"region": ent.region_id, "province": str(where["province"]), "grid": str(where["grid"])}
    facts = manifest(
        lines, activity, result.run_ids, load_factors(engine).set_index("id"), place, local_today().isoformat()
    )
    quality = quality_summary(engine, uscc, year)
    at = audit.as_utc(now)
    try:
        with Session(engine) as session:
            last = newest(session, cycle["id"], uscc)
            if last is not None and last.state not in RESUBMITTABLE:
                raise InputError(*_blocked(last), value=last.version)
            again = stored_result(engine, year=year, enterprise=uscc, basis=must.basis, gwp_set=GWP_OF_RECORD)
            if again.run_ids != result.run_ids:
                raise InputError("报送期间数据有更新，请重新报送", "The data changed while submitting: submit again")
            totals = result.totals()
            sub = Submission(
                cycle_id=cycle["id"],
                enterprise_uscc=uscc,
                version=1 if last is None else last.version + 1,
                state="submitted",
                basis=must.basis,
                gwp_set=GWP_OF_RECORD,
                submitted_at=at,
                submitted_by=viewer.username,
                declaration=DECLARATION[0],
                **totals,
                quality_json=json.dumps(quality, ensure_ascii=False),
                manifest_json=json.dumps(facts),
                result_sha256=facts["result_sha256"],
            )
            session.add(sub)
            session.flush()
            assert sub.id is not None
            session.add_all(SubmissionLine(submission_id=sub.id, **r) for r in _records(lines, SubmissionLine))
            session.add_all(
                SubmissionActivity(submission_id=sub.id, **r) for r in _records(activity, SubmissionActivity)
            )
            session.add(SubmissionEvent(submission_id=sub.id, at=at, actor=viewer.username, action="submit"))
            audit.add_event(
                session,
                viewer,
                "submit",
                {"year": year, "version": sub.version, "total_tco2e": totals["total_tco2e"]},
                region=region,
                enterprise=uscc,
                now=at,
            )
            session.commit()
            return sub.id
    except IntegrityError as exc:  # another version got the same number first
        raise InputError(
            "同时有另一份报送，请刷新后重新报送",
            "Another submission was made at the same moment: reload and submit again",
            value=uscc,
        ) from exc


def _records(df: pd.DataFrame, model: type) -> list[dict[str, Any]]:
    """Rows of ``df`` as keyword arguments of ``model`` (its columns but ``id`` and ``submission_id``)."""
    cols = [c for c in model.model_fields if c not in ("id", "submission_id")]
    out = df[cols].astype(object)
    if "site_id" in cols:  # NULL for a meter on no site, else the id as an integer
        site = df["site_id"].astype("float64").astype("Int64")
        out["site_id"] = site.astype(object).where(site.notna(), None)
    return out.to_dict("records")  # Python numbers, which every database driver takes


def _blocked(last: Submission) -> tuple[str, str]:
    """Why no new version may follow ``last`` (zh, en)."""
    if last.state == "verified":
        return (
            f"第{last.version}版已核查，是本年度的正式数据，不能再报送新版本",
            f"Version {last.version} is verified, the year's official figures: no new version can follow",
        )
    if last.state == "in_review":
        return (
            f"第{last.version}版正在审核，审核结束前不能再报送",
            f"Version {last.version} is in review; a new version can follow once the review ends",
        )
    return (
        f"第{last.version}版已报送、待审核：如需更正，请先撤回再报送",
        f"Version {last.version} is waiting for review: withdraw it first to submit a correction",
    )


def preview(engine: Engine, viewer: Viewer, year: int, uscc: str) -> dict[str, Any] | None:
    """What a submission now would freeze (its totals on the enterprise's basis of record and its completeness
    state), without storing anything; None when the year has no data for it."""
    _owned(engine, viewer, uscc, write=False)
    cycle = get_cycle(engine, year)
    with Session(engine) as session:
        must = session.scalars(
            select(CycleEnterprise).where(
                CycleEnterprise.cycle_id == cycle["id"], CycleEnterprise.enterprise_uscc == uscc
            )
        ).first()
    basis = must.basis if must is not None else "location"
    result = stored_result(engine, year=year, enterprise=uscc, basis=basis, gwp_set=GWP_OF_RECORD)
    if not result.has_data:
        return None
    return {
        **result.totals(),
        "basis": basis,
        "completeness_state": quality_summary(engine, uscc, year)["completeness_state"],
    }


def get_submission(engine: Engine, submission_id: int) -> Submission:
    """A submission by id; ``NotFoundError`` if there is none."""
    with Session(engine) as session:
        sub = session.get(Submission, submission_id)
    if sub is None:
        raise NotFoundError(f"没有编号为 {submission_id} 的报送", f"No submission {submission_id}", value=submission_id)
    return sub


def transition(
    engine: Engine,
    viewer: Viewer,
    submission_id: int,
    allowed: tuple[str, ...],
    to: str,
    action: str,
    note: str | None = None,
    now: datetime | None = None,
    session_extra: Any = None,
) -> Submission:
    """Move a submission from one of ``allowed`` states to ``to`` in one transaction (the step, its event and audit
    record together), or refuse naming its state.  Two people acting at once: one wins, the other is refused.
    ``session_extra(session, submission)`` adds rows in the same transaction (e.g. review comments)."""
    sub = get_submission(engine, submission_id)
    region = _owned(engine, viewer, sub.enterprise_uscc)
    at = audit.as_utc(now)
    with Session(engine) as session:
        last = newest(session, sub.cycle_id, sub.enterprise_uscc)
        if last is not None and last.id != submission_id:
            raise InputError(
                f"第{sub.version}版已被第{last.version}版取代，只能处理最新版本",
                f"Version {sub.version} was followed by version {last.version}: only the newest can be acted on",
                value=submission_id,
            )
        moved = session.execute(
            update(Submission).where(Submission.id == submission_id, Submission.state.in_(allowed)).values(state=to)
        ).rowcount
        if moved != 1:
            current = session.get(Submission, submission_id)
            state = current.state if current is not None else "?"
            names_zh = [codes.label("submission_state", s, "zh") for s in allowed]
            names_en = [codes.label("submission_state", s, "en") for s in allowed]
            raise InputError(
                f"第{sub.version}版当前状态为“{codes.label('submission_state', state, 'zh')}”，不能执行此操作"
                f"（须为：{'、'.join(names_zh)}）",
                f"Version {sub.version} is {codes.label('submission_state', state, 'en')}; this step needs it to "
                f"be {' or '.join(names_en)}",
            )
        if session_extra is not None:
            session_extra(session, sub)
        session.add(
            SubmissionEvent(submission_id=submission_id, at=at, actor=viewer.username, action=action, note=note)
        )
        audit.add_event(
            session,
            viewer,
            action,
            {"submission": submission_id, "version": sub.version, **({"note": note} if note else {})},
            region=region,
            enterprise=sub.enterprise_uscc,
            now=at,
        )
        session.commit()
    return get_submission(engine, submission_id)


def withdraw(engine: Engine, viewer: Viewer, submission_id: int, now: datetime | None = None) -> Submission:
    """Withdraw a version that waits for review (by the enterprise or staff for it); refused once review began."""
    return transition(engine, viewer, submission_id, ("submitted",), "withdrawn", "withdraw", now=now)


def submissions(engine: Engine, viewer: Viewer, year: int, uscc: str | None = None) -> pd.DataFrame:
    """Every version in the year's cycle the viewer may see (an enterprise its own; staff their jurisdictions'),
    newest first: id, enterprise, version, state, basis, submitted_at/by and totals."""
    cycle = get_cycle(engine, year)
    stmt = select(
        Submission.id,
        Submission.enterprise_uscc,
        Submission.version,
        Submission.state,
        Submission.basis,
        Submission.submitted_at,
        Submission.submitted_by,
        Submission.total_tco2e,
        Submission.scope1_tco2e,
        Submission.scope2_tco2e,
        Submission.energy_tce,
        Submission.result_sha256,
    ).where(Submission.cycle_id == cycle["id"])
    if viewer.role == "enterprise":
        stmt = stmt.where(Submission.enterprise_uscc == viewer.enterprise)
    if uscc is not None:
        _owned(engine, viewer, uscc, write=False)
        stmt = stmt.where(Submission.enterprise_uscc == uscc)
    with engine.connect() as conn:
        df = pd.read_sql(stmt.order_by(Submission.id.desc()), conn)
    if viewer.is_staff:
        regions = list_enterprises(engine).set_index("uscc")["region_id"]
        df = df.loc[df["enterprise_uscc"].map(regions).isin(full_regions(viewer))]
    elif viewer.role != "enterprise":
        df = df.iloc[0:0]
    df["submitted_at"] = pd.to_datetime(df["submitted_at"], utc=True, format="ISO8601")
    return df.reset_index(drop=True)


def submission_lines(engine: Engine, viewer: Viewer, submission_id: int) -> pd.DataFrame:
    """The frozen result lines of a version (carrier, month, quantity, tCO2e, tce, factor ids and reason, the
    jurisdiction each counted in and its site: ``region_id`` None and ``site_id`` NaN for a version from before
    sites), one per site, carrier and month."""
    sub = get_submission(engine, submission_id)
    _owned(engine, viewer, sub.enterprise_uscc, write=False)
    with engine.connect() as conn:
        lines = pd.read_sql(
            select(*(getattr(SubmissionLine, c) for c in [*LINE_FIELDS, "factor_reason", *SITE_FIELDS]))
            .where(SubmissionLine.submission_id == submission_id)
            .order_by(SubmissionLine.carrier, SubmissionLine.month, SubmissionLine.region_id, SubmissionLine.site_id),
            conn,
        )
    lines["site_id"] = lines["site_id"].astype("float64")
    return lines


def submission_meters(engine: Engine, viewer: Viewer, submission_id: int) -> pd.DataFrame:
    """The meters of a version's frozen activity rows: ``meter_code``, ``carrier``."""
    sub = get_submission(engine, submission_id)
    _owned(engine, viewer, sub.enterprise_uscc, write=False)
    with engine.connect() as conn:
        return pd.read_sql(
            select(SubmissionActivity.meter_code, SubmissionActivity.carrier)
            .where(SubmissionActivity.submission_id == submission_id)
            .distinct()
            .order_by(SubmissionActivity.meter_code),
            conn,
        )


def difference(engine: Engine, viewer: Viewer, old_id: int, new_id: int) -> pd.DataFrame:
    """Two versions of one enterprise's report side by side, per carrier and month: ``emissions_tco2e_old``,
    ``emissions_tco2e_new``, ``change_tco2e``, and ``quantity_canonical_old``/``_new`` with ``change_quantity``;
    a line in only one version has NaN (no line) on the other side, never 0, and changes the report by all of
    itself.  ``InputError`` for versions of
    different enterprises or years."""
    if old_id == new_id:
        raise InputError("请给出两个不同的版本", "Give two different versions", value=old_id)
    a, b = get_submission(engine, old_id), get_submission(engine, new_id)
    if (a.cycle_id, a.enterprise_uscc) != (b.cycle_id, b.enterprise_uscc):
        raise InputError(
            "只能比较同一企业同一年度的两个版本",
            "Only versions of one enterprise's report for one year can be compared",
            value=f"{old_id},{new_id}",
        )
    keys = ["carrier", "month"]
    cols = ["quantity_canonical", "emissions_tco2e"]
    # the lines of an enterprise's sites add up per carrier and month, as the report states them
    old = submission_lines(engine, viewer, old_id).groupby(keys)[cols].sum()
    new = submission_lines(engine, viewer, new_id).groupby(keys)[cols].sum()
    out = old.merge(new, how="outer", left_index=True, right_index=True, suffixes=("_old", "_new"))
    # a line in one version only changes the report by all of itself (the other side shows no line, not 0)
    out["change_quantity"] = out["quantity_canonical_new"].fillna(0) - out["quantity_canonical_old"].fillna(0)
    out["change_tco2e"] = out["emissions_tco2e_new"].fillna(0) - out["emissions_tco2e_old"].fillna(0)
    return out.reset_index()
