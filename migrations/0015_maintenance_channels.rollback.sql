-- depends: 0014_maintenance_alerts
DROP FUNCTION IF EXISTS maintenance_channels(bigint);
