"""The annual summary (年度汇总报告) of the zone or a jurisdiction, as PDF and XLSX, with the dashboard's charts.

Built from what the dashboard serves the viewer (``carbon.views.overview``: the monitored enterprises' totals and
intensities, the targets as published and their state, the trend, jurisdictions and sectors, key emitters), the
year's reporting cycle (submission and verification status, official figures) and data completeness; the charts
are the overview's own (``dashboard.charts``), drawn to PNG offline by vl-convert with the system's Noto Sans CJK.
Written by ``carbon.reporting.documents`` (``pdf``, ``xlsx``).  ``carbon report region`` and the 报送审核 page use
it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache

import altair as alt
import pandas as pd
import vl_convert

from carbon import codes, reference, views
from carbon.access import Viewer
from carbon.errors import NotFoundError
from carbon.reporting import cycles, verification
from carbon.reporting.documents import FONT_FACE, FONT_FILE, Document, Section
from dashboard import charts, labels
from dashboard import format as fmt


@cache
def _fonts() -> None:
    vl_convert.register_font_directory(str(FONT_FILE.parent))


def png(chart: alt.Chart) -> bytes:
    """A chart as PNG (twice the screen scale), drawn offline in Noto Sans CJK SC."""
    _fonts()
    spec = chart.properties(width=640).configure(font=FONT_FACE).to_json()
    return vl_convert.vegalite_to_png(spec, scale=2)


def _t(value: float | None, digits: int = 2) -> str:
    return "无数据" if value is None or pd.isna(value) else f"{value:,.{digits}f}"


def summary(engine, viewer: Viewer, region: str, year: int, basis: str = "location") -> Document:
    """The year's summary of ``region`` (``zone`` or a jurisdiction) as the viewer may see it."""
    o = views.overview(engine, viewer, region, year, basis)
    h = o["headline"]
    name = labels.region(region, "zh")
    scale = charts.emissions_scale([h["emissions_tco2e"], *o["annual"]["emissions_tco2e"]], "zh")
    head = Section(
        "一、概况",
        [
            f"{year}年，本区域{h['enterprises']}家监测企业碳排放{fmt.tonnes_co2e(h['emissions_tco2e'])}，综合能耗"
            f"{fmt.tce(h['energy_tce'])}；两年都有结果的{h['emissions_change_yoy_enterprises']}家企业同比"
            f"{fmt.percent(h['emissions_change_yoy'])}。",
            "统计口径：监测企业的核算结果，不是本区域的排放总量；强度为监测企业排放（能耗）÷ 同一批企业的增加值。",
            f"核算口径：{codes.label('basis', basis, 'zh')}；数据截至：{fmt.as_of(o['as_of'], 'zh')}。",
        ],
    )
    targets = pd.DataFrame(
        {
            "目标": [views.target_title(t["id"], "zh") for t in h["targets"]],
            "按直线路径本年应降": [fmt.percent(t["expected"]) for t in h["targets"]],
            "状态": [views.target_state(t["status"], t.get("reason"), "zh") for t in h["targets"]],
            "监测企业强度降幅（参考）": [fmt.percent(t["monitored_achieved"]) for t in h["targets"]],
        }
    )
    goal = Section(
        "二、目标进展",
        [
            "地区目标按地区温室气体清单（能源活动）除以地区生产总值评估；无地区能源统计数据时无法评估，监测企业的降幅仅供参考。"
        ],
        [("适用的目标", targets)],
    )
    annual = o["annual"]
    trend = Section(
        "三、排放趋势",
        images=[("历年排放与达峰预测", png(charts.trend(annual, o["peak"].projection, "zh", scale)))],
        tables=[
            (
                "表2 历年排放",
                pd.DataFrame(
                    {
                        "年份": [f"{int(y)}年" for y in annual["year"]],
                        "碳排放（吨二氧化碳当量）": [_t(v) for v in annual["emissions_tco2e"]],
                    }
                ),
            )
        ],
    )
    by_region = o["by_region"].assign(name=lambda d: d["region"].map(lambda r: labels.region(r, "zh")))
    by_sector = o["by_sector"].assign(name=lambda d: d["sector"].map(lambda s: labels.sector(s, "zh")))
    shown = by_sector.dropna(subset=["emissions_tco2e"])
    split = Section(
        "四、分区县和分行业",
        [] if not by_sector["suppressed"].any() else ["企业少于3家的行业数值已隐去，以免泄露单个企业。"],
        [
            (
                "表3 分区县排放",
                pd.DataFrame(
                    {
                        "区县": by_region["name"],
                        "碳排放（吨二氧化碳当量）": [_t(v) for v in by_region["emissions_tco2e"]],
                    }
                ),
            ),
            (
                "表4 分行业排放",
                pd.DataFrame(
                    {
                        "行业": by_sector["name"],
                        "碳排放（吨二氧化碳当量）": [_t(v) for v in by_sector["emissions_tco2e"]],
                    }
                ),
            ),
        ],
        [
            ("分区县排放", png(charts.share_bars(by_region, "name", "emissions_tco2e", "zh", scale, "region"))),
            *(
                [("分行业排放", png(charts.share_bars(shown, "name", "emissions_tco2e", "zh", scale, "sector_zh")))]
                if len(shown)
                else []
            ),
        ],
    )
    emitters = pd.DataFrame(h["key_emitters"])
    key = Section(
        "五、重点排放单位",
        [f"年排放不低于2.6万吨二氧化碳当量或年综合能耗不低于1万吨标准煤的企业共{_count(h['key_emitter_count'])}家。"],
        [
            (
                "表5 重点排放单位",
                pd.DataFrame(
                    {
                        "统一社会信用代码": emitters["enterprise_uscc"],
                        "碳排放（吨二氧化碳当量）": [_t(v) for v in emitters["emissions_tco2e"]],
                    }
                ),
            )
        ]
        if len(emitters)
        else [],
    )
    parts = reference.region_ids(region)  # the jurisdictions the summary covers
    sections = [
        head,
        goal,
        trend,
        split,
        key,
        *_cycle_sections(engine, viewer, year, parts),
        _quality(engine, viewer, year, parts),
    ]
    numbered(sections)
    now = pd.Timestamp(datetime.now(UTC)).tz_convert("Asia/Shanghai")
    return Document(
        title=f"{name}{year}年度碳排放监测汇总报告",
        cover=[
            ("报告区域", name),
            ("报告年度", f"{year}年度"),
            ("生成时间", f"{now:%Y-%m-%d %H:%M}（北京时间）"),
            ("核算口径", codes.label("basis", basis, "zh")),
        ],
        sections=sections,
        closing=["本报告由示范区碳排放监测核算平台按已存核算结果生成；监测企业的合计不是地区排放总量。"],
    )


