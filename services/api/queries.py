"""Every SQL statement the API runs, by name.

Parameters are named (``%(slug)s``) and cast where PostgreSQL could not infer
their type, so that each statement PREPAREs on its own (tests/test_statements.py).

Uptime is time-weighted (README, "Uptime"): a history row covers
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

UPDATE_PAGE = (
    "UPDATE pages SET slug = COALESCE(%(new_slug)s::text, slug),"
    " name = COALESCE(%(name)s::text, name)"
    " WHERE slug = %(slug)s::text RETURNING " + _PAGE_COLUMNS
)

DELETE_PAGE = "DELETE FROM pages WHERE slug = %(slug)s::text RETURNING id"

# -- endpoints -----------------------------------------------------------------

_ENDPOINT_COLUMNS = (
    "e.id, e.page_id, e.name, e.url, e.method, e.interval, e.timeout, e.expected_status,"
    " e.degraded_threshold_ms, e.keyword, e.active, e.created_at"
)

GET_ENDPOINT = (
    "SELECT " + _ENDPOINT_COLUMNS + ", coalesce(s.status, (SELECT c.status FROM checks c"
    " WHERE c.endpoint_id = e.id ORDER BY c.first_checked_at DESC, c.id DESC LIMIT 1)) AS status"
    " FROM endpoints e LEFT JOIN endpoint_state s ON s.endpoint_id = e.id"
    " WHERE e.id = %(id)s::bigint"
)

INSERT_ENDPOINT = (
    "INSERT INTO endpoints AS e (page_id, name, url, method, interval, timeout,"
    " expected_status, degraded_threshold_ms, keyword, active)"
    " VALUES (%(page_id)s::bigint, %(name)s::text, %(url)s::text, %(method)s::text,"
    " %(interval)s::int, %(timeout)s::int, %(expected_status)s::text[],"
    " %(degraded_threshold_ms)s::int, %(keyword)s::text, %(active)s::bool)"
    " RETURNING " + _ENDPOINT_COLUMNS + ", NULL::text AS status"
)

# PATCH validates the merged row in Python, then writes every column.
UPDATE_ENDPOINT = (
    "UPDATE endpoints AS e SET page_id = %(page_id)s::bigint, name = %(name)s::text,"
    " url = %(url)s::text, method = %(method)s::text, interval = %(interval)s::int,"
    " timeout = %(timeout)s::int, expected_status = %(expected_status)s::text[],"
    " degraded_threshold_ms = %(degraded_threshold_ms)s::int, keyword = %(keyword)s::text,"
    " active = %(active)s::bool"
    " WHERE e.id = %(id)s::bigint"
    " RETURNING " + _ENDPOINT_COLUMNS + ","
    " (SELECT s.status FROM endpoint_state s WHERE s.endpoint_id = e.id) AS status"
)

DELETE_ENDPOINT = "DELETE FROM endpoints WHERE id = %(id)s::bigint RETURNING id"

# -- history -------------------------------------------------------------------

# In the order of the fields of models.Check, so a row is ``Check(*row)``.
_CHECK_COLUMNS = (
    "c.id, c.endpoint_id, c.status, c.response_time, c.status_code, c.error,"
    " c.last_checked_at AS checked_at, c.first_checked_at, c.count,"
    " c.response_time_min, c.response_time_max,"
    " round(c.response_time_sum::numeric / c.count)::int AS response_time_avg"
)

# Runs of one endpoint never overlap, so newest-first by start is newest-first.
ENDPOINT_HISTORY = (
    "SELECT e.id AS endpoint_found, c.* FROM endpoints e"
    " LEFT JOIN LATERAL (SELECT " + _CHECK_COLUMNS + " FROM checks c"
    " WHERE c.endpoint_id = e.id ORDER BY c.first_checked_at DESC, c.id DESC"
    " LIMIT %(limit)s::int) c ON true"
    " WHERE e.id = %(id)s::bigint"
    " ORDER BY c.first_checked_at DESC, c.id DESC"
)

# Runs whose last check falls in the window. A run never spans two history
# buckets (at most a day), which bounds the index range scanned.
PAGE_TIMELINE = (
    "SELECT p.id AS page_found, c.* FROM pages p"
    " LEFT JOIN LATERAL (SELECT " + _CHECK_COLUMNS + " FROM endpoints e"
    " JOIN checks c ON c.endpoint_id = e.id"
    " WHERE e.page_id = p.id AND e.active"
    " AND c.first_checked_at >= now() - make_interval(hours => %(hours)s::int) - interval '1 day'"
    " AND c.last_checked_at >= now() - make_interval(hours => %(hours)s::int)) c ON true"
    " WHERE p.slug = %(slug)s::text"
    " ORDER BY c.checked_at DESC, c.id DESC"
)

# -- uptime --------------------------------------------------------------------

# The 24 h coverage of endpoint ``e``: its runs that start inside the window,
# plus the one run before it (the only earlier run that can reach into it: any
# older run is clipped by its successor's start).
_UPTIME_24H_LATERAL = """
    LEFT JOIN LATERAL (
        SELECT sum(r.covered) FILTER (WHERE r.status <> 'down') AS available,
               sum(r.covered) AS covered,
               count(*) AS runs
          FROM (SELECT w.status,
                       extract(epoch FROM
                           least(w.last_checked_at + w.interval * interval '1 second',
                                 lead(w.first_checked_at) OVER (ORDER BY w.first_checked_at, w.id),
                                 now())
                           - greatest(w.first_checked_at, now() - interval '24 hours')) AS covered
                  FROM ((SELECT b.id, b.status, b.first_checked_at, b.last_checked_at, b.interval
                           FROM checks b
                          WHERE b.endpoint_id = e.id
                            AND b.first_checked_at < now() - interval '24 hours'
                          ORDER BY b.first_checked_at DESC, b.id DESC LIMIT 1)
                        UNION ALL
                        (SELECT b.id, b.status, b.first_checked_at, b.last_checked_at, b.interval
                           FROM checks b
                          WHERE b.endpoint_id = e.id
                            AND b.first_checked_at >= now() - interval '24 hours')) w
               ) r
         WHERE r.covered > 0
    ) u ON true
