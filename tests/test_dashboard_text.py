"""What a person reads on the dashboard: the language chosen is kept for the session, and no page shows a raw code,
a Python value (None, nan, NaT, {}, [...]) or a UTC time, for any role, in either language (AppTest, real database).

The zone of ``tests/zone_fixture.py`` is given what the pages show besides results: an upload with a refused row,
a previewed upload, connectors (one healthy, one failing, one that never succeeded) and audit events of every kind
the system records (failed sign-ins, an expired session, an export, connector readings, a changed enterprise).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from functools import cache

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from carbon import audit, codes, db, fields, reference, views
from carbon.access import Viewer
from carbon.intake import receive_files
from carbon.reporting import cycles, review, risk, submissions, verification
from carbon.reporting.review import LineComment
from carbon.reporting.verification import Adjustment
from carbon.users import authenticate
from connectors import state as connector_state
from dashboard import common
from tests.helpers import write_template
from tests.test_dashboard_app import ENTERPRISE_PAGES, STAFF_PAGES, open_page, sign_in
from tests.zone_fixture import A, B, C, build

ROLES = {
    "zone1": STAFF_PAGES,
    "qp-staff": STAFF_PAGES,
    "ent-a": ENTERPRISE_PAGES,
    "wall-zone": ["wall"],
    "wall-qp": ["wall"],
}


@pytest.fixture(scope="module")
def zone_db(tmp_path_factory):
    folder = tmp_path_factory.mktemp("text")
    url = build(f"sqlite:///{folder / 'zone.db'}", folder)
    engine = db.make_engine(url)
    add_what_pages_show(engine, folder)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CARBON_DATABASE_URL", url)
        yield engine
    engine.dispose()


def add_what_pages_show(engine, folder) -> None:
    """Uploads, connectors and audit events beyond the fixture's results."""
    ent_a = Viewer("ent-a", "enterprise", enterprise=A)
    rows = ["E-01,电力,2025-01-01,2025-02-01,1000,kWh", "E-01,电力,2025-02-01,2025-03-01,-5,kWh"]
    path = write_template(folder / "一月二月电表.csv", rows)
    receive_files(engine, [path], A, actor=ent_a, action="upload_confirm", accept_valid=True)
    preview = write_template(folder / "预览.csv", [rows[1], "E-01,电力,2025-03-01,2025-04-01,900,kWh"])
    views.preview_upload(engine, ent_a, A, [("预览.csv", preview.read_bytes())])
    now = datetime.now(UTC)
    connector_state.load_state(engine, "园区能源平台", "http_api")
    connector_state.record_success(
        engine, "园区能源平台", watermark="x", stored=10, duplicates=1, quarantined=0, newest=now, now=now
    )
    connector_state.load_state(engine, "一号变电所电表", "modbus_tcp")
    for hours in (3, 2, 1):
        failed_at = now - timedelta(hours=hours)
        connector_state.record_failure(engine, "一号变电所电表", "连接超时 / timed out", failed_at, 3)
    connector_state.load_state(engine, "新接入的文件投递", "file_drop")
    authenticate(engine, "qp-staff", "not the password")
    authenticate(engine, "nobody-by-this-name", "whatever")
    audit.record(engine, Viewer("qp-staff", "region", region="qingpu"), "session_expired", {"state": "idle_expired"})
    views.record_export(engine, Viewer("zone1", "zone"), "排放因子", "xlsx", {"因子库": pd.DataFrame({"a": [1, 2]})})
    audit.record(
        engine,
        "园区能源平台",
        "readings_received",
        {"readings": 10, "duplicates": 1, "refused": 0, "enterprises": [A]},
        region="qingpu",
    )
    audit.record(
        engine, "cli:operator", "enterprise_update", {"name": "青浦甲化工有限公司", "region": None}, enterprise=A
    )
    audit.record_denied(engine, ent_a, "enterprise", "913205090000002108")
    # a 2024 reporting cycle part of the way: A returned with a line comment, B approved and verified with an
    # adjustment, C waiting for review, D not reported (overdue)
    zone = Viewer("zone1", "zone")
    cycles.open_cycle(engine, zone, 2024, date(2025, 3, 31))
    first = submissions.submit(engine, zone, 2024, A, declared=True)
    review.return_submission(engine, zone, first, [LineComment("3月用电量请核对", "electricity", 3, "E-01")])
    approved = submissions.submit(engine, zone, 2024, B, declared=True)
    review.approve(engine, zone, approved)
    verification.verify(engine, zone, approved, [Adjustment("electricity", -1.0, "发票核对")])
    submissions.submit(engine, zone, 2024, C, declared=True)
    risk.record_draw(engine, zone, 2024, seed=7)


