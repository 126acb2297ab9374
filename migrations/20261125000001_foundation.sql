-- Foundation: tenants, users, roles and scopes, sessions, REST clients, signing keys, audit.
-- Singular table names; constraint names are stable because the server maps them to field
-- errors (see server/src/error.rs, `on_constraint`).

-- Embeddings (AI issue) live in pgvector; creating it here makes a missing install fail early.
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE organization (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name         text NOT NULL CONSTRAINT organization_name_key UNIQUE,
    display_name text NOT NULL,
    enabled      boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- `user` is reserved in SQL.
CREATE TABLE app_user (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organization (id) ON DELETE CASCADE,
    username        text NOT NULL,
    email           text,
    display_name    text NOT NULL,
    -- Argon2id PHC string; never logged, never returned.
    password_hash   text NOT NULL,
    locked          boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT app_user_username_key UNIQUE (organization_id, username)
);
CREATE UNIQUE INDEX app_user_email_key ON app_user (organization_id, lower(email));

-- The scopes the REST APIs and portals check (WSO2's names plus our admin-section ones).
CREATE TABLE scope (
    name        text PRIMARY KEY,
    -- Which portal's REST API the scope belongs to: publisher, devportal or admin.
    tag         text NOT NULL,
    description text NOT NULL
);

CREATE TABLE role (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organization (id) ON DELETE CASCADE,
    name            text NOT NULL,
    description     text NOT NULL DEFAULT '',
    built_in        boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT role_name_key UNIQUE (organization_id, name)
);

CREATE TABLE role_scope (
    role_id    uuid NOT NULL REFERENCES role (id) ON DELETE CASCADE,
    scope_name text NOT NULL REFERENCES scope (name) ON DELETE CASCADE,
    PRIMARY KEY (role_id, scope_name)
);

CREATE TABLE user_role (
    user_id uuid NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    role_id uuid NOT NULL REFERENCES role (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, role_id)
);

-- Server-side portal sessions: the cookie holds a random token, the table only its SHA-256.
CREATE TABLE session (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    token_hash   bytea NOT NULL CONSTRAINT session_token_hash_key UNIQUE,
    user_id      uuid NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    user_agent   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX session_user_idx ON session (user_id);
CREATE INDEX session_expires_idx ON session (expires_at);

-- OAuth clients: for now the REST clients from dynamic client registration; application
-- clients (key manager issue) add their columns.
CREATE TABLE oauth_client (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organization (id) ON DELETE CASCADE,
    client_id       text NOT NULL CONSTRAINT oauth_client_client_id_key UNIQUE,
    -- HMAC-SHA256 of the secret under the server's hash key: fast to check, useless if leaked.
    secret_hash     bytea NOT NULL,
    client_name     text NOT NULL,
    owner_id        uuid NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    callback_url    text,
    grant_types     text[] NOT NULL,
    saas_app        boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT oauth_client_owner_name_key UNIQUE (owner_id, client_name)
);

-- Keys the token service signs with. Retired keys stay until their tokens have expired.
CREATE TABLE signing_key (
    kid         text PRIMARY KEY,
    algorithm   text NOT NULL,
    private_der bytea NOT NULL,
    public_jwk  jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    retired_at  timestamptz
);

-- Secrets the server generates for itself when the operator gives none (e.g. the HMAC key).
CREATE TABLE server_secret (
    name       text PRIMARY KEY,
    value      bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE audit_log (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id uuid REFERENCES organization (id) ON DELETE SET NULL,
    actor_id        uuid REFERENCES app_user (id) ON DELETE SET NULL,
    actor_name      text NOT NULL,
    action          text NOT NULL,
    target_type     text NOT NULL DEFAULT '',
    target_id       text NOT NULL DEFAULT '',
    detail          jsonb NOT NULL DEFAULT '{}'::jsonb,
    ip              text,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_org_time_idx ON audit_log (organization_id, created_at DESC);
