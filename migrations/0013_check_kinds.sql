-- More than HTTP: tcp://, dns:// and tls:// checks, HTTP headers and a body, certificate expiry.
-- depends: 0012_alerting

-- The probe settings of each kind (issue 11). The kind is the url's scheme; a
-- setting of another kind is stored and ignored (switching an endpoint's url
-- back and forth keeps it).
ALTER TABLE endpoints
    ADD COLUMN headers            jsonb   NOT NULL DEFAULT '{}',
    ADD COLUMN body               text,
    -- null: application/json when the body parses as JSON, else text/plain
    ADD COLUMN body_content_type  text,
    ADD COLUMN follow_redirects   boolean NOT NULL DEFAULT true,
    ADD COLUMN verify_tls         boolean NOT NULL DEFAULT true,
    -- https:// and tls://: degraded when the certificate expires within this many
    -- days; null turns the rule off
    ADD COLUMN cert_expiry_days   integer DEFAULT 14,
    ADD COLUMN dns_record_type    text    NOT NULL DEFAULT 'A',
    ADD COLUMN dns_server         text,
    ADD COLUMN dns_expected       text,
    ADD CONSTRAINT endpoints_headers_object CHECK (
        jsonb_typeof(headers) = 'object'
        AND NOT jsonb_path_exists(headers, '$.* ? (@.type() != "string")')),
    ADD CONSTRAINT endpoints_body_length CHECK (char_length(body) <= 65536),
    ADD CONSTRAINT endpoints_body_content_type_length CHECK (
        char_length(body_content_type) BETWEEN 1 AND 255),
    ADD CONSTRAINT endpoints_cert_expiry_days_range CHECK (cert_expiry_days BETWEEN 1 AND 365),
    ADD CONSTRAINT endpoints_dns_record_type CHECK (
        dns_record_type IN ('A', 'AAAA', 'CNAME', 'MX', 'TXT', 'NS')),
    ADD CONSTRAINT endpoints_dns_server_length CHECK (char_length(dns_server) BETWEEN 1 AND 261),
    ADD CONSTRAINT endpoints_dns_expected_length CHECK (
        char_length(dns_expected) BETWEEN 1 AND 1024);

ALTER TABLE endpoints DROP CONSTRAINT endpoints_url_format;
ALTER TABLE endpoints ADD CONSTRAINT endpoints_url_format CHECK (
    char_length(url) <= 2048 AND url ~* '^(https?|tcp|tls|dns)://');

-- When the certificate of the run's last check expires (https:// and tls://).
ALTER TABLE checks ADD COLUMN cert_expires_at timestamptz;

-- The trigger of 0001, with the new probe settings in its list: changing any of
-- them makes the endpoint due at once and voids its outstanding claim.
CREATE OR REPLACE FUNCTION endpoints_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO endpoint_state (endpoint_id, next_check_at)
        VALUES (NEW.id, CASE WHEN NEW.active THEN now() ELSE 'infinity' END);
    ELSIF TG_OP = 'UPDATE' THEN
        IF (NEW.url, NEW.method, NEW.interval, NEW.timeout, NEW.expected_status,
            NEW.degraded_threshold_ms, NEW.keyword, NEW.active,
            -- the probe settings of issue 11
            NEW.headers, NEW.body, NEW.body_content_type, NEW.follow_redirects,
            NEW.verify_tls, NEW.cert_expiry_days, NEW.dns_record_type, NEW.dns_server,
            NEW.dns_expected)
           IS DISTINCT FROM
           (OLD.url, OLD.method, OLD.interval, OLD.timeout, OLD.expected_status,
            OLD.degraded_threshold_ms, OLD.keyword, OLD.active,
            OLD.headers, OLD.body, OLD.body_content_type, OLD.follow_redirects,
            OLD.verify_tls, OLD.cert_expiry_days, OLD.dns_record_type, OLD.dns_server,
            OLD.dns_expected) THEN
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
