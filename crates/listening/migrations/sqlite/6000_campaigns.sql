-- Hashtag campaigns: settings and targets, the drops whose orders count toward them, fan
-- entries with their images and votes, hourly page views and figures recorded by staff.
CREATE TABLE campaigns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    slug TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    hashtag TEXT NOT NULL,
    hashtag_key TEXT NOT NULL,
    starts_at INTEGER NOT NULL,
    ends_at INTEGER NOT NULL,
    currency TEXT NOT NULL DEFAULT 'CNY',
    target_exposure INTEGER NOT NULL DEFAULT 0,
    target_page_views INTEGER NOT NULL DEFAULT 0,
    target_entries INTEGER NOT NULL DEFAULT 0,
    target_orders INTEGER NOT NULL DEFAULT 0,
    target_revenue_cents INTEGER NOT NULL DEFAULT 0,
    max_entries_per_account INTEGER NOT NULL DEFAULT 3,
    max_votes_per_account INTEGER NOT NULL DEFAULT 3,
    winners_announced_at INTEGER,
    created_by INTEGER NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL
);

CREATE TABLE campaign_drops (
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
    drop_id INTEGER NOT NULL REFERENCES drops (id),
    PRIMARY KEY (campaign_id, drop_id)
);

CREATE TABLE campaign_entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
    user_id INTEGER NOT NULL REFERENCES users (id),
    body TEXT NOT NULL,
    votes INTEGER NOT NULL DEFAULT 0,
    hidden INTEGER NOT NULL DEFAULT 0,
    hidden_reason TEXT,
    hidden_by INTEGER REFERENCES users (id),
    winner_rank INTEGER,
    prize TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX campaign_entries_campaign ON campaign_entries (campaign_id, hidden, votes);
CREATE INDEX campaign_entries_created ON campaign_entries (created_at);

CREATE TABLE campaign_images (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    entry_id INTEGER NOT NULL REFERENCES campaign_entries (id),
    position INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    data BLOB NOT NULL
);
CREATE INDEX campaign_images_entry ON campaign_images (entry_id);

CREATE TABLE campaign_votes (
    entry_id INTEGER NOT NULL REFERENCES campaign_entries (id),
    user_id INTEGER NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (entry_id, user_id)
);

-- Per account and campaign: entries filed and votes cast, raised by conditional updates so
-- that concurrent requests cannot pass the campaign's limits.
CREATE TABLE campaign_participants (
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
    user_id INTEGER NOT NULL REFERENCES users (id),
    entries INTEGER NOT NULL DEFAULT 0,
    votes INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (campaign_id, user_id)
);

CREATE TABLE campaign_views (
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
    hour INTEGER NOT NULL,
    views INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (campaign_id, hour)
);

CREATE TABLE campaign_adjustments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
    metric TEXT NOT NULL,
    amount INTEGER NOT NULL,
    at INTEGER NOT NULL,
    note TEXT NOT NULL,
    created_by INTEGER NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL
);
CREATE INDEX campaign_adjustments_campaign ON campaign_adjustments (campaign_id);
