-- Daily uptime rollups: the time-weighted coverage of each endpoint on each closed UTC day.
-- depends: 0003_checker_claims

-- One row per endpoint and closed UTC day (a day D is closed five minutes after
-- D + 1 day), computed from the raw runs in `checks` by the rollup of
-- shared/queries.py (the checker's ROLLUP_DAYS, hourly and before retention; the
-- API's PAGE_LONG_UPTIMES, lazily). Days with no coverage are stored too (0, 0),
-- so that they are not computed again. Retention deletes raw runs, never these
-- rows: the 7/30/90-day figures read them for whole days.
CREATE TABLE uptime_daily (
    endpoint_id        bigint           NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    day                date             NOT NULL,
    available_seconds  double precision NOT NULL,
    covered_seconds    double precision NOT NULL,
    -- set when a run touching this day is written after the day was rolled up
    -- (a back-dated write; the checker never makes one): the next rollup
    -- computes the day again, and until then readers use the raw runs.
    stale              boolean          NOT NULL DEFAULT false,
    PRIMARY KEY (endpoint_id, day),
    CONSTRAINT uptime_daily_seconds CHECK (
        0 <= available_seconds AND available_seconds <= covered_seconds
        AND covered_seconds <= 86400)
);
CREATE INDEX uptime_daily_stale ON uptime_daily (endpoint_id, day) WHERE stale;

-- A run written or changed on a day that may already be rolled up (it starts
-- before today, UTC) marks that day's rollups stale, from the run's first day
-- to the day its coverage ends. The checker's writes start today (runs never
-- span midnight: buckets are clock-aligned), so its hot path only evaluates the
-- WHEN condition. Deletes (retention) change no rollup: that is their point.
CREATE FUNCTION checks_touch_rolled_days() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE uptime_daily
       SET stale = true
     WHERE endpoint_id = NEW.endpoint_id AND NOT stale
       AND day BETWEEN (NEW.first_checked_at AT TIME ZONE 'UTC')::date
                   AND ((NEW.last_checked_at + NEW.interval * interval '1 second')
                        AT TIME ZONE 'UTC')::date;
    IF TG_OP = 'UPDATE' THEN
        UPDATE uptime_daily
           SET stale = true
         WHERE endpoint_id = OLD.endpoint_id AND NOT stale
           AND day BETWEEN (OLD.first_checked_at AT TIME ZONE 'UTC')::date
                       AND ((OLD.last_checked_at + OLD.interval * interval '1 second')
                            AT TIME ZONE 'UTC')::date;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER checks_insert_touch_rolled_days
AFTER INSERT ON checks
FOR EACH ROW WHEN (NEW.first_checked_at < date_trunc('day', now(), 'UTC'))
EXECUTE FUNCTION checks_touch_rolled_days();

CREATE TRIGGER checks_update_touch_rolled_days
AFTER UPDATE ON checks
FOR EACH ROW WHEN (OLD.first_checked_at < date_trunc('day', now(), 'UTC')
                   OR NEW.first_checked_at < date_trunc('day', now(), 'UTC'))
EXECUTE FUNCTION checks_touch_rolled_days();
