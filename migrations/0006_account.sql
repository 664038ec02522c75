-- The account page: ending all of an account's sessions, links that carry a value (the new
-- address of an email change), and finding an account's comments on any meme when it is
-- deleted.

-- NULL for a session nobody is signed in with.
ALTER TABLE sessions ADD COLUMN user_id TEXT;
CREATE INDEX sessions_by_user ON sessions (user_id) WHERE user_id IS NOT NULL;

ALTER TABLE tokens ADD COLUMN detail TEXT NOT NULL DEFAULT '';

CREATE INDEX comments_by_author ON comments (author_id, id);
