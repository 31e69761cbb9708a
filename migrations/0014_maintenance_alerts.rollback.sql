-- depends: 0013_check_kinds
DROP FUNCTION IF EXISTS alert_channels(bigint, bigint, bigint, text);
DROP TRIGGER IF EXISTS maintenance_occurrence_over ON maintenance_occurrences;
DROP FUNCTION IF EXISTS maintenance_occurrence_over();
DROP INDEX IF EXISTS maintenance_occurrences_to_end;
DROP INDEX IF EXISTS maintenance_occurrences_to_start;
ALTER TABLE maintenance_occurrences
    DROP COLUMN IF EXISTS ended_told,
    DROP COLUMN IF EXISTS started_told;
UPDATE alert_rules SET notify_on = array_remove(notify_on, 'maintenance');
DELETE FROM alert_rules WHERE cardinality(notify_on) = 0;
ALTER TABLE alert_rules
    DROP CONSTRAINT IF EXISTS alert_rules_notify_on,
    ADD CONSTRAINT alert_rules_notify_on CHECK (
        cardinality(notify_on) >= 1 AND notify_on <@ '{down,degraded,up,reminder}'::text[]);
DELETE FROM events WHERE type IN ('maintenance.started', 'maintenance.ended');
ALTER TABLE events
    DROP CONSTRAINT IF EXISTS events_type,
    ADD CONSTRAINT events_type CHECK (
        type IN ('endpoint.down', 'endpoint.degraded', 'endpoint.up', 'endpoint.reminder', 'test')),
    DROP COLUMN IF EXISTS window_ends_at,
    DROP COLUMN IF EXISTS window_starts_at,
    DROP COLUMN IF EXISTS maintenance_title,
    DROP COLUMN IF EXISTS maintenance_id;
DROP INDEX IF EXISTS endpoint_state_untold;
ALTER TABLE endpoint_state
    DROP CONSTRAINT IF EXISTS endpoint_state_told_status,
    DROP COLUMN IF EXISTS told_status;
