"""HTTP platform API: pages of JSON readings since a watermark, with token auth.

Request: ``GET {base_url}{path}?since=<watermark>`` with ``Authorization: Bearer <token>``; the response is
``{"items": [...], "next": "<url or null>"}``, each item ``{"enterprise", "meter", "carrier", "kind", "start",
"end", "value", "unit"}`` (``kind`` interval or register; ``start`` only for intervals).  The watermark is the
newest ``end`` of a run's items.  401/403 are permanent; 429 (Retry-After) and 5xx/timeouts are transient.

The token goes to the configured origin only (scheme, host and port of ``base_url``): a ``next`` link or an HTTP
redirect to any other origin is refused before anything is sent there (``PermanentError`` naming the link), never
followed with or without the token.  As for any page that fails, the run fails and stores nothing of the pages
fetched before; the watermark stays, so those readings are fetched again once the platform is fixed.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

import pandas as pd

from carbon.intake import READING_COLUMNS
from connectors.base import Connector, Fetched, PermanentError, TransientError, records_frame
from connectors.decoding import DecodeError, load_json, reading

REQUIRED = ("enterprise", "meter", "carrier", "kind", "end", "value", "unit")
MAX_PAGE_BYTES = 50_000_000  # project default: one page of readings


# a decoded page: its good items, its unusable items (payload, reason) and the next page's URL
Page = tuple[list[dict[str, Any]], list[tuple[str, str]], str | None]


def decode_page(body: bytes) -> Page:
    """A page's good items, its unusable items (payload, reason) and the next page URL.  Pure.

    Raises ``DecodeError`` (a ``ValueError``) for a page that is not a JSON object with an ``items`` list; an item
    that cannot become a reading (the checks of ``connectors.decoding``) is returned among the unusable ones."""
    page = load_json(body, MAX_PAGE_BYTES)
    if not isinstance(page, dict) or not isinstance(page.get("items"), list):
        raise DecodeError('页面不是含 "items" 列表的 JSON 对象', 'expected an object with an "items" list')
    good, bad = [], []
    for item in page["items"]:
        try:
            good.append(decode_item(item))
        except DecodeError as exc:
            bad.append((json.dumps(item, ensure_ascii=False, default=str), str(exc)))
    nxt = page.get("next")
    return good, bad, nxt if isinstance(nxt, str) and nxt else None


def decode_item(item: Any) -> dict[str, Any]:
    """One page item to a reading record; raises ``DecodeError``.  Pure."""
    missing = [k for k in REQUIRED if not isinstance(item, dict) or item.get(k) in (None, "")]
    if missing:
        raise DecodeError(f"缺少 {'、'.join(missing)}", f"missing {', '.join(missing)}")
    return reading(*(item.get(k) for k in READING_COLUMNS))


DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(url: str) -> tuple[str, str, int | None]:
    """A URL's origin: scheme, host (lower case) and port (the scheme's default when none is given).  Pure."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:  # a port that is not a number: an origin of its own, never the configured one
        port = -1
    return scheme, (parts.hostname or "").lower(), port if port is not None else DEFAULT_PORTS.get(scheme)


def check_origin(url: str, base: str, what: tuple[str, str]) -> None:
    """Refuse ``url`` unless it is on ``base``'s origin: the token is never sent anywhere else.  ``what`` names
    the link in Chinese and English (a page's next link, a redirect).  Pure."""
    if origin(url) == origin(base):
        return
    scheme, host, port = origin(base)
    link, allowed = url if len(url) <= 300 else url[:300] + "…", f"{scheme}://{host}:{port}"
    raise PermanentError(
        f"拒绝跟随{what[0]} {link}：它不在配置的平台地址 {allowed} 上，令牌只发往该地址；请检查平台或 base_url / "
        f"Refused to follow {what[1]} {link}: it is not on the configured platform origin {allowed}, the only "
        "place the token is sent; check the platform or base_url"
    )


class SameOriginRedirects(urllib.request.HTTPRedirectHandler):
    """Follows a redirect (with the request's headers, the token among them) only on the configured origin."""

    def __init__(self, base: str) -> None:
        self.base = base

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        try:
            check_origin(urllib.parse.urljoin(req.full_url, newurl), self.base, ("重定向", "the redirect to"))
        except PermanentError:
            fp.close()
            raise
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class HttpApi(Connector):
    """Pulls pages from an energy-data platform."""

    def _get(self, url: str, token: str | None) -> bytes:
        request = urllib.request.Request(url, headers={"Accept": "application/json"})
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        timeout = float(self.config.options.get("timeout_seconds", 10))
        opener = urllib.request.build_opener(SameOriginRedirects(self.config.options["base_url"]))
        try:
            with opener.open(request, timeout=timeout) as response:
                return response.read(MAX_PAGE_BYTES + 1)  # a larger page is refused whole, never read on
        except urllib.error.HTTPError as exc:
            if exc.code in (401, 403):
                raise PermanentError(
                    f"HTTP {exc.code}: the platform refused the token; check the connector's token"
                ) from None
            if exc.code == 429 or exc.code >= 500:
                retry = exc.headers.get("Retry-After") if exc.headers else None
                raise TransientError(f"HTTP {exc.code}", float(retry) if retry and retry.isdigit() else None) from None
            raise PermanentError(f"HTTP {exc.code} from {urllib.parse.urlsplit(url).path}") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            raise TransientError(f"cannot reach the platform: {getattr(exc, 'reason', exc)}") from None

    def pages(self, watermark: str | None, default_path: str, decode: Callable[[bytes], Page]) -> tuple[list, Fetched]:
        """Every page since ``watermark`` (``?since=``), following next-page links on the same origin, up to
        ``max_pages``: the items ``decode`` found, and a ``Fetched`` holding what it quarantined (a page it cannot
        read ends the run there)."""
        token = self.config.secret("token")
        base = self.config.options["base_url"].rstrip("/") + self.config.options.get("path", default_path)
        url: str | None = base + ("?" + urllib.parse.urlencode({"since": watermark}) if watermark else "")
        items: list[dict] = []
        out = Fetched()
        pages = 0
        while url and pages < int(self.config.options.get("max_pages", 1000)):
            body = self._get(url, token.reveal() if token else None)
            pages += 1
            try:
                good, bad, nxt = decode(body)
            except ValueError as exc:
                out.quarantined.append((body[:10_000].decode("utf-8", "replace"), f"page {url}: {exc}"))
                break
            items += good
            out.quarantined += bad
            url = urllib.parse.urljoin(base, nxt) if nxt else None
            if url:
                check_origin(url, base, ("下一页链接", "the next-page link"))
        return items, out

    def fetch(self, watermark: str | None) -> Fetched:
        items, out = self.pages(watermark, "/readings", decode_page)
        out.records = records_frame(items)
        ends = pd.to_datetime(out.records["end"], utc=True, errors="coerce").dropna()
        if len(ends):  # never beyond now: a reading dated in the future (refused) must not hide later ones
            newest = min(ends.max(), pd.Timestamp.now(tz="UTC"))
            if watermark is not None:
                newest = max(newest, pd.Timestamp(watermark))
            out.watermark = newest.isoformat()
        return out
