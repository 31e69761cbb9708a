-- Which channels hear of a maintenance window starting and ending, stated once.
-- depends: 0014_maintenance_alerts

-- maintenance_channels(maintenance): the active channels of the rules that want
-- "maintenance" on the window's page or on an endpoint it affects (every
-- endpoint of the page when all_endpoints), each once. Used by the checker's
-- boundary pass (MAINTENANCE_BOUNDARIES) and by the API when a window in
-- progress is deleted (its end is announced then). LANGUAGE sql, one SELECT.
CREATE FUNCTION maintenance_channels(maintenance bigint)
RETURNS TABLE (channel_id bigint)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
SELECT DISTINCT a.channel_id
  FROM maintenances m
  JOIN alert_rules a
    ON 'maintenance' = ANY (a.notify_on)
   AND (a.page_id = m.page_id
        OR a.endpoint_id IN (SELECT e.id FROM endpoints e
                              WHERE m.all_endpoints AND e.page_id = m.page_id
                             UNION ALL
                             SELECT me.endpoint_id FROM maintenance_endpoints me
                              WHERE NOT m.all_endpoints AND me.maintenance_id = m.id))
  JOIN channels ch ON ch.id = a.channel_id AND ch.active
 WHERE m.id = maintenance_channels.maintenance;
END;

COMMENT ON FUNCTION maintenance_channels(bigint) IS
    'The active channels told of a maintenance window starting and ending '
    '(see migrations/0015_maintenance_channels.sql)';
