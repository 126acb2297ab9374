-- Rate-limiting policies (Admin v4 /throttling/policies/{application,subscription}): a request
-- count per time unit, with optional burst control (at most N per second or minute). The
-- gateway enforces them (GCRA): an application's policy per application and end user, a
-- subscription's tier per application and API. Built-in ones are seeded per organization.
CREATE TABLE throttling_policy (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id      uuid NOT NULL REFERENCES organization (id) ON DELETE CASCADE,
    -- application or subscription
    level                text NOT NULL CONSTRAINT throttling_policy_level_check
                             CHECK (level IN ('application', 'subscription')),
    name                 text NOT NULL,
    display_name         text NOT NULL DEFAULT '',
    description          text NOT NULL DEFAULT '',
    request_count        bigint NOT NULL CONSTRAINT throttling_policy_count_check CHECK (request_count > 0),
    unit_time            integer NOT NULL CONSTRAINT throttling_policy_unit_check CHECK (unit_time > 0),
    -- sec, min, hour, day
    time_unit            text NOT NULL,
    -- Burst control: at most burst_count per burst_time_unit (sec or min).
    burst_count          integer,
    burst_time_unit      text,
    stop_on_quota_reach  boolean NOT NULL DEFAULT true,
    billing_plan         text NOT NULL DEFAULT 'FREE',
    -- Unlimited: no limiter at all.
    unlimited            boolean NOT NULL DEFAULT false,
    built_in             boolean NOT NULL DEFAULT false,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT throttling_policy_name_key UNIQUE (organization_id, level, name)
);
