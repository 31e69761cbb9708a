"""The database's clock, as the checker reads it: its own clock plus an offset learnt at each claim.

Due times, recorded check times and the fence all compare times written by
different replicas, so they must come from one clock: PostgreSQL's. Every claim
returns the database's ``clock_timestamp()``; the offset to this process's clock
is learnt there (the reply's transit, well under a millisecond on a LAN, is the
error), and every time the checker records or compares is this clock's.
"""

from __future__ import annotations

import time


class DbClock:
    __slots__ = ("offset",)

    def __init__(self) -> None:
        self.offset = 0.0  # database clock minus this process's clock, in seconds

    def learn(self, db_now: float) -> None:
        """``db_now``: the database's epoch time in a reply that arrived just now."""
        self.offset = db_now - time.time()

    def now(self) -> float:
        """Epoch seconds on the database's clock."""
        return time.time() + self.offset
