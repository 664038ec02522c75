-- What others did to a creator: comments on their memes, remixes of them, new subscribers.
-- Each event is told once: `event` names it ('comment:<id>', 'remix:<id>',
-- 'subscriber:<user id>'), so a retried write, or a subscriber who unsubscribes and comes back,
-- adds nothing. Written in the same transaction as the comment, remix or subscription.
CREATE TABLE creator_notices (
    recipient_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    event        TEXT NOT NULL,
    position     TEXT NOT NULL, -- '<time-ordered id>#<kind>': its place in the inbox
    kind         TEXT NOT NULL, -- comment | remix | subscriber
    actor_id     TEXT NOT NULL,
    actor        TEXT NOT NULL,
    -- The meme commented on, or the remix: the notice goes with it.
    meme_id      TEXT REFERENCES memes (id) ON DELETE CASCADE,
    parent_id    TEXT,          -- the remixed meme (no foreign key: it may be deleted)
    comment_id   TEXT,
    thumb_key    TEXT,
    created_at   INTEGER NOT NULL,
    read         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (recipient_id, event)
) STRICT;
CREATE INDEX creator_notices_by_position ON creator_notices (recipient_id, position);
CREATE INDEX creator_notices_unread ON creator_notices (recipient_id, read);
