-- Every change to what search shows, for every node's index to follow
-- (see crates/community/src/search_sync.rs).  Written by triggers, so no write path can forget
-- it; each transaction that writes one also wakes the nodes listening on `fanloop_search`.
CREATE TABLE search_changes (
    seq BIGSERIAL PRIMARY KEY,
    post_id BIGINT NOT NULL,
    at BIGINT NOT NULL DEFAULT (floor(extract(epoch FROM clock_timestamp()) * 1000))::BIGINT
);
CREATE INDEX search_changes_at ON search_changes (at);
CREATE INDEX search_changes_post ON search_changes (post_id, seq);

-- Changes up to `upto` were pruned: an index whose cursor is older must be rebuilt.
CREATE TABLE search_changes_pruned (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    upto BIGINT NOT NULL
);

CREATE FUNCTION fanloop_post_search_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO search_changes (post_id) VALUES (OLD.id);
    ELSE
        INSERT INTO search_changes (post_id) VALUES (NEW.id);
    END IF;
    PERFORM pg_notify('fanloop_search', '');
    RETURN NULL;
END
$$;

CREATE FUNCTION fanloop_thread_search_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_changes (post_id) SELECT id FROM posts WHERE thread_id = NEW.id;
    PERFORM pg_notify('fanloop_search', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER posts_search_change AFTER INSERT OR DELETE OR UPDATE OF body, deleted, thread_id, is_first
    ON posts FOR EACH ROW EXECUTE FUNCTION fanloop_post_search_change();
CREATE TRIGGER threads_search_change AFTER UPDATE OF title, board_id, deleted
    ON threads FOR EACH ROW EXECUTE FUNCTION fanloop_thread_search_change();
