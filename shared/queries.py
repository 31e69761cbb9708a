"""SQL that both services run (each service's own statements live in its queries.py).

The daily uptime rollup both services rely on is a contract in the database,
not a fragment here: last_closed_day(), rollup_horizon() and
missing_uptime_days() (migrations/0010), over covered_runs() (migrations/0005).
"""

from __future__ import annotations

# Run on every new pool connection: timestamps come back in UTC, and JIT is off
# (it costs tens of ms compiling the short statements both services run).
SESSION_DEFAULTS = (
    "SELECT set_config('TimeZone', 'UTC', false) AS timezone,"
    " set_config('jit', 'off', false) AS jit"
)

# -- browser sessions (services/api/auth.py) -----------------------------------

# A session is usable for SESSION_IDLE_HOURS without a request and SESSION_MAX_DAYS at most.
SESSION_IDLE_HOURS = 12
SESSION_MAX_DAYS = 7

# The sessions no request can use any more (the checker's daily retention).
DELETE_DEAD_SESSIONS = (
    "DELETE FROM sessions WHERE ended_at IS NOT NULL"
    " OR last_seen_at < now() - make_interval(hours => %(idle_hours)s::int)"
    " OR created_at < now() - make_interval(days => %(max_days)s::int)"
)

# -- maintenance occurrences ---------------------------------------------------
#
# Recurring windows keep HORIZON (400 days) of occurrences materialised
# (shared/maintenance.py): the API writes them with the window, the checker's
# hourly job extends the ones whose horizon has moved on.

# A batch of recurring windows whose occurrences end less than 399 days ahead.
MAINTENANCES_TO_EXTEND = """
SELECT id, starts_at, ends_at, rrule, timezone, expanded_until, updated_at
  FROM maintenances
 WHERE rrule IS NOT NULL AND id > %(after_id)s::bigint
   AND expanded_until < now() + interval '399 days'
 ORDER BY id
 LIMIT %(batch)s::int
"""

# Adds the occurrences one window's extension found (those already there are
# kept), unless the window changed since it was read (fenced by updated_at and
# expanded_until: the API's write then materialised it afresh).
EXTEND_OCCURRENCES = """
WITH m AS (
    UPDATE maintenances
       SET expanded_until = %(expanded_until)s::timestamptz
     WHERE id = %(id)s::bigint AND updated_at = %(updated_at)s::timestamptz
       AND expanded_until = %(since)s::timestamptz
    RETURNING id, page_id
)
INSERT INTO maintenance_occurrences (maintenance_id, page_id, starts_at, ends_at)
SELECT m.id, m.page_id, t.s, t.e
  FROM m CROSS JOIN unnest(%(starts)s::timestamptz[], %(ends)s::timestamptz[]) t (s, e)
    ON CONFLICT DO NOTHING
"""
