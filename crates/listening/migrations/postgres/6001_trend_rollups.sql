-- Trending reads hourly roll-ups instead of every post of its window (see
-- crates/listening/src/rollup.rs).  Sources: 1 = the forum (posts and campaign entries),
-- 2 = imported social posts.  Hours are `time_ms / 3600000` (UTC).

-- How many times each term was used in an hour.
CREATE TABLE trend_terms (
    source BIGINT NOT NULL,
    hour BIGINT NOT NULL,
    term TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (source, hour, term)
);

-- How many posts each rolled-up hour had.
CREATE TABLE trend_totals (
    source BIGINT NOT NULL,
    hour BIGINT NOT NULL,
    posts BIGINT NOT NULL,
    PRIMARY KEY (source, hour)
);

-- One row per change to an hour's posts since it was rolled up.  Written by triggers, so no
-- write path can forget it; insert-only, so a writer never waits on (or deadlocks over) another
-- writer's mark.  A roll-up deletes exactly the marks it saw with the posts it counted.
CREATE TABLE trend_marks (
    id BIGSERIAL PRIMARY KEY,
    source BIGINT NOT NULL,
    hour BIGINT NOT NULL
);
CREATE INDEX trend_marks_hour ON trend_marks (source, hour);

CREATE INDEX posts_created ON posts (created_at);

CREATE FUNCTION fanloop_trend_mark(src BIGINT, old_at BIGINT, new_at BIGINT) RETURNS void LANGUAGE sql AS $$
    INSERT INTO trend_marks (source, hour)
        SELECT DISTINCT src, h FROM (VALUES (old_at / 3600000), (new_at / 3600000)) AS v (h) WHERE h IS NOT NULL;
$$;

CREATE FUNCTION fanloop_trend_forum() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM fanloop_trend_mark(1, NULL, NEW.created_at);
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM fanloop_trend_mark(1, OLD.created_at, NEW.created_at);
    ELSE
        PERFORM fanloop_trend_mark(1, OLD.created_at, NULL);
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION fanloop_trend_imported() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM fanloop_trend_mark(2, NULL, NEW.posted_at);
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM fanloop_trend_mark(2, OLD.posted_at, NEW.posted_at);
    ELSE
        PERFORM fanloop_trend_mark(2, OLD.posted_at, NULL);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER posts_trend AFTER INSERT OR DELETE OR UPDATE OF body, deleted, created_at
    ON posts FOR EACH ROW EXECUTE FUNCTION fanloop_trend_forum();
CREATE TRIGGER campaign_entries_trend AFTER INSERT OR DELETE OR UPDATE OF body, hidden, created_at
    ON campaign_entries FOR EACH ROW EXECUTE FUNCTION fanloop_trend_forum();
CREATE TRIGGER vet_posts_trend AFTER INSERT OR DELETE OR UPDATE OF text, posted_at
    ON vet_posts FOR EACH ROW EXECUTE FUNCTION fanloop_trend_imported();

-- Every hour that already has posts is rolled up by the job, newest first.
INSERT INTO trend_marks (source, hour) SELECT DISTINCT 1, created_at / 3600000 FROM posts;
INSERT INTO trend_marks (source, hour) SELECT DISTINCT 1, created_at / 3600000 FROM campaign_entries;
INSERT INTO trend_marks (source, hour) SELECT DISTINCT 2, posted_at / 3600000 FROM vet_posts;
