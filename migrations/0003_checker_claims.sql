-- The checker's claim tokens and the state its batched writer decides on.
-- depends: 0001_initial

-- A claim token is generation * 2^32 + n: a new generation is drawn when the
-- token was voided (endpoint changed, claim handed back), and each further
-- claim of the same endpoint adds one. A result is accepted only if its token
-- is of the current generation and not newer than the current claim (see
-- services/checker/queries.py RECORD_RESULTS).
CREATE SEQUENCE checker_claim_generation;

-- last_checked_at of the endpoint's open history row, kept on the (locked)
-- state row so that a flush decides "extend or insert" from one row it holds.
ALTER TABLE endpoint_state ADD COLUMN last_checked_at timestamptz;
