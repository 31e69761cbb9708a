"""SQL that both services run (each service's own statements live in its queries.py)."""

from __future__ import annotations

# Run on every new pool connection: timestamps then come back in UTC.
SET_UTC = "SET TIME ZONE 'UTC'"
