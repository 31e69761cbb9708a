-- A page's maintenance spans read once per statement, not once per endpoint.
-- depends: 0015_maintenance_channels

-- covered_runs_outside(endpoint, lo, hi, windows): the uptime rule's runs of an
-- endpoint covering [lo, hi) (migrations/0005), each cut into the pieces outside
-- `windows` (migrations/0011): covered_runs' body, with the windows passed in.
-- covered_runs is now this over the endpoint's own windows (maintenance_spans),
-- so the rule is still stated once; a statement that reads many endpoints of
-- one page passes each the windows it took from page_maintenance_spans (one
-- range of maintenance_occurrences_page for the whole page, instead of one per
-- endpoint and call). Both LANGUAGE sql, one SELECT, STABLE: inlined into every
-- caller, covered_runs_outside into covered_runs (tests/test_covered_runs.py
-- checks the plans).
CREATE FUNCTION covered_runs_outside(endpoint bigint, lo timestamptz, hi timestamptz,
                                     windows tstzmultirange)
RETURNS TABLE (status text, s_at timestamptz, e_at timestamptz)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
SELECT r.status, lower(p.piece) AS s_at, upper(p.piece) AS e_at
  FROM (SELECT w.status, greatest(w.first_checked_at, covered_runs_outside.lo) AS s_at,
               least(w.last_checked_at + w.interval * interval '1 second',
                     lead(w.first_checked_at) OVER (ORDER BY w.first_checked_at, w.id),
                     covered_runs_outside.hi) AS e_at
          FROM ((SELECT c.id, c.status, c.first_checked_at, c.last_checked_at, c.interval
                   FROM checks c
                  WHERE c.endpoint_id = covered_runs_outside.endpoint
                    AND c.first_checked_at < covered_runs_outside.lo
                  ORDER BY c.first_checked_at DESC, c.id DESC LIMIT 1)
                UNION ALL
                (SELECT c.id, c.status, c.first_checked_at, c.last_checked_at, c.interval
                   FROM checks c
                  WHERE c.endpoint_id = covered_runs_outside.endpoint
                    AND c.first_checked_at >= covered_runs_outside.lo
                    AND c.first_checked_at < covered_runs_outside.hi)) w
       ) r
 CROSS JOIN LATERAL (
        -- a run no window touches (the common case) as it is; only the others
        -- pay for the multirange difference
        SELECT tstzrange(r.s_at, r.e_at) AS piece
         WHERE NOT (covered_runs_outside.windows && tstzrange(r.s_at, r.e_at))
        UNION ALL
        SELECT x.piece
          FROM unnest(tstzmultirange(tstzrange(r.s_at, r.e_at)) - covered_runs_outside.windows)
               x (piece)
         WHERE covered_runs_outside.windows && tstzrange(r.s_at, r.e_at)) p
 WHERE r.e_at > r.s_at;
END;

COMMENT ON FUNCTION covered_runs_outside(bigint, timestamptz, timestamptz, tstzmultirange) IS
    'The runs of an endpoint covering [lo, hi), each piece [s_at, e_at) outside windows '
    '(the uptime rule; see migrations/0005_covered_runs.sql, 0011 and 0016)';

CREATE OR REPLACE FUNCTION covered_runs(endpoint bigint, lo timestamptz, hi timestamptz)
RETURNS TABLE (status text, s_at timestamptz, e_at timestamptz)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
SELECT r.status, r.s_at, r.e_at
  FROM (SELECT coalesce(range_agg(tstzrange(w.s_at, w.e_at)), '{}'::tstzmultirange) AS windows
          FROM endpoints ep
         CROSS JOIN LATERAL maintenance_spans(ep.id, ep.page_id, covered_runs.lo,
                                              covered_runs.hi) w
         WHERE ep.id = covered_runs.endpoint) mw
 CROSS JOIN LATERAL covered_runs_outside(covered_runs.endpoint, covered_runs.lo,
                                         covered_runs.hi, mw.windows) r;
END;

COMMENT ON FUNCTION covered_runs(bigint, timestamptz, timestamptz) IS
    'The runs of an endpoint covering [lo, hi) outside its maintenance windows, each piece '
    '[s_at, e_at) (the uptime rule; see migrations/0005_covered_runs.sql, 0011 and 0016)';

-- page_maintenance_spans(page, lo, hi): maintenance_spans (migrations/0009) for
-- every endpoint of page `page` at once: the occurrences of its windows that
-- overlap [lo, hi), clipped to it as [s_at, e_at), one row per endpoint a
-- window lists, or one with endpoint_id null for a window of every endpoint
-- (all_endpoints). The same rule as maintenance_spans, read in one range of
-- maintenance_occurrences_page; tests/test_covered_runs.py checks that both
-- give the same spans. LANGUAGE sql, one SELECT, STABLE: inlined.
CREATE FUNCTION page_maintenance_spans(page bigint, lo timestamptz, hi timestamptz)
RETURNS TABLE (endpoint_id bigint, maintenance_id bigint, s_at timestamptz, e_at timestamptz)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
SELECT me.endpoint_id, o.maintenance_id, greatest(o.starts_at, page_maintenance_spans.lo),
       least(o.ends_at, page_maintenance_spans.hi)
  FROM maintenance_occurrences o
  JOIN maintenances m ON m.id = o.maintenance_id
  LEFT JOIN maintenance_endpoints me ON NOT m.all_endpoints AND me.maintenance_id = m.id
 WHERE o.page_id = page_maintenance_spans.page
   AND o.starts_at < page_maintenance_spans.hi
   AND o.starts_at > page_maintenance_spans.lo - interval '31 days'
   AND o.ends_at > page_maintenance_spans.lo
   AND (m.all_endpoints OR me.endpoint_id IS NOT NULL);
END;

COMMENT ON FUNCTION page_maintenance_spans(bigint, timestamptz, timestamptz) IS
    'The maintenance occurrences of a page within [lo, hi), clipped, by endpoint '
    '(null: all of them; see migrations/0016_page_maintenance_spans.sql)';
