"""Every SQL statement the API runs, by name.

Parameters are named (``%(slug)s``) and cast where PostgreSQL could not infer
their type, so that each statement PREPAREs on its own (tests/test_statements.py).

Uptime is time-weighted (services/api/README.md, "Uptime"): a history row covers
``[first_checked_at, last_checked_at + interval)``, clipped to the window, to
now() and to the start of the endpoint's next row; up and degraded time count
as available, uncovered time counts neither way.
"""

from __future__ import annotations

from typing import LiteralString

READY = "SELECT 1 AS ok"

# -- pages -------------------------------------------------------------------

_PAGE_COLUMNS = "id, slug, name, created_at"

LIST_PAGES = "SELECT " + _PAGE_COLUMNS + " FROM pages ORDER BY id"

GET_PAGE = "SELECT " + _PAGE_COLUMNS + " FROM pages WHERE slug = %(slug)s::text"

INSERT_PAGE = (
    "INSERT INTO pages (slug, name) VALUES (%(slug)s::text, %(name)s::text)"
    " RETURNING " + _PAGE_COLUMNS
)

# PATCH: one UPDATE sets the fields it was sent (%(patch)s, a JSON object) and
# keeps the others: jsonb_populate_record(row, patch) is the row with the sent
# keys replaced, read from the row being updated, so when a concurrent PATCH
# changed it first the statement re-reads that newer version and keeps its
# change. The CHECK constraints validate the merged row; nothing is written on a
# refusal. A new patchable column is one more name in its _*_PATCHABLE list.
# The page is found by its slug as the statement began, so a rename and a
# concurrent slug change both stick.
_PAGE_PATCHABLE = "slug, name"

UPDATE_PAGE = (
    "UPDATE pages p SET ("
    + _PAGE_PATCHABLE
    + ") = (SELECT "
    + _PAGE_PATCHABLE
    + " FROM jsonb_populate_record(p, %(patch)s::jsonb))"
    " WHERE p.id = (SELECT id FROM pages WHERE slug = %(slug)s::text)"
    " RETURNING " + _PAGE_COLUMNS
)

DELETE_PAGE = "DELETE FROM pages WHERE slug = %(slug)s::text RETURNING id"

# -- endpoints -----------------------------------------------------------------

# Whether endpoint ``e`` is in a maintenance window now (migrations/0009).
_IN_MAINTENANCE = (
    "EXISTS (SELECT 1 FROM maintenance_spans(e.id, e.page_id, now(),"
    " now() + interval '1 microsecond')) AS in_maintenance"
)

_ENDPOINT_COLUMNS = (
    "e.id, e.page_id, e.name, e.url, e.method, e.interval, e.timeout, e.expected_status,"
    " e.degraded_threshold_ms, e.keyword, e.failure_threshold, e.success_threshold,"
    " e.retry_interval, e.active, e.created_at,"
    # the probe settings of each kind (migrations/0013)
    " e.headers, e.body, e.body_content_type, e.follow_redirects, e.verify_tls,"
    " e.cert_expiry_days, e.dns_record_type, e.dns_server, e.dns_expected"
)

GET_ENDPOINT = (
    "SELECT " + _ENDPOINT_COLUMNS + ", coalesce(s.status, (SELECT c.status FROM checks c"
    " WHERE c.endpoint_id = e.id ORDER BY c.first_checked_at DESC, c.id DESC LIMIT 1)) AS status,"
    " " + _IN_MAINTENANCE + " FROM endpoints e LEFT JOIN endpoint_state s ON s.endpoint_id = e.id"
    " WHERE e.id = %(id)s::bigint"
)

INSERT_ENDPOINT = (
    "INSERT INTO endpoints AS e (page_id, name, url, method, interval, timeout,"
    " expected_status, degraded_threshold_ms, keyword, failure_threshold, success_threshold,"
    " retry_interval, active,"
    " headers, body, body_content_type, follow_redirects, verify_tls, cert_expiry_days,"
    " dns_record_type, dns_server, dns_expected)"
    " VALUES (%(page_id)s::bigint, %(name)s::text, %(url)s::text, %(method)s::text,"
    " %(interval)s::int, %(timeout)s::int, %(expected_status)s::text[],"
    " %(degraded_threshold_ms)s::int, %(keyword)s::text, %(failure_threshold)s::int,"
    " %(success_threshold)s::int, %(retry_interval)s::int, %(active)s::bool,"
    " %(headers)s::jsonb, %(body)s::text, %(body_content_type)s::text,"
    " %(follow_redirects)s::bool, %(verify_tls)s::bool, %(cert_expiry_days)s::int,"
    " %(dns_record_type)s::text, %(dns_server)s::text, %(dns_expected)s::text)"
    " RETURNING " + _ENDPOINT_COLUMNS + ", NULL::text AS status, " + _IN_MAINTENANCE
)

# PATCH: as UPDATE_PAGE (the sent fields over the locked row; CHECK constraints
# such as endpoints_timeout_range validate the merge).
_ENDPOINT_PATCHABLE = (
    "page_id, name, url, method, interval, timeout, expected_status, degraded_threshold_ms,"
    " keyword, failure_threshold, success_threshold, retry_interval, active,"
    # the probe settings of each kind (migrations/0013)
    " headers, body, body_content_type, follow_redirects, verify_tls, cert_expiry_days,"
    " dns_record_type, dns_server, dns_expected"
)

UPDATE_ENDPOINT = (
    "UPDATE endpoints AS e SET ("
    + _ENDPOINT_PATCHABLE
    + ") = (SELECT "
    + _ENDPOINT_PATCHABLE
    + " FROM jsonb_populate_record(e, %(patch)s::jsonb))"
    " WHERE e.id = %(id)s::bigint"
    " RETURNING " + _ENDPOINT_COLUMNS + ","
    " (SELECT s.status FROM endpoint_state s WHERE s.endpoint_id = e.id) AS status, "
    + _IN_MAINTENANCE
)

# Only after a refused PATCH: the merged values it would have written, for the message.
ENDPOINT_PATCHED = (
    "SELECT m.interval, m.timeout, m.retry_interval FROM endpoints e"
    " CROSS JOIN LATERAL jsonb_populate_record(e, %(patch)s::jsonb) m"
    " WHERE e.id = %(id)s::bigint"
)

DELETE_ENDPOINT = "DELETE FROM endpoints WHERE id = %(id)s::bigint RETURNING id"

# -- history -------------------------------------------------------------------

# The columns of models.Check (rows are mapped to it by name).
_CHECK_COLUMNS = (
    "c.id, c.endpoint_id, c.status, c.response_time, c.status_code, c.error,"
    " c.last_checked_at AS checked_at, c.first_checked_at, c.count,"
    " c.response_time_min, c.response_time_max,"
    " round(c.response_time_sum::numeric / c.count)::int AS response_time_avg,"
    " c.cert_expires_at"
)

