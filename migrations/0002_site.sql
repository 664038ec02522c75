-- Memes, comments, subscriptions, notifications, the email outbox, shared templates, settings.
-- Ids are time-ordered text (ULID layout), so ORDER BY id DESC is "newest first".

ALTER TABLE users ADD COLUMN subscriber_count INTEGER NOT NULL DEFAULT 0;

CREATE TABLE memes (
    id            TEXT PRIMARY KEY,
    creator_id    TEXT NOT NULL REFERENCES users (id),
    creator       TEXT NOT NULL,
    template_id   TEXT,            -- NULL for an upload
    original_key  TEXT,            -- the unchanged upload, NULL for a template
    parent_id     TEXT,            -- the remixed meme; no foreign key: a parent may be deleted
    captions      TEXT NOT NULL,   -- JSON array of strings
    spec          TEXT NOT NULL,   -- the render engine's JSON description
    display_key   TEXT NOT NULL,
    thumb_key     TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    width         INTEGER NOT NULL,
    height        INTEGER NOT NULL,
    thumb_width   INTEGER NOT NULL,
    thumb_height  INTEGER NOT NULL,
    comment_count INTEGER NOT NULL DEFAULT 0,
    remix_count   INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX memes_top ON memes (comment_count DESC, id DESC);
CREATE INDEX memes_by_creator ON memes (creator_id, id DESC);
CREATE INDEX memes_by_parent ON memes (parent_id, id DESC) WHERE parent_id IS NOT NULL;

CREATE TABLE comments (
    id         TEXT PRIMARY KEY,
    meme_id    TEXT NOT NULL REFERENCES memes (id) ON DELETE CASCADE,
    author_id  TEXT NOT NULL REFERENCES users (id),
    author     TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX comments_by_meme ON comments (meme_id, id);

CREATE TABLE subscriptions (
    creator_id    TEXT NOT NULL REFERENCES users (id),
    subscriber_id TEXT NOT NULL REFERENCES users (id),
    token         TEXT NOT NULL UNIQUE, -- for the one-click unsubscribe link
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (creator_id, subscriber_id)
) STRICT;
CREATE INDEX subscriptions_by_subscriber ON subscriptions (subscriber_id, created_at DESC, creator_id);

CREATE TABLE notifications (
    recipient_id TEXT NOT NULL REFERENCES users (id),
    meme_id      TEXT NOT NULL REFERENCES memes (id) ON DELETE CASCADE,
    creator      TEXT NOT NULL,
    thumb_key    TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    read         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (recipient_id, meme_id)
) STRICT;
CREATE INDEX notifications_unread ON notifications (recipient_id, read);

-- One row per (meme, subscriber) email still to send. The id is derived from both, so a
-- delivery retried after a crash writes the same message again rather than a second one.
CREATE TABLE outbox (
    id           TEXT PRIMARY KEY,
    meme_id      TEXT NOT NULL REFERENCES memes (id) ON DELETE CASCADE,
    recipient_id TEXT NOT NULL REFERENCES users (id),
    creator_id   TEXT NOT NULL REFERENCES users (id),
    due_at       INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX outbox_due ON outbox (due_at);

CREATE TABLE shared_templates (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    owner_id     TEXT NOT NULL REFERENCES users (id),
    owner        TEXT NOT NULL,
    original_key TEXT NOT NULL,
    thumb_key    TEXT NOT NULL,
    width        INTEGER NOT NULL,
    height       INTEGER NOT NULL,
    created_at   INTEGER NOT NULL
) STRICT;

CREATE TABLE template_stats (
    template_id TEXT PRIMARY KEY,
    memes       INTEGER NOT NULL DEFAULT 0,
    remixes     INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE template_daily (
    template_id TEXT NOT NULL,
    day         TEXT NOT NULL, -- YYYY-MM-DD (UTC)
    memes       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (template_id, day)
) STRICT;

CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
) STRICT;