"""

# GET /api/pages/{slug}: the page, its active endpoints, each one's newest run
# and live 24 h uptime, in one statement whatever the number of endpoints.
# (newest run id, runs in 24 h) tell the API when its cached 7/30/90-day
# figures may be out of date.
# A page without active endpoints comes back as one row with endpoint columns null.
PAGE_STATUS: LiteralString = (
    """
SELECT p.id AS p_id, p.slug AS page_slug, p.name AS page_name,
       p.created_at AS page_created_at,
       """
    + _ENDPOINT_COLUMNS
    + """, s.status,
       l.id AS l_id, l.status AS l_status, l.response_time AS l_response_time,
       l.status_code AS l_status_code, l.error AS l_error,
       l.last_checked_at AS l_checked_at, l.first_checked_at AS l_first_checked_at,
       l.count AS l_count, l.response_time_min AS l_response_time_min,
       l.response_time_max AS l_response_time_max,
       round(l.response_time_sum::numeric / l.count)::int AS l_response_time_avg,
       round(100 * coalesce(u.available, 0) / nullif(u.covered, 0), 2) AS uptime_24h,
       u.runs AS runs_24h
  FROM pages p
  LEFT JOIN endpoints e ON e.page_id = p.id AND e.active
  LEFT JOIN endpoint_state s ON s.endpoint_id = e.id
  LEFT JOIN LATERAL (SELECT * FROM checks c WHERE c.endpoint_id = e.id
                      ORDER BY c.first_checked_at DESC, c.id DESC LIMIT 1) l ON true
"""
    + _UPTIME_24H_LATERAL
    + """
 WHERE p.slug = %(slug)s::text
 ORDER BY e.id
