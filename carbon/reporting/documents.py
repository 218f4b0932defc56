"""The enterprise's annual greenhouse-gas report (企业温室气体排放报告) of a submitted version, as XLSX (the data)
and PDF (to sign and file), in Chinese.

Structure: the report template (附一 报告格式模板) of the NDRC enterprise accounting guidelines for industry
(发改办气候〔2013〕2526号, 〔2014〕2920号, 〔2015〕1722号), whose report content GB/T 32150-2015 (§10) sets out in
the same order: a cover (reporting entity, year, date), the opening statement, 一 the reporting entity, 二 its
emissions, 三 activity data and their sources, 四 emission factors and their sources, the declaration and the
signature, then the tables (附表1 emissions summary, 附表2 activity data, 附表3 factors).  To these the system adds
the data-quality summary and the evidence (存证) of the version.

``report(engine, viewer, submission_id)`` builds the document (pure data); ``xlsx`` and ``pdf`` write it.  The PDF
is drawn with fpdf2 in the system's Noto Sans CJK SC (``fonts-noto-cjk``), embedded as a subset; nothing is
fetched at render time.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pandas as pd
from fontTools.ttLib import TTCollection
from fpdf import FPDF
from fpdf.enums import WrapMode
from sqlalchemy import Engine, select
from sqlmodel import Session

from carbon import codes, fields, reference, sources
from carbon.access import Viewer
from carbon.enterprises import get_enterprise
from carbon.errors import CarbonError
from carbon.export import xlsx_bytes
from carbon.ledger import load_factors
from carbon.models import ReportingCycle, SubmissionActivity, Verification
from carbon.reporting.submissions import DECLARATION, _owned, get_submission, submission_lines

FONT_FILE = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")  # Debian's fonts-noto-cjk
FONT_FACE = "Noto Sans CJK SC"
BEIJING = "Asia/Shanghai"
ADJUSTMENT_COLUMNS = ("carrier", "delta_tco2e", "reason", "delta_tce", "month")  # as ``verification`` stores them
TEXT_FORMATS = {"数值": "{:g}"}  # a factor's value as published; every other figure with two decimals


@dataclass
class Section:
    """A heading, its paragraphs, its charts (caption, PNG bytes) and its tables (caption, frame with Chinese
    headers)."""

    heading: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    images: list[tuple[str, bytes]] = field(default_factory=list)


@dataclass
class Document:
    """A report: its title, the cover's lines (label, value), sections and the closing lines (declaration,
    signature)."""

    title: str
    cover: list[tuple[str, str]]
    sections: list[Section]
    closing: list[str]


def unit_zh(unit: str) -> str:
    """A quantity's unit in Chinese (``carbon/data/field_units.csv``): ``kWh`` -> ``千瓦时``."""
    return str(fields.units().loc[unit, "label_zh"])


def _t(value: float, digits: int = 2) -> str:
    return f"{value:,.{digits}f}"


