-- Confirmed and suppressed addresses, one-time tokens, shared counters, and the delivery
-- worker's queue and bookkeeping, which replace the per-subscriber outbox rows: saving a meme
-- now writes one job, and the worker fans it out (the same worker code as on AWS).

ALTER TABLE users ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN email_suppressed INTEGER NOT NULL DEFAULT 0;
-- Accounts made before addresses were confirmed keep working as they did.
UPDATE users SET email_verified = 1;

-- Only SHA-256 hashes of the emailed secrets are stored.
CREATE TABLE tokens (
    hash       TEXT PRIMARY KEY,
    purpose    TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL
) STRICT;

CREATE TABLE counters (
    key        TEXT PRIMARY KEY,
    value      INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX counters_by_expiry ON counters (expires_at);

-- A job is received by setting `visible_at` into the future; the receipt names the job and its
-- `receive_count`, so a stale receipt cannot complete a job another receive took over.
CREATE TABLE jobs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    body          TEXT NOT NULL,    -- the job as JSON (domain::Job)
    visible_at    INTEGER NOT NULL, -- unix milliseconds
    receive_count INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX jobs_visible ON jobs (visible_at);

-- One row per email the worker claimed; `sent` once it went out.
CREATE TABLE sent_emails (
    key        TEXT PRIMARY KEY,
    sent       INTEGER NOT NULL DEFAULT 0,
    claimed_at INTEGER NOT NULL
) STRICT;

CREATE TABLE job_progress (
    key    TEXT PRIMARY KEY,
    cursor TEXT NOT NULL
) STRICT;

CREATE TABLE digests (
    recipient_id TEXT NOT NULL,
    hour         INTEGER NOT NULL,
    meme_id      TEXT NOT NULL,
    PRIMARY KEY (recipient_id, hour, meme_id)
) STRICT;

-- Emails still pending in the old outbox become one job per meme; the subscribers who had no
-- pending row were sent theirs, which the ledger now says, so nobody gets one twice.
INSERT INTO jobs (body, visible_at)
SELECT json_object('type', 'meme_published', 'meme_id', m.id, 'creator_id', m.creator_id, 'creator', m.creator,
                   'thumb_key', m.thumb_key, 'created_at', m.created_at),
       0
FROM memes m WHERE m.id IN (SELECT DISTINCT meme_id FROM outbox);
INSERT INTO sent_emails (key, sent, claimed_at)
SELECT 'meme:' || m.id || ':' || s.subscriber_id, 1, 0
FROM memes m JOIN subscriptions s ON s.creator_id = m.creator_id
WHERE m.id IN (SELECT DISTINCT meme_id FROM outbox)
  AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.meme_id = m.id AND o.recipient_id = s.subscriber_id);
DROP TABLE outbox;
