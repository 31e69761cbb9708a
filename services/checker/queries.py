"""Every statement the checker sends, by name. Parameters are cast so each can be PREPAREd."""

from __future__ import annotations

# Step 1 of the protocol, in one statement: lock up to K due rows of active
# endpoints (skipping rows another replica is claiming), move each to its next
# slot on the grid (due + interval; a checker that fell behind skips the missed
# slots, it never fires a burst), stamp claimer and token, and return what the
# probe needs. The moved due time is the lease. One extra row (all NULL but
# next_due and db_now) is always returned: the earliest due time of the rows not
# claimed now, so the loop knows how long it may sleep without another query,
# and the database's clock (clock_timestamp(), read as late as possible), from
# which the checker learns its offset to its own (services/checker/clock.py).
#
# Token: generation * 2^32 + n. A voided token (endpoint changed, claim handed
# back) starts a new generation; otherwise the next claim adds one.
CLAIM_DUE = """
WITH due AS (
    SELECT s.endpoint_id, s.next_check_at AS due_at
      FROM endpoint_state s
      JOIN endpoints e ON e.id = s.endpoint_id
     WHERE s.next_check_at <= now() AND e.active
     ORDER BY s.next_check_at
     LIMIT %(limit)s::int
       FOR UPDATE OF s SKIP LOCKED
), claimed AS (
    UPDATE endpoint_state s
       SET next_check_at = due.due_at + make_interval(secs => e.interval
               * (floor(extract(epoch FROM now() - due.due_at) / e.interval) + 1)),
           claimed_by = %(claimer)s::text,
           claim_token = CASE WHEN s.claim_token IS NULL
                              THEN nextval('checker_claim_generation') * 4294967296
                              ELSE s.claim_token + 1 END
      FROM due, endpoints e, pages p
     WHERE s.endpoint_id = due.endpoint_id AND e.id = s.endpoint_id AND p.id = e.page_id
 RETURNING s.endpoint_id, s.claim_token, e.url, e.method, e.timeout, e.expected_status,
           e.degraded_threshold_ms, e.keyword, e.interval,
           extract(epoch FROM due.due_at)::float8 AS due_at,
           e.name AS endpoint_name, p.name AS page_name,
           s.next_check_at
), later AS (
    SELECT s.next_check_at
      FROM endpoint_state s
     WHERE s.endpoint_id NOT IN (SELECT endpoint_id FROM due)
     ORDER BY s.next_check_at
     LIMIT 1
)
SELECT c.endpoint_id, c.claim_token AS token, c.url, c.method, c.timeout, c.expected_status,
       c.degraded_threshold_ms, c.keyword, c.interval, c.due_at, c.endpoint_name, c.page_name,
       NULL::float8 AS next_due, NULL::float8 AS db_now
  FROM claimed c
UNION ALL
SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       extract(epoch FROM least((SELECT min(next_check_at) FROM claimed),
                                (SELECT next_check_at FROM later)))::float8,
       extract(epoch FROM clock_timestamp())::float8
"""

# Step 3: one round trip per flush. The state rows are locked in id order (two
# writers never deadlock) and read in their latest version; a result counts
# only if its claim token is of the endpoint's current generation and not newer
# than its current claim, and if it is newer than what was recorded last (so a
# slow checker whose slot was taken over cannot rewind the history, and a flush
# repeated after a lost reply changes nothing). The open row is extended while
# the status is the same within the same clock-aligned bucket; otherwise a new
# row is inserted and becomes the open one. Each endpoint appears at most once
# per call (the writer splits a batch that holds two results of one endpoint).
RECORD_RESULTS = """
WITH r AS (
    SELECT *
      FROM unnest(%(endpoint_ids)s::bigint[], %(tokens)s::bigint[], %(statuses)s::text[],
                  %(checked_at)s::float8[], %(response_ms)s::int[], %(status_codes)s::int[],
                  %(errors)s::text[], %(intervals)s::int[])
           AS r (endpoint_id, token, status, checked_epoch, response_ms, status_code, error,
                 interval)
), s AS (
    SELECT st.endpoint_id, st.claim_token, st.status, st.open_check_id, st.last_checked_at
      FROM endpoint_state st
     WHERE st.endpoint_id = ANY (%(endpoint_ids)s::bigint[])
     ORDER BY st.endpoint_id
       FOR UPDATE
), ok AS (
    SELECT r.endpoint_id, r.status, to_timestamp(r.checked_epoch) AS checked_at,
           r.response_ms, r.status_code, r.error, r.interval, s.open_check_id,
           (c.id IS NOT NULL AND s.status = r.status
            AND floor(extract(epoch FROM s.last_checked_at) / %(bucket)s::int)
                = floor(r.checked_epoch / %(bucket)s::int)) AS extend
      FROM r
      JOIN s ON s.endpoint_id = r.endpoint_id
      LEFT JOIN checks c ON c.id = s.open_check_id
     WHERE s.claim_token >> 32 = r.token >> 32 AND r.token <= s.claim_token
       AND (s.last_checked_at IS NULL OR to_timestamp(r.checked_epoch) > s.last_checked_at)
), updated AS (
    UPDATE checks c
       SET last_checked_at = ok.checked_at,
           count = c.count + 1,
           interval = ok.interval,
           response_time = ok.response_ms,
           response_time_min = least(c.response_time_min, ok.response_ms),
           response_time_max = greatest(c.response_time_max, ok.response_ms),
           response_time_sum = c.response_time_sum + ok.response_ms,
           status_code = ok.status_code,
           error = ok.error
      FROM ok
     WHERE ok.extend AND c.id = ok.open_check_id
 RETURNING c.id
), inserted AS (
    INSERT INTO checks (endpoint_id, status, first_checked_at, last_checked_at, count, interval,
                        response_time, response_time_min, response_time_max, response_time_sum,
                        status_code, error)
    SELECT endpoint_id, status, checked_at, checked_at, 1, interval,
           response_ms, response_ms, response_ms, response_ms, status_code, error
      FROM ok
     WHERE NOT ok.extend
 RETURNING id, endpoint_id
), state AS (
    UPDATE endpoint_state st
       SET status = ok.status,
           last_checked_at = ok.checked_at,
           open_check_id = coalesce(i.id, st.open_check_id)
      FROM ok
      LEFT JOIN inserted i ON i.endpoint_id = ok.endpoint_id
     WHERE st.endpoint_id = ok.endpoint_id
 RETURNING st.endpoint_id
)
SELECT (SELECT count(*) FROM inserted)::int AS inserted,
       (SELECT count(*) FROM updated)::int AS updated
"""

