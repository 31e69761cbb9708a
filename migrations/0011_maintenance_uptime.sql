-- Uptime: a maintenance window's time counts neither as up nor as down, in every figure.
-- depends: 0010_rollup_contract

-- maintenance_spans reads a page's occurrences by (page_id, starts_at) for
-- every endpoint and range; carrying ends_at and the window's id in the index
-- makes that an index-only scan (a heap visit per occurrence cost more than a
-- sequential scan of a small table, which the planner then chose, per endpoint).
DROP INDEX maintenance_occurrences_page;
CREATE INDEX maintenance_occurrences_page ON maintenance_occurrences (page_id, starts_at)
    INCLUDE (ends_at, maintenance_id);

-- covered_runs (migrations/0005) is where the uptime rule's coverage is stated,
-- so the rule's new clause goes there, once: the part of a run inside an
-- occurrence of a window affecting the endpoint (maintenance_spans,
-- migrations/0009) is not covered — like time with no data. A run is cut into
-- the pieces outside the windows (a multirange difference), so the 24 h figure,
-- the badge, the daily rollups and the raw edges of the 7/30/90-day windows all
-- leave window time out without knowing windows exist. The windows of the
-- range are read once per call (one range of maintenance_occurrences_page),
-- not once per run. Still one SELECT, LANGUAGE sql, STABLE: inlined into every
-- caller (tests/test_covered_runs.py checks the plans).
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

-- A window written, changed or deleted over a day already rolled up changes
-- that day's figure: mark the rollups of the page's endpoints stale for the
-- days the occurrence touches (the next rollup computes them again; until
-- then readers use the raw runs), as checks_touch_rolled_days (0004) does for
-- back-dated runs. Occurrences that start today or later touch nothing rolled
-- up, so the materialisation ahead only evaluates the WHEN condition.
CREATE FUNCTION maintenance_touch_rolled_days() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'DELETE' THEN
        UPDATE uptime_daily u
           SET stale = true
          FROM endpoints e
         WHERE e.page_id = NEW.page_id AND u.endpoint_id = e.id AND NOT u.stale
           AND u.day BETWEEN (NEW.starts_at AT TIME ZONE 'UTC')::date
                         AND (NEW.ends_at AT TIME ZONE 'UTC')::date;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        UPDATE uptime_daily u
           SET stale = true
          FROM endpoints e
         WHERE e.page_id = OLD.page_id AND u.endpoint_id = e.id AND NOT u.stale
           AND u.day BETWEEN (OLD.starts_at AT TIME ZONE 'UTC')::date
                         AND (OLD.ends_at AT TIME ZONE 'UTC')::date;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER maintenance_insert_touch_rolled_days
AFTER INSERT ON maintenance_occurrences
FOR EACH ROW WHEN (NEW.starts_at < date_trunc('day', now(), 'UTC'))
EXECUTE FUNCTION maintenance_touch_rolled_days();

CREATE TRIGGER maintenance_update_touch_rolled_days
AFTER UPDATE ON maintenance_occurrences
FOR EACH ROW WHEN (OLD.starts_at < date_trunc('day', now(), 'UTC')
                   OR NEW.starts_at < date_trunc('day', now(), 'UTC'))
EXECUTE FUNCTION maintenance_touch_rolled_days();

CREATE TRIGGER maintenance_delete_touch_rolled_days
AFTER DELETE ON maintenance_occurrences
FOR EACH ROW WHEN (OLD.starts_at < date_trunc('day', now(), 'UTC'))
EXECUTE FUNCTION maintenance_touch_rolled_days();
