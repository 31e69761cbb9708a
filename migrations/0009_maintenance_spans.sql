-- Which maintenance occurrences cover an endpoint, stated once for status and uptime.
-- depends: 0008_maintenances

-- maintenance_spans(endpoint, page, lo, hi): the occurrences of the windows of
-- page `page` that affect endpoint `endpoint` (the endpoint's page: pass
-- e.page_id) and overlap [lo, hi), each clipped to it as [s_at, e_at). A
-- window affects every endpoint of its page (all_endpoints) or those in
-- maintenance_endpoints. An occurrence is at most 31 days long, so only the
-- page's occurrences starting in (lo - 31 days, hi) are read (one range of
-- maintenance_occurrences_page). "In maintenance now" is a span over
-- [now(), now() + 1 µs). LANGUAGE sql, one SELECT, STABLE: PostgreSQL inlines
-- it into the caller, as covered_runs (0005).
CREATE FUNCTION maintenance_spans(endpoint bigint, page bigint, lo timestamptz, hi timestamptz)
RETURNS TABLE (maintenance_id bigint, s_at timestamptz, e_at timestamptz)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
SELECT o.maintenance_id, greatest(o.starts_at, maintenance_spans.lo),
       least(o.ends_at, maintenance_spans.hi)
  FROM maintenance_occurrences o
  JOIN maintenances m ON m.id = o.maintenance_id
 WHERE o.page_id = maintenance_spans.page
   AND o.starts_at < maintenance_spans.hi
   AND o.starts_at > maintenance_spans.lo - interval '31 days'
   AND o.ends_at > maintenance_spans.lo
   AND (m.all_endpoints
        OR EXISTS (SELECT 1 FROM maintenance_endpoints me
                    WHERE me.maintenance_id = o.maintenance_id
                      AND me.endpoint_id = maintenance_spans.endpoint));
END;

COMMENT ON FUNCTION maintenance_spans(bigint, bigint, timestamptz, timestamptz) IS
    'The maintenance occurrences covering an endpoint within [lo, hi), clipped '
    '(see migrations/0009_maintenance_spans.sql)';