def _count(n: int | None) -> str:
    return "无数据" if n is None else str(n)


def numbered(sections: list[Section]) -> None:
    """Number the tables (表1, 表2 ...) and charts (图1 ...) in the order they come, whichever sections have them."""
    tables = charts_ = 0
    for s in sections:
        for i, (caption, df) in enumerate(s.tables):
            tables += 1
            s.tables[i] = (f"表{tables} {caption}", df)
        for i, (caption, image) in enumerate(s.images):
            charts_ += 1
            s.images[i] = (f"图{charts_} {caption}", image)


def _cycle_sections(engine, viewer: Viewer, year: int, parts: list[str]) -> list[Section]:
    """Submission and verification status of the year's cycle in the jurisdictions ``parts``, or a line saying
    there is none."""
    try:
        cycle = cycles.get_cycle(engine, year)
    except NotFoundError:
        return [Section("六、报送与核查", [f"{year}年尚未开启报送周期。"])]
    board = cycles.status_board(engine, viewer, year)
    board = board.loc[board["region_id"].isin(parts)]
    counts = cycles.board_counts(board)
    table = counts.assign(region_id=counts["region_id"].map(lambda r: labels.region(r, "zh"))).rename(
        columns={
            "region_id": "区县",
            "overdue": "逾期",
            **{s: codes.label("submission_state", s, "zh") for s in cycles.STATES},
        }
    )
    official = verification.official_figures(engine, viewer, year)
    official = official.loc[official["region_id"].isin(parts)]
    status = (
        official.groupby("status")["total_tco2e"].agg(["size", "sum"]).reindex(["verified", "reported", "provisional"])
    )
    figures = pd.DataFrame(
        {
            "数据状态": [codes.label("verification_status", s, "zh") for s in status.index],
            "企业数": [int(n) if pd.notna(n) else 0 for n in status["size"]],
            "碳排放合计（吨二氧化碳当量）": [
                _t(v) if pd.notna(n) and n else "无数据" for v, n in zip(status["sum"], status["size"], strict=True)
            ],
        }
    )
    return [
        Section(
            "六、报送与核查",
            [f"报送截止日期：{fmt.date(cycle['deadline'], 'zh')}。"],
            [("报送进度", table), ("数据状态（已核查、企业报告值、初步核算值）", figures)],
        )
    ]


def _quality(engine, viewer: Viewer, year: int, parts: list[str]) -> Section:
    """Data completeness per jurisdiction of ``parts``."""
    q = views.completeness_summary(engine, viewer, year)
    q = q.loc[q["region"].isin(parts)]
    table = pd.DataFrame(
        {
            "区县": q["region"].map(lambda r: labels.region(r, "zh")),
            "登记企业": q["registered_enterprises"],
            "数据完整的企业": q["complete_enterprises"],
        }
    )
    return Section(
        "七、数据质量",
        ["数据完整指按各计量表自身的报送周期，应报的时段都有数据（尚未到期的不计缺失）。"],
        [("数据完整度", table)],
    )
