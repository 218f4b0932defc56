"""Risk-based selection for on-site verification (现场核查): a score per submission from signals with their reasons,
and a draw of the top scores plus a random share with a recorded seed, so that the draw can be made again.

Signals (thresholds and weights: ``carbon/data/risk_parameters.csv``, project defaults):

- ``peer``: intensity (tCO2e per 10^4 CNY of the enterprise's value added) far from the same GB/T 4754 division's in
  the zone (modified z-score of the logs); not computed without value added or with too few peers.
- ``yoy``: emissions changed by half or more against the year before on the same basis.
- ``unexplained``: emissions moved apart from the energy used (change of ln tCO2e minus change of ln tce).
- ``gaps``, ``corrections``, ``refused``, ``late``: the data-quality summary frozen with the version, and a year
  uploaded all at once after it ended.
- ``repeated``, ``round``, ``identical``: screening for fabricated data: one meter's identical quantities period after
  period, an excess of round numbers, a series identical to another enterprise's meter.
- ``after_deadline``: activity rows of the year received or corrected after the cycle's deadline.
- ``factor_change``: the factor records or the basis changed against the enterprise's previous version.
- ``grid``: the enterprise's electricity disagrees with the utility's statements of its accounts (agreement with the
  grid, ``carbon.analytics.grid_reconciliation.agreement_scores``, below ``grid_agreement_min`` over at least
  ``grid_min_periods`` compared billing periods of the year).

The pure functions take frames; ``assess`` and ``record_draw`` read and write the database.
"""

from __future__ import annotations

import json
import math
import secrets
from datetime import datetime
from functools import cache

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select
from sqlmodel import Session

from carbon import audit
from carbon.access import Viewer, full_regions, require_staff, require_writer
from carbon.analytics.grid_reconciliation import agreement_scores
from carbon.enterprises import list_enterprises
from carbon.errors import InputError
from carbon.ledger import GWP_OF_RECORD, current_lines, year_bounds_utc
from carbon.models import Activity, Batch, Submission, SubmissionActivity, SubmissionLine, VerificationDraw
from carbon.reference import read_data
from carbon.reporting.cycles import get_cycle
from carbon.stats import current_stats

SCORED_STATES = ("submitted", "in_review", "approved", "verified")
REASON_COLUMNS = ["submission_id", "signal", "zh", "en"]


@cache
def parameters() -> pd.Series:
    """The risk thresholds, weights and draw defaults of ``carbon/data/risk_parameters.csv``, by name."""
    return read_data("risk_parameters.csv").set_index("name")["value"].astype(float)


def _reasons(ids: pd.Series, signal: str, zh: pd.Series | str, en: pd.Series | str) -> pd.DataFrame:
    return pd.DataFrame({"submission_id": ids.to_numpy(), "signal": signal, "zh": zh, "en": en})


def peer_signal(subs: pd.DataFrame, p: pd.Series) -> pd.DataFrame:
    """``subs``: submission_id, division_code, total_tco2e, value_added_10k_cny (NaN without).  Pure."""
    x = subs.dropna(subset=["value_added_10k_cny"])
    x = x.loc[(x["value_added_10k_cny"] > 0) & (x["total_tco2e"] > 0)]
    logs = np.log(x["total_tco2e"] / x["value_added_10k_cny"])
    out = []
    for _, group in logs.groupby(x["division_code"]):
        if len(group) < p["min_peers"]:
            continue
        med = group.median()
        mad = (group - med).abs().median()
        if not mad:
            continue
        z = 0.6745 * (group - med) / mad
        far = z.abs() >= p["peer_robust_z"]
        ids = x.loc[far[far].index, "submission_id"]
        ratio = np.exp(group[far] - med)
        out.append(
            _reasons(
                ids,
                "peer",
                [f"碳强度为同行业中位数的{r:.2f}倍（稳健z={v:.1f}）" for r, v in zip(ratio, z[far], strict=True)],
                [
                    f"intensity {r:.2f} times the division's median (robust z {v:.1f})"
                    for r, v in zip(ratio, z[far], strict=True)
                ],
            )
        )
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=REASON_COLUMNS)


