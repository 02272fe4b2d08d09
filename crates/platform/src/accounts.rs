//! Account storage: users, sessions, API tokens, role changes.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use utoipa::ToSchema;

use crate::auth::{self, Role};
use crate::db::{is_unique_violation, now_ms, opt_string, Db};

pub const SESSION_DAYS: i64 = 30;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub role: Role,
    /// Staff team shown next to the badge, e.g. "Camera team".
    pub team: Option<String>,
    pub bio: String,
    pub created_at: i64,
}

impl User {
    fn from_row(row: &AnyRow) -> User {
        User {
            id: row.get("id"),
            username: row.get("username"),
            role: Role::parse(&row.get::<String, _>("role")).unwrap_or(Role::Fan),
            team: opt_string(row, "team"),
            bio: row.get("bio"),
            created_at: row.get("created_at"),
        }
    }
}

const USER_COLS: &str = "id, username, role, team, bio, created_at";

#[derive(Debug)]
pub enum CreateUserError {
    Taken,
    Other(anyhow::Error),
}

/// A 256-bit secret shared by every node of this installation, made by whichever node asks
/// first (a concurrent first start on two nodes keeps one value).
pub async fn instance_secret(db: &Db, name: &str) -> anyhow::Result<Vec<u8>> {
    sqlx::query("INSERT INTO instance_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
        .bind(name)
        .bind(auth::new_token())
        .execute(&db.pool)
        .await?;
    let value: String = sqlx::query_scalar("SELECT value FROM instance_secrets WHERE name = $1")
        .bind(name)
        .fetch_one(&db.pool)
        .await?;
    Ok(hex::decode(value)?)
}

/// The form a username is stored in: NFKC (so full-width `ａｄｍｉｎ` is `admin`), trimmed.
pub fn normalize_username(username: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    username.trim().nfkc().collect()
}

/// What a username looks like (Unicode TR39 skeleton of its lower-case NFKC form): two names
/// with the same skeleton can be mistaken for each other (`аdmin` with a Cyrillic `а`, `admin`).
pub fn username_skeleton(username: &str) -> String {
    let lower = normalize_username(username).to_lowercase();
    unicode_security::skeleton(&lower).collect::<String>().to_lowercase()
}

/// Fills the skeleton of accounts created before skeletons were stored. A name that looks like
/// an older account's keeps working but gets a skeleton of its own, so the unique index holds.
pub async fn backfill_username_skeletons(db: &Db) -> anyhow::Result<()> {
    let rows = sqlx::query("SELECT id, username FROM users WHERE username_skeleton IS NULL ORDER BY id")
        .fetch_all(&db.pool)
        .await?;
    for row in rows {
        let (id, name): (i64, String) = (row.get("id"), row.get("username"));
        let skeleton = username_skeleton(&name);
        let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE username_skeleton = $1")
            .bind(&skeleton)
            .fetch_optional(&db.pool)
            .await?;
        let value = if taken.is_some() {
            format!("{skeleton}#{id}")
        } else {
            skeleton
        };
        sqlx::query("UPDATE users SET username_skeleton = $1 WHERE id = $2")
            .bind(value)
            .bind(id)
            .execute(&db.pool)
            .await?;
    }
    Ok(())
}

/// Creates an account. The username is stored NFKC-normalised; one that is the same as, or
/// looks like, an existing name is [`CreateUserError::Taken`].
pub async fn create_user(
    db: &Db,
    username: &str,
    email: &str,
    password_hash: &str,
    role: Role,
    team: Option<&str>,
) -> Result<User, CreateUserError> {
    let username = normalize_username(username);
    let row = sqlx::query(&format!(
        "INSERT INTO users (username, email, password_hash, role, team, created_at, username_skeleton) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {USER_COLS}"
    ))
    .bind(&username)
    .bind(email)
    .bind(password_hash)
    .bind(role.as_str())
    .bind(team)
    .bind(now_ms())
    .bind(username_skeleton(&username))
    .fetch_one(&db.pool)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            CreateUserError::Taken
        } else {
            CreateUserError::Other(e.into())
        }
    })?;
    Ok(User::from_row(&row))
}

/// Whether an account already uses this e-mail address (case-insensitive).
pub async fn email_registered(db: &Db, email: &str) -> anyhow::Result<bool> {
    Ok(
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM users WHERE lower(email) = lower($1)")
            .bind(email)
            .fetch_one(&db.pool)
            .await?
            > 0,
    )
}

pub async fn user_count(db: &Db) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&db.pool)
        .await?)
}

