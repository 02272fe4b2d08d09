-- The TR39 confusable skeleton of each username (NFKC, lower case), so that look-alike names
-- ("аdmin" with a Cyrillic а, "ａｄｍｉｎ") cannot be registered next to an existing one.
-- Filled for existing accounts at start by the application.
ALTER TABLE users ADD COLUMN username_skeleton TEXT;
CREATE UNIQUE INDEX users_username_skeleton ON users (username_skeleton);

-- Secrets shared by every node of one installation (the CSRF signing key), made at first start.
CREATE TABLE instance_secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
