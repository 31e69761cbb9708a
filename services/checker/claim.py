"""Step 1 (claim) and step 5 (hand back): the two statements that move leases."""

from __future__ import annotations

from services.checker import queries
from services.checker.db import Link
from services.checker.probe import Claim


async def claim_due(link: Link, *, limit: int, claimer: str) -> tuple[list[Claim], float | None]:
    """Claim up to ``limit`` due endpoints (committed on return).

    Returns the claims and the epoch time of the earliest due slot left
    unclaimed (None when there is none), so the caller knows how long to sleep.
    """
    cur = await link.execute(queries.CLAIM_DUE, {"limit": limit, "claimer": claimer})
    rows = await cur.fetchall()
    claims = []
    next_due = None
    for row in rows:
        if row[0] is None:
            next_due = row[12]
            continue
        claims.append(
            Claim(
                row[0],
                row[1],
                row[2],
                row[3],
                row[4],
                tuple(row[5]),
                row[6],
                row[7],
                row[8],
                row[9],
                row[10],
                row[11],
            )
        )
    return claims, next_due


async def hand_back(link: Link, claims: list[Claim]) -> int:
    """Make unfinished claims due now, where the claim is still ours; returns how many."""
    if not claims:
        return 0
    cur = await link.execute(
        queries.HAND_BACK,
        {"endpoint_ids": [c.endpoint_id for c in claims], "tokens": [c.token for c in claims]},
    )
    return cur.rowcount
