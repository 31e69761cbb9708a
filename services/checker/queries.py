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
#
# `options`: the kind-specific probe settings (headers, body, TLS, DNS; issue 11,
# migrations/0013) as one object, decoded into probe.Options.
CLAIM_DUE = """
WITH due AS (
    SELECT s.endpoint_id, s.next_check_at AS due_at,
           -- alerting: while the latest result disagrees with the confirmed
           -- status, the slots are retry_interval apart (never closer than the
           -- timeout: the lease must outlast the probe).
           CASE WHEN s.last_status IS DISTINCT FROM s.status AND e.retry_interval IS NOT NULL
                THEN greatest(e.retry_interval, e.timeout) ELSE e.interval END AS step
      FROM endpoint_state s
      JOIN endpoints e ON e.id = s.endpoint_id
     WHERE s.next_check_at <= now() AND e.active
     ORDER BY s.next_check_at
     LIMIT %(limit)s::int
       FOR UPDATE OF s SKIP LOCKED
), claimed AS (
    UPDATE endpoint_state s
       SET next_check_at = due.due_at + make_interval(secs => due.step
               * (floor(extract(epoch FROM now() - due.due_at) / due.step) + 1)),
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
           s.next_check_at,
           jsonb_build_object('headers', e.headers, 'body', e.body,
                              'body_content_type', e.body_content_type,
                              'follow_redirects', e.follow_redirects,
                              'verify_tls', e.verify_tls, 'cert_expiry_days', e.cert_expiry_days,
                              'dns_record_type', e.dns_record_type,
                              'dns_server', e.dns_server,
                              'dns_expected', e.dns_expected) AS options
), later AS (
    SELECT s.next_check_at
      FROM endpoint_state s
     WHERE s.endpoint_id NOT IN (SELECT endpoint_id FROM due)
     ORDER BY s.next_check_at
     LIMIT 1
)
SELECT c.endpoint_id, c.claim_token AS token, c.url, c.method, c.timeout, c.expected_status,
       c.degraded_threshold_ms, c.keyword, c.interval, c.due_at, c.endpoint_name, c.page_name,
       NULL::float8 AS next_due, NULL::float8 AS db_now,
       c.options
  FROM claimed c
UNION ALL
SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       extract(epoch FROM least((SELECT min(next_check_at) FROM claimed),
                                (SELECT next_check_at FROM later)))::float8,
       extract(epoch FROM clock_timestamp())::float8,
       NULL
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
#
# Alerting (issue 8), decided on the same locked state rows, in the same
# statement: see the CTEs marked "alerting" below (judged, transitions,
# reminders, new_events, new_deliveries, notified). They are kept apart from
# the history CTEs so that other changes to this statement rebase cleanly.
# cert_expires_at (issue 11): the certificate's expiry seen by the run's last
# check, carried like status_code and error.
RECORD_RESULTS = """
WITH r AS (
    SELECT *
      FROM unnest(%(endpoint_ids)s::bigint[], %(tokens)s::bigint[], %(statuses)s::text[],
                  %(checked_at)s::float8[], %(response_ms)s::int[], %(status_codes)s::int[],
                  %(errors)s::text[], %(intervals)s::int[], %(cert_expires_at)s::float8[])
           AS r (endpoint_id, token, status, checked_epoch, response_ms, status_code, error,
                 interval, cert_epoch)
), s AS (
    SELECT st.endpoint_id, st.claim_token, st.status, st.open_check_id, st.last_checked_at,
           st.last_status, st.streak, st.status_since
      FROM endpoint_state st
     WHERE st.endpoint_id = ANY (%(endpoint_ids)s::bigint[])
     ORDER BY st.endpoint_id
       FOR UPDATE
), ok AS (
    SELECT r.endpoint_id, r.status, to_timestamp(r.checked_epoch) AS checked_at,
           r.response_ms, r.status_code, r.error, r.interval, s.open_check_id,
           to_timestamp(r.cert_epoch) AS cert_expires_at,
           (c.id IS NOT NULL AND c.status = r.status
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
           error = ok.error,
           cert_expires_at = ok.cert_expires_at
      FROM ok
     WHERE ok.extend AND c.id = ok.open_check_id
 RETURNING c.id
), inserted AS (
    INSERT INTO checks (endpoint_id, status, first_checked_at, last_checked_at, count, interval,
                        response_time, response_time_min, response_time_max, response_time_sum,
                        status_code, error, cert_expires_at)
    SELECT endpoint_id, status, checked_at, checked_at, 1, interval,
           response_ms, response_ms, response_ms, response_ms, status_code, error,
           cert_expires_at
      FROM ok
     WHERE NOT ok.extend
 RETURNING id, endpoint_id
),
-- alerting: the confirmed status. A result extends the streak of equal latest
-- results (or starts one); the confirmed status becomes the result's status once
-- the streak reaches failure_threshold (a worse status: up < degraded < down) or
-- success_threshold (a better one). The first result of an endpoint is
-- confirmed at once. `was` is the confirmed status before this result.
-- Maintenance (migrations/0014): `quiet` when the confirmed status changes at a
-- moment inside a window affecting the endpoint (looked up only then): the
-- event is recorded suppressed, and told_status keeps what subscribers knew.
judged AS (
    SELECT ok.endpoint_id, ok.status, ok.checked_at, ok.response_ms, ok.status_code, ok.error,
           e.page_id, e.retry_interval, e.timeout, s.status AS was, s.last_checked_at AS prev_at,
           s.status_since, r.token = s.claim_token AS current_claim, k.streak, ok.interval,
           s.last_status IS DISTINCT FROM s.status AS retrying, c.confirmed, q.quiet
      FROM ok
      JOIN s ON s.endpoint_id = ok.endpoint_id
      JOIN r ON r.endpoint_id = ok.endpoint_id
      JOIN endpoints e ON e.id = ok.endpoint_id
     CROSS JOIN LATERAL (SELECT CASE WHEN ok.status = s.last_status THEN s.streak + 1 ELSE 1 END
                                AS streak) k
     CROSS JOIN LATERAL (
        SELECT CASE WHEN s.status IS NULL OR ok.status = s.status THEN ok.status
                    WHEN k.streak >= CASE WHEN array_position('{up,degraded,down}'::text[],
                                                              ok.status)
                                               > array_position('{up,degraded,down}'::text[],
                                                                s.status)
                                          THEN e.failure_threshold ELSE e.success_threshold END
                    THEN ok.status
                    ELSE s.status END AS confirmed) c
     CROSS JOIN LATERAL (
        SELECT CASE WHEN c.confirmed IS DISTINCT FROM s.status
                    THEN EXISTS (SELECT 1 FROM maintenance_spans(
                                     ok.endpoint_id, e.page_id, ok.checked_at,
                                     ok.checked_at + interval '1 microsecond'))
                    ELSE false END AS quiet) q
), state AS (
    UPDATE endpoint_state st
       SET status = j.confirmed,
           last_status = j.status,
           streak = j.streak,
           status_since = CASE WHEN j.confirmed IS DISTINCT FROM j.was THEN j.checked_at
                               ELSE st.status_since END,
           told_status = CASE WHEN j.confirmed IS DISTINCT FROM j.was AND NOT j.quiet
                              THEN j.confirmed ELSE st.told_status END,
           -- alerting: while the latest result disagrees with the confirmed
           -- status, the next probe comes retry_interval after this one; once
           -- they agree again, an interval after it (the claim was a retry's).
           next_check_at = CASE WHEN j.retry_interval IS NULL OR NOT j.current_claim
                                THEN st.next_check_at
                                WHEN j.status <> j.confirmed
                                THEN least(st.next_check_at,
                                           j.checked_at + make_interval(secs => j.retry_interval))
                                WHEN j.retrying
                                THEN greatest(st.next_check_at,
                                              j.checked_at + make_interval(secs => j.interval))
                                ELSE st.next_check_at END,
           last_checked_at = j.checked_at,
           open_check_id = coalesce(i.id, st.open_check_id)
      FROM judged j
      LEFT JOIN inserted i ON i.endpoint_id = j.endpoint_id
     WHERE st.endpoint_id = j.endpoint_id
 RETURNING st.endpoint_id
),
-- alerting: a change of the confirmed status is an event, but a new endpoint's
-- first status only when it is not up.
transitions AS (
    SELECT j.* FROM judged j
     WHERE j.confirmed IS DISTINCT FROM j.was AND (j.was IS NOT NULL OR j.confirmed <> 'up')
),
-- alerting: while confirmed down, a reminder for each rule with a
-- reminder_interval each time a multiple of it since status_since is crossed
-- between the previous result and this one (once: the state row is locked);
-- inside a maintenance window, suppressed.
reminders AS (
    SELECT j.endpoint_id, j.page_id, j.checked_at, j.status_code, j.response_ms, j.error,
           ar.id AS rule_id,
           EXISTS (SELECT 1 FROM maintenance_spans(j.endpoint_id, j.page_id, j.checked_at,
                                                   j.checked_at + interval '1 microsecond'))
               AS quiet
      FROM judged j
     CROSS JOIN LATERAL (
        SELECT a.id, a.reminder_interval FROM alert_rules a
         WHERE a.endpoint_id = j.endpoint_id AND a.reminder_interval IS NOT NULL
           AND 'reminder' = ANY (a.notify_on)
        UNION ALL
        SELECT a.id, a.reminder_interval FROM alert_rules a
         WHERE a.page_id = j.page_id AND a.reminder_interval IS NOT NULL
           AND 'reminder' = ANY (a.notify_on)) ar
     WHERE j.was = 'down' AND j.confirmed = 'down' AND j.status_since IS NOT NULL
       AND floor(extract(epoch FROM j.checked_at - j.status_since) / ar.reminder_interval)
           > floor(extract(epoch FROM j.prev_at - j.status_since) / ar.reminder_interval)
), new_events AS (
    INSERT INTO events (type, page_id, endpoint_id, rule_id, from_status, to_status, occurred_at,
                        status_code, response_time, error, suppressed)
    SELECT 'endpoint.' || t.confirmed, t.page_id, t.endpoint_id, NULL::bigint, t.was, t.confirmed,
           t.checked_at, t.status_code, t.response_ms, t.error, t.quiet
      FROM transitions t
    UNION ALL
    SELECT 'endpoint.reminder', m.page_id, m.endpoint_id, m.rule_id, 'down', 'down', m.checked_at,
           m.status_code, m.response_ms, m.error, m.quiet
      FROM reminders m
 RETURNING id, page_id, endpoint_id, rule_id, to_status, suppressed
),
-- alerting: each event x the active channels of the rules that want it
-- (alert_channels, migrations/0014; a reminder: its rule's channel only) is a
-- delivery, due now; a suppressed event is none.
new_deliveries AS (
    INSERT INTO deliveries (event_id, channel_id)
    SELECT DISTINCT ev.id, w.channel_id
      FROM new_events ev
     CROSS JOIN LATERAL alert_channels(ev.page_id, ev.endpoint_id, ev.rule_id, ev.to_status) w
     WHERE NOT ev.suppressed
    ON CONFLICT DO NOTHING
 RETURNING id
), notified AS (
    SELECT pg_notify('deliveries', '') FROM (SELECT 1 FROM new_deliveries LIMIT 1) x
)
SELECT (SELECT count(*) FROM inserted)::int AS inserted,
       (SELECT count(*) FROM updated)::int AS updated,
       (SELECT count(*) FROM new_events)::int AS events,
       (SELECT count(*) FROM notified)::int AS notified
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

# -- alerting: the delivery loop (services/checker/notify.py) ---------------------

LISTEN_DELIVERIES = "LISTEN deliveries"
# A maintenance window was written (migrations/0017): the maintenance pass is due now.
LISTEN_MAINTENANCES = "LISTEN maintenances"

# Claim up to K due deliveries (skipping rows another replica is claiming) of
# active channels (a channel test goes out even to an inactive one): count the
# attempt, move next_attempt_at forward by the lease (the moved due time is the
# lease, as for endpoints: a replica that dies mid-attempt leaves the row due
# again when it runs out) and return everything the message needs, in one
# round trip. One extra row (all NULL but next_due and pending) carries the
# earliest due time of the pending rows not claimed now, and how many are pending.
CLAIM_DELIVERIES = """
WITH due AS (
    SELECT d.id
      FROM deliveries d
      JOIN channels ch ON ch.id = d.channel_id
     WHERE d.state = 'pending' AND d.next_attempt_at <= now()
       AND (ch.active
            OR EXISTS (SELECT 1 FROM events t WHERE t.id = d.event_id AND t.type = 'test'))
     ORDER BY d.next_attempt_at
     LIMIT %(limit)s::int
       FOR UPDATE OF d SKIP LOCKED
), claimed AS (
    UPDATE deliveries d
       SET attempts = d.attempts + 1,
           next_attempt_at = now() + make_interval(secs => %(lease)s::int),
           claimed_by = %(claimer)s::text,
           last_attempt_at = now()
      FROM due
     WHERE d.id = due.id
 RETURNING d.id, d.event_id, d.channel_id, d.attempts
)
SELECT c.id AS delivery_id, c.attempts, ev.id AS event_id, ev.type,
       extract(epoch FROM ev.occurred_at)::float8 AS occurred_at,
       ev.from_status, ev.to_status, ev.status_code, ev.response_time, ev.error,
       ch.id AS channel_id, ch.name AS channel_name, ch.type AS channel_type,
       ch.url AS channel_url, ch.secret AS channel_secret,
       p.id AS page_id, p.slug AS page_slug, p.name AS page_name,
       e.id AS endpoint_id, e.name AS endpoint_name, e.url AS endpoint_url,
       ev.maintenance_id, ev.maintenance_title,
       extract(epoch FROM ev.window_starts_at)::float8 AS window_starts_at,
       extract(epoch FROM ev.window_ends_at)::float8 AS window_ends_at,
       NULL::float8 AS next_due, NULL::bigint AS pending
  FROM claimed c
  JOIN events ev ON ev.id = c.event_id
  JOIN channels ch ON ch.id = c.channel_id
  LEFT JOIN endpoints e ON e.id = ev.endpoint_id
  LEFT JOIN pages p ON p.id = ev.page_id
UNION ALL
SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       (SELECT extract(epoch FROM min(d.next_attempt_at))::float8 FROM deliveries d
         WHERE d.state = 'pending' AND d.id NOT IN (SELECT id FROM due)),
       (SELECT count(*) FROM deliveries d WHERE d.state = 'pending')
"""

# Acknowledge a batch of attempts in one round trip: delivered (accepted from
# any attempt of a pending row: it did arrive), or, fenced by the attempt
# number (a newer claim owns the row), rescheduled 1 s, 2 s, 4 s … (at most
# 300 s) after the attempt, never past the give-up time, which is the last
# attempt; an attempt at or after it fails the delivery. A channel test is
# attempted once. Times are the database's (acknowledgements follow the
# attempts within a fraction of a second), so a replica's clock does not matter.
ACK_DELIVERIES = """
WITH a AS (
    SELECT *
      FROM unnest(%(ids)s::bigint[], %(attempts)s::int[], %(delivered)s::bool[],
                  %(errors)s::text[])
           AS a (id, attempt, delivered, error)
), done AS (
    UPDATE deliveries d
       SET state = CASE WHEN a.delivered THEN 'delivered'
                        WHEN ev.type = 'test'
                             OR now() >= ev.occurred_at + make_interval(secs => %(give_up)s::int)
                        THEN 'failed'
                        ELSE 'pending' END,
           delivered_at = CASE WHEN a.delivered THEN now() END,
           last_error = CASE WHEN a.delivered THEN d.last_error ELSE a.error END,
           next_attempt_at = CASE WHEN a.delivered THEN d.next_attempt_at
                                  ELSE least(now() + make_interval(secs => least(
                                                   power(2, least(a.attempt - 1, 9)), 300)),
                                             ev.occurred_at
                                             + make_interval(secs => %(give_up)s::int))
                                  END,
           claimed_by = NULL
      FROM a, events ev
     WHERE d.id = a.id AND ev.id = d.event_id AND d.state = 'pending'
       AND (a.delivered OR d.attempts = a.attempt)
 RETURNING d.id, d.state,
           extract(epoch FROM d.delivered_at - ev.occurred_at)::float8 AS latency
)
SELECT id, state, latency FROM done
"""

# On SIGTERM: attempts cut short are due again at once, where the claim is still ours.
HAND_BACK_DELIVERIES = """
UPDATE deliveries d
   SET next_attempt_at = now(), claimed_by = NULL
  FROM unnest(%(ids)s::bigint[], %(attempts)s::int[]) AS h (id, attempt)
 WHERE d.id = h.id AND d.attempts = h.attempt AND d.state = 'pending'
"""

# Retention: events (and with them their deliveries) older than the cutoff, in
# small batches; an event with a delivery still pending is kept.
RETENTION_DELETE_EVENTS = """
DELETE FROM events
 WHERE id IN (
    SELECT ev.id FROM events ev
     WHERE ev.occurred_at < %(cutoff)s::timestamptz
       AND NOT EXISTS (SELECT 1 FROM deliveries d
                        WHERE d.event_id = ev.id AND d.state = 'pending')
     LIMIT %(batch)s::int
       FOR UPDATE OF ev SKIP LOCKED)
"""

# -- maintenance and alerts (services/checker/notify_maintenance.py, migrations/0014) --

# The starts and ends of maintenance occurrences that have come and were not
# announced yet, up to K occurrences (skipping those another replica is
# announcing): each becomes one maintenance.started / maintenance.ended event
# (at the boundary's time), delivered to the active channels of the rules that
# want "maintenance" on the window's page or on an endpoint it affects
# (maintenance_channels, migrations/0015), and is marked told, in one
# transaction: announced once, whichever replica runs it.
# One extra row (all NULL but next_at) carries the next boundary to come.
MAINTENANCE_BOUNDARIES = """
WITH due AS (
    SELECT o.maintenance_id, o.starts_at, o.ends_at, o.page_id,
           NOT o.started_told AND o.starts_at <= now() AS starting,
           NOT o.ended_told AND o.ends_at <= now() AS ending
      FROM maintenance_occurrences o
     WHERE (NOT o.started_told AND o.starts_at <= now())
        OR (NOT o.ended_told AND o.ends_at <= now())
     ORDER BY o.starts_at
     LIMIT %(limit)s::int
       FOR UPDATE OF o SKIP LOCKED
), marked AS (
    UPDATE maintenance_occurrences o
       SET started_told = o.started_told OR d.starting, ended_told = o.ended_told OR d.ending
      FROM due d
     WHERE o.maintenance_id = d.maintenance_id AND o.starts_at = d.starts_at
), boundaries AS (
    SELECT d.maintenance_id, d.page_id, d.starts_at, d.ends_at, m.title, b.type, b.at
      FROM due d
      JOIN maintenances m ON m.id = d.maintenance_id
     CROSS JOIN LATERAL (VALUES ('maintenance.started', d.starts_at, d.starting),
                                ('maintenance.ended', d.ends_at, d.ending)) b (type, at, happened)
     WHERE b.happened
), new_events AS (
    INSERT INTO events (type, page_id, maintenance_id, maintenance_title, window_starts_at,
                        window_ends_at, occurred_at)
    SELECT b.type, b.page_id, b.maintenance_id, b.title, b.starts_at, b.ends_at, b.at
      FROM boundaries b
     ORDER BY b.at, b.type DESC
 RETURNING id, page_id, maintenance_id
), new_deliveries AS (
    INSERT INTO deliveries (event_id, channel_id)
    SELECT ev.id, w.channel_id
      FROM new_events ev
     CROSS JOIN LATERAL maintenance_channels(ev.maintenance_id) w
    ON CONFLICT DO NOTHING
 RETURNING id
), notified AS (
    SELECT pg_notify('deliveries', '') FROM (SELECT 1 FROM new_deliveries LIMIT 1) x
)
SELECT (SELECT count(*) FROM due)::int AS occurrences,
       (SELECT count(*) FROM new_events)::int AS events,
       (SELECT count(*) FROM notified)::int AS notified,
       extract(epoch FROM least(
           (SELECT min(o.starts_at) FROM maintenance_occurrences o
             WHERE NOT o.started_told AND o.starts_at > now()),
           (SELECT min(o.ends_at) FROM maintenance_occurrences o
             WHERE NOT o.ended_told AND o.ends_at > now())))::float8 AS next_at
"""

# The changes windows hid: endpoints (up to K, skipping rows RECORD_RESULTS or
# another replica holds) whose confirmed status differs from the one
# subscribers were last told of (told_status; migrations/0014) while no window
# affects them now. Each gets one event from told_status to its status, with its
# latest result's details, delivered as RECORD_RESULTS delivers (alert_channels),
# and told_status catches up, in one transaction. An endpoint that went down
# and came back inside a window differs from nothing: no event.
TELL_HIDDEN_CHANGES = """
WITH untold AS (
    SELECT st.endpoint_id, st.status, st.told_status, st.open_check_id, e.page_id
      FROM endpoint_state st
      JOIN endpoints e ON e.id = st.endpoint_id
     WHERE st.status <> coalesce(st.told_status, 'up')
       AND NOT EXISTS (SELECT 1 FROM maintenance_spans(st.endpoint_id, e.page_id, now(),
                                                       now() + interval '1 microsecond'))
     ORDER BY st.endpoint_id
     LIMIT %(limit)s::int
       FOR UPDATE OF st SKIP LOCKED
), told AS (
    UPDATE endpoint_state st
       SET told_status = u.status
      FROM untold u
     WHERE st.endpoint_id = u.endpoint_id
), new_events AS (
    INSERT INTO events (type, page_id, endpoint_id, from_status, to_status, occurred_at,
                        status_code, response_time, error)
    SELECT 'endpoint.' || u.status, u.page_id, u.endpoint_id, u.told_status, u.status, now(),
           c.status_code, c.response_time, c.error
      FROM untold u
      LEFT JOIN checks c ON c.id = u.open_check_id
     ORDER BY u.endpoint_id
 RETURNING id, page_id, endpoint_id, to_status
), new_deliveries AS (
    INSERT INTO deliveries (event_id, channel_id)
    SELECT DISTINCT ev.id, w.channel_id
      FROM new_events ev
     CROSS JOIN LATERAL alert_channels(ev.page_id, ev.endpoint_id, NULL, ev.to_status) w
    ON CONFLICT DO NOTHING
 RETURNING id
), notified AS (
    SELECT pg_notify('deliveries', '') FROM (SELECT 1 FROM new_deliveries LIMIT 1) x
)
SELECT (SELECT count(*) FROM new_events)::int AS events,
       (SELECT count(*) FROM notified)::int AS notified
"""
