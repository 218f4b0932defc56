"""Verification (核查): staff record an approved version's verified figures as the reported ones with each adjustment
and its reason.  The as-reported and the verified figures both stay; the verified ones are the year's official
figures (``official_figures``: verified, else reported, else provisional from the ledger).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, replace
from datetime import datetime

import pandas as pd
from sqlalchemy import Engine, select
from sqlmodel import Session

from carbon import audit, reference
from carbon.access import Viewer, full_regions, require_staff
from carbon.enterprises import list_enterprises
from carbon.errors import InputError, NotFoundError
from carbon.ledger import GWP_OF_RECORD, current_lines
from carbon.models import Submission, SubmissionLine, Verification
from carbon.reporting.cycles import cycle_enterprises, get_cycle, latest_versions
from carbon.reporting.submissions import _owned, get_submission, transition
from carbon.reporting.text import carrier_named, checked_text, finite


@dataclass(frozen=True)
class Adjustment:
    """A change the verifier made to the reported figures: of one carrier (and month, where given), in tCO2e and
    tce, with its reason."""

    carrier: str
    delta_tco2e: float
    reason: str
    delta_tce: float = 0.0
    month: int | None = None


def verified_totals(lines: pd.DataFrame, adjustments: list[Adjustment]) -> dict[str, float]:
    """The reported lines' totals (all, scope 1, scope 2, tce) with the adjustments added, each to its carrier's
    scope.  ``InputError`` for an adjustment of a carrier the version does not hold (named by id or name), a change
    that is not a finite number, a missing or unreadable reason, or one leaving a carrier's emissions or energy
    below zero.  Pure."""
    carriers = reference.carriers()
    by_carrier = lines.groupby("carrier")[["emissions_tco2e", "energy_tce"]].sum()
    for a in adjustments:
        cid = carrier_named(a.carrier, set(by_carrier.index))
        checked_text(a.reason, "核查调整的理由", "reason of an adjustment")
        by_carrier.loc[cid, "emissions_tco2e"] += finite(a.delta_tco2e, "排放调整量", "change in tCO2e")
        by_carrier.loc[cid, "energy_tce"] += finite(a.delta_tce, "能耗调整量", "change in tce")
        if (by_carrier.loc[cid, ["emissions_tco2e", "energy_tce"]] < 0).any():
            name = carriers.loc[cid]
            raise InputError(
                f"调整后{name['name_zh']}的排放量或能耗小于零",
                f"The adjustment leaves {name['name_en']} below zero",
                value=a.delta_tco2e,
            )
    scopes = by_carrier["emissions_tco2e"].groupby(by_carrier.index.map(carriers["scope"])).sum()
    return {
        "total_tco2e": float(by_carrier["emissions_tco2e"].sum()),
        "scope1_tco2e": float(scopes.get("1", 0.0)),
        "scope2_tco2e": float(scopes.get("2", 0.0)),
        "energy_tce": float(by_carrier["energy_tce"].sum()),
    }


def record_hash(totals: dict[str, float], adjustments_json: str) -> str:
    """SHA-256 of a verification's figures (to the last bit) and its adjustments as stored.  Pure."""
    figures = "|".join(
        f"{k}={float(totals[k]).hex()}" for k in ("total_tco2e", "scope1_tco2e", "scope2_tco2e", "energy_tce")
    )
    return hashlib.sha256(f"{figures}|{adjustments_json}".encode()).hexdigest()


def verify(
    engine: Engine,
    viewer: Viewer,
    submission_id: int,
    adjustments: list[Adjustment],
    note: str | None = None,
    now: datetime | None = None,
) -> Submission:
    """Record the verified figures of an approved version (staff of its jurisdiction or the zone); the version
    becomes ``verified``.  With no adjustment the verified figures are the reported ones."""
    require_staff(viewer)
    sub = get_submission(engine, submission_id)
    _owned(engine, viewer, sub.enterprise_uscc)
    with engine.connect() as conn:
        lines = pd.read_sql(
            select(SubmissionLine.carrier, SubmissionLine.emissions_tco2e, SubmissionLine.energy_tce).where(
                SubmissionLine.submission_id == submission_id
            ),
            conn,
        )
    totals = verified_totals(lines, adjustments)
    held = set(lines["carrier"])
    adjustments = [replace(a, carrier=carrier_named(a.carrier, held), reason=a.reason.strip()) for a in adjustments]
    stored = json.dumps([asdict(a) for a in adjustments], ensure_ascii=False, allow_nan=False)
    at = audit.as_utc(now)

    def add_verification(session: Session, s: Submission) -> None:
        session.add(
            Verification(
                submission_id=s.id,
                verified_at=at,
                verified_by=viewer.username,
                **totals,
                adjustments_json=stored,
                note=note,
                record_sha256=record_hash(totals, stored),
            )
        )

    return transition(
        engine,
        viewer,
        submission_id,
        ("approved",),
        "verified",
        "verify",
        note=note,
        now=at,
        session_extra=add_verification,
    )


