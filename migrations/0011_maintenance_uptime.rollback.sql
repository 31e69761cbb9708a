-- depends: 0010_rollup_contract
DROP TRIGGER IF EXISTS maintenance_delete_touch_rolled_days ON maintenance_occurrences;
DROP TRIGGER IF EXISTS maintenance_update_touch_rolled_days ON maintenance_occurrences;
DROP TRIGGER IF EXISTS maintenance_insert_touch_rolled_days ON maintenance_occurrences;
DROP FUNCTION IF EXISTS maintenance_touch_rolled_days();
DROP INDEX IF EXISTS maintenance_occurrences_page;
CREATE INDEX maintenance_occurrences_page ON maintenance_occurrences (page_id, starts_at);
-- covered_runs as migrations/0005 wrote it
CREATE OR REPLACE FUNCTION covered_runs(endpoint bigint, lo timestamptz, hi timestamptz)
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
