"""SQL that both services run (each service's own statements live in its queries.py)."""

from __future__ import annotations

# Run on every new pool connection: timestamps come back in UTC, and JIT is off
# (it costs tens of ms compiling the short statements both services run).
SESSION_DEFAULTS = (
    "SELECT set_config('TimeZone', 'UTC', false) AS timezone,"
    " set_config('jit', 'off', false) AS jit"
)