# --- what is a raw value ----------------------------------------------------------------------------------------


@cache
def coded() -> frozenset[str]:
    """Every code and id a person must never read as such: the code registry, carriers, regions, sectors and
    field names."""
    ids = set(codes.table().index.get_level_values("code"))
    ids |= set(reference.carriers().index) | set(reference.regions().index) | set(reference.sectors().index)
    return frozenset(ids | set(fields.registry().index))


@cache
def readable(lang: str) -> frozenset[str]:
    """Every label in ``lang``: a code whose label is the same word (``electricity``, ``stored``) is not raw."""
    shown = set(codes.table()[f"label_{lang}"])
    for table in (reference.carriers(), reference.regions(), reference.sectors()):
        shown |= set(table[f"name_{lang}"])
    shown |= {fields.label(n, lang) for n in fields.registry().index}
    shown |= {fields.title(n, lang) for n in fields.registry().index}
    return frozenset(shown)


PYTHON = re.compile(r"\b(None|nan|NaN|NaT|True|False)\b|\{\}|\[\]|\{'|\['|\{\"|\[\"|Timestamp\(|datetime\.")
UTC_STAMP = re.compile(r"\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s*(\+00:00|Z\b|UTC)")
# ASCII boundaries: a code run into Chinese text ("bituminous_coal无折标系数") is still found
SNAKE = re.compile(r"(?<![A-Za-z0-9_./-])[a-z][a-z0-9]*(?:_[A-Za-z0-9]+)+(?![A-Za-z0-9_.-])")
WORD = re.compile(r"(?<![A-Za-z0-9_./-])[a-z][a-z_]{2,}(?![A-Za-z0-9_.-])")
CJK = re.compile(r"[\u4e00-\u9fff]")


def raw_code(text: str, lang: str) -> bool:
    """A whole value that is a code or id and not also a label in ``lang``."""
    return text in coded() and text not in readable(lang)


def problems_in_text(text: object, lang: str) -> list[str]:
    """What is wrong with one piece of text a person reads (a title, caption, option, label or cell)."""
    s = str(text)
    found = []
    if not s.strip():
        found.append("blank")
    if PYTHON.search(s):
        found.append(f"Python value {PYTHON.search(s).group(0)!r}")
    if UTC_STAMP.search(s):
        found.append("UTC time")
    if raw_code(s.strip(), lang):
        return [*found, "raw code"]
    found += [f"internal name {token!r}" for token in dict.fromkeys(SNAKE.findall(s))]
    if lang == "zh":  # an English word on a Chinese page that is a code (verified, stored, zone, default ...)
        found += [f"raw code {w!r}" for w in dict.fromkeys(WORD.findall(s)) if raw_code(w, lang) and "_" not in w]
    return found


# --- what a page shows ------------------------------------------------------------------------------------------


def column_labels(frame) -> dict[str, object]:
    """A dataframe's column configs by column name (``None`` for a hidden column)."""
    config = json.loads(frame.proto.columns or "{}")
    out = {}
    for key, value in config.items():
        name = key.removeprefix("name:") if key.startswith("name:") else key
        out[name] = value
    return out


