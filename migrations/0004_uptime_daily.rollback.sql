-- depends: 0003_checker_claims
DROP TRIGGER IF EXISTS checks_update_touch_rolled_days ON checks;
DROP TRIGGER IF EXISTS checks_insert_touch_rolled_days ON checks;
DROP FUNCTION IF EXISTS checks_touch_rolled_days();
DROP TABLE IF EXISTS uptime_daily;