# Runs of one endpoint never overlap, so newest-first by start is newest-first.
# No history: one row, its check columns null; no endpoint: no row.
ENDPOINT_HISTORY = (
    "SELECT e.id AS endpoint_found, c.* FROM endpoints e"
    " LEFT JOIN LATERAL (SELECT " + _CHECK_COLUMNS + " FROM checks c"
    " WHERE c.endpoint_id = e.id ORDER BY c.first_checked_at DESC, c.id DESC"
    " LIMIT %(limit)s::int) c ON true"
    " WHERE e.id = %(id)s::bigint"
    " ORDER BY c.first_checked_at DESC, c.id DESC"
)

# Runs whose last check falls in the window and before %(before)s (pass
# 'infinity' for none), newest first, at most %(rows)s of them. A run never spans
# two history buckets (at most a day), which bounds the index range scanned.
# No checks: one row, its check columns null; no page: no row.
PAGE_TIMELINE = (
    "SELECT p.id AS page_found, c.* FROM pages p"
    " LEFT JOIN LATERAL (SELECT " + _CHECK_COLUMNS + " FROM endpoints e"
    " JOIN checks c ON c.endpoint_id = e.id"
    " WHERE e.page_id = p.id AND e.active"
    " AND c.first_checked_at >= now() - make_interval(hours => %(hours)s::int) - interval '1 day'"
    " AND c.first_checked_at < %(before)s::timestamptz"
    " AND c.last_checked_at >= now() - make_interval(hours => %(hours)s::int)"
    " AND c.last_checked_at < %(before)s::timestamptz"
    " ORDER BY c.last_checked_at DESC, c.id DESC LIMIT %(rows)s::int) c ON true"
    " WHERE p.slug = %(slug)s::text"
    " ORDER BY c.checked_at DESC, c.id DESC"
)

# -- uptime --------------------------------------------------------------------


def _page_spans(lo: LiteralString, hi: LiteralString) -> LiteralString:
    """The CTE ``w``: the maintenance spans of page %(slug)s within [lo, hi).

    A statement over the page's endpoints reads them once this way
    (page_maintenance_spans, migrations/0016: one index range for the page, not
    one per endpoint and call). MATERIALIZED: computed once, whatever the number
    of endpoints that read it.
    """
    return (
        """w AS MATERIALIZED (
    SELECT w.endpoint_id, w.s_at, w.e_at
      FROM pages pw
     CROSS JOIN LATERAL page_maintenance_spans(pw.id, """
        + lo
        + ", "
        + hi
        + """) w
     WHERE pw.slug = %(slug)s::text
)"""
    )


# [now - 24 h, now + 1 us): the 24 h windows and "in maintenance now" of every endpoint.
_PAGE_SPANS = (
    "\nWITH "
    + _page_spans("now() - interval '24 hours'", "now() + interval '1 microsecond'")
    + "\n"
)
# [now, now + 1 us) only, for a statement that needs no 24 h figure.
_PAGE_SPANS_NOW = "\nWITH " + _page_spans("now()", "now() + interval '1 microsecond'") + "\n"

# Whether endpoint ``e`` is in a window now, from the page's spans (as _IN_MAINTENANCE).
_PAGE_IN_MAINTENANCE = (
    "EXISTS (SELECT 1 FROM w WHERE (w.endpoint_id IS NULL OR w.endpoint_id = e.id)"
    " AND w.e_at > now() AND e.id IS NOT NULL) AS in_maintenance"
)

# Endpoint ``e``'s part of the page's spans: its windows within [now - 24 h, now)
# (as maintenance_spans(e, page, now - 24 h, now) clips them) and whether one
# covers now (as _IN_MAINTENANCE).
_PAGE_SPANS_LATERAL = """
    LEFT JOIN LATERAL (
        SELECT coalesce(range_agg(tstzrange(w.s_at, least(w.e_at, now())))
                            FILTER (WHERE w.s_at < now()),
                        '{}'::tstzmultirange) AS windows_24h,
               coalesce(bool_or(w.e_at > now()), false) AS in_maintenance
          FROM w
         WHERE (w.endpoint_id IS NULL OR w.endpoint_id = e.id) AND e.id IS NOT NULL
    ) mw ON true
"""

# The 24 h coverage of endpoint ``e`` (after _PAGE_SPANS_LATERAL): its runs
# covering [now - 24 h, now) as the uptime rule clips them, cut by the page's
# windows (covered_runs_outside, migrations/0005 and 0016; inlined, so two
# index probes of checks_endpoint_first per endpoint).
_PAGE_UPTIME_24H_LATERAL = """
    LEFT JOIN LATERAL (
        SELECT extract(epoch FROM sum(r.e_at - r.s_at) FILTER (WHERE r.status <> 'down'))
                   AS available,
               extract(epoch FROM sum(r.e_at - r.s_at)) AS covered,
               count(*) AS runs
          FROM covered_runs_outside(e.id, now() - interval '24 hours', now(), mw.windows_24h) r
    ) u ON true
"""

# GET /api/pages/{slug}: the page, its active endpoints, each one's newest run
# and live 24 h uptime, in one statement whatever the number of endpoints.
# A page without active endpoints comes back as one row with endpoint columns null.
PAGE_STATUS: LiteralString = (
    _PAGE_SPANS
    + """
SELECT p.id AS p_id, p.slug AS page_slug, p.name AS page_name,
       p.created_at AS page_created_at,
       """
    + _ENDPOINT_COLUMNS
    + """, s.status, mw.in_maintenance,
       l.id AS l_id, l.status AS l_status, l.response_time AS l_response_time,
       l.status_code AS l_status_code, l.error AS l_error,
       l.last_checked_at AS l_checked_at, l.first_checked_at AS l_first_checked_at,
       l.count AS l_count, l.response_time_min AS l_response_time_min,
       l.response_time_max AS l_response_time_max,
       round(l.response_time_sum::numeric / l.count)::int AS l_response_time_avg,
       l.cert_expires_at AS l_cert_expires_at,
       round(100 * coalesce(u.available, 0) / nullif(u.covered, 0), 2) AS uptime_24h
  FROM pages p
  LEFT JOIN endpoints e ON e.page_id = p.id AND e.active
  LEFT JOIN endpoint_state s ON s.endpoint_id = e.id
  LEFT JOIN LATERAL (SELECT * FROM checks c WHERE c.endpoint_id = e.id
                      ORDER BY c.first_checked_at DESC, c.id DESC LIMIT 1) l ON true
"""
    + _PAGE_SPANS_LATERAL
    + _PAGE_UPTIME_24H_LATERAL
    + """
 WHERE p.slug = %(slug)s::text
 ORDER BY e.id
"""
)

