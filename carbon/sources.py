"""Sources of targets and factors: the document's official citation first, and whether its link is the issuer's
own page or a repost.

A source is a record with ``publisher`` (one or more issuers, separated by ``;``), ``document_title``,
``document_number``, ``published_on`` and ``source_url`` (the factor library, ``carbon/data/targets.csv``).

* ``citation(row, lang)``: 生态环境部、国家统计局《关于发布2022年电力二氧化碳排放因子的公告》（公告2024年第33号），
  2024年12月20日.  A number or date the data do not record says so; nothing is filled in.
* ``source_kind(publisher, url)``: ``official`` when the link's host is the site of one of the record's issuers
  (``carbon/data/issuer_domains.csv``), else ``repost``: a link on any other site is labelled as a repost, whatever
  the data call it.  The data state the kind too (``source_kind`` column); ``kind_problems`` lists every record
  whose stated kind is missing or disagrees.
* ``link_text(kind, lang)`` / ``tagged_url``: the link labelled 发布机构原文 / 转载 (``carbon/data/codes.csv``, kind
  ``source_kind``).

Pure functions; the tables are read once per process.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from functools import cache
from urllib.parse import urlsplit

import pandas as pd

from carbon import codes
from carbon.reference import read_data

KINDS = ("official", "repost")
SOURCE_FIELDS = ("publisher", "document_title", "document_number", "published_on")
# The label a tagged link ends with (``tagged_url``), for a table's link column to show instead of the address:
# Streamlit's LinkColumn(display_text=LINK_TEXT) shows the captured group.
LINK_TEXT = r"#([^#]+)$"
_NOT_RECORDED = {
    "number": {"zh": "未记录文号", "en": "no document number recorded"},
    "date": {"zh": "未记录日期", "en": "no date recorded"},
}
_ISSUER_SEPARATORS = re.compile(r"[;；、]")


@cache
def issuers() -> pd.DataFrame:
    """The issuers' own sites (``carbon/data/issuer_domains.csv``): one row per issuer and domain, with the
    issuer's English name and a note; an issuer with an empty domain has no site recorded."""
    return read_data("issuer_domains.csv")


