-- Every change to what search shows, in commit order, for every node's index to follow
-- (see crates/community/src/search_sync.rs).  Written by triggers, so no write path can forget it.
CREATE TABLE search_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    post_id INTEGER NOT NULL,
    at INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
);
CREATE INDEX search_changes_at ON search_changes (at);
CREATE INDEX search_changes_post ON search_changes (post_id, seq);

-- Changes up to `upto` were pruned: an index whose cursor is older must be rebuilt.
CREATE TABLE search_changes_pruned (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    upto INTEGER NOT NULL
);

CREATE TRIGGER posts_search_insert AFTER INSERT ON posts
BEGIN
    INSERT INTO search_changes (post_id) VALUES (NEW.id);
END;
CREATE TRIGGER posts_search_update AFTER UPDATE OF body, deleted, thread_id, is_first ON posts
BEGIN
    INSERT INTO search_changes (post_id) VALUES (NEW.id);
END;
CREATE TRIGGER posts_search_delete AFTER DELETE ON posts
BEGIN
    INSERT INTO search_changes (post_id) VALUES (OLD.id);
END;
CREATE TRIGGER threads_search_update AFTER UPDATE OF title, board_id, deleted ON threads
BEGIN
    INSERT INTO search_changes (post_id) SELECT id FROM posts WHERE thread_id = NEW.id;
END;
