-- depends: 0008_maintenances
DROP FUNCTION IF EXISTS maintenance_spans(bigint, bigint, timestamptz, timestamptz);
