-- Gateways that fetch an environment's snapshot: who (X-Gateway-Id: host/pid), the snapshot
-- version they hold, and when they last asked. The Admin portal lists them per environment.
CREATE TABLE gateway_instance (
    environment_id   uuid NOT NULL REFERENCES gateway_environment (id) ON DELETE CASCADE,
    gateway_id       text NOT NULL,
    snapshot_version bigint,
    last_contact     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (environment_id, gateway_id)
);
