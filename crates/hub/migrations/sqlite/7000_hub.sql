-- Knowledge hub: the installation's member segments (dimensions with choices, or a stage computed
-- from a date), what each member told the hub, experts, series, and articles with their targets
-- and search terms.
CREATE TABLE hub_dimensions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    dim_key TEXT NOT NULL UNIQUE,
    -- 'choice' or 'stage'
    kind TEXT NOT NULL,
    name_en TEXT NOT NULL,
    name_zh TEXT NOT NULL,
    name_fr TEXT NOT NULL,
    -- Stage dimensions: the date asked for, and stage = stage_offset + whole units since it.
    date_prompt_en TEXT NOT NULL DEFAULT '',
    date_prompt_zh TEXT NOT NULL DEFAULT '',
    date_prompt_fr TEXT NOT NULL DEFAULT '',
    unit TEXT NOT NULL DEFAULT '',
    stage_offset INTEGER NOT NULL DEFAULT 0,
    stage_min INTEGER NOT NULL DEFAULT 0,
    stage_max INTEGER NOT NULL DEFAULT 0,
    position INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);

CREATE TABLE hub_choices (
    dimension_id INTEGER NOT NULL REFERENCES hub_dimensions (id) ON DELETE CASCADE,
    choice_key TEXT NOT NULL,
    name_en TEXT NOT NULL,
    name_zh TEXT NOT NULL,
    name_fr TEXT NOT NULL,
    position INTEGER NOT NULL,
    -- Drops (slugs, comma-separated) whose orders tell the hub a member has this choice.
    drop_slugs TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (dimension_id, choice_key)
);

-- What a member told the hub: a choice, or a date (YYYY-MM-DD) a stage is computed from.
CREATE TABLE hub_member_facts (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    dimension_id INTEGER NOT NULL REFERENCES hub_dimensions (id) ON DELETE CASCADE,
    choice_key TEXT,
    day TEXT,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, dimension_id)
);

CREATE TABLE hub_experts (
    user_id INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    field TEXT NOT NULL,
    bio TEXT NOT NULL DEFAULT '',
    appointed_by INTEGER NOT NULL REFERENCES users (id),
    appointed_at INTEGER NOT NULL
);

-- A series unfolds along one stage dimension: each of its articles targets a stage range of it.
CREATE TABLE hub_series (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    slug TEXT NOT NULL UNIQUE,
    lang TEXT NOT NULL,
    title TEXT NOT NULL,
    summary TEXT NOT NULL DEFAULT '',
    dimension_id INTEGER NOT NULL REFERENCES hub_dimensions (id),
    created_by INTEGER NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL
);

CREATE TABLE hub_articles (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    slug TEXT NOT NULL UNIQUE,
    lang TEXT NOT NULL,
    title TEXT NOT NULL,
    summary TEXT NOT NULL DEFAULT '',
    body TEXT NOT NULL,
    body_html TEXT NOT NULL,
    author_id INTEGER NOT NULL REFERENCES users (id),
    publish_at INTEGER NOT NULL,
    series_id INTEGER REFERENCES hub_series (id),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX hub_articles_publish ON hub_articles (publish_at);
CREATE INDEX hub_articles_series ON hub_articles (series_id);

-- An article is for members whose value of each targeted dimension is one of its choices, or
-- whose stage lies in [stage_from, stage_to].  No row: for everyone.
CREATE TABLE hub_article_targets (
    article_id INTEGER NOT NULL REFERENCES hub_articles (id) ON DELETE CASCADE,
    dimension_id INTEGER NOT NULL REFERENCES hub_dimensions (id) ON DELETE CASCADE,
    choice_key TEXT NOT NULL DEFAULT '',
    stage_from INTEGER,
    stage_to INTEGER,
    PRIMARY KEY (article_id, dimension_id, choice_key)
);
CREATE INDEX hub_article_targets_dimension ON hub_article_targets (dimension_id, choice_key);

-- The search terms of each article (see fanloop_community::search::index_terms); in_title
-- weighs a match in the title above one in the body.
CREATE TABLE hub_article_terms (
    term TEXT NOT NULL,
    article_id INTEGER NOT NULL REFERENCES hub_articles (id) ON DELETE CASCADE,
    in_title INTEGER NOT NULL,
    PRIMARY KEY (term, article_id)
);
CREATE INDEX hub_article_terms_article ON hub_article_terms (article_id);