# The 7/30/90-day figures of a page's active endpoints, in one statement that
# writes nothing: the daily rollups stored, plus the closed days not stored yet
# (or stale), computed on the fly by missing_uptime_days (migrations/0010, the
# same function the checker's rollup stores; once the hourly job has run,
# three index probes per endpoint find nothing missing).
# A window [now - W, now) is then: the daily figures of the closed days lying
# wholly inside it, plus the raw runs of its two edges, clipped as the uptime
# rule says: the partial first day [now - W, next midnight) and the tail not yet
# closed [end of last_closed_day(), now). Each edge reads its runs with
# covered_runs (migrations/0005; inlined, two probes of checks_endpoint_first).
# One row per active endpoint; a figure is null when nothing in its window is covered.
PAGE_LONG_UPTIMES: LiteralString = """
WITH eps AS (
    SELECT e.id AS endpoint_id
      FROM endpoints e
     WHERE e.page_id = %(page_id)s::bigint AND e.active
), fresh AS (
    SELECT m.endpoint_id, m.day, m.available_seconds, m.covered_seconds
      FROM (SELECT array_agg(eps.endpoint_id) AS ids FROM eps) a
     CROSS JOIN LATERAL missing_uptime_days(a.ids) m
), win AS (
    SELECT v.days, now() - make_interval(days => v.days) AS since,
           (((now() - make_interval(days => v.days)) AT TIME ZONE 'UTC')
             + interval '1 day' - interval '1 microsecond')::date AS first_day
      FROM (VALUES (7), (30), (90)) v (days)
), firsts AS (
    SELECT max(first_day) FILTER (WHERE days = 7) AS f7,
           max(first_day) FILTER (WHERE days = 30) AS f30,
           min(first_day) AS f90,
           last_closed_day() AS last_closed
      FROM win
), edges (seg, a, b) AS (
    SELECT w.days, w.since, w.first_day::timestamp AT TIME ZONE 'UTC' FROM win w
    UNION ALL
    SELECT 0, (f.last_closed + 1)::timestamp AT TIME ZONE 'UTC', now() FROM firsts f
), raw AS (
    SELECT eps.endpoint_id, g.seg, x.available, x.covered
      FROM eps
     CROSS JOIN edges g
     CROSS JOIN LATERAL (
        SELECT coalesce(date_part('epoch', sum(r.e_at - r.s_at)
                                           FILTER (WHERE r.status <> 'down')), 0) AS available,
               date_part('epoch', sum(r.e_at - r.s_at)) AS covered
          FROM covered_runs(eps.endpoint_id, g.a, g.b) r
     ) x
     WHERE x.covered IS NOT NULL
), daily AS (
    SELECT t.endpoint_id, t.day >= f.f7 AS in7, t.day >= f.f30 AS in30, true AS in90,
           t.available_seconds AS available, t.covered_seconds AS covered
      FROM ((SELECT u.endpoint_id, u.day, u.available_seconds, u.covered_seconds
               FROM eps
               JOIN uptime_daily u ON u.endpoint_id = eps.endpoint_id
              CROSS JOIN firsts f
              WHERE u.day >= f.f90 AND u.day <= f.last_closed AND NOT u.stale)
            UNION ALL
            (SELECT n.endpoint_id, n.day, n.available_seconds, n.covered_seconds
               FROM fresh n
              CROSS JOIN firsts f
              WHERE n.day >= f.f90)) t
     CROSS JOIN firsts f
), pieces AS (
    SELECT d.endpoint_id, d.in7, d.in30, d.in90, d.available, d.covered
      FROM daily d
    UNION ALL
    SELECT r.endpoint_id, r.seg IN (0, 7), r.seg IN (0, 30), r.seg IN (0, 90), r.available,
           r.covered
      FROM raw r
)
SELECT eps.endpoint_id,
       round((100 * sum(p.available) FILTER (WHERE p.in7)
              / nullif(sum(p.covered) FILTER (WHERE p.in7), 0))::numeric, 2) AS uptime_7d,
       round((100 * sum(p.available) FILTER (WHERE p.in30)
              / nullif(sum(p.covered) FILTER (WHERE p.in30), 0))::numeric, 2) AS uptime_30d,
       round((100 * sum(p.available) FILTER (WHERE p.in90)
              / nullif(sum(p.covered) FILTER (WHERE p.in90), 0))::numeric, 2) AS uptime_90d
  FROM eps
  LEFT JOIN pieces p ON p.endpoint_id = eps.endpoint_id
 GROUP BY eps.endpoint_id
"""

# GET /badge/{slug}: the page's name, how many active endpoints are in each
# state (the state row's, else the newest run's) outside maintenance, how many
# are down or degraded inside a window, and the page's 24 h uptime over all of
# them (time-weighted, summed).
BADGE: LiteralString = (
    _PAGE_SPANS
    + """
SELECT p.name,
       count(*) FILTER (WHERE st.status = 'down' AND NOT mw.in_maintenance) AS down,
       count(*) FILTER (WHERE st.status = 'degraded' AND NOT mw.in_maintenance) AS degraded,
       count(*) FILTER (WHERE st.status IN ('down', 'degraded') AND mw.in_maintenance)
           AS maintenance,
       count(*) FILTER (WHERE st.status = 'up') AS up,
       round(100 * coalesce(sum(u.available), 0) / nullif(sum(u.covered), 0), 2) AS uptime_24h
  FROM pages p
  LEFT JOIN endpoints e ON e.page_id = p.id AND e.active
  LEFT JOIN endpoint_state s ON s.endpoint_id = e.id
  LEFT JOIN LATERAL (SELECT coalesce(s.status, (SELECT c.status FROM checks c
                                                 WHERE c.endpoint_id = e.id
                                                 ORDER BY c.first_checked_at DESC, c.id DESC
                                                 LIMIT 1)) AS status) st ON true
"""
    + _PAGE_SPANS_LATERAL
    + _PAGE_UPTIME_24H_LATERAL
    + """
 WHERE p.slug = %(slug)s::text
 GROUP BY p.id
"""
)

# -- incidents -----------------------------------------------------------------

# An incident ``i`` with its affected endpoints and its timeline (newest first,
# as JSON with the camelCase keys of models.TimelineUpdate).
_INCIDENT_SELECT = """
SELECT i.id, i.page_id, i.title, i.description, i.status, i.impact, i.postmortem,
       i.created_at, i.updated_at, i.resolved_at,
       ARRAY(SELECT ie.endpoint_id FROM incident_endpoints ie
              WHERE ie.incident_id = i.id ORDER BY ie.endpoint_id) AS affected_endpoint_ids,
       coalesce((SELECT json_agg(json_build_object('id', u.id, 'status', u.status,
                                                   'message', u.message,
                                                   'createdAt', u.created_at)
                                 ORDER BY u.created_at DESC, u.id DESC)
                   FROM incident_updates u WHERE u.incident_id = i.id), '[]') AS updates
  FROM incidents i
"""

LIST_INCIDENTS: LiteralString = (
    _INCIDENT_SELECT
    + " WHERE i.page_id = %(page_id)s::bigint ORDER BY i.created_at DESC, i.id DESC"
)

