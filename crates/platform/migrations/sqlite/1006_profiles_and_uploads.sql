-- Profiles: a display name shown beside the @username, and an avatar (an upload's key).
ALTER TABLE users ADD COLUMN display_name TEXT;
ALTER TABLE users ADD COLUMN avatar_key TEXT;
-- What the display name looks like (see `accounts::display_name_skeleton`): no two members show
-- look-alike names, nor a name that looks like another's username.
ALTER TABLE users ADD COLUMN display_name_skeleton TEXT;
CREATE INDEX users_display_name_skeleton ON users (display_name_skeleton);

-- Pictures members sent (into posts, or as avatars), re-encoded: only their pixels are kept.
-- `upload_key` is the random part of the address (/uploads/{key}), so unposted pictures cannot
-- be found by counting. `purpose`: 'post', 'avatar', or 'deleted' (the bytes are gone; the row
-- still counts toward the day's limit).
CREATE TABLE uploads (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    upload_key TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL,
    name TEXT NOT NULL,
    source_format TEXT NOT NULL,
    source_bytes INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    data BLOB NOT NULL,
    thumb_type TEXT NOT NULL,
    thumb_width INTEGER NOT NULL,
    thumb_height INTEGER NOT NULL,
    thumb BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX uploads_user ON uploads (user_id, created_at);
