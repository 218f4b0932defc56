"""Shared parts of every page: the database, the signed-in user, language, selectors, captions, export tables.

Pages call ``carbon.views`` (which applies the access rules) and render; they compute nothing themselves.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from carbon import audit, db, fields, intake, views
from carbon.access import Viewer
from carbon.errors import AccessDenied, CarbonError
from carbon.users import LOCKOUT_WINDOW, account_enabled, authenticate, role_session_limits, session_state
from dashboard import format as fmt
from dashboard import labels

EXPORT_KEY = "export_tables"
PAGES = Path(__file__).parent / "sections"  # not pages/: Streamlit would run such a folder as its own app


def engine() -> Engine:
    """The project database (``CARBON_DATABASE_URL``, default ``sqlite:///carbon.db``), one engine per URL; any
    recalculation a crashed process left owed is paid before a page reads a figure (one query when none is)."""
    eng = _engine(db.database_url())
    views.keep_results(results_store())
    try:
        intake.settle(eng)
    except CarbonError as exc:
        st.warning(
            f"结果未能更新（{fmt.plain(exc.zh)}），所示数字可能不是最新 / results could not be brought up to date "
            f"({fmt.plain(exc.en)}); figures shown may be behind",
            icon=None,
        )
    return eng


@st.cache_resource
def _engine(url: str) -> Engine:
    return db.make_engine(url)


@st.cache_resource
def cube_cache() -> dict:
    """One cube cache per server, rebuilt when a new run is stored."""
    return {}


@st.cache_resource
def results_store() -> dict:
    """The stored results one server keeps (``views.keep_results``), read again when a new run is stored."""
    return {}


@st.cache_data(max_entries=256, show_spinner=False)
def _remembered(name: str, url: str, version: tuple, v: Viewer, args: tuple, _kwargs: dict) -> object:
    views.keep_results(results_store())
    return getattr(views, name)(_engine(url), v, *args, **_kwargs)  # _kwargs: not part of the key


def remembered(name: str, v: Viewer, *args: object, **kwargs: object) -> object:
    """``carbon.views.<name>(engine, v, *args)``, kept until the data change (``views.data_version``), so a wall
    screen and many staff opening the same page do not recompute it; the access rules apply on every miss, and
    the viewer is part of the key."""
    url = db.database_url()
    return _remembered(name, url, views.data_version(_engine(url)), v, args, kwargs)


LANGUAGES = {"zh": "中文", "en": "English"}
# The chosen language is kept under a plain session key: Streamlit forgets the state of a widget that is not drawn
# in a run and keys a page's widgets by the page, so the switch's own key ("lang") starts again on every page.
LANG_KEY = "language"


def lang() -> str:
    """The language chosen in this session, ``zh`` (default) or ``en``; kept across pages."""
    return st.session_state.get(LANG_KEY, "zh")


def _language_chosen() -> None:
    """The language switch changed: keep its value for the session (runs before the page does)."""
    st.session_state[LANG_KEY] = st.session_state["lang"]


def t(zh: str, en: str) -> str:
    """The text in the chosen language (Chinese by default)."""
    return zh if lang() == "zh" else en


def viewer() -> Viewer | None:
    return st.session_state.get("viewer")


def login_form() -> None:
    """The sign-in form; on success the page runs again signed in, with its URL and parameters kept."""
    st.title(t("长三角示范区碳排放监测核算平台", "YRD Demonstration Zone carbon monitoring"))
    st.caption(t("青浦 · 吴江 · 嘉善", "Qingpu · Wujiang · Jiashan"))
    if st.session_state.pop("expired", False):
        st.info(t("登录已过期，请重新登录。", "Your session expired; please sign in again."))
    with st.form("login"):
        username = st.text_input(t("用户名", "username"), key="login_username")
        password = st.text_input(t("密码", "password"), type="password", key="login_password")
        submitted = st.form_submit_button(t("登录", "sign in"))
    if submitted:
        v = authenticate(engine(), username.strip(), password)
        if v is None:
            minutes = int(LOCKOUT_WINDOW.total_seconds() // 60)
            st.error(
                t(
                    f"用户名或密码错误。连续失败多次后，该用户名将暂停登录{minutes}分钟。",
                    f"Wrong username or password; repeated failures lock the username for {minutes} minutes.",
                )
            )
            return
        now = datetime.now(UTC)
        st.session_state.update(viewer=v, login_at=now, last_seen=now)
        if v.read_only:  # a display account signed in on any page's link: to the wall, its parameters kept
            st.switch_page(PAGES / "wall.py", query_params=st.query_params.to_dict())
        st.rerun()


def sidebar_header() -> None:
    """Language switch, and who is signed in with a sign-out button."""
    st.sidebar.radio(
        "语言 / Language",
        list(LANGUAGES),
        index=list(LANGUAGES).index(lang()),
        format_func=LANGUAGES.__getitem__,
        horizontal=True,
        key="lang",
        on_change=_language_chosen,
    )
    v = viewer()
    if v is not None:
        st.sidebar.markdown(
            f"**{fmt.plain(v.username)}** · {labels.pick(labels.ROLE[v.role], lang())}"
            + (f" · {labels.region(v.region, lang())}" if v.region else "")
        )
        st.sidebar.button(t("退出登录", "sign out"), on_click=logout, key="logout")


def logout() -> None:
    """Sign out (audited) and forget the session's data."""
    v = viewer()
    if v is not None:
        audit.record(engine(), v, "logout")
    for key in ("viewer", "login_at", "last_seen", EXPORT_KEY, "demo"):
        st.session_state.pop(key, None)


def require_login(staff_page: bool = False) -> Viewer:
    """The signed-in user; otherwise the sign-in form.  An expired session is ended (and audited).

    An enterprise user who lands on a staff page (an old link, or the page they signed in on) is taken to the
    enterprise page with the URL's parameters, where the access rules decide what is shown.
    """
    sidebar_header()
    v = viewer()
    if v is None:
        login_form()
        st.stop()
    end_if_expired(v)
    if staff_page and not v.is_staff:
        st.switch_page(PAGES / "enterprises.py", query_params=st.query_params.to_dict())
    return v


def end_if_expired(v: Viewer) -> None:
    """End the session (audited, then the sign-in form) once it is past its role's limits
    (``carbon.users.role_session_limits``: a display account has no idle limit, its own absolute one, and its
    session ends once the account is disabled); otherwise note the activity.  Also called at each refresh of
    the wall, which reruns only its own part of the page."""
    now = datetime.now(UTC)
    idle, absolute = role_session_limits(v.role)
    state = session_state(st.session_state["login_at"], st.session_state["last_seen"], now, idle, absolute)
    if state == "active" and v.read_only and not account_enabled(engine(), v.username):
        state = "disabled"
    if state != "active":
        audit.record(engine(), v, "session_expired", {"state": state})
        for key in ("viewer", "login_at", "last_seen", EXPORT_KEY):
            st.session_state.pop(key, None)
        st.session_state["expired"] = True
        st.rerun(scope="app")
    st.session_state["last_seen"] = now


def show_error(exc: CarbonError) -> None:
    """A refused request: say so in the chosen language and stop the page (nothing else is shown but, for an
    enterprise user refused access, the way back to its own enterprise page)."""
    icon = ":material/lock:" if isinstance(exc, AccessDenied) else ":material/error:"
    st.error(fmt.plain(exc.zh if lang() == "zh" else exc.en), icon=icon)
    if isinstance(exc, AccessDenied):
        way_back()
    st.stop()


def way_back() -> None:
    """Under a refusal, an enterprise user's link back to its own enterprise page (staff have the navigation).  A
    link, not a button: following it does not run the refused request again."""
    v = viewer()
    if v is None or v.role != "enterprise" or not v.enterprise:
        return
    st.page_link(
        PAGES / "enterprises.py",
        label=t("返回本企业页面", "back to my enterprise's page"),
        icon=":material/arrow_back:",
        query_params={"uscc": v.enterprise},
    )


def choice(widget, label: str, options: list, format_func, name: str, default: object = None) -> object:
    """A select box or radio whose labels follow the language while its value is kept when the language changes
    and across pages (the value lives under ``_<name>``, the widget under ``<name>_<lang>``).  ``format_func`` must
    not read the language when called (bind it first): it is called again after the run, e.g. by AppTest."""
    kept = st.session_state.get(f"_{name}", default)
    value = widget(
        label,
        options,
        index=options.index(kept) if kept in options else 0,
        format_func=format_func,
        key=f"{name}_{lang()}",
    )
    st.session_state[f"_{name}"] = value
    return value


def year_and_basis() -> tuple[int, str]:
    """Sidebar selectors: data year (years with results, newest first) and accounting basis."""
    language = lang()  # bound now: a widget's format_func is called again outside the run (AppTest)
    years = sorted(views.result_years(engine()), reverse=True) or [datetime.now(UTC).year - 1]
    default = views.default_year(engine(), cache=cube_cache())
    year = choice(
        st.sidebar.selectbox, t("数据年份", "data year"), years, lambda y: fmt.year(y, language), "year", default
    )
    basis = choice(
        st.sidebar.radio,
        t("核算口径", "accounting basis"),
        list(labels.BASIS),
        lambda b: labels.pick(labels.BASIS[b], language),
        "basis",
    )
    return int(year), str(basis)


def region_selector(v: Viewer, key: str = "region") -> str:
    """Region picker among those the viewer may see as totals (own jurisdiction first for region staff)."""
    options = views.regions_for(v)
    if v.role == "region" and v.region in options:
        options = [v.region, *[r for r in options if r != v.region]]
    language = lang()  # bound now, as in year_and_basis
    return str(choice(st.selectbox, t("区域", "region"), options, lambda r: labels.region(r, language), key))


def basis_caption(basis: str, as_of: pd.Timestamp | None) -> None:
    """Every figure says its basis and the time of the results it comes from."""
    st.caption(
        t(
            f"核算口径：{labels.pick(labels.BASIS[basis], 'zh')}；数据截至：{fmt.as_of(as_of, 'zh')}",
            f"Basis: {labels.pick(labels.BASIS[basis], 'en')}; as of {fmt.as_of(as_of, 'en')}",
        )
    )


def column(name: str) -> object:
    """The column of a field (``carbon/data/fields.csv``): its label with unit in the chosen language, its
    description as the header's tooltip, and the format of its kind (figures with their digits, shares as
    percentages, times in Beijing time as the views give them)."""
    label, tip = fields.title(name, lang()), fields.description(name, lang())
    kind, digits = fields.kind(name), fields.digits(name)
    if kind == "figure":
        number = "localized" if digits is None or digits <= 2 else f"%.{digits}f"
        return st.column_config.NumberColumn(label, help=tip, format=number)
    if kind == "share":
        return st.column_config.NumberColumn(label, help=tip, format="percent")
    if kind in ("count", "integer"):
        return st.column_config.NumberColumn(label, help=tip, format="%d")
    if kind == "time":
        return st.column_config.DatetimeColumn(label, help=tip, format="YYYY-MM-DD HH:mm:ss")
    if kind == "link":
        return st.column_config.LinkColumn(label, help=tip)
    return st.column_config.Column(label, help=tip)


def dataframe(data: Any, placeholder: str | None = None, **kwargs: Any) -> Any:
    """``st.dataframe`` as every page shows tables: a missing value reads "无数据 / no data" (missing is not zero
    and not blank; ``placeholder`` instead for a table whose empty cells are not missing figures, e.g. "—" for no
    end date), no index, full width."""
    kwargs.setdefault("hide_index", True)
    kwargs.setdefault("width", "stretch")
    return st.dataframe(data, placeholder=placeholder or fields.NO_DATA[lang()], **kwargs)


def uploads_table(history: pd.DataFrame) -> pd.DataFrame:
    """Upload history (``views.uploads``) as shown: file shape, status and uploader by their labels."""
    language = lang()
    return history.assign(
        shape=history["shape"].map(lambda c: labels.code("file_shape", c, language)),
        status=history["status"].map(lambda c: labels.code("batch_status", c, language)),
        uploaded_by=history["uploaded_by"].map(lambda u: labels.actor(str(u), language)),
    )


def grid_table(df: pd.DataFrame) -> pd.DataFrame:
    """A grid comparison or agreement table (``views.grid_agreement``) as shown: utility, jurisdiction and each
    side's status by their labels, billing dates as dates, yes/no as words; columns it lacks are left alone."""
    language = lang()
    coded = {"utility": "utility", "upload_status": "grid_status", "metered_status": "grid_status"}
    out = df.copy()
    for col, kind in coded.items():
        if col in out:
            out[col] = out[col].map(lambda c, kind=kind: labels.code(kind, c, language))
    if "region_id" in out:
        out["region_id"] = out["region_id"].map(lambda r: labels.region(r, language))
    for col in ("period_start", "period_end"):
        if col in out:
            out[col] = out[col].map(str)
    for col in ("within_tolerance", "discrepancy"):
        if col in out:
            out[col] = out[col].map(lambda x: labels.yes_no(x, language))
    return out


def grid_discrepancies(grid: dict[str, pd.DataFrame]) -> None:
    """The billing periods beyond the tolerance (``views.grid_agreement``); else whether none could be compared or
    every one compared agrees (nothing compared is not agreement)."""
    disc = grid_table(grid["discrepancies"])
    compared = int(grid["enterprises"]["periods_compared"].sum()) if len(grid["enterprises"]) else 0
    if len(disc):
        dataframe(disc, column_config=columns(disc))
    elif grid["enterprises"].empty:
        st.info(t("尚无已登记户号的电网账单。", "No grid statements of registered accounts yet."))
    elif not compared:
        st.info(
            t(
                "已有电网账单，但没有能够比对的账期（企业数据缺失或不完整）。",
                "There are grid statements, but no billing period could be compared (enterprise data missing or "
                "partial).",
            )
        )
    else:
        st.success(
            t(
                f"可比对的{compared}个账期均在允许偏差内。",
                f"All {compared} billing periods that could be compared are within the tolerance.",
            )
        )


def factors_used_table(used: pd.DataFrame) -> pd.DataFrame:
    """The factors a result used (``views.factors_used``) as shown: the carrier by name, each record described
    from the library (what it is, its value and unit, area, year, basis and document) and the months as ranges."""
    language = lang()
    library = views.factor_library(engine()).set_index("id")
    return used.assign(
        carrier=used["carrier"].map(lambda c: labels.carrier(c, language)),
        factor_reason=used["factor_ids"].map(lambda ids: labels.factor_records(ids, library, language)),
        months=used["months"].map(lambda m: labels.months(m, language)),
    )[["carrier", "factor_reason", "factor_ids", "months"]]


def share_bar(name: str) -> object:
    """A share field (0–1) drawn as a bar, labelled from the registry."""
    return st.column_config.ProgressColumn(
        fields.title(name, lang()),
        help=fields.description(name, lang()),
        min_value=0.0,
        max_value=1.0,
        format="percent",
    )


def columns(df: pd.DataFrame | list[str]) -> dict[str, object]:
    """Column configs of every field column of a table (or of the names given); other columns keep their names."""
    names = df.columns if isinstance(df, pd.DataFrame) else df
    return {c: column(c) for c in names if fields.exists(c)}


def export_tables(tables: dict[str, pd.DataFrame], language: str) -> dict[str, pd.DataFrame]:
    """The tables of a view as exports carry them: coded values and flags as labels (``labels.readable``), field
    columns headed in ``language``.  Pure."""
    return {name: fields.rename_for_export(labels.readable(df, language), language) for name, df in tables.items()}


def issues_table(issues: list[dict]) -> pd.DataFrame:
    """Errors and warnings of a validation report, row by row (``RowIssue.as_dict`` entries)."""
    language = lang()
    df = pd.DataFrame(
        [
            {**i, "message": i.get(language) or i["message"]}  # reports stored before zh/en were kept: both
            for i in issues
            if i["severity"] in ("error", "warning")
        ],
        columns=["row", "column", "value", "severity", "message"],
    )
    df["severity"] = df["severity"].map({"error": t("错误", "error"), "warning": t("警告", "warning")})
    df["value"] = df["value"].map(lambda x: labels.EMPTY if labels.missing(x) else str(x))
    df["column"] = df["column"].map(lambda x: labels.EMPTY if labels.missing(x) else str(x))
    return df.rename(
        columns={
            "row": t("行号", "row"),
            "column": t("列", "column"),
            "value": t("值", "value"),
            "severity": t("类别", "kind"),
            "message": t("说明", "message"),
        }
    )


def show_batch(v: Viewer, batch_ids: list[int], key: str) -> None:
    """Pick an upload; show its validation report and its refused rows, with a download of those rows to fix."""
    if not batch_ids:
        return
    name = t("批次", "batch")
    batch = int(
        st.selectbox(
            t("查看上报批次的校验报告", "validation report of batch"),
            batch_ids,
            format_func=lambda b: f"{name} {b}",
            key=f"{key}_batch",
        )
    )
    report = views.batch_report(engine(), v, batch)
    issues = [*report.get("errors", []), *report.get("warnings", [])]
    if issues:
        total = report.get("errors_total", 0) + report.get("warnings_total", 0)
        if total > len(issues):
            st.caption(t(f"共 {total} 条，显示前 {len(issues)} 条", f"{total} in all, the first {len(issues)} shown"))
        dataframe(issues_table(issues))
    elif report:
        st.caption(t("该批次没有错误或警告。", "No errors or warnings in this batch."))
    refused = views.rejected(engine(), v, batch)
    if len(refused):
        st.markdown(t("**被拒绝的行**（修改后可重新上报）", "**Refused rows** (fix and upload again)"))
        dataframe(refused)
        tables = {f"rejected-{batch}": refused}
        st.download_button(
            t("下载被拒绝的行（CSV）", "download refused rows (CSV)"),
            data=views.export_file(v, tables, "csv_single"),
            file_name=f"rejected-batch-{batch}.csv",
            mime="text/csv",
            on_click=views.record_export,
            args=(engine(), v, t("被拒绝的行", "refused rows"), "csv", tables),
            key=f"{key}_download",
        )


def offer_tables(page: str, tables: dict[str, pd.DataFrame]) -> None:
    """Register the tables of the current view for the 导出 Export page."""
    st.session_state[EXPORT_KEY] = (page, tables)


def demo_banner() -> None:
    """Label simulated data wherever it is shown."""
    if st.session_state.get("demo") is None:
        names = views.visible_enterprises(engine(), viewer()) if viewer() else pd.DataFrame()
        st.session_state["demo"] = bool(len(names)) and bool(names["name"].str.endswith("（模拟）").all())
    if st.session_state["demo"]:
        simulated_warning()


def simulated_warning() -> None:
    """The label of simulated data (the demo's enterprises)."""
    st.warning(
        t(
            "模拟数据：本页所有数字均为演示用的模拟数据，不是真实排放。",
            "Simulated data: every number here is a demo, not real emissions.",
        ),
        icon=":material/science:",  # given, so Streamlit does not load its emoji catalog to look for one
    )
