-- Advanced rate-limiting policies (Admin v4 /throttling/policies/advanced, WSO2's API and
-- resource level policies): an API (apiThrottlingPolicy) or an operation (throttlingPolicy)
-- names one, and every request to it counts, whoever sends it. A default limit (a request
-- count or an amount of data per time unit) and conditional groups: requests matching every
-- condition of a group (header, query parameter, client IP or range, token claim) count against
-- the group's own limit. Built-in ones are seeded per organization.
CREATE TABLE advanced_throttling_policy (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id    uuid NOT NULL REFERENCES organization (id) ON DELETE CASCADE,
    name               text NOT NULL,
    display_name       text NOT NULL DEFAULT '',
    description        text NOT NULL DEFAULT '',
    -- WSO2's ThrottleLimit and ConditionalGroup[] as sent, after validation.
    default_limit      jsonb NOT NULL,
    conditional_groups jsonb NOT NULL DEFAULT '[]'::jsonb,
    -- Unlimited: no counter at all.
    unlimited          boolean NOT NULL DEFAULT false,
    built_in           boolean NOT NULL DEFAULT false,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT advanced_throttling_policy_name_key UNIQUE (organization_id, name)
);

-- Organizations that exist already get the built-in ones (new ones get them when created).
INSERT INTO advanced_throttling_policy (organization_id, name, display_name, description,
                                        default_limit, unlimited, built_in)
SELECT o.id, b.name, b.name, b.description,
       jsonb_build_object('type', 'REQUESTCOUNTLIMIT',
                          'requestCount', jsonb_build_object('timeUnit', 'min', 'unitTime', 1,
                                                             'requestCount', b.per_minute)),
       b.name = 'Unlimited', true
  FROM organization o
 CROSS JOIN (VALUES ('50KPerMin', 'Allows 50000 requests per minute', 50000),
                    ('20KPerMin', 'Allows 20000 requests per minute', 20000),
                    ('10KPerMin', 'Allows 10000 requests per minute', 10000),
                    ('Unlimited', 'Allows unlimited requests', 2147483647))
       AS b (name, description, per_minute)
ON CONFLICT ON CONSTRAINT advanced_throttling_policy_name_key DO NOTHING;
