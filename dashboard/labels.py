"""Display names of categories and coded values in Chinese and English: regions, sectors, carriers, areas, units,
bases, statuses, roles, LMDI effects, and the readable text of audit events and of the factor records a result used.

Coded values take their labels from the registry ``carbon.codes`` (``carbon/data/codes.csv``), fields from
``carbon.fields``; an empty value reads "—".  Pure functions; ``lang`` is ``zh`` or ``en``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import PurePath
from typing import Any

import pandas as pd

from carbon import codes, fields, flags, reference

EMPTY = "—"  # an empty value (no end date, not applicable, nobody): never blank, None or nan


def _pairs(*kinds: str) -> dict[str, tuple[str, str]]:
    return {c: (codes.label(k, c, "zh"), codes.label(k, c, "en")) for k in kinds for c in codes.codes(k)}


BASIS = _pairs("basis")
STATUS = _pairs("target_status", "peak_status")
ROLE = _pairs("role")
EFFECTS = _pairs("effect")


def pick(pair: tuple[str, str], lang: str) -> str:
    return pair[0] if lang == "zh" else pair[1]


def missing(value: object) -> bool:
    """Whether a cell holds no value (None, nan, NaT, pd.NA or empty text)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return True
    return not isinstance(value, list | tuple | dict) and bool(pd.isna(value))


def code(kind: str, value: object, lang: str, empty: str = EMPTY) -> str:
    """A coded value's label (``codes.label``), ``empty`` when there is none."""
    return empty if missing(value) else codes.label(kind, str(value), lang)


def region(region_id: str, lang: str) -> str:
    r = reference.regions().loc[region_id]
    return r["name_zh"] if lang == "zh" else r["name_en"]


def sector(sector_id: str, lang: str) -> str:
    s = reference.sectors().loc[sector_id]
    return s["name_zh"] if lang == "zh" else s["name_en"]


def division(code: str, lang: str) -> str:
    """A GB/T 4754-2017 division (2-digit code) by name: ``26`` -> ``化学原料和化学制品制造业``."""
    return str(reference.industry_divisions().loc[code, f"name_{lang}"])


def division_sector(code: str, lang: str) -> str:
    """The dashboard sector of a division: ``26`` -> ``工业`` / ``industry``."""
    return sector(str(reference.industry_divisions().loc[code, "sector"]), lang)


def carrier(carrier_id: str, lang: str) -> str:
    """A carrier's name; ``KeyError`` for an id not in ``carbon/data/carriers.csv``."""
    return flags.carrier_label(carrier_id, lang)


def area(area_id: str, lang: str) -> str:
    """Where a factor or target applies: a zone region, province, regional grid, the country or the world."""
    return codes.area(area_id, lang)


def unit(unit_text: str, lang: str) -> str:
    """A unit as readers write it: ``kg_CO2/kWh`` -> ``千克二氧化碳/千瓦时`` / ``kgCO₂/kWh``."""
    return code("unit", unit_text, lang)


def yes_no(value: object, lang: str) -> str:
    """是/否 (yes/no); None for no value, so a table shows it as no data."""
    if missing(value):
        return None  # type: ignore[return-value]
    return ("是" if value else "否") if lang == "zh" else ("yes" if value else "no")


def _labelled(fn: Any) -> Any:
    """``fn`` for one cell: missing stays missing, and a value that is not a code (a page that already labelled its
    column) stays as it is."""

    def cell(value: object, lang: str) -> object:
        if missing(value):
            return None
        try:
            return fn(str(value), lang)
        except KeyError:
            return value

    return cell


