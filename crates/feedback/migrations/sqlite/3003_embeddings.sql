-- Sentence embeddings (multilingual-e5-small, 384 little-endian f32, the language's mean taken
-- out) when the installation has the model: a report's own, and a request's mean over its
-- reports.  NULL without the model; the lexical signature works alone.
ALTER TABLE reports ADD COLUMN embedding BLOB;
ALTER TABLE requests ADD COLUMN embedding BLOB;
