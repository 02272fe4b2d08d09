-- The knowledge hub's weekly letter: when each member was last written to (or passed over).
CREATE TABLE hub_weekly (
    user_id BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    sent_at BIGINT NOT NULL
);
