-- Partner vetting (versions 5000–5999).
CREATE TABLE vet_brands (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- kind: brand | product | executive | fans | fan_slur
CREATE TABLE vet_aliases (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    brand_id INTEGER NOT NULL REFERENCES vet_brands (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    alias TEXT NOT NULL,
    UNIQUE (brand_id, kind, alias)
);

CREATE TABLE vet_candidates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    platform TEXT NOT NULL,
    handle TEXT NOT NULL,
    followers INTEGER,
    created_at INTEGER NOT NULL,
    UNIQUE (platform, handle)
);

CREATE TABLE vet_imports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    file_name TEXT NOT NULL,
    imported_by INTEGER REFERENCES users (id),
    rows_imported INTEGER NOT NULL,
    rows_duplicate INTEGER NOT NULL,
    rows_rejected INTEGER NOT NULL,
    -- JSON array of {line, message}
    errors TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE vet_posts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    candidate_id INTEGER NOT NULL REFERENCES vet_candidates (id),
    -- The platform's post id, or a hash of time and text: re-importing a file adds nothing.
    external_key TEXT NOT NULL,
    posted_at INTEGER NOT NULL,
    text TEXT NOT NULL,
    likes INTEGER NOT NULL,
    reposts INTEGER NOT NULL,
    comments INTEGER NOT NULL,
    followers INTEGER,
    url TEXT,
    import_id INTEGER NOT NULL REFERENCES vet_imports (id),
    UNIQUE (candidate_id, external_key)
);
CREATE INDEX vet_posts_time ON vet_posts (posted_at);

-- A human's decision on a report: the verdict is advice, this is the record.
CREATE TABLE vet_reviews (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    brand_id INTEGER NOT NULL REFERENCES vet_brands (id) ON DELETE CASCADE,
    candidate_id INTEGER NOT NULL REFERENCES vet_candidates (id),
    suggested TEXT NOT NULL,
    decision TEXT NOT NULL,
    note TEXT NOT NULL,
    reviewer_id INTEGER NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL
);
CREATE INDEX vet_reviews_candidate ON vet_reviews (brand_id, candidate_id, id);