def report(engine: Engine, viewer: Viewer, submission_id: int) -> Document:
    """The annual report of a submitted version (its enterprise's user, or staff of its jurisdiction or the zone)."""
    sub = get_submission(engine, submission_id)
    _owned(engine, viewer, sub.enterprise_uscc, write=False)
    ent = get_enterprise(engine, sub.enterprise_uscc)
    facts, quality = json.loads(sub.manifest_json), json.loads(sub.quality_json)
    lines = submission_lines(engine, viewer, submission_id)
    with engine.connect() as conn:
        year = conn.execute(select(ReportingCycle.year).where(ReportingCycle.id == sub.cycle_id)).scalar_one()
        activity = pd.read_sql(
            select(SubmissionActivity.meter_code, SubmissionActivity.carrier, SubmissionActivity.file_sha256).where(
                SubmissionActivity.submission_id == submission_id
            ),
            conn,
        )
    with Session(engine) as session:
        verified = session.scalars(select(Verification).where(Verification.submission_id == submission_id)).first()
    division = reference.industry_divisions().loc[ent.division_code, "name_zh"]
    region = codes.area(ent.region_id, "zh")
    basis = codes.label("basis", sub.basis, "zh")
    submitted = pd.to_datetime(sub.submitted_at, utc=True).tz_convert(BEIJING)
    carriers = reference.carriers()

    summary = pd.DataFrame(
        {
            "项目": [
                "温室气体排放总量",
                "其中：化石燃料燃烧等直接排放（范围一）",
                "净购入电力、热力产生的排放（范围二）",
                "综合能源消费量",
            ],
            "单位": ["吨二氧化碳当量", "吨二氧化碳当量", "吨二氧化碳当量", "吨标准煤"],
            "报告值": [sub.total_tco2e, sub.scope1_tco2e, sub.scope2_tco2e, sub.energy_tce],
        }
    )
    if verified is not None:
        summary["核查值"] = [
            verified.total_tco2e,
            verified.scope1_tco2e,
            verified.scope2_tco2e,
            verified.energy_tce,
        ]

    by_carrier = lines.groupby("carrier", sort=False)[["quantity_canonical", "emissions_tco2e", "energy_tce"]].sum()
    meters = activity.groupby("carrier")["meter_code"].agg(lambda m: "、".join(sorted(set(m))))
    files = activity.groupby("carrier")["file_sha256"].nunique()
    activity_table = pd.DataFrame(
        {
            "能源品种": [str(carriers.loc[c, "name_zh"]) for c in by_carrier.index],
            "活动数据": by_carrier["quantity_canonical"].to_numpy(),
            "单位": [unit_zh(str(carriers.loc[c, "canonical_unit"])) for c in by_carrier.index],
            "排放量（吨二氧化碳当量）": by_carrier["emissions_tco2e"].to_numpy(),
            "数据来源": [f"计量表 {meters.get(c, '—')}；上报文件{int(files.get(c, 0))}个" for c in by_carrier.index],
        }
    )

    library = load_factors(engine).set_index("id")
    recorded = {f["id"]: f for f in facts["factors"]}
    rows = []
    for c, ids in lines.groupby("carrier", sort=False)["factor_ids"]:
        for fid in sorted({i for s in ids for i in str(s).split(",") if i}):
            rec = library.loc[fid] if fid in library.index else None
            rows.append(
                {
                    "能源品种": str(carriers.loc[c, "name_zh"]),
                    "参数": codes.label("factor_parameter", str(rec["parameter"]), "zh") if rec is not None else "—",
                    "数值": recorded[fid]["value"] if fid in recorded else None,
                    "单位": codes.label("unit", recorded[fid]["unit"], "zh") if fid in recorded else "—",
                    "来源": sources.citation(rec, "zh") if rec is not None else "—",
                    "因子编号": fid,
                }
            )
    factor_table = pd.DataFrame(rows)

    monthly = lines.pivot_table(index="month", columns="carrier", values="emissions_tco2e", aggfunc="sum")
    monthly = monthly.reindex(range(1, 13))
    monthly_table = pd.DataFrame({"月份": [f"{year}年{m}月" for m in monthly.index]})
    for c in monthly.columns:
        monthly_table[f"{carriers.loc[c, 'name_zh']}（吨二氧化碳当量）"] = monthly[c].to_numpy()  # NaN: no data

    quality_table = pd.DataFrame(
        {
            "项目": ["数据完整度", "被更正的数据行", "本年收到的上报文件", "被拒绝的数据行"],
            "情况": [
                codes.label("completeness_state", quality["completeness_state"], "zh"),
                str(quality["rows_corrected"]),
                str(quality["files_received"]),
                str(quality["rows_refused"]),
            ],
        }
    )
    evidence_table = pd.DataFrame(
        {
            "项目": ["核算结果哈希（SHA-256）", "活动数据哈希（SHA-256）", "程序版本", "源文件（SHA-256）"],
            "内容": [sub.result_sha256, facts["activity_sha256"], facts["code_version"], "；".join(facts["files"])],
        }
    )

    sections = [
        Section(
            "一、企业基本情况",
            [
                f"企业名称：{ent.name}",
                f"统一社会信用代码：{ent.uscc}",
                f"所在区县：{region}",
                f"所属行业：{ent.division_code} {division}",
                f"报告版本：第{sub.version}版（{codes.label('submission_state', sub.state, 'zh')}）",
                f"核算口径：{basis}",
            ],
        ),
        Section(
            "二、温室气体排放情况",
            [f"{year}年度温室气体排放总量为{_t(sub.total_tco2e)}吨二氧化碳当量。"],
            [("附表1 报告主体温室气体排放量汇总", summary)],
        ),
        Section(
            "三、活动水平数据及来源说明",
            ["活动数据来自企业上报的计量表数据和账单，逐月汇总如附表2；逐月排放见附表2-1。"],
            [("附表2 活动水平数据及来源", activity_table), ("附表2-1 逐月排放", monthly_table)],
        ),
        Section(
            "四、排放因子数据及来源说明",
            ["排放因子和计算参数按核算口径从本系统因子库选取，来源如附表3。"],
            [("附表3 排放因子和计算系数及来源", factor_table)],
        ),
        Section("五、数据质量", [], [("附表5 数据质量", quality_table)]),
        Section("六、存证信息", ["下列哈希可用“carbon evidence verify”核验。"], [("附表6 存证", evidence_table)]),
    ]
    if verified is not None:
        adjustments = pd.DataFrame(json.loads(verified.adjustments_json), columns=list(ADJUSTMENT_COLUMNS))
        adjusted = pd.DataFrame(
            {
                "能源品种": [str(carriers.loc[c, "name_zh"]) for c in adjustments["carrier"]],
                "月份": ["全年" if pd.isna(m) else f"{int(m)}月" for m in adjustments["month"]],
                "排放调整（吨二氧化碳当量）": adjustments["delta_tco2e"].astype(float).to_numpy(),
                "能耗调整（吨标准煤）": adjustments["delta_tce"].astype(float).to_numpy(),
                "理由": adjustments["reason"],
            }
        )
        sections.insert(
            2,
            Section(
                "核查情况",
                [f"核查人：{verified.verified_by}；核查后排放总量{_t(verified.total_tco2e)}吨二氧化碳当量。"]
                + (["核查未作调整，核查值与报告值相同。"] if adjusted.empty else []),
                [("附表1-1 核查调整", adjusted)] if len(adjusted) else [],
            ),
        )
    return Document(
        title=f"{ent.name}温室气体排放报告",
        cover=[
            ("报告主体（盖章）", f"{ent.name}（{ent.uscc}）"),
            ("报告年度", f"{year}年度"),
            ("报送日期", f"{submitted:%Y年%-m月%-d日}"),
            ("版本", f"第{sub.version}版"),
        ],
        sections=[
            Section(
                "",
                [
                    f"根据《工业企业温室气体排放核算和报告通则》（GB/T 32150-2015），按{basis}，本报告主体核算了"
                    f"{year}年度温室气体排放量，并填写了相关数据表格。现将有关情况报告如下："
                ],
            ),
            *sections,
        ],
        closing=[DECLARATION[0], "法定代表人（签字）：", "年    月    日"],
    )


