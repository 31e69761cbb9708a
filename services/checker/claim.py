"""Step 1 (claim) and step 5 (hand back): the two statements that move leases."""

from __future__ import annotations

import msgspec
from psycopg.rows import dict_row

from services.checker import queries
from services.checker.clock import DbClock
from services.checker.db import Link
from services.checker.probe import Claim


async def claim_due(
    link: Link, *, limit: int, claimer: str, clock: DbClock | None = None
) -> tuple[list[Claim], float | None]:
    """Claim up to ``limit`` due endpoints (committed on return).

    Returns the claims and the epoch time (database clock) of the earliest due
    slot left unclaimed (None when there is none), so the caller knows how long
    to sleep. ``clock`` learns the database's clock from the reply.
    """
    cur = await link.execute(
        queries.CLAIM_DUE, {"limit": limit, "claimer": claimer}, row_factory=dict_row
    )
    rows = await cur.fetchall()
    claims = []
    next_due = None
    for row in rows:
        if row["endpoint_id"] is None:  # the trailer: next due time and the database's clock
            next_due = row["next_due"]
            if clock is not None:
                clock.learn(row["db_now"])
        else:
            claims.append(row)
    return msgspec.convert(claims, list[Claim]), next_due


async def hand_back(link: Link, claims: list[Claim]) -> int:
    """Make unfinished claims due now, where the claim is still ours; returns how many."""
    if not claims:
        return 0
    cur = await link.execute(
        queries.HAND_BACK,
        {"endpoint_ids": [c.endpoint_id for c in claims], "tokens": [c.token for c in claims]},
    )
    return cur.rowcount