def frame_problems(frame, lang: str) -> list[str]:
    """Headers as displayed (the column config's label, else the column's name) and every displayed cell."""
    found = []
    df = frame.value
    config = column_labels(frame)
    nulls = False
    for col in df.columns:
        conf = config.get(str(col), {})
        if conf is None or conf.get("hidden"):
            continue
        header = conf.get("label") or str(col)
        found += [f"header {header!r}: {p}" for p in problems_in_text(header, lang)]
        if lang == "en" and CJK.search(header) and fields.exists(str(col)):
            found.append(f"header {header!r}: Chinese on an English page")
        values = df[col]
        nulls |= bool(values.isna().any())
        if isinstance(values.dtype, pd.DatetimeTZDtype):
            if str(values.dt.tz) == "UTC":
                found.append(f"column {header!r}: UTC times")
            continue
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
            continue
        bad = []
        for v in values.dropna():
            if isinstance(v, dict | list | tuple | set):  # drawn by the grid as a Python value
                bad.append(f"{str(v)[:120]!r}: Python value")
            else:
                bad += [f"{str(v)[:120]!r}: {p}" for p in problems_in_text(v, lang)]
        bad = list(dict.fromkeys(bad))
        found += [f"column {header!r}: {b}" for b in bad[:5]]
        found += [f"column {header!r}: … and {len(bad) - 5} more"] if len(bad) > 5 else []
    if nulls and frame.proto.placeholder not in (fields.NO_DATA[lang], "—"):
        found.append(f"empty cells read {frame.proto.placeholder!r}")
    return found


def page_problems(at: AppTest, lang: str) -> list[str]:
    """Everything wrong on the page last run, each named by where it is."""
    if at.exception:
        return [f"exception: {e.value}" for e in at.exception]
    found = []
    texts = [
        (kind, e.value)
        for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error", "success")
        for e in getattr(at, kind)
        if not str(e.value).lstrip().startswith("<style>")  # a page's style sheet is not read
    ]
    for m in at.metric:
        texts += [("metric label", m.label), ("metric value", m.value)]
        texts += [("metric delta", m.delta)] if m.delta else []
    labels = []
    for kind in ("selectbox", "radio", "multiselect", "text_input", "toggle", "button"):
        for w in at.get(kind):
            if w.label != "语言 / Language":  # the language switch names itself in both
                labels.append((f"{kind} label", w.label))
            texts += [(f"{kind} option", o) for o in getattr(w, "options", [])]
    labels += [("tab", tab.label) for tab in at.tabs]
    labels += [("expander", e.proto.label) for e in at.get("expander")]
    texts += [("progress", p.proto.text) for p in at.get("progress") if p.proto.text]
    for where, text in [*texts, *labels]:
        found += [f"{where} {str(text)[:160]!r}: {p}" for p in problems_in_text(text, lang)]
    if lang == "en":
        found += [f"{where} {text!r}: Chinese on an English page" for where, text in labels if CJK.search(text)]
        found += [f"title {t.value!r}: Chinese on an English page" for t in at.title if CJK.search(t.value)]
    for i, frame in enumerate(at.dataframe):
        found += [f"table {i + 1}: {p}" for p in frame_problems(frame, lang)]
    return found


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("user", list(ROLES))
def test_no_page_shows_a_raw_code_or_python_value(zone_db, user, lang):
    at = sign_in(user)
    if lang == "en":
        at.radio(key="lang").set_value("en").run()
    found = []
    for page in ROLES[user]:
        at = open_page(at, page)
        found += [f"{user} / {lang} / {page}: {p}" for p in page_problems(at, lang)]
        found += [f"{user} / {lang} / {page} export: {p}" for p in export_problems(at, lang)]
    assert not found, "\n".join(found)


def export_problems(at: AppTest, lang: str) -> list[str]:
    """The page's tables as the 导出 page writes them (``common.export_tables``): headers and text cells."""
    _, tables = at.session_state[common.EXPORT_KEY] if common.EXPORT_KEY in at.session_state else (None, {})  # noqa: SIM401
    found = []
    for name, df in common.export_tables(tables, lang).items():
        for col in df.columns:
            found += [f"{name} header {col!r}: {p}" for p in problems_in_text(col, lang) if isinstance(col, str)]
            if df[col].dtype == object:
                bad = {f"{v!r}: {p}" for v in df[col].dropna() for p in problems_in_text(v, lang)}
                found += [f"{name} column {col!r}: {b}" for b in sorted(bad)[:3]]
    return found


def test_the_check_finds_what_it_looks_for():
    """The rules above catch each thing the pages must not show."""
    bad_anywhere = ("None", "nan", "{}", "[]", "{'a': 1}", "on_track", "2025-01-01 00:00:00+00:00", "kg_CO2/kWh")
    for bad in (*bad_anywhere, "verified"):
        assert problems_in_text(bad, "zh"), bad
    for bad in ("default", "login", "zone", "periods", "bituminous_coal无折标系数", "CN-SH"):
        assert problems_in_text(bad, "en"), bad
    assert problems_in_text("状态：verified", "zh")
    for good in ("已核实", "verified", "stored", "electricity", "2025-01-01 08:00:00", "zone1", "电表.csv", "—"):
        assert not problems_in_text(good, "en" if good.isascii() else "zh"), good


