"""SQL that both services run (each service's own statements live in its queries.py)."""

from __future__ import annotations

# Run on every new pool connection: timestamps come back in UTC, and JIT is off
# (it costs tens of ms compiling the short statements both services run).
SESSION_DEFAULTS = (
    "SELECT set_config('TimeZone', 'UTC', false) AS timezone,"
    " set_config('jit', 'off', false) AS jit"
)

# -- daily uptime rollups ------------------------------------------------------
#
# uptime_daily holds, per endpoint and closed UTC day, the day's available and
# covered seconds under the uptime rule (services/api/README.md, "Uptime"; the SQL function
# covered_runs, migrations/0005, is where it is stated): a run's coverage,
# clipped to the day. A day D is closed once now() >= D + 1 day +
# 5 minutes: by then every result checked before midnight has been flushed,
# so its figure is final. A closed day is rolled up once; a later (back-dated)
# write into it marks it stale (trigger, migrations/0004) and the next rollup
# computes it again.

# The last closed day (a date, UTC; the grace is 5 minutes) and the oldest day a
# rollup reaches (400 days before it: older days are never rolled up).
_LAST_CLOSED = "((now() - interval '1 day 5 minutes') AT TIME ZONE 'UTC')::date"
_HORIZON = "(" + _LAST_CLOSED + " - 400)"

# The rollup arithmetic, shared by ROLLUP_DAYS (checker) and the API's
# PAGE_LONG_UPTIMES: CTEs that follow a CTE ``eps (endpoint_id, created_at)``
# (the endpoints to roll up) and end in ``fresh (endpoint_id, day,
# available_seconds, covered_seconds)``: one row for every closed day that is
# missing or stale, from the endpoint's first run (or creation) on, covered 0
# included. Rolled days are kept contiguous (each fill is one statement that
# extends the range at both ends), so "missing" is "before the first or after
# the last rolled day": with the stale ones, three index probes per endpoint
# when nothing is to do.
# Raw runs are read per endpoint by covered_runs (migrations/0005, where the
# rule's coverage is stated; inlined: two probes of checks_endpoint_first) over
# the span of its missing days, then split at midnights.
_ROLLUP_FRESH = (
    """
bounds AS (
    SELECT eps.endpoint_id, k.last_closed,
           greatest(least((f.first_at AT TIME ZONE 'UTC')::date,
                          (eps.created_at AT TIME ZONE 'UTC')::date),
                    k.last_closed - 400) AS since,
           (SELECT min(u.day) FROM uptime_daily u WHERE u.endpoint_id = eps.endpoint_id) AS lo,
           (SELECT max(u.day) FROM uptime_daily u WHERE u.endpoint_id = eps.endpoint_id) AS hi
      FROM eps
     CROSS JOIN (SELECT """
    + _LAST_CLOSED
    + """ AS last_closed) k
      LEFT JOIN LATERAL (SELECT c.first_checked_at AS first_at
                           FROM checks c
                          WHERE c.endpoint_id = eps.endpoint_id
                          ORDER BY c.first_checked_at LIMIT 1) f ON true
), need AS (
    SELECT b.endpoint_id, b.since + i AS day
      FROM bounds b
     CROSS JOIN LATERAL generate_series(0, coalesce(b.lo - 1, b.last_closed) - b.since) i
    UNION ALL
    SELECT b.endpoint_id, greatest(b.hi + 1, b.since) + i
      FROM bounds b
     CROSS JOIN LATERAL generate_series(0, b.last_closed - greatest(b.hi + 1, b.since)) i
     WHERE b.hi IS NOT NULL
    UNION ALL
    SELECT u.endpoint_id, u.day
      FROM eps
      JOIN uptime_daily u ON u.endpoint_id = eps.endpoint_id AND u.stale
), span AS (
    SELECT n.endpoint_id, min(n.day) AS lo, max(n.day) AS hi,
           min(n.day)::timestamp AT TIME ZONE 'UTC' AS lo_at,
           (max(n.day) + 1)::timestamp AT TIME ZONE 'UTC' AS hi_at
      FROM need n
     GROUP BY n.endpoint_id
), runs AS (
    SELECT s.endpoint_id, s.lo, r.status, r.s_at, r.e_at
      FROM span s
     CROSS JOIN LATERAL covered_runs(s.endpoint_id, s.lo_at, s.hi_at) r
), parts AS (
    SELECT r.endpoint_id, r.lo + k AS day, r.status <> 'down' AS ok,
           extract(epoch FROM least(r.e_at, (r.lo + k + 1)::timestamp AT TIME ZONE 'UTC')
                              - greatest(r.s_at, (r.lo + k)::timestamp AT TIME ZONE 'UTC')) AS secs
      FROM runs r
     CROSS JOIN LATERAL generate_series(
               greatest(0, (r.s_at AT TIME ZONE 'UTC')::date - r.lo),
               ((r.e_at AT TIME ZONE 'UTC') - interval '1 microsecond')::date - r.lo) k
), fresh AS (
    SELECT n.endpoint_id, n.day,
           least(coalesce(sum(p.secs) FILTER (WHERE p.ok), 0),
                 coalesce(sum(p.secs), 0), 86400)::float8 AS available_seconds,
           least(coalesce(sum(p.secs), 0), 86400)::float8 AS covered_seconds
      FROM need n
      LEFT JOIN parts p ON p.endpoint_id = n.endpoint_id AND p.day = n.day AND p.secs > 0
     GROUP BY n.endpoint_id, n.day
), filled AS (
    -- in key order, so that two racing fills never deadlock; the loser's rows
    -- are simply skipped (both computed the same figures from the same runs);
    -- a stale day is computed again
    INSERT INTO uptime_daily (endpoint_id, day, available_seconds, covered_seconds)
    SELECT f.endpoint_id, f.day, f.available_seconds, f.covered_seconds
      FROM fresh f
     ORDER BY f.endpoint_id, f.day
        ON CONFLICT (endpoint_id, day) DO UPDATE
       SET available_seconds = excluded.available_seconds,
           covered_seconds = excluded.covered_seconds, stale = false
     WHERE uptime_daily.stale
 RETURNING 1
)"""
)

# The checker's rollup (hourly, and before retention deletes anything): every
# missing closed day of up to ``batch`` endpoints with ids above ``after_id``
# (all endpoints, active or not); returns the last endpoint id handled (NULL
# when there was none: done) and the number of day rows written.
ROLLUP_DAYS = (
    """
WITH eps AS (
    SELECT e.id AS endpoint_id, e.created_at
      FROM endpoints e
     WHERE e.id > %(after_id)s::bigint
     ORDER BY e.id
     LIMIT %(batch)s::int
),"""
    + _ROLLUP_FRESH
    + """
SELECT (SELECT max(eps.endpoint_id) FROM eps) AS last_id,
       (SELECT count(*) FROM filled)::int AS written
"""
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