def xlsx(doc: Document) -> bytes:
    """The report as a workbook: the cover and each table on its own sheet (text that a spreadsheet would run
    is escaped, ``carbon.export``)."""
    cover = pd.DataFrame(doc.cover, columns=["项目", "内容"])
    tables = {"报告主体": cover}
    for s in doc.sections:
        for caption, df in s.tables:
            tables[caption.split(" ", 1)[-1]] = df
    tables["声明"] = pd.DataFrame({"声明": doc.closing})
    return xlsx_bytes(tables)


@cache
def font_index(path: Path = FONT_FILE) -> int:
    """The index of ``FONT_FACE`` in the font collection."""
    names = [f["name"].getDebugName(4) for f in TTCollection(str(path)).fonts]
    return names.index(FONT_FACE)


def font_file() -> Path:
    """The CJK font: ``CARBON_CJK_FONT`` or Debian's Noto Sans CJK; ``CarbonError`` naming the package if absent."""
    path = Path(os.environ.get("CARBON_CJK_FONT", FONT_FILE))
    if not path.exists():
        raise CarbonError(
            f"缺少中文字体 {path}：请安装 fonts-noto-cjk（apt-get install fonts-noto-cjk）",
            f"No CJK font at {path}: install fonts-noto-cjk (apt-get install fonts-noto-cjk)",
        )
    return path


