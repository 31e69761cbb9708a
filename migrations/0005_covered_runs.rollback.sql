-- depends: 0004_uptime_daily
DROP FUNCTION IF EXISTS covered_runs(bigint, timestamptz, timestamptz);
