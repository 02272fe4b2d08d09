-- The hub's shop and reach: the drops an article embeds as product cards, article views (for
-- views per segment), and clicks from a card to its drop (article → order conversions).
CREATE TABLE hub_article_products (
    article_id INTEGER NOT NULL REFERENCES hub_articles (id) ON DELETE CASCADE,
    drop_slug TEXT NOT NULL,
    PRIMARY KEY (article_id, drop_slug)
);
CREATE INDEX hub_article_products_drop ON hub_article_products (drop_slug);

CREATE TABLE hub_article_views (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    article_id INTEGER NOT NULL REFERENCES hub_articles (id) ON DELETE CASCADE,
    user_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    viewed_at INTEGER NOT NULL
);
CREATE INDEX hub_article_views_article ON hub_article_views (article_id, viewed_at);

CREATE TABLE hub_article_clicks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    article_id INTEGER NOT NULL REFERENCES hub_articles (id) ON DELETE CASCADE,
    drop_slug TEXT NOT NULL,
    user_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    clicked_at INTEGER NOT NULL
);
CREATE INDEX hub_article_clicks_article ON hub_article_clicks (article_id, drop_slug);
