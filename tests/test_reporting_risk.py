"""Risk-based selection and verification: signals with their reasons, a seeded draw that can be made again, verified
figures with adjustments kept beside the reported ones, and the official figure of each enterprise."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from sqlalchemy import select, update

from carbon.access import Viewer
from carbon.errors import AccessDenied, InputError
from carbon.intake import receive_files
from carbon.models import FileArchive, SubmissionActivity, SubmissionLine
from carbon.reporting import evidence, review, risk, submissions, verification
from carbon.reporting.verification import Adjustment
from tests.helpers import write_template
from tests.reporting_fixture import VARIED, A, B, C
from tests.test_attacks import run

ZONE, QP, P = Viewer("zone1", "zone"), Viewer("qp-staff", "region", region="qingpu"), risk.parameters()


def test_an_intensity_far_from_its_division_is_flagged_and_too_few_peers_say_nothing():
    subs = pd.DataFrame(
        {
            "submission_id": range(1, 8),
            "division_code": ["26"] * 6 + ["30"],
            "total_tco2e": [100.0, 110.0, 95.0, 105.0, 102.0, 900.0, 5000.0],
            "value_added_10k_cny": [1000.0] * 7,
        }
    )
    out = risk.peer_signal(subs, P)
    assert out["submission_id"].tolist() == [6] and "倍" in out["zh"].iloc[0]
    assert risk.peer_signal(subs.iloc[2:], P).empty  # 4 peers in division 26: not enough to judge
    assert risk.peer_signal(subs.assign(value_added_10k_cny=float("nan")), P).empty  # no value added: no signal


def test_screening_finds_repeated_round_and_identical_series():
    rows = []
    for sid, ent, qs in ((1, "A", [5000.0] * 12), (2, "B", VARIED), (3, "C", VARIED)):
        for m, q in enumerate(qs, start=1):
            rows.append(
                {
                    "submission_id": sid,
                    "enterprise_uscc": ent,
                    "meter_code": "M",
                    "carrier": "electricity",
                    "period_start": m,
                    "period_end": m + 1,
                    "quantity_original": q,
                }
            )
    out = risk.screening_signals(pd.DataFrame(rows), P)
    got = set(zip(out["submission_id"], out["signal"], strict=True))
    assert got == {(1, "repeated"), (1, "round"), (2, "identical"), (3, "identical")}


def test_changes_on_the_year_and_apart_from_energy():
    subs = pd.DataFrame(
        {
            "submission_id": [1, 2, 3],
            "total_tco2e": [200.0, 100.0, 100.0],
            "energy_tce": [200.0, 125.0, 50.0],
            "prior_tco2e": [100.0, 100.0, float("nan")],
            "prior_tce": [100.0, 100.0, float("nan")],
        }
    )
    out = risk.change_signals(subs, P)
    assert set(zip(out["submission_id"], out["signal"], strict=True)) == {(1, "yoy"), (2, "unexplained")}


def test_the_draw_is_the_top_scores_and_a_seeded_random_share_made_again_exactly():
    scored = pd.DataFrame({"submission_id": range(1, 21), "score": sorted(range(20), reverse=True)})
    first = risk.draw(scored, 3, 0.25, seed=20260401)
    assert first[:3] == [1, 2, 3] and len(first) == 3 + 5  # ceil(0.25 x 17)
    assert risk.draw(scored, 3, 0.25, seed=20260401) == first
    assert len({tuple(risk.draw(scored, 3, 0.25, seed=s)) for s in range(10)}) > 1  # the seed decides the rest
    assert risk.draw(scored, 0, 0.0, seed=1) == []


def test_scores_draw_and_verify_on_a_cycle(reporting_cycle):
    engine, ids = reporting_cycle
    scored = risk.assess(engine, ZONE, 2025).set_index("enterprise_uscc")
    signals = {code: {r[0] for r in scored.loc[code, "reasons"]} for code in (A, B, C)}
    # every file of the test reached the system today, after the year and after the cycle's deadline
    late = {"late", "after_deadline"}
    assert signals == {A: {"repeated", "round", *late}, B: {"identical", *late}, C: {"identical", *late}}
    weights = P["weight_late"] + P["weight_after_deadline"]
    assert scored.loc[A, "score"] == P["weight_repeated"] + P["weight_round"] + weights
    assert scored.loc[B, "score"] == P["weight_identical"] + weights
    own = risk.assess(engine, QP, 2025).set_index("enterprise_uscc")
    assert set(own.index) == {A, C}  # Qingpu's staff score their own two
    told = " ".join(r[1] + r[2] for r in own.loc[C, "reasons"])
    assert B not in told and "另一区县的一家企业" in told  # C copies Wujiang's B: said, but B is not named to Qingpu
    assert B in " ".join(r[1] for r in scored.loc[C, "reasons"])  # zone staff are told which
    made = risk.record_draw(engine, ZONE, 2025, top_n=1, random_share=0.5, seed=42)
    assert made["selected"][0] == ids[A] and len(made["selected"]) == 2
    assert risk.replay_draw(engine, made["id"])
    with pytest.raises(AccessDenied):
        risk.record_draw(engine, Viewer("ent", "enterprise", enterprise=A), 2025)

    with pytest.raises(InputError, match="当前状态为“已提交”"):
        verification.verify(engine, ZONE, ids[A], [])  # only an approved version is verified
    review.approve(engine, QP, ids[A])
    with pytest.raises(InputError, match="理由"):
        verification.verify(engine, ZONE, ids[A], [Adjustment("electricity", -1.0, " ")])
    reported = submissions.get_submission(engine, ids[A])
    cut = Adjustment("electricity", -2.5, "3月发票为4,000 kWh，表计读数有误", delta_tce=-0.1229 * 1.0, month=3)
    assert verification.verify(engine, QP, ids[A], [cut]).state == "verified"
    official = verification.official_figures(engine, ZONE, 2025).set_index("uscc")
    assert official.loc[A, "status"] == "verified"
    assert official.loc[A, "total_tco2e"] == pytest.approx(reported.total_tco2e - 2.5)
    assert submissions.get_submission(engine, ids[A]).total_tco2e == reported.total_tco2e  # as reported, kept
    assert official.loc[B, "status"] == "reported"
    submissions.withdraw(engine, ZONE, ids[C])
    assert verification.official_figures(engine, ZONE, 2025).set_index("uscc").loc[C, "status"] == "provisional"
    with pytest.raises(InputError, match="已核查"):
        submissions.submit(engine, ZONE, 2025, A, declared=True)
    with engine.connect() as conn:
        stored = json.loads(conn.exec_driver_sql("select adjustments_json from verification").scalar_one())
    assert stored == [
        {"carrier": "electricity", "delta_tco2e": -2.5, "reason": cut.reason, "delta_tce": cut.delta_tce, "month": 3}
    ]


def test_draw_and_verification_through_the_cli(reporting_cycle, db_url):
    _, ids = reporting_cycle
    scores = run(db_url, "verify", "scores", "2025")
    assert scores.returncode == 0 and "同为5000" in scores.stdout, scores.stderr
    made = run(db_url, "verify", "draw", "2025", "--top", "1", "--share", "0.5", "--seed", "7", "--json")
    assert made.returncode == 0, made.stderr
    draw = json.loads(made.stdout)
    assert draw["seed"] == 7 and draw["selected"][0] == ids[A]
    assert run(db_url, "verify", "replay", str(draw["id"])).returncode == 0
    assert run(db_url, "review", "approve", str(ids[B])).returncode == 0
    done = run(db_url, "verify", "record", str(ids[B]), "--adjust", "electricity::1.5:0:漏报一张发票")
    assert done.returncode == 0 and "已核查" in done.stdout, done.stderr
    bad = run(db_url, "verify", "record", str(ids[A]), "--adjust", "electricity:x:1:0:?")
    assert bad.returncode == 2 and "核查调整格式" in bad.stderr


def test_the_evidence_of_a_version_verifies_and_tampering_is_found(reporting_cycle):
    engine, ids = reporting_cycle
    sid = ids[B]
    report = evidence.check(engine, ZONE, sid)
    assert report["ok"], report
    assert [c["check"] for c in report["checks"]] == ["files", "activity", "lines", "factors", "recompute"]
    with engine.begin() as conn:  # a stored result line altered
        conn.execute(
            update(SubmissionLine)
            .where(SubmissionLine.submission_id == sid, SubmissionLine.month == 3)
            .values(emissions_tco2e=SubmissionLine.emissions_tco2e * 0.9)
        )
    failed = {c["check"] for c in evidence.check(engine, ZONE, sid)["checks"] if not c["ok"]}
    assert failed == {"lines"}
    with engine.begin() as conn:  # an archived source file altered
        sha = conn.execute(select(FileArchive.sha256).where(FileArchive.enterprise_uscc == A)).scalar_one()
        conn.execute(update(FileArchive).where(FileArchive.sha256 == sha).values(content=b"tampered"))
    failed = {c["check"] for c in evidence.check(engine, ZONE, ids[A])["checks"] if not c["ok"]}
    assert failed == {"files"}
    with engine.begin() as conn:  # a frozen activity row altered: its hash and the recomputation fail
        conn.execute(
            update(SubmissionActivity)
            .where(SubmissionActivity.submission_id == ids[C])
            .values(quantity_canonical=SubmissionActivity.quantity_canonical + 1)
        )
    failed = {c["check"] for c in evidence.check(engine, ZONE, ids[C])["checks"] if not c["ok"]}
    assert failed == {"activity", "recompute"}


def test_versions_and_evidence_through_the_cli(reporting_cycle, db_url):
    engine, ids = reporting_cycle
    listed = run(db_url, "submission", "list", "--year", "2025", "--json")
    assert listed.returncode == 0 and {r["id"] for r in json.loads(listed.stdout)} == set(ids.values())
    ok = run(db_url, "evidence", "verify", str(ids[B]))
    assert ok.returncode == 0 and "存证核验通过" in ok.stdout, ok.stdout + ok.stderr
    with engine.begin() as conn:
        conn.execute(
            update(SubmissionLine)
            .where(SubmissionLine.submission_id == ids[B])
            .values(energy_tce=SubmissionLine.energy_tce + 1)
        )
    bad = run(db_url, "evidence", "verify", str(ids[B]))
    assert bad.returncode == 1 and "✗ 核算结果与记录不符" in bad.stdout
    assert run(db_url, "submission", "withdraw", str(ids[C])).returncode == 0
    same = run(db_url, "submission", "diff", str(ids[A]), str(ids[C]))
    assert same.returncode == 2 and "同一企业" in same.stderr


def test_a_submission_without_any_signal_scores_zero_with_no_reasons():
    subs = pd.DataFrame({"submission_id": [5], "enterprise_uscc": ["E"]})
    out = risk.scores(subs, pd.DataFrame(columns=risk.REASON_COLUMNS), P)
    assert out["score"].tolist() == [0.0] and out["reasons"].tolist() == [[]]


@pytest.mark.parametrize("delta", [float("nan"), float("inf"), float("-inf")])
def test_a_non_finite_adjustment_is_refused_and_nothing_is_verified(reporting_cycle, delta):
    engine, ids = reporting_cycle
    review.approve(engine, ZONE, ids[A])
    for adjustment in (Adjustment("electricity", delta, "x"), Adjustment("electricity", 1.0, "x", delta_tce=delta)):
        with pytest.raises(InputError, match="有限数值"):
            verification.verify(engine, ZONE, ids[A], [adjustment])
    with pytest.raises(InputError, match="小于零"):  # energy below zero too, not only emissions
        verification.verify(engine, ZONE, ids[A], [Adjustment("电力", 0.0, "x", delta_tce=-1e9)])
    assert submissions.get_submission(engine, ids[A]).state == "approved"


def test_comments_name_carriers_by_name_and_refuse_invisible_characters(reporting_cycle):
    engine, ids = reporting_cycle
    back = review.return_submission(engine, ZONE, ids[B], [review.LineComment("请核对", "电力", 3, "E-1")])
    assert back.state == "returned"
    assert review.review_comments(engine, ZONE, ids[B])["carrier"].tolist() == ["electricity"]  # stored by id
    with pytest.raises(InputError, match="U\\+202E"):
        review.return_submission(engine, ZONE, ids[C], [review.LineComment("正常\u202e意见", "electricity")])
    with pytest.raises(InputError, match="电力（electricity）"):  # what the report holds, by name and id
        review.return_submission(engine, ZONE, ids[C], [review.LineComment("x", "柴油")])


def test_only_the_newest_version_is_reviewed_or_verified(reporting_cycle, tmp_path):
    engine, ids = reporting_cycle
    review.approve(engine, ZONE, ids[B])
    receive_files(
        engine, [write_template(tmp_path / "more.csv", ["G-9,天然气,2025-06-01,2025-07-01,50,m3"])], B, actor="test"
    )
    newer = submissions.submit(engine, ZONE, 2025, B, declared=True)
    with pytest.raises(InputError, match="已被第2版取代"):
        verification.verify(engine, ZONE, ids[B], [])
    assert submissions.get_submission(engine, newer).version == 2
    diff = submissions.difference(engine, ZONE, ids[B], newer).set_index(["carrier", "month"])
    gas = diff.loc[("natural_gas", 6)]  # a line only in v2: no line in v1 (not 0), and all of it is the change
    assert pd.isna(gas["emissions_tco2e_old"]) and gas["change_tco2e"] == pytest.approx(gas["emissions_tco2e_new"])
    assert (diff.drop(index=("natural_gas", 6))["change_tco2e"] == 0).all()
    with pytest.raises(InputError, match="两个不同的版本"):
        submissions.difference(engine, ZONE, newer, newer)


def test_a_seed_outside_the_range_is_refused(reporting_cycle):
    engine, _ = reporting_cycle
    for seed in (-1, 2**63, 99999999999999999999999):
        with pytest.raises(InputError, match="随机种子"):
            risk.record_draw(engine, ZONE, 2025, seed=seed)


def test_every_draw_stays_on_record(reporting_cycle):
    engine, _ = reporting_cycle
    first = risk.record_draw(engine, ZONE, 2025, top_n=1, random_share=0.0, seed=1)
    again = risk.record_draw(engine, ZONE, 2025, top_n=0, random_share=1.0, seed=2)
    listed = risk.draws(engine, ZONE, 2025)
    assert listed["id"].tolist() == [first["id"], again["id"]] and listed["seed"].tolist() == [1, 2]
    assert listed["selected"].tolist() == [first["selected"], again["selected"]]
