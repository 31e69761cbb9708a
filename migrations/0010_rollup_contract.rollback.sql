-- depends: 0009_maintenance_spans
DROP FUNCTION IF EXISTS missing_uptime_days(bigint[]);
DROP FUNCTION IF EXISTS rollup_horizon();
DROP FUNCTION IF EXISTS last_closed_day();
