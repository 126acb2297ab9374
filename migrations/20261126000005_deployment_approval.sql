-- A revision deployment waiting for approval (workflow REVISION_DEPLOYMENT). What is live stays
-- in `api_deployment` (and on the gateways) until a workflow admin approves; approval moves the
-- row there in the decision's transaction; rejection or cancellation deletes it.
CREATE TABLE pending_deployment (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    api_id               uuid NOT NULL REFERENCES api (id) ON DELETE CASCADE,
    environment_id       uuid NOT NULL REFERENCES gateway_environment (id) ON DELETE CASCADE,
    revision_id          uuid NOT NULL REFERENCES api_revision (id) ON DELETE CASCADE,
    vhost                text NOT NULL,
    display_on_devportal boolean NOT NULL DEFAULT true,
    artifact             jsonb NOT NULL,
    requested_by         text NOT NULL,
    requested_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pending_deployment_one_per_environment UNIQUE (api_id, environment_id)
);
CREATE INDEX pending_deployment_revision_idx ON pending_deployment (revision_id);
