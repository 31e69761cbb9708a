-- depends: 0007_incident_updates
DROP TABLE IF EXISTS maintenance_occurrences;
DROP TABLE IF EXISTS maintenance_endpoints;
DROP TABLE IF EXISTS maintenances;