def change_signals(subs: pd.DataFrame, p: pd.Series) -> pd.DataFrame:
    """``subs``: submission_id, total_tco2e, energy_tce, prior_tco2e, prior_tce (NaN without a year before).  Pure."""
    x = subs.dropna(subset=["prior_tco2e", "prior_tce"])
    x = x.loc[(x["prior_tco2e"] > 0) & (x["prior_tce"] > 0) & (x["total_tco2e"] > 0) & (x["energy_tce"] > 0)]
    change = x["total_tco2e"] / x["prior_tco2e"] - 1
    apart = np.log(x["total_tco2e"] / x["prior_tco2e"]) - np.log(x["energy_tce"] / x["prior_tce"])
    big = change.abs() >= p["yoy_change"]
    odd = apart.abs() >= p["unexplained_change"]
    return pd.concat(
        [
            _reasons(
                x.loc[big, "submission_id"],
                "yoy",
                [f"排放量较上年变化{c:+.0%}" for c in change[big]],
                [f"emissions {c:+.0%} on the year before" for c in change[big]],
            ),
            _reasons(
                x.loc[odd, "submission_id"],
                "unexplained",
                [f"单位能耗排放较上年变化{math.expm1(a):+.0%}，与能耗变化不符" for a in apart[odd]],
                [
                    f"emissions per unit of energy {math.expm1(a):+.0%} on the year: not explained by energy use"
                    for a in apart[odd]
                ],
            ),
        ],
        ignore_index=True,
    )


def quality_signals(subs: pd.DataFrame, p: pd.Series) -> pd.DataFrame:
    """``subs``: submission_id, completeness_state, rows_corrected, rows_refused, late_share.  Pure."""
    parts = []
    gaps = subs["completeness_state"] == "gaps"
    parts.append(_reasons(subs.loc[gaps, "submission_id"], "gaps", "本年数据有缺失", "the year's data have gaps"))
    many = subs["rows_corrected"] >= p["corrections_many"]
    parts.append(
        _reasons(
            subs.loc[many, "submission_id"],
            "corrections",
            [f"{n}行数据被更正" for n in subs.loc[many, "rows_corrected"]],
            [f"{n} rows corrected" for n in subs.loc[many, "rows_corrected"]],
        )
    )
    refused = subs["rows_refused"] >= p["refused_many"]
    parts.append(
        _reasons(
            subs.loc[refused, "submission_id"],
            "refused",
            [f"{n}行上报数据被拒绝" for n in subs.loc[refused, "rows_refused"]],
            [f"{n} uploaded rows refused" for n in subs.loc[refused, "rows_refused"]],
        )
    )
    late = subs["late_share"] >= p["late_share"]
    parts.append(
        _reasons(
            subs.loc[late, "submission_id"],
            "late",
            [f"{s:.0%}的数据在年度结束后一次性上报" for s in subs.loc[late, "late_share"]],
            [f"{s:.0%} of the data uploaded at once after the year ended" for s in subs.loc[late, "late_share"]],
        )
    )
    return pd.concat(parts, ignore_index=True)


