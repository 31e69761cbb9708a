-- depends:
DROP TRIGGER IF EXISTS endpoints_changed ON endpoints;
DROP FUNCTION IF EXISTS endpoints_changed();
DROP TABLE IF EXISTS incidents;
DROP TABLE IF EXISTS checks;
DROP TABLE IF EXISTS endpoint_state;
DROP TABLE IF EXISTS endpoints;
DROP TABLE IF EXISTS pages;
