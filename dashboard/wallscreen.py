"""The wall-screen mode's settings and URL parameters, as pure functions (the page is ``sections/wall.py``).

The wall reads its figures again every ``refresh`` seconds (``?refresh=``, default from
``carbon/data/wall_settings.csv``) and, with several pages chosen (``?rotate=overview,regions``), turns to the
next page at each refresh.  A parameter the wall cannot use is not an error on a wall: the default is used and the
reason given (``Choice.note``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from carbon.reference import read_data

# The wall's pages: URL name -> (Chinese, English) title.
PAGES = {
    "overview": ("双碳进展总览", "Dual-carbon overview"),
    "targets": ("目标进度", "Progress against targets"),
    "regions": ("三地对比", "The three jurisdictions"),
    "quality": ("数据完整度", "Data completeness"),
}


@cache
def settings() -> dict[str, str]:
    """The project defaults of ``carbon/data/wall_settings.csv``, by name (values as text)."""
    return read_data("wall_settings.csv").set_index("name")["value"].to_dict()


@dataclass(frozen=True)
class Choice:
    """A setting as the wall uses it, and why a given URL value was not used (zh, en), if it was not."""

    value: object
    note: tuple[str, str] | None = None


def refresh_seconds(raw: str | None) -> Choice:
    """Seconds between refreshes from ``?refresh=`` (whole seconds within the settings' bounds), else the default."""
    default = int(settings()["refresh_seconds"])
    low, high = int(settings()["min_refresh_seconds"]), int(settings()["max_refresh_seconds"])
    if raw is None or not str(raw).strip():
        return Choice(default)
    text = str(raw).strip()
    if text.isdecimal() and low <= int(text) <= high:
        return Choice(int(text))
    return Choice(
        default,
        (
            f"刷新间隔须为 {low} 至 {high} 之间的整数秒，已使用默认的 {default} 秒",
            f"the refresh interval must be whole seconds from {low} to {high}; the default {default} s is used",
        ),
    )


def rotation(raw: str | None) -> Choice:
    """The pages to show in turn from ``?rotate=`` (comma separated names of ``PAGES``, repeats dropped, order
    kept); unknown names are left out and named in the note; none known: the default pages."""
    default = [p for p in settings()["pages"].split(",") if p in PAGES] or ["overview"]
    if raw is None or not str(raw).strip():
        return Choice(default)
    names = [n.strip().lower() for n in str(raw).split(",") if n.strip()]
    pages = list(dict.fromkeys(n for n in names if n in PAGES))
    unknown = [n for n in names if n not in PAGES]
    note = None
    if unknown:
        known = "、".join(f"{p}（{zh}）" for p, (zh, _) in PAGES.items())
        known_en = ", ".join(PAGES)
        note = (
            f"未知的页面 {'、'.join(unknown)} 已略去；可选：{known}",
            f"unknown pages {', '.join(unknown)} left out; choose from {known_en}",
        )
    return Choice(pages or default, note)


def page_at(pages: list[str], turn: int) -> str:
    """The page shown at the ``turn``-th run of the wall (0 first), cycling through ``pages``."""
    return pages[turn % len(pages)]
