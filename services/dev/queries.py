"""The statements of `uptimatum dev` (the demo seeding), by name."""

from __future__ import annotations

# On an empty database only (no page at all), a demo page whose endpoints watch
# the API itself; one statement, so two dev runs racing on one database cannot
# both seed (the loser's page insert meets the slug and does nothing, and with
# it its endpoints). Returns one row per endpoint created.
SEED_DEMO = """
WITH page AS (
    INSERT INTO pages (slug, name)
    SELECT 'demo', 'Uptimatum demo'
     WHERE NOT EXISTS (SELECT 1 FROM pages)
        ON CONFLICT (slug) DO NOTHING
    RETURNING id
)
INSERT INTO endpoints (page_id, name, url, interval, timeout)
SELECT page.id, e.name, %(base)s::text || e.path, 10, 5
  FROM page
 CROSS JOIN (VALUES (1, 'API health', '/health'),
                    (2, 'API readiness', '/ready')) AS e (n, name, path)
 ORDER BY e.n
RETURNING id
"""