def screening_signals(activity: pd.DataFrame, p: pd.Series, visible: set[str] | None = None) -> pd.DataFrame:
    """``activity``: submission_id, enterprise_uscc, meter_code, carrier, period_start, period_end,
    quantity_original (one row per frozen activity row).  Repeated values on one meter, an excess of round numbers
    and series identical to another enterprise's, named only if it is in ``visible`` (None: every enterprise): a
    jurisdiction's staff are not told another jurisdiction's enterprise.  Pure."""
    a = activity.loc[activity["quantity_original"] != 0]
    parts = []
    top = a.groupby(["submission_id", "meter_code", "quantity_original"]).size()
    top = top[top >= p["repeated_values"]].reset_index(name="n")
    parts.append(
        _reasons(
            top["submission_id"],
            "repeated",
            [
                f"表{m}有{n}个时段读数同为{q:g}"
                for m, n, q in zip(top["meter_code"], top["n"], top["quantity_original"], strict=True)
            ],
            [
                f"meter {m}: {n} periods with the same quantity {q:g}"
                for m, n, q in zip(top["meter_code"], top["n"], top["quantity_original"], strict=True)
            ],
        )
    )
    values = activity.groupby("submission_id")["quantity_original"]
    share = values.agg(lambda q: float((q % p["round_unit"] == 0).mean()))
    count = values.size()
    roundish = share[(share >= p["round_share"]) & (count >= p["min_round_values"])]
    parts.append(
        _reasons(
            pd.Series(roundish.index),
            "round",
            [f"{s:.0%}的用量为{p['round_unit']:g}的整数倍" for s in roundish],
            [f"{s:.0%} of quantities are whole multiples of {p['round_unit']:g}" for s in roundish],
        )
    )
    keys = ["carrier", "period_start", "period_end", "quantity_original"]
    pairs = a.merge(a, on=keys, suffixes=("", "_other"))
    pairs = pairs.loc[pairs["enterprise_uscc"] != pairs["enterprise_uscc_other"]]
    shared = pairs.groupby(["submission_id", "enterprise_uscc_other"]).size()
    shared = shared[shared >= p["identical_series"]].reset_index(name="n")
    parts.append(
        _reasons(
            shared["submission_id"],
            "identical",
            [
                f"{n}个时段的用量与企业{o}完全相同"
                if visible is None or o in visible
                else f"{n}个时段的用量与另一区县的一家企业完全相同"
                for o, n in zip(shared["enterprise_uscc_other"], shared["n"], strict=True)
            ],
            [
                f"{n} periods identical to enterprise {o}"
                if visible is None or o in visible
                else f"{n} periods identical to an enterprise of another jurisdiction"
                for o, n in zip(shared["enterprise_uscc_other"], shared["n"], strict=True)
            ],
        )
    )
    return pd.concat(parts, ignore_index=True).drop_duplicates(["submission_id", "signal", "zh"])


def scores(subs: pd.DataFrame, reasons: pd.DataFrame, p: pd.Series) -> pd.DataFrame:
    """Per submission (``subs``: submission_id, enterprise_uscc): ``score`` (the weights of its signals, each signal
    once) and ``reasons`` (a list of [signal, zh, en]), highest score first, ties by USCC.  Pure."""
    weight = {
        s: p[f"weight_{s}"]
        for s in (
            "peer",
            "yoy",
            "unexplained",
            "gaps",
            "corrections",
            "refused",
            "late",
            "repeated",
            "round",
            "identical",
            "after_deadline",
            "factor_change",
            "grid",
        )
    }
    signals = reasons.drop_duplicates(["submission_id", "signal"])
    points = signals["signal"].map(weight).groupby(signals["submission_id"]).sum()
    listed = {
        sid: [[s, zh, en] for s, zh, en in zip(g["signal"], g["zh"], g["en"], strict=True)]
        for sid, g in reasons.groupby("submission_id")
    }
    out = subs[["submission_id", "enterprise_uscc"]].copy()
    out["score"] = out["submission_id"].map(points).fillna(0.0).astype(float)
    out["reasons"] = [listed.get(i, []) for i in out["submission_id"]]
    return out.sort_values(["score", "enterprise_uscc"], ascending=[False, True]).reset_index(drop=True)


def draw(scored: pd.DataFrame, top_n: int, random_share: float, seed: int) -> list[int]:
    """The submissions drawn: the ``top_n`` highest scores (``scores`` order) and ``ceil(random_share x rest)`` of the
    rest at random with ``seed`` (numpy's PCG64), in that order.  The same inputs and seed give the same draw.
    Pure."""
    ids = [int(i) for i in scored["submission_id"]]
    top, rest = ids[:top_n], ids[top_n:]
    k = math.ceil(random_share * len(rest)) if rest else 0
    picked = np.random.default_rng(seed).choice(len(rest), size=k, replace=False) if k else []
    return top + [rest[i] for i in sorted(int(i) for i in picked)]


def deadline_end_utc(deadline: object) -> pd.Timestamp:
    """The end of the deadline's Beijing day, in UTC."""
    return (pd.Timestamp(deadline).tz_localize("Asia/Shanghai") + pd.Timedelta(days=1)).tz_convert("UTC")