def missing(value: object) -> bool:
    """True for a value the data do not record: None, NaN/NaT or blank text."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def host(url: object) -> str:
    """The lower-case host name of a link (``https://www.mee.gov.cn/x`` → ``www.mee.gov.cn``); ``""`` when there is
    no link or it has no host."""
    if missing(url):
        return ""
    try:
        return (urlsplit(str(url).strip()).hostname or "").lower()
    except ValueError:
        return ""


def on_domain(hostname: str, domain: str) -> bool:
    """Whether a host is the domain itself or one of its subdomains (``www.mee.gov.cn`` is on ``mee.gov.cn``;
    ``www.gov.cn.example.com`` and ``notmee.gov.cn`` are not)."""
    d = domain.strip().lower()
    return bool(d) and (hostname == d or hostname.endswith("." + d))


def issuer_names(publisher: object) -> list[str]:
    """The issuers of a record: ``生态环境部; 国家统计局`` → ``["生态环境部", "国家统计局"]``; none when missing."""
    if missing(publisher):
        return []
    return [p.strip() for p in _ISSUER_SEPARATORS.split(str(publisher)) if p.strip()]


def issuer_domains(publisher: object) -> list[str]:
    """The recorded sites of a record's issuers (empty when none of them has one recorded)."""
    table = issuers()
    rows = table.loc[table["issuer"].isin(issuer_names(publisher)) & (table["domain"] != "")]
    return list(rows["domain"])


def source_kind(publisher: object, url: object) -> str | None:
    """``official`` when the link is on a recorded site of one of the record's issuers, ``repost`` for a link on
    any other site, None when there is no link."""
    if missing(url):
        return None
    hostname = host(url)
    return "official" if any(on_domain(hostname, d) for d in issuer_domains(publisher)) else "repost"


def kind_problem(publisher: object, url: object, stated: object, *, required: bool = True) -> str | None:
    """What is wrong with a record's stated ``source_kind``, or None: a link without a kind (when ``required``), a
    kind without a link, a kind not in ``KINDS``, ``official`` for a link that is not on a site of one of its
    issuers, or ``repost`` for one that is."""
    if missing(url):
        return None if missing(stated) else f"source_kind {stated!r} without a source_url"
    if missing(stated):
        return f"a source_url needs a source_kind ({' or '.join(KINDS)})" if required else None
    if stated not in KINDS:
        return f"source_kind {stated!r} is not one of {KINDS}"
    found = source_kind(publisher, url)
    if stated == found:
        return None
    where = "is a site of its issuer" if found == "official" else "is not a site of its issuer"
    return f"source_kind is {stated!r} but {host(url) or url!r} {where} (carbon/data/issuer_domains.csv)"


def kind_problems(records: pd.DataFrame, name: str) -> list[str]:
    """``kind_problem`` for every record of a table (columns ``source_url``, ``source_kind``, and ``publisher`` and
    ``id`` where it has them), one line each, naming the table and the record."""
    problems = []
    for i, r in enumerate(records.to_dict("records")):
        problem = kind_problem(r.get("publisher"), r.get("source_url"), r.get("source_kind"))
        if problem:
            problems.append(f"{name} {r['id'] if not missing(r.get('id')) else f'row {i + 2}'}: {problem}")
    return problems


def _lang(lang: str) -> str:
    if lang not in codes.LANGS:
        raise ValueError(f"language must be zh or en, not {lang!r}")
    return lang


def issuer_text(publisher: object, lang: str = "zh") -> str:
    """The issuers as a citation names them: ``生态环境部、国家统计局`` / ``Ministry of Ecology and Environment;
    National Bureau of Statistics`` (an issuer without an English name in the table keeps its name as written)."""
    names = issuer_names(publisher)
    if _lang(lang) == "zh":
        return "、".join(names)
    english = issuers().drop_duplicates("issuer").set_index("issuer")["issuer_en"]
    return "; ".join(english.get(n) or n for n in names)


def date_text(value: object, lang: str = "zh") -> str:
    """A publication date as precisely as the data give it: ``2024-12-20`` → 2024年12月20日 / 20 December 2024,
    ``2022-08`` → 2022年8月 / August 2022, ``2021`` → 2021年 / 2021; "未记录日期" / "no date recorded" when
    missing.  ``ValueError`` for text that is no such date."""
    if missing(value):
        return _NOT_RECORDED["date"][_lang(lang)]
    if isinstance(value, pd.Timestamp | dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        y, m, d = value.year, value.month, value.day
    else:
        match = re.fullmatch(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?", str(value).strip())
        if match is None:
            raise ValueError(f"{value!r} is not a date (YYYY, YYYY-MM or YYYY-MM-DD)")
        y, m, d = (int(g) if g else None for g in match.groups())
        dt.date(y, m or 1, d or 1)  # ValueError for a month or day that does not exist
    if _lang(lang) == "zh":
        return f"{y}年" + (f"{m}月" if m else "") + (f"{d}日" if d else "")
    if m is None:
        return str(y)
    month = dt.date(2000, m, 1).strftime("%B")
    return f"{d} {month} {y}" if d else f"{month} {y}"


def _get(row: Mapping[str, object] | pd.Series, key: str) -> object:
    return row.get(key) if hasattr(row, "get") else getattr(row, key, None)


def citation(row: Mapping[str, object] | pd.Series, lang: str = "zh") -> str:
    """The official citation of a record (a dict, Series or row with ``SOURCE_FIELDS``): issuer, title, number,
    date.

    ``citation(row, "zh")`` → ``生态环境部、国家统计局《关于发布2022年电力二氧化碳排放因子的公告》（公告2024年第33号），
    2024年12月20日``; ``"en"`` → ``Ministry of Ecology and Environment; National Bureau of Statistics,
    《关于发布2022年电力二氧化碳排放因子的公告》 (公告2024年第33号), 20 December 2024`` (title and number as
    published).  A number or date not recorded reads 未记录文号 / 未记录日期."""
    title, number = _get(row, "document_title"), _get(row, "document_number")
    number_text = _NOT_RECORDED["number"][_lang(lang)] if missing(number) else str(number).strip()
    title_text = "" if missing(title) else f"《{str(title).strip()}》"
    date = date_text(_get(row, "published_on"), lang)
    who = issuer_text(_get(row, "publisher"), lang)
    if lang == "zh":
        return f"{who}{title_text}（{number_text}），{date}"
    return f"{who}, {title_text} ({number_text}), {date}" if who else f"{title_text} ({number_text}), {date}"


def link_text(kind: str, lang: str = "zh") -> str:
    """What a link of this kind is called: 发布机构原文 / 转载 (``carbon/data/codes.csv``, kind ``source_kind``)."""
    return codes.label("source_kind", kind, lang)


def tagged_url(url: object, kind: object, lang: str = "zh") -> str | None:
    """The link with its kind's label as a fragment (``https://…/99.html#转载``), so that a table's link column
    (``LINK_TEXT``) shows 发布机构原文 or 转载 instead of the address and the link still opens the same page; None
    when there is no link."""
    if missing(url):
        return None
    return f"{str(url).strip()}#{link_text(str(kind), lang)}"


def kinds(records: pd.DataFrame) -> list[str | None]:
    """``source_kind`` of every record of a table (columns ``source_url`` and, where it has them, ``publisher``)."""
    return [source_kind(r.get("publisher"), r.get("source_url")) for r in records.to_dict("records")]


def cited(records: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """A copy of a table of sourced records (``SOURCE_FIELDS`` and ``source_url``) with ``source``, the citation in
    ``lang``, and ``source_kind``, the link's kind as its label (发布机构原文 / 转载; missing without a link), for
    exports and listings.  Pure."""
    out = records.copy()
    rows = out.to_dict("records")
    out["source"] = [citation(r, lang) for r in rows]
    out["source_kind"] = [None if k is None else link_text(k, lang) for k in kinds(records)]
    return out
