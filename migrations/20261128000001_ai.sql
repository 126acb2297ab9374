-- AI in the Developer Portal: every listed API and API product (PUBLISHED, PROTOTYPED,
-- DEPRECATED), and each of its operations, has a vector (pgvector) of its text, for the
-- marketplace assistant and API chat. The model and dimension are recorded with each vector:
-- a change of model re-embeds (queued), and searches only compare vectors of one model.
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE ai_embedding (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    api_id     uuid NOT NULL REFERENCES api (id) ON DELETE CASCADE,
    -- api (the API as a whole) or operation
    kind       text NOT NULL CONSTRAINT ai_embedding_kind_check CHECK (kind IN ('api', 'operation')),
    -- `GET /menu` for an operation, '' for the API.
    operation  text NOT NULL DEFAULT '',
    -- What was embedded (shown as the reason for a match, compared to skip unchanged texts).
    content    text NOT NULL,
    model      text NOT NULL,
    dimension  integer NOT NULL CONSTRAINT ai_embedding_dimension_check CHECK (dimension > 0),
    -- Any dimension; searches cast to the model's (`embedding::vector(384)`), which the
    -- partial HNSW index per dimension serves (the server creates one for another model's).
    embedding  vector NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ai_embedding_key UNIQUE (api_id, model, kind, operation)
);
CREATE INDEX ai_embedding_hnsw_384 ON ai_embedding
    USING hnsw ((embedding::vector(384)) vector_cosine_ops) WHERE dimension = 384;

-- APIs to embed again (or whose vectors to drop): written in the same transaction as the
-- change (trigger below), taken by the server's indexer, so publishing never waits for a
-- model. `claimed_until`: an indexer works on it (another skips it until then).
CREATE TABLE ai_index_job (
    api_id        uuid PRIMARY KEY,
    enqueued_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    claimed_until timestamptz,
    attempts      integer NOT NULL DEFAULT 0,
    last_error    text
);

CREATE FUNCTION ai_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND NEW.name = OLD.name AND NEW.version = OLD.version AND NEW.context = OLD.context
       AND NEW.description = OLD.description AND NEW.lifecycle_status = OLD.lifecycle_status
       AND NEW.settings = OLD.settings AND NEW.operations = OLD.operations
       AND NEW.definition::text IS NOT DISTINCT FROM OLD.definition::text THEN
        RETURN NEW;
    END IF;
    -- Only what the catalogue lists (now or before) has vectors to make or drop.
    IF NEW.lifecycle_status NOT IN ('PUBLISHED', 'PROTOTYPED', 'DEPRECATED')
       AND (TG_OP = 'INSERT' OR OLD.lifecycle_status NOT IN ('PUBLISHED', 'PROTOTYPED', 'DEPRECATED')) THEN
        RETURN NEW;
    END IF;
    INSERT INTO ai_index_job (api_id) VALUES (NEW.id)
        ON CONFLICT (api_id) DO UPDATE
        SET enqueued_at = clock_timestamp(), claimed_until = NULL, attempts = 0, last_error = NULL;
    PERFORM pg_notify('ai_index', NEW.id::text);
    RETURN NEW;
END $$;

CREATE TRIGGER api_ai_index AFTER INSERT OR UPDATE ON api
    FOR EACH ROW EXECUTE FUNCTION ai_enqueue();
