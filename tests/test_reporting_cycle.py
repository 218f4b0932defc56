"""The annual reporting cycle, first part: a cycle opened with each jurisdiction's basis of record, frozen versions
submitted, withdrawn, returned with line comments, resubmitted and approved, and the zone's status board; on SQLite
and PostgreSQL, through ``carbon.reporting`` and the ``carbon`` CLI."""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime

import pandas as pd
import pytest
from sqlalchemy import func, select, update

from carbon import audit
from carbon.access import Viewer
from carbon.enterprises import add_enterprise
from carbon.errors import AccessDenied, InputError, NotFoundError
from carbon.intake import receive_files
from carbon.ledger import stored_result
from carbon.models import ReviewComment, Submission
from carbon.reporting import cycles, review, submissions
from carbon.reporting.review import LineComment
from tests.helpers import uscc, write_template
from tests.test_attacks import run

ZONE = Viewer("zone1", "zone")
QP = Viewer("qp-staff", "region", region="qingpu")
WJ = Viewer("wj-staff", "region", region="wujiang")
QP_CODE, WJ_CODE, IDLE_CODE = uscc(301), uscc(302, "320509"), uscc(303)
ENT_QP = Viewer("ent-qp", "enterprise", enterprise=QP_CODE)
WALL = Viewer("wall-zone", "display", region="zone")
DEADLINE = date(2026, 3, 31)
BEFORE = datetime(2026, 2, 1, tzinfo=UTC)
AFTER = datetime(2026, 4, 2, tzinfo=UTC)


def months(meter: str, carrier: str, quantity: str, unit: str, year: int = 2025) -> list[str]:
    return [
        f"{meter},{carrier},{year}-{m:02d}-01,{year + (m == 12)}-{m % 12 + 1:02d}-01,{quantity},{unit}"
        for m in range(1, 13)
    ]


@pytest.fixture
def zone(engine, tmp_path):
    """Qingpu and Wujiang enterprises with a year of electricity (Qingpu's also gas); an idle Qingpu enterprise."""
    add_enterprise(engine, code=QP_CODE, name="青浦报送甲", region="qingpu", industry="2614")
    add_enterprise(engine, code=WJ_CODE, name="吴江报送乙", region="wujiang", industry="2614")
    add_enterprise(engine, code=IDLE_CODE, name="青浦无数据丙", region="qingpu", industry="2614")
    qp = [*months("E-01", "电力", "100000", "kWh"), *months("G-01", "天然气", "1000", "m3")]
    receive_files(engine, [write_template(tmp_path / "qp.csv", qp)], QP_CODE, actor="test")
    receive_files(
        engine, [write_template(tmp_path / "wj.csv", months("E-02", "电力", "50000", "kWh"))], WJ_CODE, actor="test"
    )
    return engine


def test_a_cycle_fixes_who_reports_and_on_which_basis(zone):
    with pytest.raises(AccessDenied):
        cycles.open_cycle(zone, QP, 2025, DEADLINE)  # jurisdiction staff do not open cycles
    with pytest.raises(InputError, match="须在 2025 年结束之后"):
        cycles.open_cycle(zone, ZONE, 2025, date(2025, 12, 31))
    with pytest.raises(InputError, match="核算口径设置无效"):
        cycles.open_cycle(zone, ZONE, 2025, DEADLINE, bases={"qingpu": "bogus"})
    with pytest.raises(InputError, match="scope=list"):
        cycles.open_cycle(zone, ZONE, 2025, DEADLINE, enterprises=[QP_CODE])  # a list, and scope all: refused
    with pytest.raises(InputError, match="尚未结束"):
        cycles.open_cycle(zone, ZONE, 2026, date(2027, 3, 31), now=BEFORE)
    with pytest.raises(InputError, match="须给出企业名单"):
        cycles.open_cycle(zone, ZONE, 2025, DEADLINE, scope="list")
    cid = cycles.open_cycle(zone, ZONE, 2025, DEADLINE, now=BEFORE)
    with pytest.raises(InputError, match="已开启"):
        cycles.open_cycle(zone, ZONE, 2025, DEADLINE)
    c = cycles.get_cycle(zone, 2025)
    assert c["id"] == cid and c["bases"] == {"qingpu": "local", "wujiang": "location", "jiashan": "location"}
    must = cycles.cycle_enterprises(zone, cid).set_index("uscc")
    assert must.loc[QP_CODE, "basis"] == "local" and must.loc[WJ_CODE, "basis"] == "location"
    assert set(must.index) == {QP_CODE, WJ_CODE, IDLE_CODE}
    # key emitters only: none of these reaches 26,000 tCO2e or 10,000 tce
    assert cycles.obliged(zone, 2025, "key_emitters", c["bases"]).empty
    with pytest.raises(InputError, match="没有需要报送的企业"):
        cycles.open_cycle(zone, ZONE, 2024, date(2025, 3, 31), scope="key_emitters")
    with pytest.raises(NotFoundError):
        cycles.get_cycle(zone, 2024)