def official_figures(engine: Engine, viewer: Viewer, year: int) -> pd.DataFrame:
    """Per obliged enterprise of the year's cycle in the viewer's jurisdictions: the official figures and their
    ``status``: ``verified`` (the verification of its newest verified version), ``reported`` (its newest approved or
    submitted version as reported) or ``provisional`` (the ledger's stored results on its basis of record; NaN
    without data).  Columns: uscc, region_id, basis, status, submission_id, total_tco2e, energy_tce."""
    require_staff(viewer)
    cycle = get_cycle(engine, year)
    must = cycle_enterprises(engine, cycle["id"])
    return _official(engine, cycle, must.loc[must["region_id"].isin(full_regions(viewer))], year)


def official_figure(engine: Engine, viewer: Viewer, year: int, uscc: str) -> dict | None:
    """One enterprise's official figures of ``year`` (a row of ``official_figures`` as a dict) for its own user or
    staff of its jurisdiction; None when the year has no cycle or the enterprise need not report in it."""
    _owned(engine, viewer, uscc, write=False)
    try:
        cycle = get_cycle(engine, year)
    except NotFoundError:
        return None
    must = cycle_enterprises(engine, cycle["id"])
    rows = _official(engine, cycle, must.loc[must["uscc"] == uscc], year)
    return rows.iloc[0].to_dict() if len(rows) else None


def _official(engine: Engine, cycle: dict, must: pd.DataFrame, year: int) -> pd.DataFrame:
    latest = latest_versions(engine, cycle["id"]).set_index("uscc")
    with engine.connect() as conn:
        subs = pd.read_sql(
            select(
                Submission.id.label("submission_id"),
                Submission.enterprise_uscc.label("uscc"),
                Submission.state,
                Submission.total_tco2e,
                Submission.energy_tce,
            ).where(Submission.cycle_id == cycle["id"]),
            conn,
        )
        checked = pd.read_sql(
            select(Verification.submission_id, Verification.total_tco2e, Verification.energy_tce)
            .join(Submission, Submission.id == Verification.submission_id)
            .where(Submission.cycle_id == cycle["id"]),
            conn,
        )
    rows = []
    for ent in must.itertuples():
        mine = checked.merge(subs.loc[subs["uscc"] == ent.uscc, ["submission_id"]], on="submission_id")
        if len(mine):
            v = mine.sort_values("submission_id").iloc[-1]
            rows.append((ent.uscc, "verified", int(v.submission_id), v.total_tco2e, v.energy_tce))
            continue
        if ent.uscc in latest.index and latest.loc[ent.uscc, "state"] in ("submitted", "in_review", "approved"):
            s = subs.set_index("submission_id").loc[int(latest.loc[ent.uscc, "submission_id"])]
            rows.append((ent.uscc, "reported", int(latest.loc[ent.uscc, "submission_id"]), s.total_tco2e, s.energy_tce))
            continue
        lines = current_lines(engine, ent.basis, GWP_OF_RECORD, [year], [ent.uscc])
        has = len(lines) > 0
        rows.append(
            (
                ent.uscc,
                "provisional",
                None,
                lines["emissions_tco2e"].sum() if has else float("nan"),
                lines["energy_tce"].sum() if has else float("nan"),
            )
        )
    out = pd.DataFrame(rows, columns=["uscc", "status", "submission_id", "total_tco2e", "energy_tce"])
    out = must[["uscc", "region_id", "basis"]].merge(out, on="uscc")
    names = list_enterprises(engine).set_index("uscc")["name"]
    return out.assign(name=out["uscc"].map(names))
