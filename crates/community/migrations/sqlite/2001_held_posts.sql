-- Posts of new accounts held for a moderator (a first post with links): not published, not
-- indexed, until approved. `thread_id` NULL: a new thread in `board_id` titled `title`.
CREATE TABLE held_posts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    author_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    board_id INTEGER REFERENCES boards (id) ON DELETE CASCADE,
    thread_id INTEGER REFERENCES threads (id) ON DELETE CASCADE,
    title TEXT,
    body TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    -- A moderator publishing it now (a lease, so two cannot publish it twice).
    claimed_at INTEGER,
    -- Rejected: kept (it still counts toward the author's posts of the day), not listed.
    rejected_at INTEGER
);
CREATE INDEX held_posts_author ON held_posts (author_id);
