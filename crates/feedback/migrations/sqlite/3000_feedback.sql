CREATE TABLE products (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    cadence_days INTEGER NOT NULL DEFAULT 7,
    release_weekday INTEGER NOT NULL DEFAULT 5,
    created_at INTEGER NOT NULL
);

CREATE TABLE areas (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    product_id INTEGER NOT NULL REFERENCES products (id),
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    team TEXT NOT NULL,
    UNIQUE (product_id, slug)
);

CREATE TABLE builds (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    product_id INTEGER NOT NULL REFERENCES products (id),
    version TEXT NOT NULL,
    channel TEXT NOT NULL,
    released_at INTEGER NOT NULL,
    notes TEXT NOT NULL DEFAULT '',
    created_by INTEGER NOT NULL REFERENCES users (id),
    UNIQUE (product_id, version)
);
CREATE INDEX builds_product ON builds (product_id, released_at);

CREATE TABLE form_fields (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    product_id INTEGER NOT NULL REFERENCES products (id),
    key TEXT NOT NULL,
    label TEXT NOT NULL,
    required INTEGER NOT NULL DEFAULT 0,
    UNIQUE (product_id, key)
);

CREATE TABLE requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    product_id INTEGER NOT NULL REFERENCES products (id),
    area_id INTEGER NOT NULL REFERENCES areas (id),
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'new',
    status_build_id INTEGER REFERENCES builds (id),
    decline_reason TEXT,
    signature TEXT NOT NULL,
    vote_count INTEGER NOT NULL DEFAULT 0,
    report_count INTEGER NOT NULL DEFAULT 0,
    merged_into INTEGER REFERENCES requests (id),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    acknowledged_at INTEGER
);
CREATE INDEX requests_product_status ON requests (product_id, status, merged_into);
CREATE INDEX requests_build ON requests (status_build_id);

CREATE TABLE reports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id INTEGER NOT NULL REFERENCES requests (id),
    product_id INTEGER NOT NULL REFERENCES products (id),
    area_id INTEGER NOT NULL REFERENCES areas (id),
    build_id INTEGER NOT NULL REFERENCES builds (id),
    author_id INTEGER NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    steps TEXT NOT NULL DEFAULT '',
    expected TEXT NOT NULL DEFAULT '',
    actual TEXT NOT NULL DEFAULT '',
    device TEXT NOT NULL DEFAULT '',
    extra TEXT NOT NULL DEFAULT '{}',
    signature TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX reports_request ON reports (request_id);
CREATE INDEX reports_author ON reports (author_id);
CREATE INDEX reports_build ON reports (build_id, created_at);

CREATE TABLE attachments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    report_id INTEGER NOT NULL REFERENCES reports (id),
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    data BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX attachments_report ON attachments (report_id);

CREATE TABLE votes (
    request_id INTEGER NOT NULL REFERENCES requests (id),
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (request_id, user_id)
);
CREATE INDEX votes_user ON votes (user_id);

CREATE TABLE status_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id INTEGER NOT NULL REFERENCES requests (id),
    from_status TEXT NOT NULL,
    to_status TEXT NOT NULL,
    build_id INTEGER REFERENCES builds (id),
    reason TEXT,
    changed_by INTEGER NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL
);
CREATE INDEX status_changes_request ON status_changes (request_id);

CREATE TABLE request_comments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id INTEGER NOT NULL REFERENCES requests (id),
    author_id INTEGER NOT NULL REFERENCES users (id),
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX request_comments_request ON request_comments (request_id);

CREATE TABLE award_votes (
    week TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    team TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (week, user_id)
);

CREATE TABLE honor_rules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    target_role TEXT NOT NULL UNIQUE,
    min_accepted_reports INTEGER NOT NULL,
    min_shipped_requests INTEGER NOT NULL
);
INSERT INTO honor_rules (target_role, min_accepted_reports, min_shipped_requests) VALUES ('beta_tester', 3, 0);
INSERT INTO honor_rules (target_role, min_accepted_reports, min_shipped_requests) VALUES ('honorary_developer', 5, 2);
