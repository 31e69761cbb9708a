-- depends: 0011_maintenance_uptime
DROP TABLE IF EXISTS deliveries;
DROP TABLE IF EXISTS events;
DROP TABLE IF EXISTS alert_rules;
DROP TABLE IF EXISTS channels;
ALTER TABLE endpoint_state
    DROP CONSTRAINT IF EXISTS endpoint_state_last_status,
    DROP COLUMN IF EXISTS status_since,
    DROP COLUMN IF EXISTS streak,
    DROP COLUMN IF EXISTS last_status;
ALTER TABLE endpoints
    DROP CONSTRAINT IF EXISTS endpoints_retry_interval_range,
    DROP CONSTRAINT IF EXISTS endpoints_success_threshold_range,
    DROP CONSTRAINT IF EXISTS endpoints_failure_threshold_range,
    DROP COLUMN IF EXISTS retry_interval,
    DROP COLUMN IF EXISTS success_threshold,
    DROP COLUMN IF EXISTS failure_threshold;