def test_submit_review_return_resubmit_approve(zone, tmp_path):
    cycles.open_cycle(zone, ZONE, 2025, DEADLINE, now=BEFORE)
    with pytest.raises(InputError, match="请先确认声明"):
        submissions.submit(zone, ENT_QP, 2025, QP_CODE)
    with pytest.raises(AccessDenied):
        submissions.submit(zone, ENT_QP, 2025, WJ_CODE, declared=True)  # another enterprise's report
    with pytest.raises(AccessDenied):
        submissions.submit(zone, WALL, 2025, QP_CODE, declared=True)
    with pytest.raises(InputError, match="没有活动数据"):
        submissions.submit(zone, QP, 2025, IDLE_CODE, declared=True)  # no data is not a zero report

    v1 = submissions.submit(zone, ENT_QP, 2025, QP_CODE, declared=True, now=BEFORE)
    first = submissions.get_submission(zone, v1)
    # frozen on Qingpu's basis of record (Shanghai's local factors): the figures the ledger serves on that basis
    local = stored_result(zone, year=2025, enterprise=QP_CODE, basis="local")
    assert (first.version, first.state, first.basis) == (1, "submitted", "local")
    assert first.total_tco2e == pytest.approx(local.total_tco2e, rel=1e-12)
    assert first.total_tco2e != pytest.approx(stored_result(zone, year=2025, enterprise=QP_CODE).total_tco2e)
    assert first.result_sha256 == submissions.line_hash(local.lines)
    facts = json.loads(first.manifest_json)
    assert len(facts["files"]) == 1 and facts["result_sha256"] == first.result_sha256
    assert {f["id"] for f in facts["factors"]} >= {i for ids in local.lines["factor_ids"] for i in ids.split(",")}
    quality = json.loads(first.quality_json)
    assert quality["completeness_state"] == "complete" and quality["rows_refused"] == 0
    assert len(submissions.submission_lines(zone, QP, v1)) == 24  # 2 carriers x 12 months

    with pytest.raises(InputError, match="请先撤回"):
        submissions.submit(zone, ENT_QP, 2025, QP_CODE, declared=True)  # one version waits for review
    assert submissions.withdraw(zone, ENT_QP, v1).state == "withdrawn"
    v2 = submissions.submit(zone, ENT_QP, 2025, QP_CODE, declared=True, now=BEFORE)
    with pytest.raises(AccessDenied):
        review.start_review(zone, ENT_QP, v2)  # an enterprise does not review itself
    with pytest.raises(AccessDenied):
        review.start_review(zone, WJ, v2)  # nor does another jurisdiction
    assert review.start_review(zone, QP, v2).state == "in_review"
    with pytest.raises(InputError, match="当前状态为“审核中”"):
        submissions.withdraw(zone, ENT_QP, v2)
    with pytest.raises(InputError, match="至少一条"):
        review.return_submission(zone, QP, v2, [])
    with pytest.raises(InputError, match="没有能源品种"):
        review.return_submission(zone, QP, v2, [LineComment("?", carrier="diesel")])
    with pytest.raises(InputError, match="没有计量表"):
        review.return_submission(zone, QP, v2, [LineComment("?", carrier="electricity", meter_code="X-9")])
    comment = LineComment("3月用电量与发票不符，请核对", carrier="electricity", month=3, meter_code="E-01")
    assert review.return_submission(zone, QP, v2, [comment]).state == "returned"
    seen = review.review_comments(zone, ENT_QP, v2)  # the enterprise sees the comment on its line
    assert seen[["carrier", "month", "meter_code", "text"]].iloc[0].tolist() == [
        "electricity",
        3,
        "E-01",
        "3月用电量与发票不符，请核对",
    ]

    # the enterprise corrects March and submits v3; v2 stays as it was, and the difference is March's electricity
    fixed = write_template(tmp_path / "fix.csv", ["E-01,电力,2025-03-01,2025-04-01,90000,kWh"])
    receive_files(zone, [fixed], QP_CODE, actor="ent-qp")
    v3 = submissions.submit(zone, ENT_QP, 2025, QP_CODE, declared=True, now=BEFORE)
    assert submissions.get_submission(zone, v3).version == 3
    assert submissions.get_submission(zone, v2).total_tco2e == first.total_tco2e  # frozen
    diff = submissions.difference(zone, QP, v2, v3)
    changed = diff.loc[diff["change_tco2e"].abs() > 0]
    assert changed[["carrier", "month"]].values.tolist() == [["electricity", 3]]
    assert changed["change_quantity"].iloc[0] == pytest.approx(-10_000)
    assert review.approve(zone, QP, v3).state == "approved"
    with pytest.raises(InputError, match="当前状态为“已通过”"):
        review.approve(zone, QP, v3)  # once

    log = audit.audit_log(zone, ZONE)
    assert {"submit", "withdraw", "review_start", "review_return", "review_approve", "cycle_open"} <= set(log["action"])


