"""Who is asking: the signed-in user's role and scope, and the rules every data function applies.

- ``zone`` staff (示范区执委会) see everything.
- ``region`` staff (qingpu, wujiang, jiashan) see their own jurisdiction in full and the others only as aggregates.
  Their own jurisdiction's enterprises are seen with every site (they review the enterprise's report, which covers
  all of them); an enterprise registered elsewhere with a site (厂区) in their jurisdiction is seen through that
  site only: its lines there, never its files, reports or whole-enterprise figures (``line_regions``).
- ``enterprise`` users see their own enterprise only.
- ``display`` accounts (大屏展示) drive a wall screen: scoped to the zone or one jurisdiction (``region`` is
  ``zone`` or a jurisdiction), they see the aggregates staff of that scope see and nothing of single enterprises
  (the wall is read by whoever is in the room, so every sector cell is suppressed as for an outsider), change
  nothing and export nothing.

The dashboard calls the functions in ``carbon.views``, which take a ``Viewer`` and apply these rules there, not
in the pages; a refused request raises ``AccessDenied`` and returns nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from carbon import reference
from carbon.errors import AccessDenied

ROLES = ("zone", "region", "enterprise", "display")
READ_ONLY_ROLES = ("display",)


@dataclass(frozen=True)
class Viewer:
    """A signed-in user: ``role`` is zone, region, enterprise or display; ``region``/``enterprise`` set the scope
    (a display account's ``region`` is ``zone`` or a jurisdiction)."""

    username: str
    role: str
    region: str | None = None
    enterprise: str | None = None

    @property
    def is_staff(self) -> bool:
        return self.role in ("zone", "region")

    @property
    def read_only(self) -> bool:
        """A display account: it reads aggregates, and changes and exports nothing."""
        return self.role in READ_ONLY_ROLES


def require_staff(viewer: Viewer) -> None:
    """Bureau staff only (zone or jurisdiction)."""
    if not viewer.is_staff:
        raise AccessDenied("仅限生态环境部门工作人员", "Bureau staff only", user=viewer.username)


def require_writer(viewer: Viewer) -> None:
    """Anything that changes data (uploads, accounts): refused to read-only (display) accounts."""
    if viewer.read_only:
        raise AccessDenied(
            "大屏展示账号只能查看，不能修改数据",
            "A wall-display account can only look; it cannot change data",
            user=viewer.username,
        )


def require_export(viewer: Viewer) -> None:
    """Downloads and exports: refused to read-only (display) accounts."""
    if viewer.read_only:
        raise AccessDenied(
            "大屏展示账号不能导出或下载数据",
            "A wall-display account cannot export or download data",
            user=viewer.username,
        )


def scope_regions(viewer: Viewer) -> list[str]:
    """Jurisdictions the viewer's account is scoped to: all for zone staff and a zone display, its own for region
    staff and a jurisdiction's display, none for enterprise users."""
    if viewer.role == "zone" or (viewer.role == "display" and viewer.region == "zone"):
        return list(reference.JURISDICTIONS)
    if viewer.role in ("region", "display") and viewer.region in reference.JURISDICTIONS:
        return [viewer.region]
    return []


def full_regions(viewer: Viewer) -> list[str]:
    """Jurisdictions whose enterprises the viewer may see one by one (none for a display account)."""
    return scope_regions(viewer) if viewer.is_staff else []


def aggregate_regions(viewer: Viewer) -> list[str]:
    """Regions (zone included) whose totals the viewer may see: every one for staff and display accounts."""
    return ["zone", *reference.JURISDICTIONS] if viewer.is_staff or viewer.read_only else []


def require_region(viewer: Viewer, region: str) -> None:
    """Totals of ``region`` must be visible to the viewer."""
    if region not in aggregate_regions(viewer):
        raise AccessDenied(
            f"无权查看 {region} 的汇总数据",
            f"Not allowed to see totals of {region}",
            user=viewer.username,
            region=region,
        )


def require_enterprise(viewer: Viewer, enterprise: str, enterprise_region: str) -> None:
    """The enterprise's own users and staff of its jurisdiction (or the zone) only."""
    own = viewer.enterprise == enterprise if viewer.role == "enterprise" else enterprise_region in full_regions(viewer)
    if not own:
        raise AccessDenied("无权查看该企业的数据", "Not allowed to see this enterprise's data", user=viewer.username)


def line_regions(viewer: Viewer, enterprise: str, enterprise_region: str, site_regions: list[str]) -> list[str] | None:
    """The jurisdictions whose result lines of an enterprise the viewer may see: None for all of them (its own
    users; zone staff; staff of the jurisdiction it is registered in, who review its report, which covers every
    site), else the jurisdictions of the viewer's scope among its sites' (``site_regions``): staff of another
    jurisdiction see the lines of its sites there and nothing of the rest.  ``AccessDenied`` when neither."""
    if viewer.role == "enterprise":
        if viewer.enterprise == enterprise:
            return None
    elif enterprise_region in full_regions(viewer):
        return None
    else:
        mine = [r for r in full_regions(viewer) if r in set(site_regions)]
        if mine:
            return mine
    raise AccessDenied("无权查看该企业的数据", "Not allowed to see this enterprise's data", user=viewer.username)
