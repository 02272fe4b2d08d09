-- Files sent with a report form that was refused (or only checked for duplicates): kept for a
-- day so the fan does not have to attach them again.
CREATE TABLE pending_uploads (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    data BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX pending_uploads_token ON pending_uploads (token);
CREATE INDEX pending_uploads_created ON pending_uploads (created_at);