def test_a_submission_is_never_changed_afterwards(zone, tmp_path):
    """New data after a submission change the ledger, not the submitted version."""
    cycles.open_cycle(zone, ZONE, 2025, DEADLINE, now=BEFORE)
    sid = submissions.submit(zone, QP, 2025, QP_CODE, declared=True)
    before = submissions.submission_lines(zone, QP, sid)
    receive_files(
        zone,
        [write_template(tmp_path / "more.csv", ["E-09,电力,2025-06-01,2025-07-01,5000,kWh"])],
        QP_CODE,
        actor="test",
    )
    assert (
        stored_result(zone, year=2025, enterprise=QP_CODE, basis="local").total_tco2e > before["emissions_tco2e"].sum()
    )
    pd.testing.assert_frame_equal(submissions.submission_lines(zone, QP, sid), before)
    assert submissions.line_hash(submissions.submission_lines(zone, QP, sid)) == (
        submissions.get_submission(zone, sid).result_sha256
    )


def test_two_submissions_at_once_make_one_version_each_time(zone):
    cycles.open_cycle(zone, ZONE, 2025, DEADLINE, now=BEFORE)
    outcomes: list[object] = []
    barrier = threading.Barrier(2)

    def go() -> None:
        barrier.wait()
        try:
            outcomes.append(submissions.submit(zone, QP, 2025, QP_CODE, declared=True))
        except InputError as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=go) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [o for o in outcomes if isinstance(o, int)]
    assert len(ids) == 1, outcomes  # the other waits for review: refused, never a second version 1
    with zone.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Submission)).scalar_one() == 1


def test_the_status_board_counts_states_and_overdue(zone):
    cycles.open_cycle(zone, ZONE, 2025, DEADLINE, now=BEFORE)
    sid = submissions.submit(zone, QP, 2025, QP_CODE, declared=True)
    review.return_submission(zone, QP, sid, [LineComment("请补充天然气发票", carrier="natural_gas")])
    board = cycles.status_board(zone, ZONE, 2025, now=AFTER).set_index("uscc")
    assert board.loc[QP_CODE, "state"] == "returned" and board.loc[QP_CODE, "overdue"]
    assert board.loc[WJ_CODE, "state"] == "not_submitted" and board.loc[WJ_CODE, "overdue"]
    assert board.loc[WJ_CODE, "days_to_deadline"] == -2
    early = cycles.status_board(zone, ZONE, 2025, now=BEFORE)
    assert not early["overdue"].any() and (early["days_to_deadline"] == 58).all()
    counts = cycles.board_counts(board.reset_index()).set_index("region_id")
    assert counts.loc["qingpu", ["returned", "not_submitted", "overdue"]].tolist() == [1, 1, 2]
    assert counts.loc["wujiang", ["not_submitted", "approved", "overdue"]].tolist() == [1, 0, 1]
    # a jurisdiction's staff see their own enterprises only
    assert set(cycles.status_board(zone, QP, 2025)["uscc"]) == {QP_CODE, IDLE_CODE}
    with pytest.raises(AccessDenied):
        cycles.status_board(zone, ENT_QP, 2025)


def test_the_review_steps_race_one_wins(zone):
    """Two reviewers acting at once on one version: one step lands, the other is refused naming the new state."""
    cycles.open_cycle(zone, ZONE, 2025, DEADLINE, now=BEFORE)
    sid = submissions.submit(zone, QP, 2025, QP_CODE, declared=True)
    with zone.begin() as conn:  # as if another reviewer had just approved it
        conn.execute(update(Submission).where(Submission.id == sid).values(state="approved"))
    with pytest.raises(InputError, match="已通过"):
        review.return_submission(zone, QP, sid, [LineComment("x", carrier="electricity")])
    with zone.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ReviewComment)).scalar_one() == 0  # nothing half-done
        assert conn.execute(select(Submission.state).where(Submission.id == sid)).scalar_one() == "approved"


def test_the_cycle_through_the_cli(zone, db_url):
    assert run(db_url, "cycle", "open", "2025", "--deadline", "2026-03-31").returncode == 0
    out = run(db_url, "submit", "--enterprise", WJ_CODE, "--year", "2025", "--declare", "--json")
    assert out.returncode == 0, out.stderr
    sid = json.loads(out.stdout)["id"]
    assert run(db_url, "review", "start", str(sid)).returncode == 0
    back = run(db_url, "review", "return", str(sid), "--comment", "electricity:3:E-02:请核对3月")
    assert back.returncode == 0, back.stderr
    board = run(db_url, "cycle", "status", "2025")
    assert board.returncode == 0 and "退回" in board.stdout and "吴江" in board.stdout
    undeclared = run(db_url, "submit", "--enterprise", QP_CODE, "--year", "2025")
    assert undeclared.returncode == 2 and "--declare" in undeclared.stderr
    bad = run(db_url, "review", "approve", "999")
    assert bad.returncode == 2 and "没有编号为 999 的报送" in bad.stderr
