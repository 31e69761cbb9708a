-- Alerts and maintenance windows: events inside a window are suppressed, the change they hid is told when it ends, and rules may hear of windows starting and ending.
-- depends: 0013_check_kinds

-- told_status: the confirmed status subscribers were last told of (the to_status
-- of the endpoint's last event that was not suppressed; null: none yet, which is
-- as good as up, since a first status of up is no event). RECORD_RESULTS keeps it
-- when the confirmed status changes outside a maintenance window. A confirmed
-- status that differs from it while the endpoint is in no window is a change a
-- window hid: the checker tells it then (services/checker/notify_maintenance.py),
-- once, from told_status to the status. endpoint_state_untold finds those rows.
ALTER TABLE endpoint_state
    ADD COLUMN told_status text,
    ADD CONSTRAINT endpoint_state_told_status CHECK (told_status IN ('up', 'degraded', 'down'));
UPDATE endpoint_state SET told_status = status WHERE status IS NOT NULL;
CREATE INDEX endpoint_state_untold ON endpoint_state (endpoint_id)
    WHERE status <> coalesce(told_status, 'up');

-- Maintenance events name their window: maintenance_id (null once it is
-- deleted), and its title and the occurrence as they were.
ALTER TABLE events
    DROP CONSTRAINT events_type,
    ADD CONSTRAINT events_type CHECK (
        type IN ('endpoint.down', 'endpoint.degraded', 'endpoint.up', 'endpoint.reminder', 'test',
                 'maintenance.started', 'maintenance.ended')),
    ADD COLUMN maintenance_id bigint REFERENCES maintenances (id) ON DELETE SET NULL,
    ADD COLUMN maintenance_title text,
    ADD COLUMN window_starts_at timestamptz,
    ADD COLUMN window_ends_at timestamptz;

ALTER TABLE alert_rules
    DROP CONSTRAINT alert_rules_notify_on,
    ADD CONSTRAINT alert_rules_notify_on CHECK (
        cardinality(notify_on) >= 1
        AND notify_on <@ '{down,degraded,up,reminder,maintenance}'::text[]);

-- Each occurrence's start and end is announced once (maintenance.started,
-- maintenance.ended): started_told / ended_told say it was. An occurrence
-- written when it is already over announces nothing (a window recorded after
-- the fact, or the past occurrences a PATCH writes again); one written while it
-- is in progress announces its start at once. Occurrences over before this
-- migration are told; one in progress has told its start.
ALTER TABLE maintenance_occurrences
    ADD COLUMN started_told boolean NOT NULL DEFAULT false,
    ADD COLUMN ended_told   boolean NOT NULL DEFAULT false;
UPDATE maintenance_occurrences
   SET started_told = starts_at <= now(), ended_told = ends_at <= now()
 WHERE starts_at <= now();
CREATE INDEX maintenance_occurrences_to_start ON maintenance_occurrences (starts_at)
    WHERE NOT started_told;
CREATE INDEX maintenance_occurrences_to_end ON maintenance_occurrences (ends_at)
    WHERE NOT ended_told;

CREATE FUNCTION maintenance_occurrence_over() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.started_told := true;
    NEW.ended_told := true;
    RETURN NEW;
END;
$$;

CREATE TRIGGER maintenance_occurrence_over
BEFORE INSERT ON maintenance_occurrences
FOR EACH ROW WHEN (NEW.ends_at <= now())
EXECUTE FUNCTION maintenance_occurrence_over();

-- alert_channels(page, endpoint, rule_id, wanted): the active channels to tell
-- of an endpoint's event: those of the rules on the endpoint or its page whose
-- notify_on holds `wanted` (the event's to_status), or, for a reminder
-- (rule_id given), that rule's channel only. Stated once for RECORD_RESULTS and
-- the change told at a window's end. LANGUAGE sql, one SELECT: inlined.
CREATE FUNCTION alert_channels(page bigint, endpoint bigint, rule_id bigint, wanted text)
RETURNS TABLE (channel_id bigint)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
SELECT w.channel_id
  FROM (SELECT a.channel_id FROM alert_rules a
         WHERE alert_channels.rule_id IS NULL AND a.endpoint_id = alert_channels.endpoint
           AND alert_channels.wanted = ANY (a.notify_on)
        UNION ALL
        SELECT a.channel_id FROM alert_rules a
         WHERE alert_channels.rule_id IS NULL AND a.page_id = alert_channels.page
           AND alert_channels.wanted = ANY (a.notify_on)
        UNION ALL
        SELECT a.channel_id FROM alert_rules a WHERE a.id = alert_channels.rule_id) w
  JOIN channels ch ON ch.id = w.channel_id AND ch.active;
END;

COMMENT ON FUNCTION alert_channels(bigint, bigint, bigint, text) IS
    'The active channels told of an endpoint event (see migrations/0014_maintenance_alerts.sql)';