GET_INCIDENT: LiteralString = _INCIDENT_SELECT + " WHERE i.id = %(id)s::bigint"

# The first of ``endpoint_ids`` that is not an endpoint of page ``page_id``
# (null when all are), for the incident and maintenance writes.
_FOREIGN_ENDPOINT = """
    SELECT min(x) AS endpoint_id
      FROM unnest(%(endpoint_ids)s::bigint[]) x
     WHERE NOT EXISTS (SELECT 1 FROM endpoints e
                        WHERE e.id = x AND e.page_id = %(page_id)s::bigint)
"""

# One statement: the incident, its first update (the description) and its
# endpoints, unless the page is unknown (page_found null) or an endpoint is
# not the page's (bad_endpoint, nothing written). Returns the new id.
INSERT_INCIDENT: LiteralString = (
    """
WITH page AS (
    SELECT id FROM pages WHERE id = %(page_id)s::bigint
), bad AS ("""
    + _FOREIGN_ENDPOINT
    + """
), inc AS (
    INSERT INTO incidents (page_id, title, description, status, impact, postmortem, resolved_at)
    SELECT page.id, %(title)s::text, %(description)s::text, %(status)s::text,
           %(impact)s::text, %(postmortem)s::text,
           CASE WHEN %(status)s::text = 'resolved' THEN now() END
      FROM page CROSS JOIN bad WHERE bad.endpoint_id IS NULL
    RETURNING id, status, created_at
), first AS (
    INSERT INTO incident_updates (incident_id, status, message, created_at)
    SELECT inc.id, inc.status, %(description)s::text, inc.created_at FROM inc
), affected AS (
    INSERT INTO incident_endpoints (incident_id, endpoint_id)
    SELECT DISTINCT inc.id, x FROM inc CROSS JOIN unnest(%(endpoint_ids)s::bigint[]) x
)
SELECT (SELECT id FROM page) AS page_found, (SELECT endpoint_id FROM bad) AS bad_endpoint,
       (SELECT id FROM inc) AS id
"""
)

# PATCH: one statement sets the columns it was sent (%(patch)s, as UPDATE_PAGE:
# jsonb_populate_record over the locked row, so concurrent PATCHes of different
# fields both stick) and, when sent, the affected endpoints; a status change
# adds a timeline entry (message null). resolved_at is kept while the incident
# stays resolved, set when it becomes resolved and cleared when it is reopened;
# updated_at always moves forward. Returns found (the incident exists),
# bad_endpoint (an endpoint not of its page: nothing written) and id (written).
_INCIDENT_PATCHABLE = "title, description, status, impact, postmortem"
# PATCH fields that are not columns of incidents (rows of incident_endpoints).
_INCIDENT_PATCH_RELATIONS = "affected_endpoint_ids"

UPDATE_INCIDENT: LiteralString = (
    """
WITH old AS (
    SELECT id, page_id, status FROM incidents WHERE id = %(id)s::bigint FOR UPDATE
), bad AS (
    SELECT min(x) AS endpoint_id
      FROM old CROSS JOIN unnest(%(endpoint_ids)s::bigint[]) x
     WHERE NOT EXISTS (SELECT 1 FROM endpoints e WHERE e.id = x AND e.page_id = old.page_id)
), upd AS (
    UPDATE incidents i
       SET ("""
    + _INCIDENT_PATCHABLE
    + """, updated_at, resolved_at) = (
           SELECT """
    + _INCIDENT_PATCHABLE
    + """, greatest(now(), i.updated_at + interval '1 microsecond'),
                  CASE WHEN m.status = 'resolved' THEN coalesce(i.resolved_at, now()) END
             FROM jsonb_populate_record(i, %(patch)s::jsonb) m)
      FROM old CROSS JOIN bad
     WHERE i.id = old.id AND bad.endpoint_id IS NULL
    RETURNING i.id, i.status, old.status AS old_status
), timeline AS (
    INSERT INTO incident_updates (incident_id, status, message)
    SELECT upd.id, upd.status, NULL FROM upd WHERE upd.status <> upd.old_status
), gone AS (
    DELETE FROM incident_endpoints ie USING upd
     WHERE %(set_endpoints)s::bool AND ie.incident_id = upd.id
       AND ie.endpoint_id <> ALL (%(endpoint_ids)s::bigint[])
), affected AS (
    INSERT INTO incident_endpoints (incident_id, endpoint_id)
    SELECT DISTINCT upd.id, x FROM upd CROSS JOIN unnest(%(endpoint_ids)s::bigint[]) x
     WHERE %(set_endpoints)s::bool
        ON CONFLICT DO NOTHING
)
SELECT (SELECT id FROM old) AS found, (SELECT endpoint_id FROM bad) AS bad_endpoint,
       (SELECT id FROM upd) AS id
"""
)

DELETE_INCIDENT = "DELETE FROM incidents WHERE id = %(id)s::bigint RETURNING id"

# POST /api/incidents/{id}/updates: the incident takes the update's status (or
# keeps its own) in the same statement; resolved_at as in UPDATE_INCIDENT.
INSERT_INCIDENT_UPDATE = """
WITH inc AS (
    UPDATE incidents i
       SET status = coalesce(%(status)s::text, i.status),
           updated_at = greatest(now(), i.updated_at + interval '1 microsecond'),
           resolved_at = CASE WHEN coalesce(%(status)s::text, i.status) = 'resolved'
                              THEN coalesce(i.resolved_at, now()) END
     WHERE i.id = %(id)s::bigint
    RETURNING i.id, i.status
)
INSERT INTO incident_updates (incident_id, status, message)
SELECT inc.id, inc.status, %(message)s::text FROM inc
RETURNING id, status, message, created_at
"""

DELETE_INCIDENT_UPDATE = (
    "DELETE FROM incident_updates WHERE id = %(update_id)s::bigint"
    " AND incident_id = %(id)s::bigint RETURNING id"
)

# -- access: API keys, sessions, audit (services/api/auth.py) -----------------

_KEY_COLUMNS = "id, name, scope, page_ids, prefix, created_at, expires_at, last_used_at"

INSERT_KEY = (
    "INSERT INTO api_keys (name, scope, page_ids, prefix, token_hash, expires_at)"
    " VALUES (%(name)s::text, %(scope)s::text, %(page_ids)s::bigint[], %(prefix)s::text,"
    " %(token_hash)s::bytea, %(expires_at)s::timestamptz)"
    " RETURNING " + _KEY_COLUMNS
)

# Revoked keys are gone from the API (their rows stay for the sessions and the audit log).
LIST_KEYS = "SELECT " + _KEY_COLUMNS + " FROM api_keys WHERE revoked_at IS NULL ORDER BY id"

GET_KEY = (
    "SELECT " + _KEY_COLUMNS + " FROM api_keys WHERE id = %(id)s::bigint AND revoked_at IS NULL"
)

