"""Grid statements (电网电量账单): the utility's energy per account (户号) and billing period, as a grid company shares
it with government platforms.  One connector kind, ``grid_statements``, over either transport:

- file drop (``inbox`` set): CSV or XLSX statement files put in the inbox folder (the columns of
  ``carbon.grid_statement_checks.read_statement_file``: 供电单位, 户号, 户名, 上次抄表日期, 本次抄表日期, 结算电量 with
  its unit, 发布时间); taken once settled as for ``file_drop``, then moved to ``archive/`` (or ``failed/`` when
  the file cannot be read at all) with ``<name>.report.json`` beside it.  ``utility`` (a code) names the utility of
  files without a 供电单位 column.
- HTTP (``base_url`` set): ``GET {base_url}{path}?since=<watermark>`` (``path`` default ``/statements``) with the
  token, pages ``{"items": [...], "next": ...}`` of items ``{"utility", "account", "account_name", "period_start",
  "period_end", "energy", "unit", "issued_at"}``.  The watermark is the newest ``issued_at`` (the time the utility
  issued or restated a statement, so a restatement of an old period is fetched too); the platform returns items
  issued at or after it, and a statement fetched twice is stored once.  Same origin rules, errors and retries as
  ``connectors.http_api``.

The connector only fetches and decodes; the statements are stored by ``carbon.intake.receive_grid_statements``.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from carbon.errors import InputError
from carbon.intake import STATEMENT_COLUMNS, read_statement_file
from connectors.base import Connector, Fetched
from connectors.decoding import DecodeError, load_json
from connectors.file_drop import FileDrop, settled
from connectors.http_api import MAX_PAGE_BYTES, HttpApi

REQUIRED = ("utility", "account", "period_start", "period_end", "energy", "unit", "issued_at")


def decode_statement(item: Any) -> dict[str, Any]:
    """One page item as a statement record (``STATEMENT_COLUMNS``); ``DecodeError`` if it is not an object with
    the required keys, each a text or a number.  Pure (the intake checks the values)."""
    if not isinstance(item, dict):
        raise DecodeError("账单项不是JSON对象", "a statement item must be a JSON object")
    missing = [k for k in REQUIRED if item.get(k) in (None, "")]
    if missing:
        raise DecodeError(f"缺少 {'、'.join(missing)}", f"missing {', '.join(missing)}")
    bad = [k for k in STATEMENT_COLUMNS if item.get(k) is not None and not isinstance(item[k], str | int | float)]
    if bad:
        raise DecodeError(f"{'、'.join(bad)} 须为文本或数字", f"{', '.join(bad)} must be text or numbers")
    return {k: item.get(k) for k in STATEMENT_COLUMNS}


def decode_statement_page(body: bytes) -> tuple[list[dict], list[tuple[str, str]], str | None]:
    """A page's statements, its unusable items (payload, reason) and the next page URL.  Pure; ``DecodeError``
    for a page that is not a JSON object with an ``items`` list."""
    page = load_json(body, MAX_PAGE_BYTES)
    if not isinstance(page, dict) or not isinstance(page.get("items"), list):
        raise DecodeError('页面不是含 "items" 列表的 JSON 对象', 'expected an object with an "items" list')
    good, bad = [], []
    for item in page["items"]:
        try:
            good.append(decode_statement(item))
        except DecodeError as exc:
            bad.append((json.dumps(item, ensure_ascii=False, default=str)[:10_000], str(exc)))
    nxt = page.get("next")
    return good, bad, nxt if isinstance(nxt, str) and nxt else None


class GridFileDrop(FileDrop):
    """Statement files in an inbox folder."""

    def fetch(self, watermark: str | None) -> Fetched:
        settle = float(self.config.options.get("settle_seconds", 5))
        utility = self.config.options.get("utility")
        out = Fetched()
        for p in sorted(self.inbox.rglob("*")):
            if not (p.is_file() and settled(p, settle)):
                continue
            try:
                frame = read_statement_file(p.name, p.read_bytes(), utility)
            except (InputError, OSError) as exc:
                self.finish(p, False, {"file": str(p), "error": getattr(exc, "message", str(exc))})
                continue
            out.statements.append((f"{self.config.name}:{p.name}", frame, p))
        return out


class GridHttp(HttpApi):
    """Statements polled from a grid company's data-sharing API."""

    def fetch(self, watermark: str | None) -> Fetched:
        items, out = self.pages(watermark, "/statements", decode_statement_page)
        frame = pd.DataFrame(items, columns=STATEMENT_COLUMNS)
        if len(frame):
            out.statements.append((self.config.name, frame, None))
        issued = pd.to_datetime(frame["issued_at"], utc=True, errors="coerce", format="ISO8601").dropna()
        if len(issued):  # never beyond now: a statement dated in the future must not hide later ones
            newest = min(issued.max(), pd.Timestamp.now(tz="UTC"))
            if watermark is not None:
                newest = max(newest, pd.Timestamp(watermark))
            out.watermark = newest.isoformat()
        return out


def build_grid(config) -> Connector:  # type: ignore[no-untyped-def]
    """The transport a ``grid_statements`` configuration names: ``inbox`` (file drop) or ``base_url`` (HTTP),
    exactly one of them."""
    has_inbox, has_url = bool(config.options.get("inbox")), bool(config.options.get("base_url"))
    if has_inbox == has_url:
        raise InputError(
            f"连接器 {config.name}（电网电量账单）须设置 inbox 或 base_url 之一",
            f"Connector {config.name} (grid statements) needs exactly one of inbox or base_url",
        )
    return GridFileDrop(config) if has_inbox else GridHttp(config)
