-- Changes that bear on whom an API token authenticates, and as what: each node keeps the
-- tokens it has looked up in memory (crates/platform/src/authcache.rs) and drops a member's
-- tokens as soon as it reads a change of theirs here (every half second). Written by triggers,
-- so no write path (a revocation, a suspension, a role, a deletion, a restore) can forget it.
-- Rows older than an hour are removed by the nodes.
CREATE TABLE auth_changes (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL DEFAULT (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT
);
CREATE INDEX auth_changes_created ON auth_changes (created_at);

CREATE FUNCTION fanloop_auth_token_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO auth_changes (user_id) VALUES (OLD.user_id);
    IF TG_OP = 'UPDATE' AND NEW.user_id IS DISTINCT FROM OLD.user_id THEN
        INSERT INTO auth_changes (user_id) VALUES (NEW.user_id);
    END IF;
    RETURN NULL;
END
$$;
CREATE FUNCTION fanloop_auth_user_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO auth_changes (user_id) VALUES (OLD.id);
    RETURN NULL;
END
$$;

CREATE TRIGGER api_tokens_auth AFTER DELETE OR UPDATE OF user_id, token_hash ON api_tokens
    FOR EACH ROW EXECUTE FUNCTION fanloop_auth_token_change();
-- Only a real change of what a token's account is: a write that sets a column to its own value
-- (used to take a row lock) changes nothing.
CREATE TRIGGER users_auth_update AFTER UPDATE ON users FOR EACH ROW
    WHEN (OLD.username IS DISTINCT FROM NEW.username OR OLD.role IS DISTINCT FROM NEW.role
        OR OLD.team IS DISTINCT FROM NEW.team OR OLD.bio IS DISTINCT FROM NEW.bio
        OR OLD.display_name IS DISTINCT FROM NEW.display_name OR OLD.avatar_key IS DISTINCT FROM NEW.avatar_key
        OR OLD.created_at IS DISTINCT FROM NEW.created_at OR OLD.email_verified_at IS DISTINCT FROM NEW.email_verified_at
        OR OLD.suspended_until IS DISTINCT FROM NEW.suspended_until
        OR OLD.silenced_until IS DISTINCT FROM NEW.silenced_until
        OR OLD.password_hash IS DISTINCT FROM NEW.password_hash OR OLD.id IS DISTINCT FROM NEW.id)
    EXECUTE FUNCTION fanloop_auth_user_change();
CREATE TRIGGER users_auth_delete AFTER DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION fanloop_auth_user_change();