REVOKE_KEY = (
    "UPDATE api_keys SET revoked_at = now() WHERE id = %(id)s::bigint AND revoked_at IS NULL"
    " RETURNING id"
)

# The ids among %(ids)s that name no page.
MISSING_PAGES = (
    "SELECT i.id FROM unnest(%(ids)s::bigint[]) AS i (id)"
    " WHERE NOT EXISTS (SELECT 1 FROM pages p WHERE p.id = i.id) ORDER BY i.id"
)

# A credential's lookup, by the SHA-256 of the token (validity is judged by the caller).
KEY_BY_HASH = (
    "SELECT id, name, scope, page_ids, token_hash, expires_at, revoked_at"
    " FROM api_keys WHERE token_hash = %(token_hash)s::bytea"
)

# At most once a minute per key, whichever replica sees it used.
TOUCH_KEY = (
    "UPDATE api_keys SET last_used_at = now() WHERE id = %(id)s::bigint"
    " AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')"
)

INSERT_SESSION = (
    "INSERT INTO sessions (token_hash, key_id, scope, page_ids)"
    " VALUES (%(token_hash)s::bytea, %(key_id)s::bigint, %(scope)s::text, %(page_ids)s::bigint[])"
    " RETURNING id"
)

# A session with what decides whether it still holds: its ages and its key's state.
SESSION_BY_HASH = (
    "SELECT s.id, s.token_hash, s.key_id, s.scope, s.page_ids, s.created_at, s.last_seen_at,"
    " s.ended_at, k.name AS key_name, k.expires_at, k.revoked_at"
    " FROM sessions s LEFT JOIN api_keys k ON k.id = s.key_id"
    " WHERE s.token_hash = %(token_hash)s::bytea"
)

TOUCH_SESSION = (
    "UPDATE sessions SET last_seen_at = now() WHERE id = %(id)s::bigint"
    " AND last_seen_at < now() - interval '1 minute'"
)

END_SESSION = (
    "UPDATE sessions SET ended_at = now() WHERE token_hash = %(token_hash)s::bytea"
    " AND ended_at IS NULL RETURNING id"
)

# The page(s) a write touches, from a path parameter (auth.page_of): %(value)s is
# the parameter as sent; a value of the wrong type finds nothing.
ENDPOINT_PAGE = "SELECT page_id FROM endpoints WHERE id = %(value)s::bigint"
INCIDENT_PAGE = "SELECT page_id FROM incidents WHERE id = %(value)s::bigint"
MAINTENANCE_PAGE = "SELECT page_id FROM maintenances WHERE id = %(value)s::bigint"
PAGE_BY_SLUG = "SELECT id AS page_id FROM pages WHERE slug = %(value)s::text"
ALERT_RULE_PAGE = (
    "SELECT coalesce(r.page_id, e.page_id) AS page_id FROM alert_rules r"
    " LEFT JOIN endpoints e ON e.id = r.endpoint_id WHERE r.id = %(value)s::bigint"
)

_AUDIT_COLUMNS = "id, at, actor, action, target, summary"

INSERT_AUDIT = (
    "INSERT INTO audit_log (actor, key_id, action, target, summary)"
    " VALUES (%(actor)s::text, %(key_id)s::bigint, %(action)s::text, %(target)s::text,"
    " %(summary)s::text)"
)

# Newest first; ``before`` is an id (or null), ``before_at`` a time (or null).
LIST_AUDIT = (
    "SELECT " + _AUDIT_COLUMNS + " FROM audit_log"
    " WHERE (%(before)s::bigint IS NULL OR id < %(before)s::bigint)"
    " AND (%(before_at)s::timestamptz IS NULL OR at < %(before_at)s::timestamptz)"
    " ORDER BY id DESC LIMIT %(limit)s::int"
)

# -- alerting: channels, alert rules, events, deliveries -------------------------

# Never the url nor the secret: target is the scheme and host, stored at write time.
_CHANNEL_COLUMNS = "id, name, type, target, secret IS NOT NULL AS has_secret, active, created_at"

LIST_CHANNELS = "SELECT " + _CHANNEL_COLUMNS + " FROM channels ORDER BY id"

GET_CHANNEL = "SELECT " + _CHANNEL_COLUMNS + " FROM channels WHERE id = %(id)s::bigint"

# What a PATCH that changes the type or the url validates against (never returned).
GET_CHANNEL_ADDRESS = "SELECT type, url FROM channels WHERE id = %(id)s::bigint"

INSERT_CHANNEL = (
    "INSERT INTO channels (name, type, url, target, secret, active)"
    " VALUES (%(name)s::text, %(type)s::text, %(url)s::text, %(target)s::text,"
    " %(secret)s::text, %(active)s::bool)"
    " RETURNING " + _CHANNEL_COLUMNS
)

# Only the fields sent change; type, url and target change together, and only if
# type and url are still what the new values were validated against.
UPDATE_CHANNEL = (
    "UPDATE channels SET name = COALESCE(%(name)s::text, name),"
    " type = COALESCE(%(type)s::text, type), url = COALESCE(%(url)s::text, url),"
    " target = COALESCE(%(target)s::text, target),"
    " secret = CASE WHEN %(set_secret)s::bool THEN %(secret)s::text ELSE secret END,"
    " active = COALESCE(%(active)s::bool, active)"
    " WHERE id = %(id)s::bigint"
    " AND (%(was_type)s::text IS NULL OR (type, url) = (%(was_type)s::text, %(was_url)s::text))"
    " RETURNING " + _CHANNEL_COLUMNS
)

DELETE_CHANNEL = "DELETE FROM channels WHERE id = %(id)s::bigint RETURNING id"

# POST /api/channels/{id}/test: a `test` event and its one delivery, through the
# same outbox as every other event (the checkers are woken by the NOTIFY).
TEST_CHANNEL = """
WITH ev AS (
    INSERT INTO events (type, channel_id)
    SELECT 'test', c.id FROM channels c WHERE c.id = %(id)s::bigint
 RETURNING id, channel_id
), d AS (
    INSERT INTO deliveries (event_id, channel_id)
    SELECT ev.id, ev.channel_id FROM ev
 RETURNING id
), n AS (
    SELECT pg_notify('deliveries', '') FROM d
)
SELECT d.id, (SELECT count(*) FROM n) AS notified FROM d
"""

# The test's delivery, and whether any checker is connected to deliver it (every
# checker connection carries application_name uptimatum-checker).
DELIVERY_OUTCOME = (
    "SELECT state, attempts, last_error, EXISTS (SELECT 1 FROM pg_stat_activity"
    " WHERE datname = current_database() AND application_name = 'uptimatum-checker')"
    " AS checkers FROM deliveries WHERE id = %(id)s::bigint"
)

_RULE_COLUMNS = "id, channel_id, page_id, endpoint_id, notify_on, reminder_interval, created_at"

