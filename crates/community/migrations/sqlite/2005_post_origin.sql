-- A post made elsewhere (a drop's share wall) and mirrored here: its origin, once per origin.
ALTER TABLE posts ADD COLUMN origin TEXT;
CREATE UNIQUE INDEX posts_origin ON posts (origin);
