"""The annual reporting cycle end to end, on SQLite and PostgreSQL: a cycle is opened, two enterprises submit, one
is returned with a line comment and submits v2, both are approved, the sample for on-site verification is drawn
with a seed and drawn again the same, one is verified with an adjustment, the reports are made and their text
checked, the evidence verifies, and tampering is found."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date

import pytest
from sqlalchemy import update

from carbon.access import Viewer
from carbon.enterprises import add_enterprise
from carbon.intake import receive_files
from carbon.models import SubmissionActivity, Verification
from carbon.reporting import cycles, documents, evidence, review, risk, submissions, verification
from carbon.reporting.review import LineComment
from carbon.reporting.verification import Adjustment
from dashboard import reports
from tests.helpers import uscc, write_template
from tests.reporting_fixture import VARIED, series

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) not installed")
ZONE, QP, WJ = (
    Viewer("zone1", "zone"),
    Viewer("qp-staff", "region", region="qingpu"),
    Viewer("wj", "region", region="wujiang"),
)
QP_ENT, WJ_ENT = uscc(501), uscc(502, "320509")


def pdf_text(data: bytes, tmp_path, name: str) -> str:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(data)
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(path), str(tmp_path / name)], check=True)
    return subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True, text=True).stdout


def test_the_whole_cycle(engine, tmp_path):
    add_enterprise(engine, code=QP_ENT, name="青浦全程甲", region="qingpu", industry="2614")
    add_enterprise(engine, code=WJ_ENT, name="吴江全程乙", region="wujiang", industry="3011")
    rows = series("E-1", "电力", VARIED, "kWh") + series("G-1", "天然气", [900 + 7 * m for m in range(12)], "m3")
    receive_files(engine, [write_template(tmp_path / "qp.csv", rows)], QP_ENT, actor="test")
    receive_files(
        engine,
        [write_template(tmp_path / "wj.csv", series("E-2", "电力", [v * 3 for v in VARIED], "kWh"))],
        WJ_ENT,
        actor="test",
    )
    cycles.open_cycle(engine, ZONE, 2025, date(2026, 3, 31))
    qp_ent, wj_ent = (Viewer(f"e{i}", "enterprise", enterprise=c) for i, c in enumerate((QP_ENT, WJ_ENT)))
    v1 = submissions.submit(engine, qp_ent, 2025, QP_ENT, declared=True)
    w1 = submissions.submit(engine, wj_ent, 2025, WJ_ENT, declared=True)

    review.start_review(engine, QP, v1)
    review.return_submission(engine, QP, v1, [LineComment("5月天然气读数请核对", "natural_gas", 5, "G-1")])
    assert review.review_comments(engine, qp_ent, v1)["month"].tolist() == [5]
    fix = write_template(tmp_path / "fix.csv", ["G-1,天然气,2025-05-01,2025-06-01,1000,m3"])
    receive_files(engine, [fix], QP_ENT, actor="e0")
    v2 = submissions.submit(engine, qp_ent, 2025, QP_ENT, declared=True)
    diff = submissions.difference(engine, QP, v1, v2)
    assert diff.loc[diff["change_quantity"].abs() > 0, ["carrier", "month"]].values.tolist() == [["natural_gas", 5]]
    review.approve(engine, QP, v2)
    review.approve(engine, WJ, w1)

    drawn = risk.record_draw(engine, ZONE, 2025, top_n=1, random_share=1.0, seed=2026)
    assert sorted(drawn["selected"]) == sorted([v2, w1]) and risk.replay_draw(engine, drawn["id"])
    verified = verification.verify(engine, WJ, w1, [Adjustment("electricity", -10.0, "现场核查：12月电表倍率录入错误")])
    assert verified.state == "verified"
    official = verification.official_figures(engine, ZONE, 2025).set_index("uscc")
    assert official.loc[WJ_ENT, "status"] == "verified" and official.loc[QP_ENT, "status"] == "reported"
    assert official.loc[WJ_ENT, "total_tco2e"] == pytest.approx(submissions.get_submission(engine, w1).total_tco2e - 10)

    text = pdf_text(documents.pdf(documents.report(engine, qp_ent, v2)), tmp_path, "qp")
    assert "青浦全程甲温室气体排放报告" in text and f"{submissions.get_submission(engine, v2).total_tco2e:,.2f}" in text
    summary = pdf_text(documents.pdf(reports.summary(engine, ZONE, "zone", 2025)), tmp_path, "zone")
    assert "报送进度" in summary and "已核查" in summary and "已通过" in summary

    for sid in (v1, v2, w1):
        assert evidence.check(engine, ZONE, sid)["ok"], sid
    with engine.begin() as conn:
        conn.execute(
            update(SubmissionActivity)
            .where(SubmissionActivity.submission_id == w1)
            .values(quantity_original=SubmissionActivity.quantity_original * 2)
        )
    failed = [c["check"] for c in evidence.check(engine, ZONE, w1)["checks"] if not c["ok"]]
    assert failed == ["activity"]
    with engine.begin() as conn:  # the verified figure raised afterwards
        conn.execute(
            update(Verification)
            .where(Verification.submission_id == w1)
            .values(total_tco2e=Verification.total_tco2e + 5)
        )
    failed = [c["check"] for c in evidence.check(engine, ZONE, w1)["checks"] if not c["ok"]]
    assert failed == ["activity", "verification"]
