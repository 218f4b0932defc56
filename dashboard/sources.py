"""Sources on the pages: the official citation first, then the link labelled 发布机构原文 or 转载 (``carbon.sources``).

``table(df, lang)`` turns a table of sourced records (targets, factors) into what a page shows: ``source`` the
citation, ``source_url`` the link tagged with its kind; ``link_column(lang)`` is the column that shows the kind
instead of the address.  ``caption(row, lang)`` is the same for one record under a figure.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import streamlit as st

from carbon import fields, sources
from dashboard import format as fmt


def table(records: pd.DataFrame, lang: str) -> pd.DataFrame:
    """A copy of a table of sourced records (``carbon.sources.SOURCE_FIELDS`` and ``source_url``) with ``source`` the
    citation in ``lang``, in place of those fields, and ``source_url`` tagged with its kind (``tagged_url``) for
    ``link_column``; other columns unchanged.  Pure."""
    rows = records.to_dict("records")
    out = records.copy()
    out["source"] = [sources.citation(r, lang) for r in rows]
    out["source_url"] = [
        sources.tagged_url(r.get("source_url"), sources.source_kind(r.get("publisher"), r.get("source_url")), lang)
        for r in rows
    ]
    replaced = (*sources.SOURCE_FIELDS, "source", "source_url")
    order: list[str] = []
    for c in records.columns:
        if c not in replaced:
            order.append(c)
        elif "source" not in order:
            order += ["source", "source_url"]
    return out[order if "source" in order else [*order, "source", "source_url"]]


def link_column(lang: str) -> object:
    """The ``source_url`` column of ``table``: each link shows its kind (发布机构原文 / 转载) and opens the page."""
    return st.column_config.LinkColumn(
        fields.title("source_url", lang),
        help=fields.description("source_url", lang),
        display_text=sources.LINK_TEXT,
    )


def caption(record: Mapping[str, object], lang: str) -> str:
    """One record's source as Markdown for a caption: "出处：<citation> · [转载](link)" (no link part without a
    link); the citation is shown as plain text."""
    label = {"zh": "出处：", "en": "Source: "}[lang]
    text = label + fmt.plain(sources.citation(record, lang))
    url = record.get("source_url")
    if sources.missing(url):
        return text
    kind = sources.source_kind(record.get("publisher"), url)
    href = str(url).strip().replace("(", "%28").replace(")", "%29").replace(" ", "%20")
    return f"{text} · [{fmt.plain(sources.link_text(str(kind), lang))}]({href})"


def export(records: pd.DataFrame, lang: str) -> pd.DataFrame:
    """A table of sourced records as exports carry it: its own columns, the plain link, and ``source`` (the citation)
    and ``source_kind`` (发布机构原文 / 转载) in ``lang`` (``carbon.sources.cited``).  Pure."""
    return sources.cited(records, lang)