def after_deadline_signal(rows: pd.DataFrame, deadline: object) -> pd.DataFrame:
    """``rows``: submission_id, received_at (UTC) of every activity row of the year, current or corrected, and
    superseded_at (UTC or NaT).  Rows received or corrected after the deadline's Beijing day.  Pure."""
    end = deadline_end_utc(deadline)
    late = (rows["received_at"] > end) | (rows["superseded_at"] > end)
    n = late.groupby(rows["submission_id"]).sum()
    n = n[n > 0]
    return _reasons(
        pd.Series(n.index),
        "after_deadline",
        [f"截止日后收到或更正{k}行本年数据" for k in n],
        [f"{k} rows of the year received or corrected after the deadline" for k in n],
    )


def factor_change_signal(now: pd.DataFrame, before: pd.DataFrame) -> pd.DataFrame:
    """``now`` and ``before``: submission_id (the version and its previous one), basis, carrier, month, factor_ids
    of the lines of each version (``before`` keyed to the later version's id).  A basis or a factor record that
    changed on a line both versions hold.  Pure."""
    keys = ["submission_id", "carrier", "month", *(k for k in ("region_id", "site_id") if k in now.columns)]
    both = now.merge(before, on=keys, suffixes=("", "_before"))
    moved = both.loc[(both["factor_ids"] != both["factor_ids_before"]) | (both["basis"] != both["basis_before"])]
    n = moved.groupby("submission_id").size()
    return _reasons(
        pd.Series(n.index),
        "factor_change",
        [f"{k}行的排放因子或核算口径与上一版不同" for k in n],
        [f"{k} lines changed factor records or basis against the previous version" for k in n],
    )


def grid_signal(subs: pd.DataFrame, agreement: pd.DataFrame, p: pd.Series) -> pd.DataFrame:
    """``subs``: submission_id, enterprise_uscc; ``agreement``: enterprise_uscc, periods_compared, periods_discrepant,
    agreement_share (``agreement_scores``'s per enterprise).  An enterprise whose agreement with the grid is below
    ``grid_agreement_min`` over at least ``grid_min_periods`` compared billing periods.  Pure."""
    a = subs[["submission_id", "enterprise_uscc"]].merge(agreement, on="enterprise_uscc")
    low = (a["periods_compared"] >= p["grid_min_periods"]) & (a["agreement_share"] < p["grid_agreement_min"])
    a = a.loc[low.fillna(False).astype(bool)]
    rows = list(zip(a["periods_discrepant"], a["periods_compared"], a["agreement_share"], strict=True))
    return _reasons(
        a["submission_id"],
        "grid",
        [f"与电网账单比对的{n}个账期中{k}个超出允许偏差（一致率{s:.0%}）" for k, n, s in rows],
        [
            f"{k} of {n} billing periods compared with the utility's statements beyond the tolerance "
            f"(agreement {s:.0%})"
            for k, n, s in rows
        ],
    )


def scored_submissions(engine: Engine, cycle: dict) -> pd.DataFrame:
    """The newest version of each enterprise in the cycle that is submitted or further (``SCORED_STATES``), with
    what the signals read: division, value added, the year before's figures on the same basis, its quality summary
    and the share of its activity rows from files received after the year ended."""
    year = cycle["year"]
    with engine.connect() as conn:
        subs = pd.read_sql(
            select(
                Submission.id.label("submission_id"),
                Submission.enterprise_uscc,
                Submission.version,
                Submission.state,
                Submission.basis,
                Submission.total_tco2e,
                Submission.energy_tce,
                Submission.quality_json,
            ).where(Submission.cycle_id == cycle["id"]),
            conn,
        )
    subs = subs.sort_values("version").groupby("enterprise_uscc").tail(1)
    subs = subs.loc[subs["state"].isin(SCORED_STATES)].reset_index(drop=True)
    ents = list_enterprises(engine).set_index("uscc")
    subs["division_code"] = subs["enterprise_uscc"].map(ents["division_code"])
    subs["region_id"] = subs["enterprise_uscc"].map(ents["region_id"])
    va = current_stats(engine, "value_added", year).set_index("subject_id")["value_10k_cny"]
    subs["value_added_10k_cny"] = subs["enterprise_uscc"].map(va).astype(float)
    prior = []
    for basis, group in subs.groupby("basis"):
        lines = current_lines(engine, str(basis), GWP_OF_RECORD, [year - 1], list(group["enterprise_uscc"]))
        prior.append(lines.groupby("enterprise_uscc")[["emissions_tco2e", "energy_tce"]].sum())
    before = pd.concat(prior) if prior else pd.DataFrame(columns=["emissions_tco2e", "energy_tce"])
    subs["prior_tco2e"] = subs["enterprise_uscc"].map(before["emissions_tco2e"]).astype(float)
    subs["prior_tce"] = subs["enterprise_uscc"].map(before["energy_tce"]).astype(float)
    quality = subs.pop("quality_json").map(json.loads)
    for key in ("completeness_state", "rows_corrected", "rows_refused"):
        subs[key] = quality.map(lambda q, k=key: q[k])
    return subs


