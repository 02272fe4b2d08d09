-- What each member has read of each thread they opened, whether they watch it (every reply
-- notifies them) and whether they bookmarked it.
CREATE TABLE thread_reads (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    thread_id BIGINT NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    last_read_post_id BIGINT NOT NULL DEFAULT 0,
    watching BIGINT NOT NULL DEFAULT 0,
    bookmarked_at BIGINT,
    PRIMARY KEY (user_id, thread_id)
);
CREATE INDEX thread_reads_watchers ON thread_reads (thread_id, watching);
CREATE INDEX thread_reads_bookmarks ON thread_reads (user_id, bookmarked_at);
