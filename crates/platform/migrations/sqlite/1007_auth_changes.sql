-- Changes that bear on whom an API token authenticates, and as what: each node keeps the
-- tokens it has looked up in memory (crates/platform/src/authcache.rs) and drops a member's
-- tokens as soon as it reads a change of theirs here (every half second). Written by triggers,
-- so no write path (a revocation, a suspension, a role, a deletion, a restore) can forget it.
-- Rows older than an hour are removed by the nodes.
CREATE TABLE auth_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
);
CREATE INDEX auth_changes_created ON auth_changes (created_at);

CREATE TRIGGER api_tokens_auth_delete AFTER DELETE ON api_tokens
BEGIN
    INSERT INTO auth_changes (user_id) VALUES (OLD.user_id);
END;
CREATE TRIGGER api_tokens_auth_update AFTER UPDATE OF user_id, token_hash ON api_tokens
BEGIN
    INSERT INTO auth_changes (user_id) VALUES (OLD.user_id);
    INSERT INTO auth_changes (user_id) SELECT NEW.user_id WHERE NEW.user_id IS NOT OLD.user_id;
END;
-- Only a real change of what a token's account is: a write that sets a column to its own value
-- (used to take a row lock) changes nothing.
CREATE TRIGGER users_auth_update AFTER UPDATE ON users
WHEN OLD.username IS NOT NEW.username OR OLD.role IS NOT NEW.role OR OLD.team IS NOT NEW.team
    OR OLD.bio IS NOT NEW.bio OR OLD.display_name IS NOT NEW.display_name
    OR OLD.avatar_key IS NOT NEW.avatar_key OR OLD.created_at IS NOT NEW.created_at
    OR OLD.email_verified_at IS NOT NEW.email_verified_at OR OLD.suspended_until IS NOT NEW.suspended_until
    OR OLD.silenced_until IS NOT NEW.silenced_until OR OLD.password_hash IS NOT NEW.password_hash
    OR OLD.id IS NOT NEW.id
BEGIN
    INSERT INTO auth_changes (user_id) VALUES (OLD.id);
END;
CREATE TRIGGER users_auth_delete AFTER DELETE ON users
BEGIN
    INSERT INTO auth_changes (user_id) VALUES (OLD.id);
END;