def widths(df: pd.DataFrame) -> tuple[float, ...]:
    """Relative column widths: each column's longest text (header or cell), between 4 and 40 characters.  Pure."""
    longest = [max([len(str(c)), *(len(str(v)) for v in df[c])]) for c in df.columns]
    return tuple(float(min(max(n, 4), 40)) for n in longest)


def _cell(value: object, column: str) -> str:
    """A table cell as drawn: "—" for no value, figures with thousands separators and two decimals (a factor's
    value as published, ``TEXT_FORMATS``)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "—"
    if isinstance(value, float | int) and not isinstance(value, bool):
        return TEXT_FORMATS.get(column, "{:,.2f}").format(value)
    return _glyphs(str(value))


def _glyphs(text: str) -> str:
    """Text as the CJK font can draw it: the subscript two of CO₂ (not in Noto Sans CJK) as a plain 2."""
    return text.replace("₂", "2")


def pdf(doc: Document) -> bytes:
    """The report as an A4 PDF in Noto Sans CJK SC: the cover page, then the sections with their charts and
    tables."""
    out = FPDF(format="A4")
    out.set_auto_page_break(True, margin=15)
    path = font_file()
    number = font_index(path) if path.suffix == ".ttc" else 0
    out.add_font("cjk", "", str(path), collection_font_number=number)
    out.add_font("cjk", "B", str(path), collection_font_number=number)  # table headings (the same face)
    out.set_title(doc.title)
    out.add_page()
    out.set_font("cjk", size=22)
    out.ln(50)
    out.multi_cell(0, 14, doc.title, align="C", wrapmode=WrapMode.CHAR, new_x="LMARGIN", new_y="NEXT")
    out.ln(20)
    out.set_font("cjk", size=13)
    for label, value in doc.cover:
        out.multi_cell(0, 10, f"{label}：{value}", wrapmode=WrapMode.CHAR, new_x="LMARGIN", new_y="NEXT")
    out.add_page()
    for s in doc.sections:
        if s.heading:
            out.set_font("cjk", size=14)
            out.ln(3)
            out.multi_cell(0, 9, s.heading, wrapmode=WrapMode.CHAR, new_x="LMARGIN", new_y="NEXT")
        out.set_font("cjk", size=10.5)
        for p in s.paragraphs:
            out.multi_cell(0, 7, _glyphs(p), wrapmode=WrapMode.CHAR, new_x="LMARGIN", new_y="NEXT")
        for caption, png in s.images:
            out.ln(2)
            out.multi_cell(0, 7, caption, wrapmode=WrapMode.CHAR, new_x="LMARGIN", new_y="NEXT")
            out.image(io.BytesIO(png), w=out.epw)
        for caption, df in s.tables:
            out.ln(2)
            out.set_font("cjk", size=10.5)
            out.multi_cell(0, 7, caption, wrapmode=WrapMode.CHAR, new_x="LMARGIN", new_y="NEXT")
            out.set_font("cjk", size=8.5)
            with out.table(wrapmode=WrapMode.CHAR, line_height=5, text_align="LEFT", col_widths=widths(df)) as table:
                table.row([str(c) for c in df.columns])
                for r in df.itertuples(index=False):
                    table.row([_cell(v, str(c)) for v, c in zip(r, df.columns, strict=True)])
    out.ln(6)
    out.set_font("cjk", size=11)
    for line in doc.closing:
        out.multi_cell(0, 9, line, wrapmode=WrapMode.CHAR, new_x="LMARGIN", new_y="NEXT")
    return bytes(out.output())


def write(doc: Document, folder: Path, stem: str) -> tuple[Path, Path]:
    """Write ``<stem>.xlsx`` and ``<stem>.pdf`` into ``folder``; their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = folder / f"{stem}.xlsx", folder / f"{stem}.pdf"
    paths[0].write_bytes(xlsx(doc))
    paths[1].write_bytes(pdf(doc))
    return paths
