"""HTTP platform API: pages of JSON readings since a watermark, with token auth.

Request: ``GET {base_url}{path}?since=<watermark>`` with ``Authorization: Bearer <token>``; the response is
``{"items": [...], "next": "<url or null>"}``, each item ``{"enterprise", "meter", "carrier", "kind", "start",
"end", "value", "unit"}`` (``kind`` interval or register; ``start`` only for intervals).  The watermark is the
newest ``end`` of a run's items.  401/403 are permanent; 429 (Retry-After) and 5xx/timeouts are transient.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import pandas as pd

from carbon.intake import READING_COLUMNS
from connectors.base import Connector, Fetched, PermanentError, TransientError, records_frame

REQUIRED = ("enterprise", "meter", "carrier", "kind", "end", "value", "unit")


def decode_page(body: bytes) -> tuple[list[dict[str, Any]], list[tuple[str, str]], str | None]:
    """A page's good items, its unusable items (payload, reason) and the next page URL.  Pure."""
    try:
        page = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"not JSON: {exc}") from exc
    if not isinstance(page, dict) or not isinstance(page.get("items"), list):
        raise ValueError('expected an object with an "items" list')
    good, bad = [], []
    for item in page["items"]:
        missing = [k for k in REQUIRED if not isinstance(item, dict) or item.get(k) in (None, "")]
        if missing:
            bad.append((json.dumps(item, ensure_ascii=False), f"missing {', '.join(missing)}"))
        else:
            good.append({k: item.get(k) for k in READING_COLUMNS})
    nxt = page.get("next")
    return good, bad, nxt if isinstance(nxt, str) and nxt else None


class HttpApi(Connector):
    """Pulls pages from an energy-data platform."""

    def _get(self, url: str, token: str | None) -> bytes:
        request = urllib.request.Request(url, headers={"Accept": "application/json"})
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        timeout = float(self.config.options.get("timeout_seconds", 10))
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.read()
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

    def fetch(self, watermark: str | None) -> Fetched:
        token = self.config.secret("token")
        base = self.config.options["base_url"].rstrip("/") + self.config.options.get("path", "/readings")
        url: str | None = base + ("?" + urllib.parse.urlencode({"since": watermark}) if watermark else "")
        items: list[dict] = []
        out = Fetched()
        pages = 0
        while url and pages < int(self.config.options.get("max_pages", 1000)):
            body = self._get(url, token.reveal() if token else None)
            pages += 1
            try:
                good, bad, nxt = decode_page(body)
            except ValueError as exc:
                out.quarantined.append((body[:10_000].decode("utf-8", "replace"), f"page {url}: {exc}"))
                break
            items += good
            out.quarantined += bad
            url = urllib.parse.urljoin(base, nxt) if nxt else None
        out.records = records_frame(items)
        ends = pd.to_datetime(out.records["end"], utc=True, errors="coerce").dropna()
        if len(ends):
            newest = ends.max()
            if watermark is not None:
                newest = max(newest, pd.Timestamp(watermark))
            out.watermark = newest.isoformat()
        return out
