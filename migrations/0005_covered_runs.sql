-- The uptime rule's coverage, stated once: the runs of an endpoint that cover a time range.
-- depends: 0004_uptime_daily

-- covered_runs(endpoint, lo, hi): the runs of endpoint `endpoint` that cover
-- [lo, hi), each with the part of [lo, hi) it covers, [s_at, e_at). This is the
-- uptime rule (README "Uptime"), and the only place SQL states it; the 24 h
-- figure (the API's PAGE_STATUS and BADGE), the daily rollups (shared/queries.py:
-- the checker's ROLLUP_DAYS and the API's PAGE_LONG_UPTIMES) and the raw edges of
-- the 7/30/90-day windows (PAGE_LONG_UPTIMES) all read it.
--
--   * The runs read are the one run that starts before lo (the only earlier run
--     that can reach into the range: any older one is clipped by its
--     successor's start) plus every run that starts in [lo, hi), through the
--     index checks_endpoint_first.
--   * A run covers [first_checked_at, last_checked_at + interval), where
--     interval is the endpoint's check interval when the run was written,
--     clipped to the next run's first_checked_at (so no instant counts twice),
--     to hi (pass now() for a range that ends now) and to lo.
--   * Only runs that cover something come back (e_at > s_at). Time covered by
--     no run counts neither way; the caller sums e_at - s_at, as available when
--     status is up or degraded, and as covered in any case.
--
-- Written so that PostgreSQL inlines it into the caller's LATERAL join (one
-- SELECT, LANGUAGE sql, STABLE, not STRICT, no SET clause, not SECURITY
-- DEFINER): the plan shows the two index scans on checks_endpoint_first per
-- outer row, never a "Function Scan on covered_runs". Keep it so. The body is
-- SQL-standard (BEGIN ATOMIC, PostgreSQL 14+): parsed once, here, so inlining
-- it costs the planner less than a string body, its names are bound to these
-- tables whatever the caller's search_path, and `checks` cannot be changed
-- under it unnoticed.
CREATE FUNCTION covered_runs(endpoint bigint, lo timestamptz, hi timestamptz)
RETURNS TABLE (status text, s_at timestamptz, e_at timestamptz)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
SELECT r.status, r.s_at, r.e_at
  FROM (SELECT w.status, greatest(w.first_checked_at, covered_runs.lo) AS s_at,
               least(w.last_checked_at + w.interval * interval '1 second',
                     lead(w.first_checked_at) OVER (ORDER BY w.first_checked_at, w.id),
                     covered_runs.hi) AS e_at
          FROM ((SELECT c.id, c.status, c.first_checked_at, c.last_checked_at, c.interval
                   FROM checks c
                  WHERE c.endpoint_id = covered_runs.endpoint
                    AND c.first_checked_at < covered_runs.lo
                  ORDER BY c.first_checked_at DESC, c.id DESC LIMIT 1)
                UNION ALL
                (SELECT c.id, c.status, c.first_checked_at, c.last_checked_at, c.interval
                   FROM checks c
                  WHERE c.endpoint_id = covered_runs.endpoint
                    AND c.first_checked_at >= covered_runs.lo
                    AND c.first_checked_at < covered_runs.hi)) w
       ) r
 WHERE r.e_at > r.s_at;
END;

COMMENT ON FUNCTION covered_runs(bigint, timestamptz, timestamptz) IS
    'The runs of an endpoint covering [lo, hi), each with the part [s_at, e_at) it covers '
    '(the uptime rule; see migrations/0005_covered_runs.sql)';
