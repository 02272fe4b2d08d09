-- The system of record guards every sale rule by itself, whatever a cache in front of it believes.

-- Units held by each buyer's live orders in a drop: an order that would take a buyer above the
-- drop's per-account limit is refused by the same transaction that stores it.
CREATE TABLE drop_buyers (
    drop_id INTEGER NOT NULL REFERENCES drops (id),
    user_id INTEGER NOT NULL REFERENCES users (id),
    units INTEGER NOT NULL CHECK (units >= 0),
    PRIMARY KEY (drop_id, user_id)
);
INSERT INTO drop_buyers (drop_id, user_id, units)
    SELECT drop_id, user_id, SUM(quantity) FROM orders WHERE status <> 'expired' GROUP BY drop_id, user_id;

-- Multi-node sales: each decision taken in Redis carries a token (load epoch and sequence) that
-- is claimed here with its order, or voided once its node is presumed dead. Order ids come from
-- the database, so an id is never issued twice, whatever happens to Redis.
CREATE TABLE decision_claims (
    token TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    order_id INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX decision_claims_order ON decision_claims (order_id);

-- 1 while Redis has not yet been told of the order's latest state (stored, or expired); any
-- node's background pass tells it, idempotently, and clears the flag.
ALTER TABLE orders ADD COLUMN redis_pending INTEGER NOT NULL DEFAULT 0;
CREATE INDEX orders_redis_pending ON orders (drop_id) WHERE redis_pending = 1;
-- Orders due to expire, across drops (also those whose drop nobody has opened since a restart).
CREATE INDEX orders_due ON orders (status, expires_at);
