"""Who is asking: the signed-in user's role and scope, and the rules every data function applies.

- ``zone`` staff (示范区执委会) see everything.
- ``region`` staff (qingpu, wujiang, jiashan) see their own jurisdiction in full and the others only as aggregates.
- ``enterprise`` users see their own enterprise only.

The dashboard calls the functions in ``carbon.views``, which take a ``Viewer`` and apply these rules there, not
in the pages; a refused request raises ``AccessDenied`` and returns nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from carbon import reference
from carbon.errors import AccessDenied

ROLES = ("zone", "region", "enterprise")


@dataclass(frozen=True)
class Viewer:
    """A signed-in user: ``role`` is zone, region or enterprise; ``region``/``enterprise`` set the scope."""

    username: str
    role: str
    region: str | None = None
    enterprise: str | None = None

    @property
    def is_staff(self) -> bool:
        return self.role in ("zone", "region")


def require_staff(viewer: Viewer) -> None:
    """Bureau staff only (zone or jurisdiction)."""
    if not viewer.is_staff:
        raise AccessDenied("仅限生态环境部门工作人员", "Bureau staff only", user=viewer.username)


def full_regions(viewer: Viewer) -> list[str]:
    """Jurisdictions whose enterprises the viewer may see one by one."""
    if viewer.role == "zone":
        return list(reference.JURISDICTIONS)
    if viewer.role == "region" and viewer.region:
        return [viewer.region]
    return []


def aggregate_regions(viewer: Viewer) -> list[str]:
    """Regions (zone included) whose totals the viewer may see."""
    return ["zone", *reference.JURISDICTIONS] if viewer.is_staff else []


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