# A page's rules: those of the page and those of its endpoints.
LIST_ALERT_RULES = (
    "SELECT " + _RULE_COLUMNS + " FROM alert_rules a"
    " WHERE %(page_id)s::bigint IS NULL OR a.page_id = %(page_id)s::bigint"
    " OR a.endpoint_id IN (SELECT e.id FROM endpoints e WHERE e.page_id = %(page_id)s::bigint)"
    " ORDER BY a.id"
)

# The rule, if its channel and its page or endpoint exist (each reported).
INSERT_ALERT_RULE = """
WITH found AS (
    SELECT EXISTS (SELECT 1 FROM channels WHERE id = %(channel_id)s::bigint) AS channel_found,
           %(page_id)s::bigint IS NULL
           OR EXISTS (SELECT 1 FROM pages WHERE id = %(page_id)s::bigint) AS page_found,
           %(endpoint_id)s::bigint IS NULL
           OR EXISTS (SELECT 1 FROM endpoints WHERE id = %(endpoint_id)s::bigint) AS endpoint_found
), ins AS (
    INSERT INTO alert_rules (channel_id, page_id, endpoint_id, notify_on, reminder_interval)
    SELECT %(channel_id)s::bigint, %(page_id)s::bigint, %(endpoint_id)s::bigint,
           %(notify_on)s::text[], %(reminder_interval)s::int
      FROM found f
     WHERE f.channel_found AND f.page_found AND f.endpoint_found
 RETURNING id, channel_id, page_id, endpoint_id, notify_on, reminder_interval, created_at
)
SELECT f.channel_found, f.page_found, f.endpoint_found, ins.*
  FROM found f LEFT JOIN ins ON true
"""

DELETE_ALERT_RULE = "DELETE FROM alert_rules WHERE id = %(id)s::bigint RETURNING id"

# Public: the status changes (channel tests are private and not listed).
LIST_EVENTS = (
    "SELECT id, type, page_id, endpoint_id, from_status, to_status, occurred_at, status_code,"
    " response_time, error, suppressed, maintenance_id FROM events"
    " WHERE type <> 'test'"
    " AND (%(page_id)s::bigint IS NULL OR page_id = %(page_id)s::bigint)"
    " AND (%(endpoint_id)s::bigint IS NULL OR endpoint_id = %(endpoint_id)s::bigint)"
    " ORDER BY occurred_at DESC, id DESC LIMIT %(limit)s::int"
)

LIST_DELIVERIES = (
    "SELECT id, event_id, channel_id, state, attempts, last_attempt_at, last_error,"
    " CASE WHEN state = 'pending' THEN next_attempt_at END AS next_attempt_at, delivered_at"
    " FROM deliveries"
    " WHERE (%(channel_id)s::bigint IS NULL OR channel_id = %(channel_id)s::bigint)"
    " AND (%(event_id)s::bigint IS NULL OR event_id = %(event_id)s::bigint)"
    " AND (%(state)s::text IS NULL OR state = %(state)s::text)"
    " ORDER BY id DESC LIMIT %(limit)s::int"
)

# -- the public status page (routes/pages_html.py) -----------------------------

# The daily bars of a page's active endpoints, one row per endpoint: the UTC
# days of the last 90 (``first_day`` to today) that have figures, as offsets
# from ``first_day`` with their available and covered seconds. A closed day
# comes from its daily rollup (``rolled_*``, the days before ``lo``); from
# ``lo``, the first day no rollup answers (today, a day not rolled up yet, a
# stale one), the days are computed from the raw runs up to now (``raw_*``),
# split at midnights as the rollup splits them (covered_runs' rule,
# migrations/0005 and 0016: covered_runs_outside, the page's windows read once
# by page_maintenance_spans as PAGE_STATUS reads them, each endpoint's clipped
# to [lo, now)). A run within one day (all of today's) is that day's whole; only
# a run across midnight is split by generate_series.
# Rolled days are contiguous (missing_uptime_days, migrations/0010), so ``lo`` is the earliest of
# today, the day after the last rolled one and the first stale one. One index
# range of uptime_daily and two index probes of checks per endpoint, one range
# of maintenance_occurrences_page for the page; nothing is written.
PAGE_DAILY_UPTIMES: LiteralString = (
    "\nWITH "
    + _page_spans("((now() AT TIME ZONE 'UTC')::date - 89)::timestamp AT TIME ZONE 'UTC'", "now()")
    + """, k AS (
    SELECT (now() AT TIME ZONE 'UTC')::date AS today, last_closed_day() AS last_closed
)
SELECT e.id AS endpoint_id, k.today - 89 AS first_day, r.lo,
       r.offsets AS rolled_offsets, r.available AS rolled_available, r.covered AS rolled_covered,
       x.offsets AS raw_offsets, x.available AS raw_available, x.covered AS raw_covered
  FROM pages p
  JOIN endpoints e ON e.page_id = p.id AND e.active
 CROSS JOIN k
 CROSS JOIN LATERAL (
    SELECT least(k.today,
                 coalesce(max(u.day) FILTER (WHERE NOT u.stale) + 1, k.today - 89),
                 min(u.day) FILTER (WHERE u.stale)) AS lo,
           array_agg(u.day - (k.today - 89)) FILTER (WHERE NOT u.stale) AS offsets,
           array_agg(u.available_seconds) FILTER (WHERE NOT u.stale) AS available,
           array_agg(u.covered_seconds) FILTER (WHERE NOT u.stale) AS covered
      FROM uptime_daily u
     WHERE u.endpoint_id = e.id AND u.day >= k.today - 89 AND u.day <= k.last_closed
 ) r
 CROSS JOIN LATERAL (
    SELECT coalesce(range_agg(tstzrange(greatest(w.s_at, r.lo::timestamp AT TIME ZONE 'UTC'),
                                        w.e_at)), '{}'::tstzmultirange) AS windows
      FROM w
     WHERE (w.endpoint_id IS NULL OR w.endpoint_id = e.id)
       AND w.e_at > r.lo::timestamp AT TIME ZONE 'UTC'
 ) mw
 CROSS JOIN LATERAL (
    SELECT array_agg(d.day - (k.today - 89)) AS offsets, array_agg(d.available) AS available,
           array_agg(d.covered) AS covered
      FROM (SELECT r.lo + s.n AS day,
                   coalesce(sum(s.secs) FILTER (WHERE s.ok), 0)::float8 AS available,
                   sum(s.secs)::float8 AS covered
              FROM covered_runs_outside(e.id, r.lo::timestamp AT TIME ZONE 'UTC', now(),
                                        mw.windows) c
             CROSS JOIN LATERAL (
                SELECT (c.s_at AT TIME ZONE 'UTC')::date - r.lo AS d0,
                       ((c.e_at AT TIME ZONE 'UTC') - interval '1 microsecond')::date - r.lo AS d1
             ) y
             CROSS JOIN LATERAL (
                SELECT y.d0 AS n, c.status <> 'down' AS ok,
                       extract(epoch FROM c.e_at - c.s_at) AS secs
                 WHERE y.d0 = y.d1
                UNION ALL
                SELECT n, c.status <> 'down',
                       extract(epoch FROM
                           least(c.e_at, (r.lo + n + 1)::timestamp AT TIME ZONE 'UTC')
                           - greatest(c.s_at, (r.lo + n)::timestamp AT TIME ZONE 'UTC'))
                  FROM generate_series(greatest(0, y.d0), y.d1) n
                 WHERE y.d0 <> y.d1
             ) s
             WHERE s.secs > 0
             GROUP BY s.n) d
 ) x
 WHERE p.slug = %(slug)s::text
"""
)