def visible_codes(engine: Engine, viewer: Viewer) -> set[str]:
    """The USCCs of the enterprises the viewer may see one by one."""
    ents = list_enterprises(engine)
    return set(ents.loc[ents["region_id"].isin(full_regions(viewer)), "uscc"])


def assess(engine: Engine, viewer: Viewer, year: int) -> pd.DataFrame:
    """Risk scores of the year's submissions in the viewer's jurisdictions (staff only): ``scores`` columns plus
    region_id, state and version.  Peers and identical series are looked for across the whole zone."""
    require_staff(viewer)
    cycle = get_cycle(engine, year)
    p = parameters()
    subs = scored_submissions(engine, cycle)
    ids = list(subs["submission_id"])
    start, end = year_bounds_utc(year)
    with engine.connect() as conn:
        activity = pd.read_sql(
            select(
                SubmissionActivity.submission_id,
                SubmissionActivity.meter_code,
                SubmissionActivity.carrier,
                SubmissionActivity.period_start,
                SubmissionActivity.period_end,
                SubmissionActivity.quantity_original,
                Batch.received_at,
            )
            .join(Batch, Batch.id == SubmissionActivity.batch_id)
            .where(SubmissionActivity.submission_id.in_(ids)),
            conn,
        )
        rows = pd.read_sql(
            select(Activity.enterprise_uscc, Batch.received_at, Activity.superseded_at)
            .join(Batch, Batch.id == Activity.batch_id)
            .where(
                Activity.enterprise_uscc.in_(list(subs["enterprise_uscc"])),
                Activity.period_start < end,
                Activity.period_end > start,
            ),
            conn,
        )
        lines = pd.read_sql(
            select(
                SubmissionLine.submission_id,
                Submission.enterprise_uscc,
                Submission.version,
                Submission.basis,
                SubmissionLine.carrier,
                SubmissionLine.month,
                SubmissionLine.region_id,
                SubmissionLine.site_id,
                SubmissionLine.factor_ids,
            )
            .join(Submission, Submission.id == SubmissionLine.submission_id)
            .where(Submission.cycle_id == cycle["id"]),
            conn,
        )
    lines["site_id"] = lines["site_id"].astype("float64")  # NaN: no site, matched as such between versions
    for frame, col in ((activity, "received_at"), (rows, "received_at"), (rows, "superseded_at")):
        frame[col] = pd.to_datetime(frame[col], utc=True, format="ISO8601")
    activity["enterprise_uscc"] = activity["submission_id"].map(subs.set_index("submission_id")["enterprise_uscc"])
    subs["late_share"] = (
        subs["submission_id"]
        .map((activity["received_at"] >= end).groupby(activity["submission_id"]).mean())
        .fillna(0.0)
    )
    rows["submission_id"] = rows["enterprise_uscc"].map(subs.set_index("enterprise_uscc")["submission_id"])
    newest = lines.loc[lines["submission_id"].isin(ids)]
    previous = lines.assign(version=lines["version"] + 1).merge(
        newest[["submission_id", "enterprise_uscc", "version"]].drop_duplicates(),
        on=["enterprise_uscc", "version"],
        suffixes=("_old", ""),
    )
    reasons = pd.concat(
        [
            peer_signal(subs, p),
            change_signals(subs, p),
            quality_signals(subs, p),
            screening_signals(activity, p, visible_codes(engine, viewer)),
            after_deadline_signal(rows, cycle["deadline"]),
            factor_change_signal(newest, previous.drop(columns=["submission_id_old"])),
            grid_signal(subs, agreement_scores(engine, year)[1], p),
        ],
        ignore_index=True,
    )
    scored = scores(subs, reasons, p).merge(
        subs[["submission_id", "region_id", "state", "version"]], on="submission_id"
    )
    return scored.loc[scored["region_id"].isin(full_regions(viewer))].reset_index(drop=True)