pub async fn find_by_id(db: &Db, id: i64) -> anyhow::Result<Option<User>> {
    let row = sqlx::query(&format!("SELECT {USER_COLS} FROM users WHERE id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.as_ref().map(User::from_row))
}

pub async fn find_by_username(db: &Db, username: &str) -> anyhow::Result<Option<User>> {
    let row = sqlx::query(&format!(
        "SELECT {USER_COLS} FROM users WHERE lower(username) = lower($1)"
    ))
    .bind(username)
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.as_ref().map(User::from_row))
}

/// Users named in a list (for @mentions); unknown names are ignored.
pub async fn find_by_usernames(db: &Db, names: &[String]) -> anyhow::Result<Vec<User>> {
    let mut users = Vec::new();
    for name in names.iter().take(20) {
        if let Some(u) = find_by_username(db, name).await? {
            users.push(u);
        }
    }
    Ok(users)
}

/// An account found by its sign-in name, with the hash its password is checked against.
pub struct LoginCandidate {
    pub user: User,
    password_hash: String,
}

/// The account a sign-in name designates (trimmed, NFKC, username or e-mail, any case), if any.
/// Sign-in looks it up once: for the rate limit and for the password check.
pub async fn find_login(db: &Db, login: &str) -> anyhow::Result<Option<LoginCandidate>> {
    let login = normalize_username(login);
    // PostgreSQL text cannot hold NUL: such a login names nobody.
    if login.is_empty() || login.contains('\0') {
        return Ok(None);
    }
    let row = sqlx::query(&format!(
        "SELECT {USER_COLS}, password_hash FROM users WHERE lower(username) = lower($1) OR lower(email) = lower($1)"
    ))
    .bind(&login)
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.map(|row| LoginCandidate {
        user: User::from_row(&row),
        password_hash: row.get("password_hash"),
    }))
}

/// The candidate's account if `password` is its password. Without a candidate the same time is
/// spent on a dummy hash, so response timing does not reveal which names exist.
pub async fn check_password(candidate: Option<LoginCandidate>, password: &str) -> anyhow::Result<Option<User>> {
    let password = password.to_string();
    let Some(LoginCandidate { user, password_hash }) = candidate else {
        tokio::task::spawn_blocking(move || auth::verify_password(&password, &DUMMY_HASH)).await?;
        return Ok(None);
    };
    let ok = tokio::task::spawn_blocking(move || auth::verify_password(&password, &password_hash)).await?;
    Ok(ok.then_some(user))
}

static DUMMY_HASH: once_cell::sync::Lazy<String> =
    once_cell::sync::Lazy::new(|| auth::hash_password("not-a-real-password").unwrap_or_default());

pub async fn list_users(db: &Db, offset: i64, limit: i64) -> anyhow::Result<Vec<User>> {
    let rows = sqlx::query(&format!("SELECT {USER_COLS} FROM users ORDER BY id LIMIT $1 OFFSET $2"))
        .bind(limit)
        .bind(offset)
        .fetch_all(&db.pool)
        .await?;
    Ok(rows.iter().map(User::from_row).collect())
}

