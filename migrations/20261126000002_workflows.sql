-- Approval workflows (WSO2 "workflows"): an admin switches approval on per type for an
-- organization; a change that needs approval is stored in its pending state (an application
-- CREATED, a subscription ON_HOLD, a tier change TIER_UPDATE_PENDING, ...) together with one
-- `workflow` row, and takes effect only when a workflow admin approves it.

CREATE TABLE workflow_setting (
    organization_id uuid NOT NULL REFERENCES organization (id) ON DELETE CASCADE,
    workflow_type   text NOT NULL,
    enabled         boolean NOT NULL DEFAULT false,
    -- SUBSCRIPTION_CREATION / SUBSCRIPTION_UPDATE: only these tiers need approval (empty: all).
    tiers           text[] NOT NULL DEFAULT '{}',
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, workflow_type)
);

CREATE TABLE workflow (
    -- WSO2's externalWorkflowRef / referenceId.
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organization (id) ON DELETE CASCADE,
    workflow_type   text NOT NULL,
    -- CREATED (pending), APPROVED, REJECTED, CANCELLED (the requester withdrew it).
    status          text NOT NULL DEFAULT 'CREATED'
                    CHECK (status IN ('CREATED', 'APPROVED', 'REJECTED', 'CANCELLED')),
    -- The object waiting: an application, a subscription, ...
    object_id       uuid NOT NULL,
    description     text NOT NULL,
    -- What the approver sees: names, tiers, the requested change.
    properties      jsonb NOT NULL DEFAULT '{}'::jsonb,
    requested_by    text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    decided_by      text,
    decided_at      timestamptz,
    decision_note   text
);
-- One pending request per object and type.
CREATE UNIQUE INDEX workflow_one_pending ON workflow (workflow_type, object_id) WHERE status = 'CREATED';
CREATE INDEX workflow_queue_idx ON workflow (organization_id, status, created_at);
