-- An admin's "re-embed all" (Admin portal, AI index): the job embeds every text of the API
-- again even where it is unchanged (a provider whose model changed under the same name).
ALTER TABLE ai_index_job ADD COLUMN force boolean NOT NULL DEFAULT false;