# The incidents a status page shows: the unresolved ones and those of the last
# 14 days (opened or resolved since), newest first.
PAGE_RECENT_INCIDENTS: LiteralString = (
    _INCIDENT_SELECT + " WHERE i.page_id = (SELECT id FROM pages WHERE slug = %(slug)s::text)"
    " AND (i.status <> 'resolved' OR i.created_at >= now() - interval '14 days'"
    " OR i.resolved_at >= now() - interval '14 days')"
    " ORDER BY i.created_at DESC, i.id DESC"
)

# -- maintenance windows ---------------------------------------------------------

# A window ``m`` as models.Maintenance has it: its endpoints (all of the page's
# when all_endpoints), and from its occurrences (shared/maintenance.py) its
# status, the current or next occurrence and the end of its last one.
_MAINTENANCE_SELECT = """
SELECT m.id, m.page_id, m.title, m.description, m.starts_at, m.ends_at, m.rrule, m.timezone,
       CASE WHEN m.all_endpoints
            THEN ARRAY(SELECT e.id FROM endpoints e WHERE e.page_id = m.page_id ORDER BY e.id)
            ELSE ARRAY(SELECT me.endpoint_id FROM maintenance_endpoints me
                        WHERE me.maintenance_id = m.id ORDER BY me.endpoint_id)
       END AS endpoint_ids,
       CASE WHEN nx.starts_at IS NULL THEN 'completed'
            WHEN nx.starts_at <= now() THEN 'in_progress'
            ELSE 'scheduled' END AS status,
       nx.starts_at AS next_starts_at, nx.ends_at AS next_ends_at,
       m.created_at, m.updated_at, m.all_endpoints,
       (SELECT max(o.ends_at) FROM maintenance_occurrences o
         WHERE o.maintenance_id = m.id) AS last_ends_at
  FROM maintenances m
  LEFT JOIN LATERAL (SELECT o.starts_at, o.ends_at FROM maintenance_occurrences o
                      WHERE o.maintenance_id = m.id AND o.ends_at > now()
                      ORDER BY o.starts_at LIMIT 1) nx ON true
"""

# In progress first, then upcoming by next start, then completed newest first.
_MAINTENANCE_ORDER = """
 ORDER BY CASE x.status WHEN 'in_progress' THEN 0 WHEN 'scheduled' THEN 1 ELSE 2 END,
          x.next_starts_at, x.last_ends_at DESC, x.id DESC
"""

LIST_MAINTENANCES: LiteralString = (
    "SELECT x.* FROM ("
    + _MAINTENANCE_SELECT
    + " WHERE m.page_id = %(page_id)s::bigint) x"
    + _MAINTENANCE_ORDER
)

GET_MAINTENANCE: LiteralString = _MAINTENANCE_SELECT + " WHERE m.id = %(id)s::bigint"

# One statement: the window, its endpoints and its occurrences (computed by
# shared/maintenance.py), unless the page is unknown (page_found null) or an
# endpoint is not the page's (bad_endpoint; nothing written). Returns the id.
INSERT_MAINTENANCE: LiteralString = (
    """
WITH page AS (
    SELECT id FROM pages WHERE id = %(page_id)s::bigint
), bad AS ("""
    + _FOREIGN_ENDPOINT
    + """
), m AS (
    INSERT INTO maintenances (page_id, title, description, starts_at, ends_at, rrule, timezone,
                              all_endpoints, expanded_until)
    SELECT page.id, %(title)s::text, %(description)s::text, %(starts_at)s::timestamptz,
           %(ends_at)s::timestamptz, %(rrule)s::text, %(timezone)s::text,
           %(all_endpoints)s::bool, %(expanded_until)s::timestamptz
      FROM page CROSS JOIN bad WHERE bad.endpoint_id IS NULL
    RETURNING id, page_id
), endpoints_of AS (
    INSERT INTO maintenance_endpoints (maintenance_id, endpoint_id)
    SELECT DISTINCT m.id, x FROM m CROSS JOIN unnest(%(endpoint_ids)s::bigint[]) x
), occurrences AS (
    INSERT INTO maintenance_occurrences (maintenance_id, page_id, starts_at, ends_at)
    SELECT m.id, m.page_id, t.s, t.e
      FROM m CROSS JOIN unnest(%(starts)s::timestamptz[], %(ends)s::timestamptz[]) t (s, e)
)
SELECT (SELECT id FROM page) AS page_found, (SELECT endpoint_id FROM bad) AS bad_endpoint,
       (SELECT id FROM m) AS id
"""
)

# PATCH writes the merged window (validated and expanded in Python) if it is
# still the one read (updated_at = seen; else id comes back null and the PATCH
# starts over), with its endpoints and occurrences: those no longer in the
# expansion go, the others are written; one ended early keeps its earlier end.
UPDATE_MAINTENANCE: LiteralString = (
    """
WITH bad AS ("""
    + _FOREIGN_ENDPOINT
    + """
), m AS (
    UPDATE maintenances w
       SET title = %(title)s::text, description = %(description)s::text,
           starts_at = %(starts_at)s::timestamptz, ends_at = %(ends_at)s::timestamptz,
           rrule = %(rrule)s::text, timezone = %(timezone)s::text,
           all_endpoints = %(all_endpoints)s::bool,
           expanded_until = %(expanded_until)s::timestamptz,
           updated_at = greatest(now(), w.updated_at + interval '1 microsecond')
      FROM bad
     WHERE w.id = %(id)s::bigint AND w.updated_at = %(seen)s::timestamptz
       AND bad.endpoint_id IS NULL
    RETURNING w.id, w.page_id
), endpoints_gone AS (
    DELETE FROM maintenance_endpoints me USING m
     WHERE me.maintenance_id = m.id AND me.endpoint_id <> ALL (%(endpoint_ids)s::bigint[])
), endpoints_of AS (
    INSERT INTO maintenance_endpoints (maintenance_id, endpoint_id)
    SELECT DISTINCT m.id, x FROM m CROSS JOIN unnest(%(endpoint_ids)s::bigint[]) x
        ON CONFLICT DO NOTHING
), occurrences_gone AS (
    DELETE FROM maintenance_occurrences o USING m
     WHERE o.maintenance_id = m.id AND o.starts_at <> ALL (%(starts)s::timestamptz[])
), occurrences AS (
    INSERT INTO maintenance_occurrences AS o (maintenance_id, page_id, starts_at, ends_at)
    SELECT m.id, m.page_id, t.s, t.e
      FROM m CROSS JOIN unnest(%(starts)s::timestamptz[], %(ends)s::timestamptz[]) t (s, e)
        ON CONFLICT (maintenance_id, starts_at) DO UPDATE
       SET ends_at = CASE WHEN o.ended_early THEN least(o.ends_at, excluded.ends_at)
                          ELSE excluded.ends_at END
     WHERE o.ends_at IS DISTINCT FROM (CASE WHEN o.ended_early
                                            THEN least(o.ends_at, excluded.ends_at)
                                            ELSE excluded.ends_at END)
)
SELECT (SELECT id FROM m) AS id, (SELECT endpoint_id FROM bad) AS bad_endpoint
"""
)