# Step 5: on SIGTERM, claims whose probes did not finish are due again at once
# (another replica takes them now), but only where the claim is still ours.
HAND_BACK = """
UPDATE endpoint_state s
   SET next_check_at = now(), claim_token = NULL, claimed_by = NULL
  FROM unnest(%(endpoint_ids)s::bigint[], %(tokens)s::bigint[]) AS h (endpoint_id, token)
 WHERE s.endpoint_id = h.endpoint_id AND s.claim_token = h.token
"""

LISTEN_CHANGES = "LISTEN endpoint_changes"
PING = "SELECT 1"

# Step 6: one replica at a time (a session advisory lock); history is deleted in
# small batches, each its own short transaction. A row that is still some
# endpoint's open row is kept even when old: it only can be, if the endpoint has
# not been checked since (inactive), and it carries its last known status.
# Both timestamps are compared so that the first_checked_at index is used.
# A row goes only once the days it covers are rolled up into uptime_daily (the
# job runs ROLLUP_DAYS first; this guard makes sure of it even if that
# failed): its first day and the day its coverage ends, the days between are
# rolled up with them (rollups are contiguous). Days older than the rollup
# horizon (400 days) are never rolled up and need no guard.
RETENTION_TRY_LOCK = "SELECT pg_try_advisory_lock(%(key)s::bigint) AS locked"
RETENTION_UNLOCK = "SELECT pg_advisory_unlock(%(key)s::bigint) AS unlocked"
RETENTION_DELETE_BATCH = """
DELETE FROM checks
 WHERE id IN (
    SELECT c.id
      FROM checks c
      CROSS JOIN (SELECT rollup_horizon() AS horizon) h
     WHERE c.first_checked_at < %(cutoff)s::timestamptz
       AND c.last_checked_at < %(cutoff)s::timestamptz
       AND NOT EXISTS (SELECT 1 FROM endpoint_state s WHERE s.open_check_id = c.id)
       AND ((c.first_checked_at AT TIME ZONE 'UTC')::date < h.horizon
            OR EXISTS (SELECT 1 FROM uptime_daily u
                        WHERE u.endpoint_id = c.endpoint_id
                          AND u.day = (c.first_checked_at AT TIME ZONE 'UTC')::date))
       AND (((c.last_checked_at + c.interval * interval '1 second') AT TIME ZONE 'UTC')::date
                < h.horizon
            OR EXISTS (SELECT 1 FROM uptime_daily u
                        WHERE u.endpoint_id = c.endpoint_id
                          AND u.day = ((c.last_checked_at + c.interval * interval '1 second')
                                       AT TIME ZONE 'UTC')::date))
     LIMIT %(batch)s::int
       FOR UPDATE OF c SKIP LOCKED)
"""

# The rollup (hourly, and before retention deletes anything): stores every
# missing or stale closed day (missing_uptime_days, migrations/0010: the same
# figures the API computes on the fly for days not stored yet) of up to
# ``batch`` endpoints with ids above ``after_id`` (all endpoints, active or
# not); returns the last endpoint id handled (NULL when there was none: done)
# and the number of day rows written.
ROLLUP_DAYS = """
WITH eps AS (
    SELECT e.id
      FROM endpoints e
     WHERE e.id > %(after_id)s::bigint
     ORDER BY e.id
     LIMIT %(batch)s::int
), filled AS (
    -- in key order, so that two racing rollups never deadlock; the loser's rows
    -- are simply skipped (both computed the same figures from the same runs);
    -- a stale day is computed again
    INSERT INTO uptime_daily (endpoint_id, day, available_seconds, covered_seconds)
    SELECT f.endpoint_id, f.day, f.available_seconds, f.covered_seconds
      FROM (SELECT array_agg(eps.id) AS ids FROM eps) a
     CROSS JOIN LATERAL missing_uptime_days(a.ids) f
     ORDER BY f.endpoint_id, f.day
        ON CONFLICT (endpoint_id, day) DO UPDATE
       SET available_seconds = excluded.available_seconds,
           covered_seconds = excluded.covered_seconds, stale = false
     WHERE uptime_daily.stale
 RETURNING 1
)
SELECT (SELECT max(eps.id) FROM eps) AS last_id,
       (SELECT count(*) FROM filled)::int AS written
"""

# The audit log (issue 12) is kept for AUDIT_RETENTION_DAYS, deleted in batches too.
AUDIT_RETENTION_DELETE_BATCH = (
    "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log"
    " WHERE at < %(cutoff)s::timestamptz ORDER BY at LIMIT %(batch)s::int)"
)
