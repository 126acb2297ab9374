-- Publisher: APIs and API products, lifecycle history, revisions, gateway environments and
-- deployments. An API product is a row of `api` with type 'APIPRODUCT' (as WSO2 models it), so
-- revisions, deployments and lifecycle serve both.

-- Gateway environments. `Default` (virtual host `localhost`) exists from the start, as in WSO2.
-- Only the HTTP port: the gateway listens for plain HTTP (TLS is terminated in front of it).
CREATE TABLE gateway_environment (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name         text NOT NULL CONSTRAINT gateway_environment_name_key UNIQUE,
    display_name text NOT NULL,
    description  text NOT NULL DEFAULT '',
    -- WSO2's environment type: hybrid, production or sandbox.
    type         text NOT NULL DEFAULT 'hybrid',
    -- [{host, httpContext, httpPort, httpsPort, wsPort, wssPort}]
    vhosts       jsonb NOT NULL,
    -- Increases with every deployment change in the environment: the gateway snapshot version.
    revision     bigint NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL DEFAULT now()
);
INSERT INTO gateway_environment (name, display_name, description, vhosts)
VALUES ('Default', 'Default', 'The gateway environment every installation starts with',
        '[{"host": "localhost", "httpContext": "", "httpPort": 8280}]'::jsonb);

CREATE TABLE api (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id    uuid NOT NULL REFERENCES organization (id) ON DELETE CASCADE,
    -- HTTP for REST APIs, APIPRODUCT for API products.
    type               text NOT NULL DEFAULT 'HTTP',
    name               text NOT NULL,
    -- Normalised: starts with '/', no trailing '/', no version segment.
    context            text NOT NULL,
    version            text NOT NULL,
    -- Username of the owner in the same organization.
    provider           text NOT NULL,
    lifecycle_status   text NOT NULL DEFAULT 'CREATED',
    is_default_version boolean NOT NULL DEFAULT false,
    description        text NOT NULL DEFAULT '',
    -- Everything else the Publisher edits (tags, visibility, endpoints, business information,
    -- CORS, security, …) in the shape of `app::publisher::ApiSettings`.
    settings           jsonb NOT NULL DEFAULT '{}'::jsonb,
    -- [{id, target, verb, authType, throttlingPolicy, scopes}] in `app::publisher::Operation`'s shape.
    operations         jsonb NOT NULL DEFAULT '[]'::jsonb,
    -- The OpenAPI / Swagger document (JSON). `json`, not `jsonb`: it keeps the author's key
    -- order, so an export reads like the import. NULL for products.
    definition         json,
    definition_version text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT api_context_version_key UNIQUE (organization_id, context, version),
    CONSTRAINT api_name_version_key UNIQUE (organization_id, name, version)
);
CREATE INDEX api_org_name_idx ON api (organization_id, lower(name));
-- One default version per context.
CREATE UNIQUE INDEX api_default_version_key ON api (organization_id, context)
    WHERE is_default_version;

CREATE TABLE api_lifecycle_event (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    api_id         uuid NOT NULL REFERENCES api (id) ON DELETE CASCADE,
    previous_state text,
    post_state     text NOT NULL,
    username       text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_lifecycle_event_api_idx ON api_lifecycle_event (api_id, id);

-- Immutable snapshots of an API: the whole API object (settings, operations, definition).
CREATE TABLE api_revision (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    api_id      uuid NOT NULL REFERENCES api (id) ON DELETE CASCADE,
    number      integer NOT NULL,
    description text NOT NULL DEFAULT '',
    -- `json` keeps the definition's key order (see api.definition).
    snapshot    json NOT NULL,
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT api_revision_number_key UNIQUE (api_id, number)
);

-- One live revision per API per environment. `artifact` is the gateway's runtime form of the
-- revision for that environment (a `gateway::snapshot::Api`), generated at deploy time.
CREATE TABLE api_deployment (
    api_id               uuid NOT NULL REFERENCES api (id) ON DELETE CASCADE,
    environment_id       uuid NOT NULL REFERENCES gateway_environment (id) ON DELETE CASCADE,
    revision_id          uuid NOT NULL REFERENCES api_revision (id) ON DELETE RESTRICT,
    vhost                text NOT NULL,
    display_on_devportal boolean NOT NULL DEFAULT true,
    status               text NOT NULL DEFAULT 'APPROVED',
    artifact             jsonb NOT NULL,
    deployed_by          text NOT NULL,
    deployed_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (api_id, environment_id)
);
CREATE INDEX api_deployment_env_idx ON api_deployment (environment_id);
CREATE INDEX api_deployment_revision_idx ON api_deployment (revision_id);
