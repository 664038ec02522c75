-- Accounts and server-side sessions.
-- Usernames and emails are stored already normalised (lower case), so plain UNIQUE
-- constraints give case-insensitive uniqueness.
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL -- unix seconds
) STRICT;

CREATE TABLE sessions (
    id         TEXT PRIMARY KEY,
    data       BLOB NOT NULL,
    expires_at INTEGER NOT NULL -- unix seconds
) STRICT;

CREATE INDEX sessions_by_expiry ON sessions (expires_at);
