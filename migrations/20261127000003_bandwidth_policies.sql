-- Application and subscription policies may limit data instead of requests (WSO2's
-- BANDWIDTHLIMIT): data_amount data_unit (KB, MB, GB) per unit_time time_unit, counted on
-- request and response bodies. A policy has exactly one of the two limits.
ALTER TABLE throttling_policy
    ALTER COLUMN request_count DROP NOT NULL,
    ADD COLUMN data_amount bigint CONSTRAINT throttling_policy_data_amount_check CHECK (data_amount > 0),
    ADD COLUMN data_unit text CONSTRAINT throttling_policy_data_unit_check
        CHECK (data_unit IN ('KB', 'MB', 'GB')),
    ADD CONSTRAINT throttling_policy_limit_check
        CHECK ((request_count IS NULL) <> (data_amount IS NULL)
               AND (data_amount IS NULL) = (data_unit IS NULL));
