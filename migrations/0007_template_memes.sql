-- A template page lists the newest memes made with it (issue 15): `ORDER BY id DESC` within one
-- template, without reading every meme.

CREATE INDEX memes_by_template ON memes (template_id, id DESC) WHERE template_id IS NOT NULL;