/// Changes a role and records who did it, atomically.
pub async fn set_role(
    db: &Db,
    user_id: i64,
    role: Role,
    team: Option<&str>,
    changed_by: i64,
) -> anyhow::Result<Option<User>> {
    let mut tx = db.pool.begin().await?;
    let old: Option<String> = sqlx::query_scalar("SELECT role FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(old) = old else { return Ok(None) };
    let team = if role.is_staff() {
        team.map(str::trim).filter(|t| !t.is_empty())
    } else {
        None
    };
    let row = sqlx::query(&format!(
        "UPDATE users SET role = $1, team = $2 WHERE id = $3 RETURNING {USER_COLS}"
    ))
    .bind(role.as_str())
    .bind(team)
    .bind(user_id)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO role_changes (user_id, changed_by, old_role, new_role, team, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(user_id)
    .bind(changed_by)
    .bind(old)
    .bind(role.as_str())
    .bind(team)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(User::from_row(&row)))
}

pub async fn set_password(db: &Db, user_id: i64, password_hash: &str) -> anyhow::Result<()> {
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(password_hash)
        .bind(user_id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Starts a browser session; returns the raw token for the cookie.
pub async fn create_session(db: &Db, user_id: i64) -> anyhow::Result<String> {
    let token = auth::new_token();
    let now = now_ms();
    sqlx::query("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(auth::token_hash(&token))
        .bind(user_id)
        .bind(now)
        .bind(now + SESSION_DAYS * 86_400_000)
        .execute(&db.pool)
        .await?;
    Ok(token)
}

pub async fn session_user(db: &Db, token: &str) -> anyhow::Result<Option<User>> {
    Ok(session_viewer(db, token).await?.map(|(user, _)| user))
}

/// The signed-in account of a session and its chosen time zone, if any.
pub async fn session_viewer(db: &Db, token: &str) -> anyhow::Result<Option<(User, Option<String>)>> {
    let row = sqlx::query(
        "SELECT u.id, u.username, u.role, u.team, u.bio, u.created_at, u.time_zone FROM sessions s \
         JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_at > $2",
    )
    .bind(auth::token_hash(token))
    .bind(now_ms())
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.map(|r| (User::from_row(&r), r.get("time_zone"))))
}

/// Sets (or with `None`, clears: follow the browser) an account's time zone.
pub async fn set_time_zone(db: &Db, user_id: i64, zone: Option<&str>) -> anyhow::Result<()> {
    sqlx::query("UPDATE users SET time_zone = $1 WHERE id = $2")
        .bind(zone)
        .bind(user_id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

pub async fn delete_session(db: &Db, token: &str) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(auth::token_hash(token))
        .execute(&db.pool)
        .await?;
    Ok(())
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

pub async fn create_api_token(db: &Db, user_id: i64, name: &str) -> anyhow::Result<(ApiToken, String)> {
    let token = format!("fl_{}", auth::new_token());
    let row = sqlx::query(
        "INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4) \
         RETURNING id, name, created_at, last_used_at",
    )
    .bind(user_id)
    .bind(name)
    .bind(auth::token_hash(&token))
    .bind(now_ms())
    .fetch_one(&db.pool)
    .await?;
    Ok((api_token_from_row(&row), token))
}

fn api_token_from_row(row: &AnyRow) -> ApiToken {
    ApiToken {
        id: row.get("id"),
        name: row.get("name"),
        created_at: row.get("created_at"),
        last_used_at: crate::db::opt_i64(row, "last_used_at"),
    }
}

pub async fn list_api_tokens(db: &Db, user_id: i64) -> anyhow::Result<Vec<ApiToken>> {
    let rows =
        sqlx::query("SELECT id, name, created_at, last_used_at FROM api_tokens WHERE user_id = $1 ORDER BY id DESC")
            .bind(user_id)
            .fetch_all(&db.pool)
            .await?;
    Ok(rows.iter().map(api_token_from_row).collect())
}

pub async fn revoke_api_token(db: &Db, user_id: i64, token_id: i64) -> anyhow::Result<bool> {
    let done = sqlx::query("DELETE FROM api_tokens WHERE id = $1 AND user_id = $2")
        .bind(token_id)
        .bind(user_id)
        .execute(&db.pool)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// The account an API token belongs to.  Its use is recorded in `uses` (written later, in bulk):
/// a flash sale's first request from each of a million tokens must not each cost a write.
pub async fn api_token_user(db: &Db, token: &str, uses: &TokenUses) -> anyhow::Result<Option<User>> {
    let hash = auth::token_hash(token);
    let row = sqlx::query(
        "SELECT u.id, u.username, u.role, u.team, u.bio, u.created_at, t.last_used_at FROM api_tokens t \
         JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1",
    )
    .bind(&hash)
    .fetch_optional(&db.pool)
    .await?;
    if let Some(r) = &row {
        if use_is_news(r.get("last_used_at"), now_ms()) {
            uses.record(hash);
        }
    }
    Ok(row.as_ref().map(User::from_row))
}

type Lookup = (String, tokio::sync::oneshot::Sender<Result<Option<User>, String>>);

/// Resolves API tokens for concurrent requests a batch at a time: a flash sale authenticates
/// thousands of requests at once, and one query each would spend most of the CPU handing work
/// to the database driver's thread and back.  Lookups that arrive while a batch runs go
/// together in the next one (one `IN (…)` query); alone, a lookup is one query as before.
#[derive(Clone)]
pub struct TokenResolver {
    tx: tokio::sync::mpsc::Sender<Lookup>,
}

impl TokenResolver {
    /// Most lookups per query.
    const BATCH: usize = 256;

    /// Starts the resolver on the current Tokio runtime.
    pub fn start(db: Db, uses: std::sync::Arc<TokenUses>) -> TokenResolver {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Lookup>(65_536);
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut batch = vec![first];
                while batch.len() < Self::BATCH {
                    match rx.try_recv() {
                        Ok(more) => batch.push(more),
                        Err(_) => break,
                    }
                }
                Self::answer(&db, &uses, batch).await;
            }
        });
        TokenResolver { tx }
    }

    async fn answer(db: &Db, uses: &TokenUses, batch: Vec<Lookup>) {
        let hashes: Vec<&str> = batch.iter().map(|(h, _)| h.as_str()).collect();
        match users_by_token_hash(db, &hashes).await {
            Ok(found) => {
                let now = now_ms();
                for (hash, reply) in batch {
                    let user = match found.get(&hash) {
                        Some((user, last_used_at)) => {
                            if use_is_news(*last_used_at, now) {
                                uses.record(hash);
                            }
                            Some(user.clone())
                        }
                        None => None,
                    };
                    let _ = reply.send(Ok(user));
                }
            }
            Err(e) => {
                let message = format!("{e:#}");
                for (_, reply) in batch {
                    let _ = reply.send(Err(message.clone()));
                }
            }
        }
    }

    /// The account an API token belongs to, if any.
    pub async fn resolve(&self, token: &str) -> anyhow::Result<Option<User>> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.tx
            .send((auth::token_hash(token), reply))
            .await
            .map_err(|_| anyhow::anyhow!("the token resolver stopped"))?;
        answer
            .await
            .map_err(|_| anyhow::anyhow!("the token resolver stopped"))?
            .map_err(|e| anyhow::anyhow!(e))
    }
}

/// Users by API-token hash, in one query with one parameter (the hashes as a JSON array): a
/// statement with hundreds of parameters costs more to bind than to run.
async fn users_by_token_hash(
    db: &Db,
    hashes: &[&str],
) -> anyhow::Result<std::collections::HashMap<String, (User, Option<i64>)>> {
    let list = db.json_list("$1", false);
    let sql = format!(
        "SELECT t.token_hash, t.last_used_at, u.id, u.username, u.role, u.team, u.bio, u.created_at FROM api_tokens t \
         JOIN users u ON u.id = t.user_id WHERE t.token_hash IN ({list})"
    );
    let rows = sqlx::query(&sql)
        .bind(serde_json::to_string(hashes)?)
        .fetch_all(&db.pool)
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            (
                r.get::<String, _>("token_hash"),
                (User::from_row(r), r.get("last_used_at")),
            )
        })
        .collect())
}

