-- Multi-node sales: an order id decided in Redis is claimed here, in the same transaction as its
-- order row, or voided by a reconciler once its node has not stored it in time. Whichever commits
-- first wins, so a decision is never both stored and given back.
CREATE TABLE order_claims (
    order_id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
