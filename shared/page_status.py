"""A page's overall status, Statuspage's way: an indicator and its description.

The indicator is the worst of the unresolved incidents' impacts and of the
endpoints (those in a maintenance window do not count): any ``degraded`` ->
at least ``minor``; any ``down`` -> at least ``major``; every one ``down`` ->
``critical``; nothing wrong -> ``none``. The API's page, the HTML status page
and the Statuspage JSON all read it from here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

Indicator = Literal["none", "minor", "major", "critical"]
INDICATORS: tuple[Indicator, ...] = ("none", "minor", "major", "critical")
DESCRIPTIONS: dict[Indicator, str] = {
    "none": "All Systems Operational",
    "minor": "Minor Service Outage",
    "major": "Partial System Outage",
    "critical": "Major System Outage",
}
# Statuspage's component statuses for ours; in a window whatever the result.
COMPONENT_STATUS = {
    "up": "operational",
    "degraded": "degraded_performance",
    "down": "major_outage",
    None: "operational",
}
UNDER_MAINTENANCE = "under_maintenance"


def indicator(
    endpoints: Iterable[tuple[str | None, bool]], impacts: Iterable[str]
) -> tuple[Indicator, str]:
    """``endpoints``: (status, in_maintenance) of each active endpoint; ``impacts``:
    of the unresolved incidents. Returns the indicator and its description."""
    worst = max((INDICATORS.index(i) for i in impacts if i in INDICATORS), default=0)
    counted = [status for status, in_maintenance in endpoints if not in_maintenance]
    if counted and all(status == "down" for status in counted):
        worst = max(worst, 3)
    elif "down" in counted:
        worst = max(worst, 2)
    elif "degraded" in counted:
        worst = max(worst, 1)
    found = INDICATORS[worst]
    return found, DESCRIPTIONS[found]


def component_status(status: str | None, in_maintenance: bool) -> str:
    """Statuspage's status of a component (an endpoint)."""
    return UNDER_MAINTENANCE if in_maintenance else COMPONENT_STATUS.get(status, "operational")
