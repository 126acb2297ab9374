-- API documents (WSO2's Publisher `/apis/{apiId}/documents`) and API thumbnails. Both belong
-- to a row of `api`, so API products have them too, and both go when their API goes.

CREATE TABLE api_document (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    api_id          uuid NOT NULL REFERENCES api (id) ON DELETE CASCADE,
    name            text NOT NULL,
    type            text NOT NULL CHECK (type IN ('HOWTO', 'SAMPLES', 'PUBLIC_FORUM',
                        'SUPPORT_FORUM', 'API_MESSAGE_FORMAT', 'SWAGGER_DOC', 'OTHER')),
    summary         text,
    -- Where the content is: inline text (plain or Markdown), a URL, or an uploaded file.
    source_type     text NOT NULL CHECK (source_type IN ('INLINE', 'MARKDOWN', 'URL', 'FILE')),
    source_url      text,
    -- The type's name when `type` is OTHER.
    other_type_name text,
    -- OWNER_ONLY: Publisher only; PRIVATE: signed-in users; API_LEVEL: whoever sees the API.
    visibility      text NOT NULL CHECK (visibility IN ('OWNER_ONLY', 'PRIVATE', 'API_LEVEL')),
    inline_content  text,
    file_name       text,
    file_type       text,
    file_bytes      bytea,
    created_by      text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_by      text NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
-- Names are unique per API regardless of case, as WSO2's `documents/validate` checks them.
CREATE UNIQUE INDEX api_document_name_key ON api_document (api_id, lower(name));

-- One image per API, served by both REST APIs. The media type is the one its bytes showed on
-- upload, never what the client claimed.
CREATE TABLE api_thumbnail (
    api_id     uuid PRIMARY KEY REFERENCES api (id) ON DELETE CASCADE,
    media_type text NOT NULL,
    bytes      bytea NOT NULL,
    updated_by text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
