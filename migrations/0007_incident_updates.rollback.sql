-- depends: 0006_access
DROP INDEX IF EXISTS incidents_page_unresolved;
DROP TABLE IF EXISTS incident_endpoints;
DROP TABLE IF EXISTS incident_updates;
ALTER TABLE incidents DROP CONSTRAINT IF EXISTS incidents_impact,
    DROP COLUMN IF EXISTS postmortem, DROP COLUMN IF EXISTS impact;