"""
)

# The 7/30/90-day figures of a page's active endpoints, one grouped statement
# (cached briefly by the API). 92 days are read: a run never reaches more than
# two days past its start (a bucket plus an interval, each at most a day).
# Seconds since the epoch as double precision keep the 216k-row pass cheap.
PAGE_LONG_UPTIMES = """
WITH w AS (
    SELECT now() - interval '92 days' AS since,
           date_part('epoch', now()) AS n,
           date_part('epoch', now() - interval '7 days') AS w7,
           date_part('epoch', now() - interval '30 days') AS w30,
           date_part('epoch', now() - interval '90 days') AS w90
), r AS (
    SELECT c.endpoint_id, c.status <> 'down' AS ok,
           date_part('epoch', c.first_checked_at) AS s,
           least(date_part('epoch', c.last_checked_at) + c.interval,
                 date_part('epoch', lead(c.first_checked_at) OVER (
                     PARTITION BY c.endpoint_id ORDER BY c.first_checked_at, c.id)),
                 w.n) AS e
      FROM w, endpoints en
      JOIN checks c ON c.endpoint_id = en.id
     WHERE en.page_id = %(page_id)s::bigint AND en.active
       AND c.first_checked_at >= w.since
), t AS (
    SELECT r.endpoint_id,
           sum(greatest(r.e - greatest(r.s, w.w7), 0)) FILTER (WHERE r.ok) AS a7,
           sum(greatest(r.e - greatest(r.s, w.w7), 0)) AS c7,
           sum(greatest(r.e - greatest(r.s, w.w30), 0)) FILTER (WHERE r.ok) AS a30,
           sum(greatest(r.e - greatest(r.s, w.w30), 0)) AS c30,
           sum(greatest(r.e - greatest(r.s, w.w90), 0)) FILTER (WHERE r.ok) AS a90,
           sum(greatest(r.e - greatest(r.s, w.w90), 0)) AS c90
      FROM r, w
     GROUP BY r.endpoint_id
)
SELECT t.endpoint_id,
       round((100 * coalesce(t.a7, 0) / nullif(t.c7, 0))::numeric, 2) AS uptime_7d,
       round((100 * coalesce(t.a30, 0) / nullif(t.c30, 0))::numeric, 2) AS uptime_30d,
       round((100 * coalesce(t.a90, 0) / nullif(t.c90, 0))::numeric, 2) AS uptime_90d
  FROM t
"""

# GET /badge/{slug}: the page's name, how many active endpoints are in each
# state (the state row's, else the newest run's), and the page's 24 h uptime
# over all of them (time-weighted, summed).
BADGE: LiteralString = (
    """
SELECT p.name,
       count(*) FILTER (WHERE st.status = 'down') AS down,
       count(*) FILTER (WHERE st.status = 'degraded') AS degraded,
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
    + _UPTIME_24H_LATERAL
    + """
 WHERE p.slug = %(slug)s::text
 GROUP BY p.id
"""
)

# -- incidents -----------------------------------------------------------------

_INCIDENT_COLUMNS = "id, page_id, title, description, status, created_at, updated_at, resolved_at"

LIST_INCIDENTS = (
    "SELECT " + _INCIDENT_COLUMNS + " FROM incidents WHERE page_id = %(page_id)s::bigint"
    " ORDER BY created_at DESC, id DESC"
)

INSERT_INCIDENT = (
    "INSERT INTO incidents (page_id, title, description, status, resolved_at)"
    " VALUES (%(page_id)s::bigint, %(title)s::text, %(description)s::text, %(status)s::text,"
    " CASE WHEN %(status)s::text = 'resolved' THEN now() END)"
    " RETURNING " + _INCIDENT_COLUMNS
)

# resolved_at is kept while the incident stays resolved, set when it becomes
# resolved and cleared when it is reopened; updated_at always moves forward.
UPDATE_INCIDENT = (
    "UPDATE incidents SET title = COALESCE(%(title)s::text, title),"
    " description = CASE WHEN %(set_description)s::bool THEN %(description)s::text"
    " ELSE description END,"
    " status = COALESCE(%(status)s::text, status),"
    " updated_at = greatest(now(), updated_at + interval '1 microsecond'),"
    " resolved_at = CASE WHEN COALESCE(%(status)s::text, status) = 'resolved'"
    " THEN COALESCE(resolved_at, now()) END"
    " WHERE id = %(id)s::bigint RETURNING " + _INCIDENT_COLUMNS
)

DELETE_INCIDENT = "DELETE FROM incidents WHERE id = %(id)s::bigint RETURNING id"
