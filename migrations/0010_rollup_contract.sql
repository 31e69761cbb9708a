-- The rollup contract both services share: which days are closed, how far back
-- rollups reach, and the figures of the closed days not rolled up yet.
-- depends: 0009_maintenance_spans

-- The checker stores these figures (its hourly ROLLUP_DAYS, and before
-- retention deletes anything: services/checker/queries.py); the API reads the
-- rows stored and computes the missing days on the fly with the same function
-- (PAGE_LONG_UPTIMES, services/api/queries.py), so a read never writes and a
-- figure is the same before and after a rollup.
--
-- All three are written so that PostgreSQL inlines them into the caller (one
-- SELECT or expression, LANGUAGE sql, STABLE, not STRICT, no SET clause, not
-- SECURITY DEFINER), as covered_runs is (migrations/0005): the callers' plans
-- show index scans, never a "Function Scan on missing_uptime_days". Keep it so
-- (tests/test_covered_runs.py checks the plans), and pass the endpoint ids as a
-- plain column (a LATERAL reference to an array_agg), not a sub-select such as
-- ARRAY(SELECT ...): PostgreSQL never inlines a function whose arguments hold one. The bodies are SQL-standard
-- (RETURN, BEGIN ATOMIC): parsed once, here, and bound to these tables.

-- A day D (UTC) is closed once now() >= D + 1 day + 5 minutes: by then every
-- result checked before midnight has been flushed, so its figure is final.
CREATE FUNCTION last_closed_day() RETURNS date
LANGUAGE sql STABLE PARALLEL SAFE
RETURN ((now() - interval '1 day 5 minutes') AT TIME ZONE 'UTC')::date;

-- The oldest day a rollup reaches: older days are never rolled up (retention
-- may delete their runs without waiting for one).
CREATE FUNCTION rollup_horizon() RETURNS date
LANGUAGE sql STABLE PARALLEL SAFE
RETURN last_closed_day() - 400;

-- missing_uptime_days(endpoint_ids): one row for every closed day of these
-- endpoints that is not rolled up, or rolled up and stale (migrations/0004),
-- from the endpoint's first run (or creation, whichever is earlier; not before
-- the horizon) to last_closed_day(), with the day's available and covered
-- seconds under the uptime rule (covered_runs, migrations/0005), covered 0
-- included. Rolled days are kept contiguous (each fill extends the range at both
-- ends), so "missing" is "before the first or after the last rolled day": with
-- the stale ones, three index probes per endpoint when nothing is missing. Raw
-- runs are read per endpoint by covered_runs over the span of its missing days,
-- then split at midnights.
CREATE FUNCTION missing_uptime_days(endpoint_ids bigint[])
RETURNS TABLE (endpoint_id bigint, day date, available_seconds float8, covered_seconds float8)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
WITH eps AS (
    SELECT e.id AS endpoint_id, e.created_at
      FROM endpoints e
     WHERE e.id = ANY (missing_uptime_days.endpoint_ids)
), bounds AS (
    SELECT eps.endpoint_id, k.last_closed,
           greatest(least((f.first_at AT TIME ZONE 'UTC')::date,
                          (eps.created_at AT TIME ZONE 'UTC')::date),
                    k.horizon) AS since,
           (SELECT min(u.day) FROM uptime_daily u WHERE u.endpoint_id = eps.endpoint_id) AS lo,
           (SELECT max(u.day) FROM uptime_daily u WHERE u.endpoint_id = eps.endpoint_id) AS hi
      FROM eps
     CROSS JOIN (SELECT last_closed_day() AS last_closed, rollup_horizon() AS horizon) k
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
)
SELECT n.endpoint_id, n.day,
       least(coalesce(sum(p.secs) FILTER (WHERE p.ok), 0),
             coalesce(sum(p.secs), 0), 86400)::float8 AS available_seconds,
       least(coalesce(sum(p.secs), 0), 86400)::float8 AS covered_seconds
  FROM need n
  LEFT JOIN parts p ON p.endpoint_id = n.endpoint_id AND p.day = n.day AND p.secs > 0
 GROUP BY n.endpoint_id, n.day;
END;

COMMENT ON FUNCTION last_closed_day() IS
    'The newest closed UTC day: a day closes 5 minutes after it ends (migrations/0010)';
COMMENT ON FUNCTION rollup_horizon() IS
    'The oldest day a daily uptime rollup reaches (migrations/0010)';
COMMENT ON FUNCTION missing_uptime_days(bigint[]) IS
    'The closed days of these endpoints not rolled up (or stale), computed from the raw runs '
    '(migrations/0010)';