def test_the_language_chosen_is_kept_across_pages(zone_db):
    """English chosen on the overview stays English on every page opened next, with the data year chosen kept;
    Chinese chosen again stays Chinese."""
    at = sign_in("zone1")
    assert at.title[0].value == "双碳进展总览"
    at.selectbox(key="year_zh").select(2023).run()
    at.radio(key="lang").set_value("en").run()
    assert at.title[0].value == "Dual-carbon overview"
    for page, title in (("quality", "Data quality"), ("factors", "Emission factor library"), ("audit", "Audit log")):
        at = open_page(at, page)
        assert at.title[0].value == title
        assert at.radio(key="lang").value == "en"
        if page != "audit":  # the audit log has no year
            assert at.selectbox(key="year_en").value == 2023
            assert at.selectbox(key="year_en").options == ["2025", "2024", "2023", "2020"]
    at.radio(key="lang").set_value("zh").run()
    assert at.title[0].value == "审计日志"
    at = open_page(at, "overview")
    assert at.title[0].value == "双碳进展总览" and at.radio(key="lang").value == "zh"


def test_the_audit_log_reads_as_sentences(zone_db):
    at = open_page(sign_in("zone1"), "audit")
    log = at.dataframe[0].value
    detail = dict(zip(log["action"], log["detail"], strict=False))
    assert detail["登录失败"] in ("密码错误", "用户名不存在")
    assert detail["登录过期"] == "长时间未操作"
    assert detail["导出"] == "导出“排放因子”，Excel（XLSX）：因子库 2 行"
    assert detail["确认上报"] == "一月二月电表.csv：读取2行，有效1行，拒绝1行，已入库（批次5）"
    assert detail["预览上报"].startswith("预览.csv：读取2行，有效1行，拒绝1行，")
    assert detail["修改企业信息"] == "名称改为 青浦甲化工有限公司"
    assert detail["拒绝访问"] == "请求查看企业 913205090000002108，被拒绝"
    assert "zone1" in set(log.loc[log["action"] == "登录", "username"])
    assert "命令行用户 operator" in set(log["username"]) and "系统" in set(log["username"])


def test_factors_read_with_labels_and_units_as_written(zone_db):
    at = open_page(sign_in("ent-a"), "factors")
    library = at.dataframe[0].value.set_index("id")
    grid = library.loc["mee-2023-elec-location-cn-sh"]
    assert (grid["carrier"], grid["region"], grid["vintage"], grid["unit"], grid["gas"]) == (
        "电力",
        "上海市",
        "2023年",
        "千克二氧化碳/千瓦时",
        "二氧化碳（CO₂）",
    )
    coal = library.loc["gbt2589-ce-raw-coal"]
    assert (coal["vintage"], coal["gas"], coal["basis"]) == ("不分年份", "—", "国家标准或指南缺省值")
    used = at.dataframe[1].value.set_index("carrier")
    assert used.loc["电力", "factor_reason"].startswith("排放因子 0.5737 千克二氧化碳/千瓦时（上海市，2023年，")
    assert used.loc["电力", "months"] == "1–12月"


def test_connectors_and_uploads_read_with_labels(zone_db):
    at = open_page(sign_in("zone1"), "quality")
    frames = {tuple(f.value.columns): f.value for f in at.dataframe}
    health = next(v for k, v in frames.items() if "consecutive_failures" in k).set_index("name")
    assert health.loc["一号变电所电表", "kind"] == "Modbus电表" and health.loc["一号变电所电表", "healthy"] == "异常"
    fresh = health.loc["新接入的文件投递"]
    assert fresh["last_success_at"] == "从未" and fresh["last_error"] == "—"
    assert health.loc["园区能源平台", "last_error_at"] == "从未"
    refused = next(v for k, v in frames.items() if "rows_rejected" in k)
    assert list(refused[["file_name", "shape", "status"]].itertuples(index=False, name=None)) == [
        ("一月二月电表.csv", "分时段用量", "已入库")
    ]