# Coded field columns (``carbon/data/fields.csv``) and how a value of each reads.
CODED_FIELDS = {
    "region": _labelled(area),
    "region_id": _labelled(area),
    "target_region": _labelled(area),
    "carrier": _labelled(carrier),
    "sector": _labelled(sector),
    "unit": _labelled(unit),
    **{
        name: _labelled(lambda value, lang, kind=kind: codes.label(kind, value, lang))
        for name, kind in {
            "basis": "basis",
            "role": "role",
            "action": "audit_action",
            "target_status": "target_status",
            "completeness_state": "completeness_state",
            "effect": "effect",
            "qualifier": "qualifier",
            "level": "level",
            "row_status": "row_status",
            "shape": "file_shape",
            "kind": "connector_kind",
            "state": "submission_state",
            "scope": "cycle_scope",
            "utility": "utility",
            "upload_status": "grid_status",
            "metered_status": "grid_status",
            "reason": "inventory_missing",
            "inventory_reason": "inventory_missing",
            "assessed_on": "assessed_on",
            "inventory_status": "statistics_status",
            "old_status": "statistics_status",
            "new_status": "statistics_status",
            "flow": "energy_flow",
        }.items()
    },
}


def readable(df: pd.DataFrame, lang: str) -> pd.DataFrame:
    """A copy of ``df`` whose coded field columns (``CODED_FIELDS``) read as labels and whose flags read 是/否
    (yes/no), as a person reads them in an export; missing values stay missing.  Other columns are untouched."""
    out = df.copy()
    for c in out.columns:
        if c in CODED_FIELDS:
            out[c] = out[c].map(lambda x, f=CODED_FIELDS[c]: f(x, lang))
        elif fields.exists(c) and fields.kind(c) == "flag":
            out[c] = out[c].map(lambda x: yes_no(x, lang))
    return out


def months(values: str | Iterable[int], lang: str) -> str:
    """Month numbers as ranges: ``1,2,3,5`` -> ``1–3月、5月`` / ``Jan–Mar, May``; "—" for none."""
    nums = sorted({int(m) for m in (values.split(",") if isinstance(values, str) else values) if str(m).strip()})
    runs: list[tuple[int, int]] = []
    for m in nums:
        if runs and m == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], m)
        else:
            runs.append((m, m))
    if not runs:
        return EMPTY
    if lang == "zh":
        return "、".join(f"{a}月" if a == b else f"{a}–{b}月" for a, b in runs)
    name = {m: pd.Timestamp(2000, m, 1).strftime("%b") for m in range(1, 13)}
    return ", ".join(name[a] if a == b else f"{name[a]}–{name[b]}" for a, b in runs)


def vintage(value: object, lang: str) -> str:
    """A factor's data year: ``2023年`` / ``2023``; a value that applies to any year says so."""
    if missing(value):
        return "不分年份" if lang == "zh" else "any year"
    return f"{int(float(value))}年" if lang == "zh" else str(int(float(value)))


# --- factor records ----------------------------------------------------------------------------------------------


def factor_records(ids: str, library: pd.DataFrame, lang: str) -> str:
    """The records of a result's ``factor_ids`` (comma-separated) described from ``library`` (indexed by id):
    ``排放因子 0.5737 千克二氧化碳/千瓦时（上海市，2023年，基于位置（…），公告2025年第47号）；…``."""
    return flags.factors_text(ids, library, lang)


# --- audit events ------------------------------------------------------------------------------------------------


def actor(username: str, lang: str) -> str:
    """Who did it: a user's name; the system and command-line users named as such."""
    if username == "carbon:system":
        return "系统" if lang == "zh" else "system"
    if username.startswith("cli:"):
        return f"命令行用户 {username[4:]}" if lang == "zh" else f"command-line user {username[4:]}"
    return username


def _file_event(f: Mapping[str, Any], lang: str) -> str:
    name = PurePath(str(f.get("file") or "")).name or EMPTY
    status = f.get("status")
    state = (
        codes.label("batch_status", status, lang)
        if status in codes.codes("batch_status")
        else ("预览（未入库）" if lang == "zh" else "preview (not stored)")
    )
    batch = f.get("batch_id")
    if lang == "zh":
        text = (
            f"{name}：读取{f.get('rows_read', 0)}行，有效{f.get('rows_accepted', 0)}行，"
            f"拒绝{f.get('rows_rejected', 0)}行，{state}"
        )
        return text + (f"（批次{batch}）" if batch else "")
    text = (
        f"{name}: {f.get('rows_read', 0)} rows read, {f.get('rows_accepted', 0)} accepted, "
        f"{f.get('rows_rejected', 0)} refused, {state}"
    )
    return text + (f" (batch {batch})" if batch else "")


