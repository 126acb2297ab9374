-- Deny policies (Admin v4 /throttling/deny-policies, WSO2's blocking conditions): requests to an
-- API context, from an application, a user, an IP address or range are refused at once by the
-- gateways (403, code 900805) while the condition is enabled.
CREATE TABLE deny_policy (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organization (id) ON DELETE CASCADE,
    -- API, APPLICATION, IP, IPRANGE or USER
    condition_type  text NOT NULL CONSTRAINT deny_policy_type_check
                        CHECK (condition_type IN ('API', 'APPLICATION', 'IP', 'IPRANGE', 'USER')),
    -- WSO2's conditionValue: a string (API context, owner:application, user) or an object
    -- ({fixedIp, invert} / {startingIp, endingIp, invert}).
    condition_value jsonb NOT NULL,
    enabled         boolean NOT NULL DEFAULT true,
    created_by      text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX deny_policy_org_idx ON deny_policy (organization_id);
