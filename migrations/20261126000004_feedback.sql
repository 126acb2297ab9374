-- Ratings (one per user and API, 1 to 5) and comments (with one level of replies) on APIs in
-- the Developer Portal.

CREATE TABLE api_rating (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    api_id     uuid NOT NULL REFERENCES api (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    rating     smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT api_rating_one_per_user UNIQUE (api_id, user_id)
);

CREATE TABLE api_comment (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    api_id      uuid NOT NULL REFERENCES api (id) ON DELETE CASCADE,
    -- A reply's top-level comment; replies go with it.
    parent_id   uuid REFERENCES api_comment (id) ON DELETE CASCADE,
    author_id   uuid REFERENCES app_user (id) ON DELETE SET NULL,
    author_name text NOT NULL,
    content     text NOT NULL CHECK (char_length(content) BETWEEN 1 AND 512),
    category    text NOT NULL DEFAULT 'general',
    entry_point text NOT NULL DEFAULT 'devPortal',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz
);
CREATE INDEX api_comment_thread_idx ON api_comment (api_id, parent_id, created_at);
