-- Ordering by posting: a drop may require a public post carrying its hashtag to reserve or to
-- buy.  The post is stored in the same transaction as the reservation or the order.
ALTER TABLE drops ADD COLUMN share_on TEXT NOT NULL DEFAULT '';
ALTER TABLE drops ADD COLUMN share_hashtag TEXT NOT NULL DEFAULT '';
ALTER TABLE drops ADD COLUMN share_template TEXT NOT NULL DEFAULT '';
ALTER TABLE drops ADD COLUMN share_min_chars INTEGER NOT NULL DEFAULT 0;
ALTER TABLE drops ADD COLUMN share_board TEXT NOT NULL DEFAULT '';
-- The forum thread where the wall is mirrored (one reply per post).
ALTER TABLE drops ADD COLUMN share_thread_id INTEGER;

CREATE TABLE drop_posts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    drop_id INTEGER NOT NULL REFERENCES drops (id),
    user_id INTEGER NOT NULL REFERENCES users (id),
    body TEXT NOT NULL,
    -- 'order' or 'reservation': what the post was made with.
    made_with TEXT NOT NULL,
    order_id INTEGER,
    -- The member's own words as a fingerprint (NULL for the drop's suggested text).
    fingerprint TEXT,
    -- Its terms (the forum analyser's, joined by U+001F), to compare near copies.
    terms TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    hidden_at INTEGER,
    hidden_by INTEGER REFERENCES users (id),
    -- The forum reply mirroring it, once made.
    community_post_id INTEGER
);
-- One post per member and drop; one post per text (own words) and drop.
CREATE UNIQUE INDEX drop_posts_one ON drop_posts (drop_id, user_id);
CREATE UNIQUE INDEX drop_posts_copy ON drop_posts (drop_id, fingerprint);
CREATE INDEX drop_posts_unmirrored ON drop_posts (community_post_id, id);

-- MinHash bands of own-words posts: near copies share one.
CREATE TABLE drop_post_bands (
    drop_id INTEGER NOT NULL,
    band INTEGER NOT NULL,
    post_id INTEGER NOT NULL REFERENCES drop_posts (id)
);
CREATE INDEX drop_post_bands_band ON drop_post_bands (drop_id, band);
