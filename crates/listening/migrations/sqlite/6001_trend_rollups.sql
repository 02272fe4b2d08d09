-- Trending reads hourly roll-ups instead of every post of its window (see
-- crates/listening/src/rollup.rs).  Sources: 1 = the forum (posts and campaign entries),
-- 2 = imported social posts.  Hours are `time_ms / 3600000` (UTC).

-- How many times each term was used in an hour.
CREATE TABLE trend_terms (
    source INTEGER NOT NULL,
    hour INTEGER NOT NULL,
    term TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (source, hour, term)
);

-- How many posts each rolled-up hour had.
CREATE TABLE trend_totals (
    source INTEGER NOT NULL,
    hour INTEGER NOT NULL,
    posts INTEGER NOT NULL,
    PRIMARY KEY (source, hour)
);

-- One row per change to an hour's posts since it was rolled up.  Written by triggers, so no
-- write path can forget it; insert-only, so a writer never waits on (or deadlocks over) another
-- writer's mark.  A roll-up deletes exactly the marks it saw with the posts it counted.
CREATE TABLE trend_marks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source INTEGER NOT NULL,
    hour INTEGER NOT NULL
);
CREATE INDEX trend_marks_hour ON trend_marks (source, hour);

CREATE INDEX posts_created ON posts (created_at);

CREATE TRIGGER posts_trend_insert AFTER INSERT ON posts
BEGIN
    INSERT INTO trend_marks (source, hour) VALUES (1, NEW.created_at / 3600000);
END;
CREATE TRIGGER posts_trend_update AFTER UPDATE OF body, deleted, created_at ON posts
BEGIN
    INSERT INTO trend_marks (source, hour) VALUES (1, OLD.created_at / 3600000), (1, NEW.created_at / 3600000);
END;
CREATE TRIGGER posts_trend_delete AFTER DELETE ON posts
BEGIN
    INSERT INTO trend_marks (source, hour) VALUES (1, OLD.created_at / 3600000);
END;

CREATE TRIGGER campaign_entries_trend_insert AFTER INSERT ON campaign_entries
BEGIN
    INSERT INTO trend_marks (source, hour) VALUES (1, NEW.created_at / 3600000);
END;
CREATE TRIGGER campaign_entries_trend_update AFTER UPDATE OF body, hidden, created_at ON campaign_entries
BEGIN
    INSERT INTO trend_marks (source, hour) VALUES (1, OLD.created_at / 3600000), (1, NEW.created_at / 3600000);
END;
CREATE TRIGGER campaign_entries_trend_delete AFTER DELETE ON campaign_entries
BEGIN
    INSERT INTO trend_marks (source, hour) VALUES (1, OLD.created_at / 3600000);
END;

CREATE TRIGGER vet_posts_trend_insert AFTER INSERT ON vet_posts
BEGIN
    INSERT INTO trend_marks (source, hour) VALUES (2, NEW.posted_at / 3600000);
END;
CREATE TRIGGER vet_posts_trend_update AFTER UPDATE OF text, posted_at ON vet_posts
BEGIN
    INSERT INTO trend_marks (source, hour) VALUES (2, OLD.posted_at / 3600000), (2, NEW.posted_at / 3600000);
END;
CREATE TRIGGER vet_posts_trend_delete AFTER DELETE ON vet_posts
BEGIN
    INSERT INTO trend_marks (source, hour) VALUES (2, OLD.posted_at / 3600000);
END;

-- Every hour that already has posts is rolled up by the job, newest first.
INSERT INTO trend_marks (source, hour) SELECT DISTINCT 1, created_at / 3600000 FROM posts;
INSERT INTO trend_marks (source, hour) SELECT DISTINCT 1, created_at / 3600000 FROM campaign_entries;
INSERT INTO trend_marks (source, hour) SELECT DISTINCT 2, posted_at / 3600000 FROM vet_posts;
