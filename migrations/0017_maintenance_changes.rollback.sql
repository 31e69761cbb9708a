-- depends: 0016_page_maintenance_spans
DROP TRIGGER IF EXISTS maintenance_endpoints_changed ON maintenance_endpoints;
DROP TRIGGER IF EXISTS maintenance_occurrences_changed ON maintenance_occurrences;
DROP FUNCTION IF EXISTS maintenances_changed();
