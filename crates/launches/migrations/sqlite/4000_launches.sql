CREATE TABLE drops (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    price_cents INTEGER NOT NULL,
    currency TEXT NOT NULL DEFAULT 'CNY',
    per_account_limit INTEGER NOT NULL,
    reservations_open_at INTEGER NOT NULL,
    reservations_close_at INTEGER NOT NULL,
    fcode_opens_at INTEGER NOT NULL,
    opens_at INTEGER NOT NULL,
    closes_at INTEGER NOT NULL,
    min_honor_rank INTEGER NOT NULL DEFAULT 1,
    min_account_age_days INTEGER NOT NULL DEFAULT 0,
    mode TEXT NOT NULL,
    wave_size INTEGER NOT NULL DEFAULT 0,
    wave_ms INTEGER NOT NULL DEFAULT 0,
    seed TEXT NOT NULL,
    seed_commitment TEXT NOT NULL,
    seed_revealed INTEGER NOT NULL DEFAULT 0,
    payment_seconds INTEGER NOT NULL DEFAULT 1800,
    created_by INTEGER NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL
);

CREATE TABLE variants (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    drop_id INTEGER NOT NULL REFERENCES drops (id),
    name TEXT NOT NULL,
    general_stock INTEGER NOT NULL,
    fcode_stock INTEGER NOT NULL DEFAULT 0,
    -- Units held by live orders, per pool: the database's own guard against overselling,
    -- whatever a cache in front of it believes.
    sold_general INTEGER NOT NULL DEFAULT 0 CHECK (sold_general <= general_stock),
    sold_fcode INTEGER NOT NULL DEFAULT 0 CHECK (sold_fcode <= fcode_stock)
);
CREATE INDEX variants_drop ON variants (drop_id);

CREATE TABLE reservations (
    drop_id INTEGER NOT NULL REFERENCES drops (id),
    user_id INTEGER NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (drop_id, user_id)
);

CREATE TABLE admissions (
    drop_id INTEGER NOT NULL REFERENCES drops (id),
    user_id INTEGER NOT NULL REFERENCES users (id),
    position INTEGER NOT NULL,
    admitted_at INTEGER NOT NULL,
    PRIMARY KEY (drop_id, user_id)
);

CREATE TABLE fcodes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    drop_id INTEGER NOT NULL REFERENCES drops (id),
    code_hash TEXT NOT NULL UNIQUE,
    code_hint TEXT NOT NULL,
    issued_to INTEGER NOT NULL REFERENCES users (id),
    transferable INTEGER NOT NULL DEFAULT 0,
    issued_by INTEGER NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL,
    revoked_at INTEGER,
    used_at INTEGER,
    used_by INTEGER REFERENCES users (id),
    order_id INTEGER
);
CREATE INDEX fcodes_drop ON fcodes (drop_id);

CREATE TABLE fcode_audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    fcode_id INTEGER NOT NULL REFERENCES fcodes (id),
    action TEXT NOT NULL,
    actor_id INTEGER REFERENCES users (id),
    created_at INTEGER NOT NULL
);

CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    drop_id INTEGER NOT NULL REFERENCES drops (id),
    user_id INTEGER NOT NULL REFERENCES users (id),
    variant_id INTEGER NOT NULL REFERENCES variants (id),
    quantity INTEGER NOT NULL,
    idempotency_key TEXT NOT NULL,
    fcode_id INTEGER REFERENCES fcodes (id),
    status TEXT NOT NULL DEFAULT 'pending',
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    paid_at INTEGER,
    UNIQUE (drop_id, user_id, idempotency_key)
);
CREATE INDEX orders_drop_status ON orders (drop_id, status, expires_at);
CREATE INDEX orders_user ON orders (user_id);
