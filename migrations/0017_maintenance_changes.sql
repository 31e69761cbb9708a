-- A write to a maintenance window wakes the checkers' maintenance pass (NOTIFY maintenances).
-- depends: 0016_page_maintenance_spans

-- The checkers' maintenance pass (services/checker/notify_maintenance.py) runs
-- at each boundary it knows of and every few seconds; a window written, moved,
-- ended early or deleted, or an endpoint added to or taken out of one, changes
-- what is due, so it wakes them (a lost notification costs latency: the pass
-- runs every few seconds anyway). Once per statement, whatever the rows.
CREATE FUNCTION maintenances_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('maintenances', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER maintenance_occurrences_changed
AFTER INSERT OR DELETE OR UPDATE OF starts_at, ends_at ON maintenance_occurrences
FOR EACH STATEMENT EXECUTE FUNCTION maintenances_changed();

CREATE TRIGGER maintenance_endpoints_changed
AFTER INSERT OR DELETE ON maintenance_endpoints
FOR EACH STATEMENT EXECUTE FUNCTION maintenances_changed();
