-- Key manager and gateway security: key managers, applications, their OAuth clients and API
-- keys, subscriptions, revoked tokens (ephemeral mode) and stored tokens (persistent mode).

-- The resident key manager (type `Default`, one per organization, created by the server at
-- start) and third-party ones an admin adds. `config` holds what each type needs (endpoints,
-- JWKS, claim mappings, signing algorithm) in the shape of `server::keymanager::KmConfig`.
CREATE TABLE key_manager (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organization (id) ON DELETE CASCADE,
    name            text NOT NULL,
    display_name    text NOT NULL DEFAULT '',
    type            text NOT NULL,
    description     text NOT NULL DEFAULT '',
    enabled         boolean NOT NULL DEFAULT true,
    -- Visible in every organization; its tokens work for any organization's subscribed APIs.
    global          boolean NOT NULL DEFAULT false,
    issuer          text NOT NULL DEFAULT '',
    config          jsonb NOT NULL DEFAULT '{}'::jsonb,
    -- {"permissionType": "PUBLIC" | "ALLOW" | "DENY", "roles": [...]}, as WSO2's Admin API.
    permissions     jsonb NOT NULL DEFAULT '{"permissionType": "PUBLIC", "roles": []}'::jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT key_manager_name_key UNIQUE (organization_id, name)
);
CREATE UNIQUE INDEX key_manager_one_global ON key_manager ((true)) WHERE global;

-- Keys of the resident key manager (`oauth`) next to the REST API's own (`rest`).
ALTER TABLE signing_key ADD COLUMN purpose text NOT NULL DEFAULT 'rest';

CREATE TABLE application (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id   uuid NOT NULL REFERENCES organization (id) ON DELETE CASCADE,
    owner_id          uuid NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    name              text NOT NULL,
    description       text NOT NULL DEFAULT '',
    throttling_policy text NOT NULL DEFAULT 'Unlimited',
    token_type        text NOT NULL DEFAULT 'JWT',
    -- APPROVED, CREATED (waiting for approval), REJECTED.
    status            text NOT NULL DEFAULT 'APPROVED',
    attributes        jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX application_owner_name_key ON application (owner_id, lower(name));
CREATE INDEX application_org_idx ON application (organization_id);

-- An application's OAuth client at one key manager for one key type. Created here (secret
-- hashed with the server's key) or mapped from a client that exists at a third-party provider
-- (no secret stored).
CREATE TABLE application_key (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    application_id   uuid NOT NULL REFERENCES application (id) ON DELETE CASCADE,
    key_manager_id   uuid NOT NULL REFERENCES key_manager (id) ON DELETE CASCADE,
    key_type         text NOT NULL CHECK (key_type IN ('PRODUCTION', 'SANDBOX')),
    consumer_key     text NOT NULL,
    secret_hash      bytea,
    -- CREATED (by us) or MAPPED (an existing client of the provider).
    mode             text NOT NULL DEFAULT 'CREATED',
    grant_types      text[] NOT NULL,
    callback_url     text,
    validity_seconds bigint NOT NULL DEFAULT 3600,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT application_key_type_key UNIQUE (application_id, key_manager_id, key_type),
    CONSTRAINT application_key_consumer_key UNIQUE (key_manager_id, consumer_key)
);

CREATE TABLE subscription (
    id                          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    application_id              uuid NOT NULL REFERENCES application (id) ON DELETE CASCADE,
    -- An API or an API product.
    api_id                      uuid NOT NULL REFERENCES api (id) ON DELETE CASCADE,
    throttling_policy           text NOT NULL,
    requested_throttling_policy text,
    -- UNBLOCKED, BLOCKED, PROD_ONLY_BLOCKED, ON_HOLD, REJECTED, TIER_UPDATE_PENDING.
    status                      text NOT NULL DEFAULT 'UNBLOCKED',
    created_by                  text NOT NULL,
    created_at                  timestamptz NOT NULL DEFAULT now(),
    updated_at                  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT subscription_app_api_key UNIQUE (application_id, api_id)
);
CREATE INDEX subscription_api_idx ON subscription (api_id);

-- Opaque API keys: only the SHA-256 of the key is kept (a 256-bit random secret needs no slow
-- hash, and the gateway can compute the same digest).
CREATE TABLE api_key (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    application_id      uuid NOT NULL REFERENCES application (id) ON DELETE CASCADE,
    key_type            text NOT NULL CHECK (key_type IN ('PRODUCTION', 'SANDBOX')),
    key_hash            bytea NOT NULL CONSTRAINT api_key_hash_key UNIQUE,
    -- First characters, to tell keys apart in lists.
    key_prefix          text NOT NULL,
    permitted_ips       text[] NOT NULL DEFAULT '{}',
    permitted_referrers text[] NOT NULL DEFAULT '{}',
    expires_at          timestamptz,
    created_by          text NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_key_application_idx ON api_key (application_id);

-- Ephemeral mode: a revoked access token is remembered by its `jti` until it expires.
CREATE TABLE revoked_token (
    jti        text PRIMARY KEY,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX revoked_token_expiry_idx ON revoked_token (expires_at);

-- Persistent mode only: issued access tokens (their SHA-256, never the token).
CREATE TABLE access_token (
    jti                text PRIMARY KEY,
    token_hash         bytea NOT NULL,
    application_key_id uuid NOT NULL REFERENCES application_key (id) ON DELETE CASCADE,
    scope              text NOT NULL,
    expires_at         timestamptz NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX access_token_key_idx ON access_token (application_key_id);
CREATE INDEX access_token_expiry_idx ON access_token (expires_at);

-- The RSA key an environment's gateways sign backend JWTs with (PKCS#8 DER), made on first use;
-- shared by all of them so a backend trusts whichever gateway called it.
ALTER TABLE gateway_environment ADD COLUMN backend_jwt_kid text;
ALTER TABLE gateway_environment ADD COLUMN backend_jwt_key bytea;
