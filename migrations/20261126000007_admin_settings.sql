-- Admin portal settings: API categories, an organization's own settings (lifecycle
-- transitions it switches off, self sign-up), role aliases, and the gateway type of an
-- environment (native gateways or a Kubernetes Gateway API implementation).

CREATE TABLE api_category (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organization (id) ON DELETE CASCADE,
    name            text NOT NULL,
    description     text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT api_category_name_key UNIQUE (organization_id, name)
);

-- {"disabledTransitions": [{"from": "PUBLISHED", "event": "Block"}], "selfSignUp": true}
ALTER TABLE organization ADD COLUMN settings jsonb NOT NULL DEFAULT '{}'::jsonb;

-- A user holding a role named `alias` also gets the scopes of `role_id` (WSO2's role aliases,
-- e.g. an identity provider's group name standing for a built-in role).
CREATE TABLE role_alias (
    role_id uuid NOT NULL REFERENCES role (id) ON DELETE CASCADE,
    alias   text NOT NULL,
    PRIMARY KEY (role_id, alias)
);

ALTER TABLE gateway_environment
    ADD COLUMN gateway_type text NOT NULL DEFAULT 'native'
        CONSTRAINT gateway_environment_gateway_type_check CHECK (gateway_type IN ('native', 'kubernetes'));

-- The default scopes start-up has granted a built-in role: it grants each once, so a scope an
-- admin takes away (`PUT /system-scopes`, the role editor) is not given back on restart.
ALTER TABLE role ADD COLUMN seeded_scopes text[] NOT NULL DEFAULT '{}';

-- A self-registered account waiting for approval (USER_SIGNUP workflow): it cannot sign in.
ALTER TABLE app_user ADD COLUMN pending_approval boolean NOT NULL DEFAULT false;
