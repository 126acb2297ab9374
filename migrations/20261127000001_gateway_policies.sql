-- Gateway policy mappings (WSO2's gateway policies): mediation policies an organization's
-- admin deploys to gateway environments; they run before every API's own policies there.
CREATE TABLE gateway_policy_mapping (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organization(id) ON DELETE CASCADE,
    display_name    text NOT NULL,
    description     text NOT NULL DEFAULT '',
    policies        jsonb NOT NULL,
    created_by      text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT gateway_policy_mapping_name_key UNIQUE (organization_id, display_name)
);

-- One mapping per organization and environment (as in WSO2), so the order is never in doubt.
CREATE TABLE gateway_policy_deployment (
    mapping_id      uuid NOT NULL REFERENCES gateway_policy_mapping(id) ON DELETE CASCADE,
    environment_id  uuid NOT NULL REFERENCES gateway_environment(id) ON DELETE CASCADE,
    organization_id uuid NOT NULL REFERENCES organization(id) ON DELETE CASCADE,
    deployed_by     text NOT NULL,
    deployed_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (mapping_id, environment_id),
    CONSTRAINT gateway_policy_deployment_one_per_environment UNIQUE (organization_id, environment_id)
);
