-- E-mail, account lifecycle and moderation.

-- When the address was proven (a link mailed to it was opened); NULL: not yet.
ALTER TABLE users ADD COLUMN email_verified_at INTEGER;
-- Accounts that existed before addresses were proven keep working as they did: their address
-- counts as proven (an installation that requires proven addresses would lock them all out).
UPDATE users SET email_verified_at = created_at;
-- Suspended: cannot sign in, sessions and tokens stop working. Silenced: read-only.
ALTER TABLE users ADD COLUMN suspended_until INTEGER;
ALTER TABLE users ADD COLUMN suspended_reason TEXT;
ALTER TABLE users ADD COLUMN silenced_until INTEGER;
ALTER TABLE users ADD COLUMN silenced_reason TEXT;
-- 'daily' or 'weekly': how often the digest of notifications chosen for it goes out.
ALTER TABLE users ADD COLUMN digest_every TEXT NOT NULL DEFAULT 'weekly';
ALTER TABLE users ADD COLUMN digest_sent_at INTEGER;

-- Signed-in devices, for the sessions page.
ALTER TABLE sessions ADD COLUMN user_agent TEXT;
ALTER TABLE sessions ADD COLUMN ip TEXT;
ALTER TABLE sessions ADD COLUMN last_seen_at INTEGER;

-- Single-use links mailed to an address: 'verify_email' (also a change of address: `email` is
-- the new one) and 'reset_password'. Only the SHA-256 of the token is kept.
CREATE TABLE account_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL,
    email TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);
CREATE INDEX account_tokens_user ON account_tokens (user_id, purpose);

-- Mail to send, written in the transaction of what causes it; a worker sends it and records
-- the SMTP server's acceptance. `claimed_until` is a lease: a node that dies mid-send leaves
-- it to expire, and another node (or the same one restarted) sends the message then.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    to_address TEXT NOT NULL,
    kind TEXT NOT NULL,
    lang TEXT NOT NULL,
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    body_html TEXT NOT NULL,
    unsubscribe_url TEXT,
    message_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    claimed_until INTEGER,
    sent_at INTEGER,
    smtp_response TEXT,
    last_error TEXT,
    failed_at INTEGER
);
CREATE INDEX outbox_due ON outbox (sent_at, failed_at, next_attempt_at);

-- How each kind of notification reaches a member: 'site', 'email', 'digest' or 'off'.
-- No row: the kind's default.
CREATE TABLE notification_prefs (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    delivery TEXT NOT NULL,
    PRIMARY KEY (user_id, kind)
);

-- What became of a notification by mail: NULL undecided, 'site', 'mailed', 'digest' (waiting
-- for the next digest), 'digested'. Notifications older than this feature are not mailed.
ALTER TABLE notifications ADD COLUMN mail_state TEXT;
UPDATE notifications SET mail_state = 'site';
CREATE INDEX notifications_mail_state ON notifications (mail_state);

-- Every staff action, with who, when and what.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    actor_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    action TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id TEXT NOT NULL,
    target_label TEXT NOT NULL,
    detail TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX audit_log_action ON audit_log (action, id);
CREATE INDEX audit_log_actor ON audit_log (actor_id, id);