/// Whether a use of a token last written as used at `last_used_at` is worth writing: the tokens
/// page shows the time to the minute, so a use within a minute of the stored one changes nothing
/// (a fan's app calling every second writes once a minute, not sixty times).
fn use_is_news(last_used_at: Option<i64>, now: i64) -> bool {
    last_used_at.is_none_or(|at| now - at >= 60_000)
}

/// API-token uses not yet written.  `last_used_at` is shown to the minute on the tokens page, so
/// uses are gathered in memory and written in one statement per few hundred tokens by
/// [`TokenUses::flush`], every few seconds (see `Platform::new`).
#[derive(Debug, Default)]
pub struct TokenUses {
    pending: std::sync::Mutex<std::collections::HashSet<String>>,
}

impl TokenUses {
    pub fn record(&self, token_hash: String) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        // Bounded: past this many distinct tokens between flushes, later ones wait their turn.
        if pending.len() < 2_000_000 {
            pending.insert(token_hash);
        }
    }

    /// Writes every recorded use as now; returns how many tokens were touched.
    pub async fn flush(&self, db: &Db) -> anyhow::Result<usize> {
        let taken: Vec<String> = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()))
            .into_iter()
            .collect();
        let now = now_ms();
        // A few large transactions: one commit each, and the write lock released in between so
        // a sale's orders never wait long behind these.
        for group in taken.chunks(10_000) {
            let mut tx = db.pool.begin().await?;
            // One parameter (the hashes as a JSON array) per statement: binding hundreds of
            // parameters costs more than the update.
            let list = db.json_list("$2", false);
            let sql = format!(
                "UPDATE api_tokens SET last_used_at = $1 WHERE token_hash IN ({list}) \
                 AND (last_used_at IS NULL OR last_used_at < $1)"
            );
            for chunk in group.chunks(1_000) {
                sqlx::query(&sql)
                    .bind(now)
                    .bind(serde_json::to_string(chunk)?)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        }
        Ok(taken.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_alike_names_share_a_skeleton() {
        let admin = username_skeleton("admin");
        assert_eq!(username_skeleton("аdmin"), admin, "Cyrillic а");
        assert_eq!(username_skeleton("ａｄｍｉｎ"), admin, "full width");
        assert_eq!(username_skeleton("ADMIN"), admin);
        assert_eq!(username_skeleton("adrnin"), admin, "rn looks like m");
        assert_ne!(username_skeleton("admin2"), admin);
        assert_ne!(username_skeleton("小米粒"), username_skeleton("小米"));
        assert_eq!(normalize_username(" ａｄｍｉｎ "), "admin");
    }
}