def record_draw(
    engine: Engine,
    viewer: Viewer,
    year: int,
    top_n: int | None = None,
    random_share: float | None = None,
    seed: int | None = None,
    now: datetime | None = None,
) -> dict:
    """Draw the year's submissions for on-site verification over the viewer's jurisdictions and record the draw
    (its seed, parameters, every score with its reasons and the ids drawn); returns it as a dict with ``id``.  The
    defaults come from ``carbon/data/risk_parameters.csv``; without a seed one is made and recorded."""
    require_staff(viewer)
    require_writer(viewer)
    p = parameters()
    top_n = int(p["top_n"]) if top_n is None else top_n
    random_share = float(p["random_share"]) if random_share is None else random_share
    if top_n < 0 or not 0 <= random_share <= 1:
        raise InputError(
            "抽取数须不小于0，随机比例须在0至1之间",
            "top_n must be at least 0 and the random share 0 to 1",
            value=f"{top_n},{random_share}",
        )
    if seed is not None and not 0 <= seed < 2**63:
        raise InputError(
            f"随机种子须为0至{2**63 - 1}的整数",
            f"The seed must be a whole number from 0 to {2**63 - 1}",
            value=str(seed)[:40],
        )
    seed = secrets.randbits(32) if seed is None else seed
    cycle = get_cycle(engine, year)
    scored = assess(engine, viewer, year)
    picked = draw(scored, top_n, random_share, seed)
    at = audit.as_utc(now)
    record = {
        "seed": seed,
        "top_n": top_n,
        "random_share": random_share,
        "selected": picked,
        "scores": scored[["submission_id", "enterprise_uscc", "score", "reasons"]].to_dict("records"),
    }
    with Session(engine) as session:
        row = VerificationDraw(
            cycle_id=cycle["id"],
            drawn_at=at,
            drawn_by=viewer.username,
            seed=seed,
            top_n=top_n,
            random_share=random_share,
            selected_json=json.dumps(picked),
            scores_json=json.dumps(record["scores"], ensure_ascii=False),
        )
        session.add(row)
        session.flush()
        audit.add_event(
            session,
            viewer,
            "verification_draw",
            {"year": year, "seed": seed, "selected": picked},
            region=viewer.region if viewer.role == "region" else "zone",
            now=at,
        )
        session.commit()
        return {"id": row.id, **record}


def draws(engine: Engine, viewer: Viewer, year: int) -> pd.DataFrame:
    """Every recorded draw of the year's cycle, oldest first (staff), so that a draw made again is seen beside the
    first: id, drawn_at (UTC), drawn_by, seed, top_n, random_share, selected (a list of submission ids)."""
    require_staff(viewer)
    cycle = get_cycle(engine, year)
    with engine.connect() as conn:
        df = pd.read_sql(
            select(
                VerificationDraw.id,
                VerificationDraw.drawn_at,
                VerificationDraw.drawn_by,
                VerificationDraw.seed,
                VerificationDraw.top_n,
                VerificationDraw.random_share,
                VerificationDraw.selected_json,
            )
            .where(VerificationDraw.cycle_id == cycle["id"])
            .order_by(VerificationDraw.id),
            conn,
        )
    df["drawn_at"] = pd.to_datetime(df["drawn_at"], utc=True, format="ISO8601")
    df["selected"] = df.pop("selected_json").map(json.loads)
    return df


def replay_draw(engine: Engine, draw_id: int) -> bool:
    """Whether a recorded draw is made again, from its recorded scores, parameters and seed, exactly as recorded."""
    with Session(engine) as session:
        row = session.get(VerificationDraw, draw_id)
    if row is None:
        raise InputError(f"没有编号为 {draw_id} 的抽取记录", f"No draw {draw_id}", value=draw_id)
    recorded = pd.DataFrame(json.loads(row.scores_json))
    again = draw(
        recorded if len(recorded) else pd.DataFrame(columns=["submission_id"]),
        row.top_n,
        row.random_share,
        int(row.seed),
    )
    return again == json.loads(row.selected_json)