def _pairs_text(detail: Mapping[str, Any], lang: str) -> str:
    """Any other detail: each key by its field label where it has one, each value as written."""
    sep = "：" if lang == "zh" else ": "
    shown = []
    for key, value in detail.items():
        if missing(value):
            continue
        name = fields.label(key, lang) if fields.exists(key) else key
        if key in CODED_FIELDS:
            value = CODED_FIELDS[key](value, lang)
        if isinstance(value, list | tuple):
            value = ("、" if lang == "zh" else ", ").join(str(v) for v in value)
        shown.append(f"{name}{sep}{value}")
    return ("；" if lang == "zh" else "; ").join(shown)


def audit_detail(action: str, detail: Mapping[str, Any] | None, lang: str) -> str:
    """An audit event's detail (``carbon.audit`` keeps it as JSON) as a sentence in ``lang``; "—" when it has none.

    Uploads and imports list their files with row counts and what became of each; an export names the view, its
    format and the rows of each table; an account added names its role and scope."""
    detail = {k: v for k, v in (detail or {}).items() if not missing(v)}
    zh = lang == "zh"
    sep = "；" if zh else "; "
    if not detail:
        return EMPTY
    if action in ("upload_preview", "upload_confirm", "ingest") and "files" in detail:
        return sep.join(_file_event(f, lang) for f in detail["files"]) or EMPTY
    if action == "export":
        rows = detail.get("rows") or {}
        tables = ("、" if zh else ", ").join(f"{name} {n} 行" if zh else f"{name} {n} rows" for name, n in rows.items())
        fmt = code("export_format", detail.get("format"), lang)
        page = detail.get("page", EMPTY)
        return f"导出“{page}”，{fmt}：{tables}" if zh else f"exported “{page}” as {fmt}: {tables}"
    if action == "user_add":
        parts = [code("role", detail.get("role"), lang)]
        if detail.get("region"):
            parts.append(region(detail["region"], lang))
        if detail.get("enterprise"):
            parts.append(("企业 " if zh else "enterprise ") + str(detail["enterprise"]))
        who = detail.get("user", EMPTY)
        return f"账号 {who}：{'，'.join(parts)}" if zh else f"account {who}: {', '.join(parts)}"
    if action == "login_failed" and set(detail) == {"reason"}:
        return code("login_failure", detail["reason"], lang)
    if action == "session_expired" and set(detail) == {"state"}:
        return code("session_end", detail["state"], lang)
    if action == "access_denied" and "asked" in detail:
        what, value = code("asked", detail["asked"], lang), str(detail.get("value", EMPTY))
        cut = detail.get("value_chars")  # a long request is kept cut: say so
        if zh:
            return f"请求查看{what} {value}，被拒绝" + (f"（原文共{cut}个字符，只记前{len(value)}个）" if cut else "")
        kept = f" (the request had {cut} characters; the first {len(value)} are kept)" if cut else ""
        return f"asked for {what} {value}: refused{kept}"
    if action == "readings_received":
        ents = ("、" if zh else ", ").join(detail.get("enterprises") or []) or EMPTY
        r, d, x = detail.get("readings", 0), detail.get("duplicates", 0), detail.get("refused", 0)
        if zh:
            return f"存入读数{r}条，重复{d}条，拒收{x}条；企业：{ents}"
        return f"{r} readings stored, {d} duplicates, {x} refused; enterprises: {ents}"
    if action == "enterprise_update":
        changes = []
        for key, name_zh, name_en in (("name", "名称", "name"), ("region", "区县", "jurisdiction")):
            if key in detail:
                value = region(detail[key], lang) if key == "region" else detail[key]
                changes.append(f"{name_zh}改为 {value}" if zh else f"{name_en} changed to {value}")
        if "industry" in detail:
            changes.append(
                f"行业代码改为 {detail['industry']}" if zh else f"industry code changed to {detail['industry']}"
            )
        return sep.join(changes)
    return _pairs_text(detail, lang) or EMPTY
