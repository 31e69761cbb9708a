-- depends: 0012_alerting
CREATE OR REPLACE FUNCTION endpoints_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO endpoint_state (endpoint_id, next_check_at)
        VALUES (NEW.id, CASE WHEN NEW.active THEN now() ELSE 'infinity' END);
    ELSIF TG_OP = 'UPDATE' THEN
        IF (NEW.url, NEW.method, NEW.interval, NEW.timeout, NEW.expected_status,
            NEW.degraded_threshold_ms, NEW.keyword, NEW.active)
           IS DISTINCT FROM
           (OLD.url, OLD.method, OLD.interval, OLD.timeout, OLD.expected_status,
            OLD.degraded_threshold_ms, OLD.keyword, OLD.active) THEN
            UPDATE endpoint_state
               SET next_check_at = CASE WHEN NEW.active THEN now() ELSE 'infinity' END,
                   claim_token = NULL,
                   claimed_by = NULL
             WHERE endpoint_id = NEW.id;
        END IF;
    END IF;
    PERFORM pg_notify('endpoint_changes', COALESCE(NEW.id, OLD.id)::text);
    RETURN NULL;
END;
$$;
ALTER TABLE checks DROP COLUMN IF EXISTS cert_expires_at;
ALTER TABLE endpoints DROP CONSTRAINT IF EXISTS endpoints_url_format;
ALTER TABLE endpoints ADD CONSTRAINT endpoints_url_format CHECK (
    char_length(url) <= 2048 AND url ~* '^https?://') NOT VALID;  -- keeps tcp/dns/tls rows
ALTER TABLE endpoints
    DROP COLUMN IF EXISTS headers,
    DROP COLUMN IF EXISTS body,
    DROP COLUMN IF EXISTS body_content_type,
    DROP COLUMN IF EXISTS follow_redirects,
    DROP COLUMN IF EXISTS verify_tls,
    DROP COLUMN IF EXISTS cert_expiry_days,
    DROP COLUMN IF EXISTS dns_record_type,
    DROP COLUMN IF EXISTS dns_server,
    DROP COLUMN IF EXISTS dns_expected;
