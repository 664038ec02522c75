-- Personal API tokens: only the SHA-256 hash of each secret is kept. Deleting an account
-- deletes its tokens.

CREATE TABLE api_tokens (
    id          TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL UNIQUE,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;

CREATE INDEX api_tokens_by_user ON api_tokens (user_id, id);
