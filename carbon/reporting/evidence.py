"""The evidence check (存证核验) of a submitted version: does what is kept still give what was reported?

Each version's manifest (``submissions.manifest``) names the SHA-256 of every source file, the hash of its frozen
activity rows, where the enterprise was, the date its factors were chosen on, the factor records it used with
their values, and the hash of its result lines.  ``check`` tests, one by one:

- ``files``: every source file is in the archive and its bytes still hash to the recorded SHA-256;
- ``activity``: the frozen activity rows still hash to the recorded value;
- ``lines``: the stored result lines still hash to the recorded value;
- ``factors``: every factor record used still has the recorded value and unit;
- ``recompute``: the engine, run now on the frozen activity with the factor library, gives lines with the recorded
  hash (a factor release since then also fails this one, and ``factors`` says whether it did);
- ``verification`` (a verified version): the verified figures and adjustments still hash to the recorded value.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import Engine, select
from sqlmodel import Session

from carbon import reference
from carbon.access import Viewer
from carbon.accounting import to_local_naive
from carbon.ledger import compute, load_factors
from carbon.models import FileArchive, ReportingCycle, SubmissionActivity, SubmissionLine, Verification
from carbon.reporting.submissions import _owned, activity_hash, get_submission, line_hash
from carbon.reporting.verification import record_hash


def _result(name: str, ok: bool, zh: str, en: str) -> dict[str, Any]:
    return {"check": name, "ok": ok, "zh": zh, "en": en}


def recompute(
    activity: pd.DataFrame,
    factors: pd.DataFrame,
    place: dict,
    uscc: str,
    year: int,
    basis: str,
    gwp_set: str,
    as_of: date,
) -> pd.DataFrame:
    """The result lines the engine gives now for frozen activity rows (``submission_activity``) of an enterprise
    that was in ``place`` (region, province and grid): a row kept with its site's jurisdiction (``region_id``) is
    priced at that jurisdiction's province and grid, one without (frozen before sites) at ``place``'s.  Pure."""
    regions = reference.regions()
    region = activity["region_id"] if "region_id" in activity.columns else pd.Series(None, index=activity.index)
    region = region.where(region.notna(), place["region"]).astype(str)
    site = activity["site_id"] if "site_id" in activity.columns else pd.Series(float("nan"), index=activity.index)
    rows = pd.DataFrame(
        {
            "enterprise_uscc": uscc,
            "site_id": site.astype("float64").to_numpy(),
            "region_id": region.to_numpy(),
            "carrier": activity["carrier"].to_numpy(),
            "period_start": pd.to_datetime(activity["period_start"], utc=True, format="ISO8601"),
            "period_end": pd.to_datetime(activity["period_end"], utc=True, format="ISO8601"),
            "quantity": activity["quantity_canonical"].astype(float).to_numpy(),
            "province": regions["province"].reindex(region).to_numpy(),
            "grid": regions["grid"].reindex(region).to_numpy(),
        }
    )
    rows["start_local"] = to_local_naive(rows["period_start"])
    rows["end_local"] = to_local_naive(rows["period_end"])
    lines, _ = compute(rows, factors, year=year, basis=basis, gwp_set=gwp_set, as_of=as_of)
    return lines


def check(engine: Engine, viewer: Viewer, submission_id: int) -> dict[str, Any]:
    """Every evidence check of a version (see the module docstring): ``{"ok": all passed, "checks": [...]}``, each
    check with ``ok`` and what it found in Chinese and English."""
    sub = get_submission(engine, submission_id)
    _owned(engine, viewer, sub.enterprise_uscc, write=False)
    facts = json.loads(sub.manifest_json)
    with engine.connect() as conn:
        archived = pd.read_sql(
            select(FileArchive.sha256, FileArchive.content).where(
                FileArchive.enterprise_uscc == sub.enterprise_uscc, FileArchive.sha256.in_(facts["files"])
            ),
            conn,
        )
        activity = pd.read_sql(
            select(SubmissionActivity).where(SubmissionActivity.submission_id == submission_id), conn
        )
        lines = pd.read_sql(select(SubmissionLine).where(SubmissionLine.submission_id == submission_id), conn)
    checks = []

    bad_files = []
    for sha in facts["files"]:
        kept = archived.loc[archived["sha256"] == sha, "content"]
        if kept.empty or not any(hashlib.sha256(bytes(c)).hexdigest() == sha for c in kept):
            bad_files.append(sha[:12])
    checks.append(
        _result(
            "files",
            not bad_files,
            f"源文件{len(facts['files'])}个" + (f"，不符：{'、'.join(bad_files)}" if bad_files else "，均与记录一致"),
            f"{len(facts['files'])} source file{'s' if len(facts['files']) != 1 else ''}"
            + (f"; not matching: {', '.join(bad_files)}" if bad_files else ", all as recorded"),
        )
    )

    same = activity_hash(activity) == facts["activity_sha256"]
    checks.append(
        _result(
            "activity",
            same,
            "活动数据" + ("与记录一致" if same else "与记录不符"),
            "activity rows " + ("as recorded" if same else "differ from the record"),
        )
    )

    same = line_hash(lines) == sub.result_sha256 == facts["result_sha256"]
    checks.append(
        _result(
            "lines",
            same,
            "核算结果" + ("与记录一致" if same else "与记录不符"),
            "result lines " + ("as recorded" if same else "differ from the record"),
        )
    )

    library = load_factors(engine).set_index("id")
    moved = [
        f["id"]
        for f in facts["factors"]
        if f["id"] not in library.index
        or float(library.loc[f["id"], "value"]) != f["value"]
        or str(library.loc[f["id"], "unit"]) != f["unit"]
    ]
    checks.append(
        _result(
            "factors",
            not moved,
            "所用排放因子" + (f"已变化：{'、'.join(moved)}" if moved else "与记录一致"),
            "factor records used " + (f"changed: {', '.join(moved)}" if moved else "as recorded"),
        )
    )

    with engine.connect() as conn:
        year = int(conn.execute(select(ReportingCycle.year).where(ReportingCycle.id == sub.cycle_id)).scalar_one())
    again = recompute(
        activity,
        library.reset_index(),
        facts["place"],
        sub.enterprise_uscc,
        year,
        sub.basis,
        sub.gwp_set,
        date.fromisoformat(facts["as_of"]),
    )
    same = len(again) > 0 and line_hash(again) == facts["result_sha256"]
    checks.append(
        _result(
            "recompute",
            same,
            "按存档数据重新核算" + ("结果一致" if same else "结果不一致"),
            "recomputed from the archived inputs: " + ("the same" if same else "different"),
        )
    )
    with Session(engine) as session:
        verified = session.scalars(select(Verification).where(Verification.submission_id == submission_id)).first()
    if verified is not None:
        figures = {k: getattr(verified, k) for k in ("total_tco2e", "scope1_tco2e", "scope2_tco2e", "energy_tce")}
        same = record_hash(figures, verified.adjustments_json) == verified.record_sha256
        checks.append(
            _result(
                "verification",
                same,
                "核查结果" + ("与记录一致" if same else "与记录不符"),
                "verified figures " + ("as recorded" if same else "differ from the record"),
            )
        )
    return {"submission": submission_id, "ok": all(c["ok"] for c in checks), "checks": checks}
