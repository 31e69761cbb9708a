-- depends: 0001_initial
ALTER TABLE endpoint_state DROP COLUMN IF EXISTS last_checked_at;
DROP SEQUENCE IF EXISTS checker_claim_generation;
