-- Analytics: the gateways' request events, aggregated per minute (server/src/analytics.rs).
-- One row per minute and combination of environment, API, operation, application, key type,
-- status and error cause; `latency` is the histogram of total latencies over the buckets of
-- gateway::analytics::LATENCY_BOUNDS_MS (plus one for slower), merged for percentiles.
CREATE TABLE analytics_minute (
    minute          timestamptz NOT NULL,
    environment     text NOT NULL,
    -- The API's organization when the API is known here; NULL for requests no API matched.
    organization_id uuid REFERENCES organization (id) ON DELETE CASCADE,
    api_id          text NOT NULL DEFAULT '',
    operation       text NOT NULL DEFAULT '',
    application_id  text NOT NULL DEFAULT '',
    key_type        text NOT NULL DEFAULT '',
    status          smallint NOT NULL,
    -- Empty for a success; auth, throttling, policy, routing, target_connectivity,
    -- backend_error or other.
    cause           text NOT NULL DEFAULT '',
    requests        bigint NOT NULL,
    total_us        bigint NOT NULL,
    backend_us      bigint NOT NULL,
    bytes_in        bigint NOT NULL,
    bytes_out       bigint NOT NULL,
    latency         bigint[] NOT NULL,
    PRIMARY KEY (minute, environment, api_id, operation, application_id, key_type, status, cause)
);

CREATE INDEX analytics_minute_api ON analytics_minute (api_id, minute);
CREATE INDEX analytics_minute_application ON analytics_minute (application_id, minute);
CREATE INDEX analytics_minute_organization ON analytics_minute (organization_id, minute);
