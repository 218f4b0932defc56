"""The enterprise's annual report of a submitted version as XLSX and PDF: every PDF page rendered to PNG
(pdftoppm), its text (pdftotext) holding the figures, the workbook holding them as numbers' text."""

from __future__ import annotations

import io
import shutil
import subprocess

import pytest
from openpyxl import load_workbook

from carbon import views
from carbon.reporting import documents, review, submissions, verification
from carbon.reporting.verification import Adjustment
from tests.reporting_fixture import ZONE, A, B
from tests.test_attacks import run

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) not installed")


def text_of(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "r.pdf"
    path.write_bytes(pdf)
    pages = subprocess.run(["pdftoppm", "-r", "40", "-png", str(path), str(tmp_path / "page")], check=True)
    assert pages.returncode == 0 and len(list(tmp_path.glob("page*.png"))) >= 2
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout


def test_the_annual_report_holds_the_submitted_figures(reporting_cycle, tmp_path):
    engine, ids = reporting_cycle
    review.approve(engine, ZONE, ids[A])
    verification.verify(engine, ZONE, ids[A], [Adjustment("electricity", -2.5, "3月发票为4,000 kWh", month=3)])
    sub = submissions.get_submission(engine, ids[A])
    doc = documents.report(engine, ZONE, ids[A])
    text = text_of(documents.pdf(doc), tmp_path)
    for expected in (
        "青浦风险甲温室气体排放报告",
        A,
        "2025年度",
        "一、企业基本情况",
        "二、温室气体排放情况",
        "三、活动水平数据及来源说明",
        "四、排放因子数据及来源说明",
        f"{sub.total_tco2e:,.2f}",
        f"{sub.total_tco2e - 2.5:,.2f}",
        "60,000.00",
        "千瓦时",
        "上海市生态环境局",  # Qingpu reports on Shanghai's own factors
        sub.result_sha256[:32],
        "本报告真实、可靠",
        "法定代表人（签字）",
    ):
        assert expected in text, expected
    book = load_workbook(io.BytesIO(documents.xlsx(doc)))
    assert {"报告主体", "报告主体温室气体排放量汇总", "活动水平数据及来源", "排放因子和计算系数及来源"} <= set(
        book.sheetnames
    )
    summary = [[c.value for c in row] for row in book["报告主体温室气体排放量汇总"].iter_rows()]
    assert summary[0] == ["项目", "单位", "报告值", "核查值"]
    assert summary[1][2:] == [pytest.approx(sub.total_tco2e), pytest.approx(sub.total_tco2e - 2.5)]  # numbers
    adjusted = [[c.value for c in row] for row in book["核查调整"].iter_rows()]
    assert adjusted[1] == ["电力", "3月", -2.5, 0.0, "3月发票为4,000 kWh"]


def test_a_report_is_only_for_its_enterprise_and_staff(reporting_cycle):
    from carbon.access import Viewer
    from carbon.errors import AccessDenied

    engine, ids = reporting_cycle
    with pytest.raises(AccessDenied):
        documents.report(engine, Viewer("ent-b", "enterprise", enterprise=B), ids[A])
    assert documents.report(engine, Viewer("ent-b", "enterprise", enterprise=B), ids[B]).title.endswith("排放报告")


def test_the_report_command_writes_both_files(reporting_cycle, db_url, tmp_path):
    _, ids = reporting_cycle
    out = run(db_url, "report", "submission", str(ids[B]), "--out", str(tmp_path / "reports"))
    assert out.returncode == 0, out.stderr
    written = sorted(p.name for p in (tmp_path / "reports").iterdir())
    assert written == [f"report-{B}-v1.pdf", f"report-{B}-v1.xlsx"]
    assert "吴江风险乙温室气体排放报告" in text_of((tmp_path / "reports" / written[0]).read_bytes(), tmp_path)


def test_the_zone_summary_holds_its_figures_charts_and_cycle(reporting_cycle, db_url, tmp_path):
    from dashboard import format as fmt
    from dashboard import reports

    engine, ids = reporting_cycle
    review.approve(engine, ZONE, ids[A])
    doc = reports.summary(engine, ZONE, "zone", 2025)
    assert sum(len(s.images) for s in doc.sections) >= 2  # the overview's charts, drawn to PNG
    text = text_of(documents.pdf(doc), tmp_path)
    total = views.overview(engine, ZONE, "zone", 2025)["headline"]["emissions_tco2e"]  # what the dashboard shows
    for expected in (
        "报告区域：长三角生态绿色一体化发展示范区",
        "一、概况",
        "3家监测企业",
        fmt.tonnes_co2e(total).replace("₂", "2"),
        "无法评估",
        "报送进度",
        "已通过",
        "七、数据质量",
    ):
        assert expected in text, expected
    captions = [c for sec in doc.sections for c, _ in sec.tables]
    assert [c.split(" ", 1)[0] for c in captions] == [f"表{i}" for i in range(1, len(captions) + 1)]  # in order
    qingpu = reports.summary(engine, ZONE, "qingpu", 2025)
    board = next(df for sec in qingpu.sections for c, df in sec.tables if c.endswith("报送进度"))
    assert board["区县"].tolist() == ["上海市青浦区"]  # a jurisdiction's summary covers that jurisdiction only
    out = run(db_url, "report", "region", "qingpu", "--year", "2025", "--out", str(tmp_path / "s"))
    assert out.returncode == 0, out.stderr
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == ["summary-qingpu-2025.pdf", "summary-qingpu-2025.xlsx"]
