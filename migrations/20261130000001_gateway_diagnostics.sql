-- The diagnostics report each connected gateway sends every few seconds (GET /diagnostics of
-- its admin port): the Admin portal shows it per gateway, whichever server replica got it.
ALTER TABLE gateway_instance
    ADD COLUMN diagnostics    jsonb,
    ADD COLUMN diagnostics_at timestamptz;