# Ends the occurrence in progress of a recurring window at ``ends_at`` (which
# lies inside it); the rule and the other occurrences stay. Returns the id.
END_OCCURRENCE = """
WITH o AS (
    UPDATE maintenance_occurrences o
       SET ends_at = %(ends_at)s::timestamptz, ended_early = true
     WHERE o.maintenance_id = %(id)s::bigint AND o.starts_at <= now() AND o.ends_at > now()
       AND o.starts_at < %(ends_at)s::timestamptz AND o.ends_at >= %(ends_at)s::timestamptz
    RETURNING o.maintenance_id
)
UPDATE maintenances w
   SET updated_at = greatest(now(), w.updated_at + interval '1 microsecond')
  FROM (SELECT DISTINCT maintenance_id FROM o) e
 WHERE w.id = e.maintenance_id
RETURNING w.id
"""

# Deletes a window. If an occurrence of it is in progress and its start was
# announced (migrations/0014), its end is announced now, in the same statement:
# a maintenance.ended event (maintenance_id null: the window is gone; its title
# and the occurrence cut at now) delivered to the channels that heard of the
# start (maintenance_channels, migrations/0015), as the checker's boundary pass
# would. The changes the window hid are told by the checker's next pass.
DELETE_MAINTENANCE = """
WITH ending AS (
    SELECT o.page_id, o.starts_at, m.title
      FROM maintenance_occurrences o
      JOIN maintenances m ON m.id = o.maintenance_id
     WHERE o.maintenance_id = %(id)s::bigint AND o.started_told AND NOT o.ended_told
       AND o.starts_at <= now() AND o.ends_at > now()
       FOR UPDATE OF o
), new_events AS (
    INSERT INTO events (type, page_id, maintenance_title, window_starts_at, window_ends_at,
                        occurred_at)
    SELECT 'maintenance.ended', e.page_id, e.title, e.starts_at, now(), now() FROM ending e
 RETURNING id
), new_deliveries AS (
    INSERT INTO deliveries (event_id, channel_id)
    SELECT ev.id, w.channel_id
      FROM new_events ev CROSS JOIN maintenance_channels(%(id)s::bigint) w
 RETURNING id
), notified AS (
    SELECT pg_notify('deliveries', '') FROM (SELECT 1 FROM new_deliveries LIMIT 1) x
), gone AS (
    DELETE FROM maintenances WHERE id = %(id)s::bigint RETURNING id
)
SELECT g.id, (SELECT count(*) FROM notified)::int AS notified FROM gone g
"""

# -- the page's story: open incidents and planned work ---------------------------

# The unresolved incidents of a page, newest first (GET /api/pages/{slug}, the
# status page, the Statuspage summary).
PAGE_OPEN_INCIDENTS: LiteralString = (
    _INCIDENT_SELECT
    + " JOIN pages p ON p.id = i.page_id"
    + " WHERE p.slug = %(slug)s::text AND i.status <> 'resolved'"
    + " ORDER BY i.created_at DESC, i.id DESC"
)

# The newest incidents of a page, resolved or not (Statuspage incidents.json, feeds).
PAGE_NEWEST_INCIDENTS: LiteralString = (
    _INCIDENT_SELECT
    + " JOIN pages p ON p.id = i.page_id"
    + " WHERE p.slug = %(slug)s::text"
    + " ORDER BY i.created_at DESC, i.id DESC LIMIT %(limit)s::int"
)

# A page's windows in progress and those whose next occurrence starts within
# ``days`` days (every upcoming one when days is null), in the list order.
PAGE_MAINTENANCES: LiteralString = (
    "SELECT x.* FROM ("
    + _MAINTENANCE_SELECT
    + " JOIN pages p ON p.id = m.page_id WHERE p.slug = %(slug)s::text) x"
    + " WHERE x.status <> 'completed' AND (%(days)s::int IS NULL"
    + " OR x.next_starts_at < now() + make_interval(days => %(days)s::int))"
    + _MAINTENANCE_ORDER
)

# Every window of a page, newest first, at most ``limit`` (Statuspage
# scheduled-maintenances.json, feeds).
PAGE_ALL_MAINTENANCES: LiteralString = (
    "SELECT x.* FROM ("
    + _MAINTENANCE_SELECT
    + " JOIN pages p ON p.id = m.page_id WHERE p.slug = %(slug)s::text) x"
    + " ORDER BY x.starts_at DESC, x.id DESC LIMIT %(limit)s::int"
)

# The page and its active endpoints as Statuspage components: status, whether
# in a window, and since when the current run has lasted. The page's
# updated_at is its newest incident or window change. A page without active
# endpoints is one row with the endpoint columns null.
PAGE_COMPONENTS: LiteralString = (
    _PAGE_SPANS_NOW
    + """
SELECT p.id AS p_id, p.slug AS page_slug, p.name AS page_name,
       greatest(p.created_at,
                (SELECT max(i.updated_at) FROM incidents i WHERE i.page_id = p.id),
                (SELECT max(m.updated_at) FROM maintenances m WHERE m.page_id = p.id))
           AS page_updated_at,
       e.id, e.name, e.created_at, coalesce(s.status, l.status) AS status,
       coalesce(l.first_checked_at, e.created_at) AS updated_at, """
    + _PAGE_IN_MAINTENANCE
    + """
  FROM pages p
  LEFT JOIN endpoints e ON e.page_id = p.id AND e.active
  LEFT JOIN endpoint_state s ON s.endpoint_id = e.id
  LEFT JOIN LATERAL (SELECT c.status, c.first_checked_at FROM checks c
                      WHERE c.endpoint_id = e.id
                      ORDER BY c.first_checked_at DESC, c.id DESC LIMIT 1) l ON true
 WHERE p.slug = %(slug)s::text
 ORDER BY e.id
"""
)
