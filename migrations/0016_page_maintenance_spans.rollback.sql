-- depends: 0015_maintenance_channels
DROP FUNCTION IF EXISTS page_maintenance_spans(bigint, timestamptz, timestamptz);
-- covered_runs as migrations/0011 wrote it
CREATE OR REPLACE FUNCTION covered_runs(endpoint bigint, lo timestamptz, hi timestamptz)
RETURNS TABLE (status text, s_at timestamptz, e_at timestamptz)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
SELECT r.status, lower(p.piece) AS s_at, upper(p.piece) AS e_at
  FROM (SELECT coalesce(range_agg(tstzrange(w.s_at, w.e_at)), '{}'::tstzmultirange) AS windows
          FROM endpoints ep
         CROSS JOIN LATERAL maintenance_spans(ep.id, ep.page_id, covered_runs.lo,
                                              covered_runs.hi) w
         WHERE ep.id = covered_runs.endpoint) mw
 CROSS JOIN
       (SELECT w.status, greatest(w.first_checked_at, covered_runs.lo) AS s_at,
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
 CROSS JOIN LATERAL (
        -- a run no window touches (the common case) as it is; only the others
        -- pay for the multirange difference
        SELECT tstzrange(r.s_at, r.e_at) AS piece
         WHERE NOT (mw.windows && tstzrange(r.s_at, r.e_at))
        UNION ALL
        SELECT x.piece
          FROM unnest(tstzmultirange(tstzrange(r.s_at, r.e_at)) - mw.windows) x (piece)
         WHERE mw.windows && tstzrange(r.s_at, r.e_at)) p
 WHERE r.e_at > r.s_at;
END;

COMMENT ON FUNCTION covered_runs(bigint, timestamptz, timestamptz) IS
    'The runs of an endpoint covering [lo, hi) outside its maintenance windows, each piece '
    '[s_at, e_at) (the uptime rule; see migrations/0005_covered_runs.sql and 0011)';

DROP FUNCTION IF EXISTS covered_runs_outside(bigint, timestamptz, timestamptz, tstzmultirange);
