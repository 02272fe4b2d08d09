//! Account storage: users, sessions, API tokens, role changes.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use utoipa::ToSchema;

use crate::auth::{self, Role};
use crate::authcache::AuthCache;
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
    /// The name shown beside the @username, if the member chose one.
    pub display_name: Option<String>,
    /// `/uploads/{key}/thumb` (64 px) of the member's avatar, if they have one; the larger
    /// (256 px) is `/uploads/{key}`.
    pub avatar_url: Option<String>,
    pub created_at: i64,
    /// Whether the account's address was proven by a mailed link.
    #[serde(skip)]
    pub email_verified: bool,
    /// Until when the account is suspended (cannot sign in), if it is now.
    #[serde(skip)]
    pub suspended_until: Option<i64>,
    /// Until when the account is silenced (read-only), if it is now.
    #[serde(skip)]
    pub silenced_until: Option<i64>,
}

impl User {
    fn from_row(row: &AnyRow) -> User {
        let now = now_ms();
        let current = |col: &str| crate::db::opt_i64(row, col).filter(|until| *until > now);
        User {
            id: row.get("id"),
            username: row.get("username"),
            role: Role::parse(&row.get::<String, _>("role")).unwrap_or(Role::Fan),
            team: opt_string(row, "team"),
            bio: row.get("bio"),
            display_name: opt_string(row, "display_name"),
            avatar_url: opt_string(row, "avatar_key").map(|k| crate::uploads::thumb_url(&k)),
            created_at: row.get("created_at"),
            email_verified: crate::db::opt_i64(row, "email_verified_at").is_some(),
            suspended_until: current("suspended_until"),
            silenced_until: current("silenced_until"),
        }
    }

    /// Suspended now.
    pub fn is_suspended(&self) -> bool {
        self.suspended_until.is_some()
    }
}

const USER_COLS: &str = "id, username, role, team, bio, display_name, avatar_key, created_at, email_verified_at, \
                         suspended_until, silenced_until";
/// [`USER_COLS`] of the table aliased `u`.
const U_COLS: &str = "u.id, u.username, u.role, u.team, u.bio, u.display_name, u.avatar_key, u.created_at, \
                      u.email_verified_at, u.suspended_until, u.silenced_until";

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

/// A verification letter to write with a new account, in the same transaction.
pub struct VerificationMail {
    /// The raw token its link carries (only its hash is stored).
    pub token: String,
    pub mail: crate::mail::Outgoing,
    pub message_host: String,
}

/// Creates an account. The username is stored NFKC-normalised; one that is the same as, or
/// looks like, an existing name is [`CreateUserError::Taken`]. With `verification`, the link's
/// token and the letter are written in the same transaction as the account.
#[allow(clippy::too_many_arguments)]
pub async fn create_user(
    db: &Db,
    username: &str,
    email: &str,
    password_hash: &str,
    role: Role,
    team: Option<&str>,
    locale: Option<&str>,
    verification: Option<VerificationMail>,
) -> Result<User, CreateUserError> {
    let username = normalize_username(username);
    let other = |e: sqlx::Error| CreateUserError::Other(e.into());
    let mut tx = db.begin_write().await.map_err(other)?;
    let row = sqlx::query(&format!(
        "INSERT INTO users (username, email, password_hash, role, team, created_at, username_skeleton, locale) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {USER_COLS}"
    ))
    .bind(&username)
    .bind(email)
    .bind(password_hash)
    .bind(role.as_str())
    .bind(team)
    .bind(now_ms())
    .bind(username_skeleton(&username))
    .bind(locale)
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            CreateUserError::Taken
        } else {
            CreateUserError::Other(e.into())
        }
    })?;
    let user = User::from_row(&row);
    if let Some(v) = verification {
        insert_account_token(&mut tx, user.id, TokenPurpose::VerifyEmail, email, &v.token)
            .await
            .map_err(CreateUserError::Other)?;
        let mail = crate::mail::Outgoing {
            user_id: Some(user.id),
            ..v.mail
        };
        crate::mail::enqueue(&mut *tx, &mail, &v.message_host)
            .await
            .map_err(CreateUserError::Other)?;
    }
    tx.commit().await.map_err(other)?;
    Ok(user)
}

/// Marks an account's address proven (the demo's accounts, tools).
pub async fn mark_email_verified(db: &Db, user_id: i64) -> anyhow::Result<()> {
    sqlx::query("UPDATE users SET email_verified_at = COALESCE(email_verified_at, $1) WHERE id = $2")
        .bind(now_ms())
        .bind(user_id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// A moderator marks an account's address proven, with the audit entry, in one transaction.
pub async fn vouch_for_email(db: &Db, moderator: i64, target: &User) -> anyhow::Result<()> {
    // A write first: SQLite then takes the write lock at once instead of failing a read
    // snapshot that another writer moved past.
    let mut tx = db.begin_write().await?;
    sqlx::query("UPDATE users SET email_verified_at = COALESCE(email_verified_at, $1) WHERE id = $2")
        .bind(now_ms())
        .bind(target.id)
        .execute(&mut *tx)
        .await?;
    let email: String = sqlx::query_scalar("SELECT email FROM users WHERE id = $1")
        .bind(target.id)
        .fetch_one(&mut *tx)
        .await?;
    crate::audit::record(
        &mut *tx,
        &crate::audit::Entry::new(
            Some(moderator),
            "user.verify_email",
            "user",
            &target.id.to_string(),
            &target.username,
            serde_json::json!({ "email": email }),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A moderator clears what a member shows to others (display name and avatar), recorded in the
/// audit log with what was there.
pub async fn clear_profile(db: &Db, moderator: i64, target: &User) -> anyhow::Result<()> {
    let mut tx = db.begin_write().await?;
    sqlx::query("UPDATE users SET display_name = NULL, display_name_skeleton = NULL, avatar_key = NULL WHERE id = $1")
        .bind(target.id)
        .execute(&mut *tx)
        .await?;
    crate::uploads::forget_avatars(&mut *tx, target.id, "").await?;
    crate::audit::record(
        &mut *tx,
        &crate::audit::Entry::new(
            Some(moderator),
            "user.clear_profile",
            "user",
            &target.id.to_string(),
            &target.username,
            serde_json::json!({ "display_name": target.display_name, "had_avatar": target.avatar_url.is_some() }),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A display name as the member typed it, cleaned: one line, no control or invisible
/// characters, spaces collapsed; `Ok(None)` when empty (the username is shown alone).
pub fn clean_display_name(raw: &str) -> Result<Option<String>, crate::error::AccountError> {
    // Zero-width characters, direction overrides and soft hyphens would let a name hide what
    // it shows.
    let line: String = crate::text::single_line(raw)
        .chars()
        .filter(|c| !is_default_ignorable(*c))
        .collect();
    let name = line.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() {
        return Ok(None);
    }
    if name.chars().count() > 40 {
        return Err(crate::error::AccountError::DisplayNameLength);
    }
    Ok(Some(name))
}

/// Unicode's Default_Ignorable_Code_Point (and the Hangul fillers that render blank): drawn as
/// nothing, so a name could hide characters in them.
fn is_default_ignorable(c: char) -> bool {
    matches!(c as u32,
        0xAD | 0x34F | 0x61C | 0x115F | 0x1160 | 0x17B4 | 0x17B5 | 0x180B..=0x180F | 0x200B..=0x200F
        | 0x202A..=0x202E | 0x2060..=0x206F | 0x3164 | 0xFE00..=0xFE0F | 0xFEFF | 0xFFA0 | 0xFFF0..=0xFFF8
        | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A | 0xE0000..=0xE0FFF)
}

/// What a display name looks like, for comparing with others: its skeleton (as usernames)
/// without spaces and a leading `@` (so "@admin" and "ad min" are "admin").
pub fn display_name_skeleton(display_name: &str) -> String {
    let bare: String = display_name.chars().filter(|c| !c.is_whitespace()).collect();
    username_skeleton(bare.trim_start_matches(['@', '＠']))
}

/// Whether `display_name` looks like the username or the display name of an account other than
/// `user_id` (so nobody can show as "admin", as another member, or as the staff's "Emma Wang").
pub async fn display_name_impersonates(db: &Db, user_id: i64, display_name: &str) -> anyhow::Result<bool> {
    let skeleton = display_name_skeleton(display_name);
    let other: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM users WHERE (username_skeleton = $1 OR display_name_skeleton = $1) AND id <> $2 LIMIT 1",
    )
    .bind(&skeleton)
    .bind(user_id)
    .fetch_optional(&db.pool)
    .await?;
    Ok(other.is_some())
}

/// Sets the bio and display name shown on the member's profile.
pub async fn set_profile(db: &Db, user_id: i64, bio: &str, display_name: Option<&str>) -> anyhow::Result<()> {
    sqlx::query("UPDATE users SET bio = $1, display_name = $2, display_name_skeleton = $3 WHERE id = $4")
        .bind(bio)
        .bind(display_name)
        .bind(display_name.map(display_name_skeleton))
        .bind(user_id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Sets when an account joined (the demo's members joined before its history starts).
pub async fn set_joined(db: &Db, user_id: i64, created_at: i64) -> anyhow::Result<()> {
    sqlx::query("UPDATE users SET created_at = $1 WHERE id = $2")
        .bind(created_at)
        .bind(user_id)
        .execute(&db.pool)
        .await?;
    Ok(())
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

/// Up to `limit` accounts whose name starts with `prefix` (any case), shortest names first: the
/// composer's `@` suggestions. Suspended accounts are left out.
pub async fn find_by_prefix(db: &Db, prefix: &str, limit: i64) -> anyhow::Result<Vec<User>> {
    let prefix = normalize_username(prefix);
    if prefix.is_empty() || prefix.contains('\0') {
        return Ok(Vec::new());
    }
    // LIKE's wildcards in a name are literal here.
    let pattern = format!(
        "{}%",
        prefix
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    let rows = sqlx::query(&format!(
        "SELECT {USER_COLS} FROM users WHERE lower(username) LIKE $1 ESCAPE '\\' \
         AND (suspended_until IS NULL OR suspended_until < $2) ORDER BY length(username), username LIMIT $3"
    ))
    .bind(pattern)
    .bind(now_ms())
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.iter().map(User::from_row).collect())
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
    let mut tx = db.begin_write().await?;
    // A write first (changing nothing): SQLite takes the write lock now, so the read below
    // cannot be overtaken by another writer before this transaction writes.
    sqlx::query("UPDATE users SET role = role WHERE id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    let old: Option<String> = sqlx::query_scalar("SELECT role FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(old_role) = old else { return Ok(None) };
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
    .bind(&old_role)
    .bind(role.as_str())
    .bind(team)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    let user = User::from_row(&row);
    crate::audit::record(
        &mut *tx,
        &crate::audit::Entry::new(
            Some(changed_by),
            "user.role",
            "user",
            &user_id.to_string(),
            &user.username,
            serde_json::json!({ "from": old_role, "to": role.as_str(), "team": team }),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(Some(user))
}

pub async fn set_password(db: &Db, user_id: i64, password_hash: &str) -> anyhow::Result<()> {
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(password_hash)
        .bind(user_id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// The hash an account's password is checked against.
pub async fn password_hash(db: &Db, user_id: i64) -> anyhow::Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(&db.pool)
        .await?)
}

/// A new password, from the settings page: every other device is signed out.
pub async fn change_password(
    db: &Db,
    user_id: i64,
    password_hash: &str,
    keep_session: Option<&str>,
) -> anyhow::Result<()> {
    let mut tx = db.begin_write().await?;
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(password_hash)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    end_other_sessions(&mut *tx, user_id, keep_session).await?;
    tx.commit().await?;
    Ok(())
}

/// What the settings page shows of an account.
#[derive(Debug, Clone, Serialize)]
pub struct AccountDetails {
    pub email: String,
    pub email_verified: bool,
    pub locale: Option<String>,
    pub digest_every: String,
    pub suspended_reason: Option<String>,
    pub silenced_reason: Option<String>,
    pub suspended_until: Option<i64>,
    pub silenced_until: Option<i64>,
}

pub async fn details(db: &Db, user_id: i64) -> anyhow::Result<Option<AccountDetails>> {
    let row = sqlx::query(
        "SELECT email, email_verified_at, locale, digest_every, suspended_reason, silenced_reason, suspended_until, \
         silenced_until FROM users WHERE id = $1",
    )
    .bind(user_id)
    .fetch_optional(&db.pool)
    .await?;
    let now = now_ms();
    Ok(row.map(|r| AccountDetails {
        email: r.get("email"),
        email_verified: crate::db::opt_i64(&r, "email_verified_at").is_some(),
        locale: opt_string(&r, "locale"),
        digest_every: r.get("digest_every"),
        suspended_reason: opt_string(&r, "suspended_reason"),
        silenced_reason: opt_string(&r, "silenced_reason"),
        suspended_until: crate::db::opt_i64(&r, "suspended_until").filter(|u| *u > now),
        silenced_until: crate::db::opt_i64(&r, "silenced_until").filter(|u| *u > now),
    }))
}

/// The language mail is written in, and the digest's rhythm.
pub async fn set_mail_settings(db: &Db, user_id: i64, locale: &str, digest_every: &str) -> anyhow::Result<()> {
    sqlx::query("UPDATE users SET locale = $1, digest_every = $2 WHERE id = $3")
        .bind(locale)
        .bind(digest_every)
        .bind(user_id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

// ---------- links mailed to an address ----------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    VerifyEmail,
    ResetPassword,
}

impl TokenPurpose {
    fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::VerifyEmail => "verify_email",
            TokenPurpose::ResetPassword => "reset_password",
        }
    }

    /// How long a link works: 30 minutes for a reset, 3 days to verify an address.
    pub fn lifetime_ms(self) -> i64 {
        match self {
            TokenPurpose::VerifyEmail => 3 * 86_400_000,
            TokenPurpose::ResetPassword => 30 * 60_000,
        }
    }
}

/// Stores the hash of a link's token; earlier links of the same purpose stop working.
pub async fn insert_account_token(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    user_id: i64,
    purpose: TokenPurpose,
    email: &str,
    token: &str,
) -> anyhow::Result<()> {
    let now = now_ms();
    sqlx::query("UPDATE account_tokens SET used_at = $1 WHERE user_id = $2 AND purpose = $3 AND used_at IS NULL")
        .bind(now)
        .bind(user_id)
        .bind(purpose.as_str())
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO account_tokens (token_hash, user_id, purpose, email, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(auth::token_hash(token))
    .bind(user_id)
    .bind(purpose.as_str())
    .bind(email)
    .bind(now)
    .bind(now + purpose.lifetime_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Uses a link's token once: its account and address if it is valid, unused and not expired.
async fn take_account_token(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    token: &str,
    purpose: TokenPurpose,
) -> anyhow::Result<Option<(i64, String)>> {
    let now = now_ms();
    let row = sqlx::query(
        "UPDATE account_tokens SET used_at = $1 WHERE token_hash = $2 AND purpose = $3 AND used_at IS NULL \
         AND expires_at > $1 RETURNING user_id, email",
    )
    .bind(now)
    .bind(auth::token_hash(token))
    .bind(purpose.as_str())
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|r| (r.get("user_id"), r.get("email"))))
}

/// Whether a link's token would work now (the reset form is shown only for one that does).
pub async fn account_token_valid(db: &Db, token: &str, purpose: TokenPurpose) -> anyhow::Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM account_tokens WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3",
    )
    .bind(auth::token_hash(token))
    .bind(purpose.as_str())
    .bind(now_ms())
    .fetch_one(&db.pool)
    .await?;
    Ok(n > 0)
}

/// Sets a new password from a reset link: the link is used up, every session ends, and the
/// address is proven (the link reached it). `None`: the link is unknown, used or expired.
pub async fn reset_password(db: &Db, token: &str, password_hash: &str) -> anyhow::Result<Option<i64>> {
    let mut tx = db.begin_write().await?;
    let Some((user_id, email)) = take_account_token(&mut tx, token, TokenPurpose::ResetPassword).await? else {
        return Ok(None);
    };
    // Only while the account still has the address the link went to: a link mailed to an
    // address the account has since left must not open it.
    let changed = sqlx::query(
        "UPDATE users SET password_hash = $1, email_verified_at = COALESCE(email_verified_at, $2) \
         WHERE id = $3 AND lower(email) = lower($4)",
    )
    .bind(password_hash)
    .bind(now_ms())
    .bind(user_id)
    .bind(&email)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if changed != 1 {
        return Ok(None); // dropped: the transaction rolls back, the token stays as it was
    }
    end_other_sessions(&mut *tx, user_id, None).await?;
    tx.commit().await?;
    Ok(Some(user_id))
}

/// What opening a verification link did.
#[derive(Debug)]
pub enum Verified {
    /// The account's address is proven.
    Address { user_id: i64 },
    /// The account moved to the new address the link was sent to (`old` should be told).
    Changed { user_id: i64, old: String, new: String },
    /// The link is unknown, used or expired.
    Invalid,
    /// Another account took the address meanwhile.
    Taken,
}

pub async fn verify_email(db: &Db, token: &str) -> anyhow::Result<Verified> {
    let mut tx = db.begin_write().await?;
    let Some((user_id, email)) = take_account_token(&mut tx, token, TokenPurpose::VerifyEmail).await? else {
        return Ok(Verified::Invalid);
    };
    let Some(old): Option<String> = sqlx::query_scalar("SELECT email FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?
    else {
        return Ok(Verified::Invalid);
    };
    let done = sqlx::query("UPDATE users SET email = $1, email_verified_at = $2 WHERE id = $3")
        .bind(&email)
        .bind(now_ms())
        .bind(user_id)
        .execute(&mut *tx)
        .await;
    match done {
        Err(e) if is_unique_violation(&e) => return Ok(Verified::Taken),
        Err(e) => return Err(e.into()),
        Ok(_) => {}
    }
    if !old.eq_ignore_ascii_case(&email) {
        // Reset links mailed to the old address stop working with it.
        sqlx::query(
            "UPDATE account_tokens SET used_at = $1 WHERE user_id = $2 AND purpose = 'reset_password' AND used_at IS NULL",
        )
        .bind(now_ms())
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(if old.eq_ignore_ascii_case(&email) {
        Verified::Address { user_id }
    } else {
        Verified::Changed {
            user_id,
            old,
            new: email,
        }
    })
}

/// Writes a link's token and its letter in one transaction (a verification or a reset).
pub async fn mail_link(
    db: &Db,
    user_id: i64,
    purpose: TokenPurpose,
    email: &str,
    token: &str,
    mail: &crate::mail::Outgoing,
    message_host: &str,
) -> anyhow::Result<()> {
    let mut tx = db.begin_write().await?;
    insert_account_token(&mut tx, user_id, purpose, email, token).await?;
    crate::mail::enqueue(&mut *tx, mail, message_host).await?;
    tx.commit().await?;
    Ok(())
}

/// The account an address (or a username) designates, with its address and language.
pub async fn find_for_reset(db: &Db, login: &str) -> anyhow::Result<Option<(User, String, Option<String>)>> {
    let login = normalize_username(login);
    if login.is_empty() || login.contains('\0') {
        return Ok(None);
    }
    let row = sqlx::query(&format!(
        "SELECT {USER_COLS}, email, locale FROM users WHERE lower(email) = lower($1) OR lower(username) = lower($1)"
    ))
    .bind(&login)
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.map(|r| (User::from_row(&r), r.get("email"), opt_string(&r, "locale"))))
}

// ---------- moderation ----------

/// What a moderator does to an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sanction {
    /// Cannot sign in; sessions end and tokens stop working at once.
    Suspend,
    /// Read-only: can sign in and read, not write.
    Silence,
}

impl Sanction {
    pub fn as_str(self) -> &'static str {
        match self {
            Sanction::Suspend => "suspend",
            Sanction::Silence => "silence",
        }
    }
}

/// Suspends or silences until `until` (or with `None`, lifts it), recording it in the audit log
/// in the same transaction. `false`: no such account.
pub async fn sanction(
    db: &Db,
    actor: &User,
    target: &User,
    sanction: Sanction,
    until: Option<i64>,
    reason: &str,
) -> anyhow::Result<bool> {
    let mut tx = db.begin_write().await?;
    let sql = match sanction {
        Sanction::Suspend => "UPDATE users SET suspended_until = $1, suspended_reason = $2 WHERE id = $3",
        Sanction::Silence => "UPDATE users SET silenced_until = $1, silenced_reason = $2 WHERE id = $3",
    };
    let done = sqlx::query(sql)
        .bind(until)
        .bind(until.map(|_| reason))
        .bind(target.id)
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    if sanction == Sanction::Suspend && until.is_some() {
        end_other_sessions(&mut *tx, target.id, None).await?;
    }
    let action = match (sanction, until) {
        (Sanction::Suspend, Some(_)) => "user.suspend",
        (Sanction::Suspend, None) => "user.unsuspend",
        (Sanction::Silence, Some(_)) => "user.silence",
        (Sanction::Silence, None) => "user.unsilence",
    };
    let detail = match until {
        Some(u) => serde_json::json!({ "until": u, "reason": reason }),
        None => serde_json::json!({}),
    };
    crate::audit::record(
        &mut *tx,
        &crate::audit::Entry::new(
            Some(actor.id),
            action,
            "user",
            &target.id.to_string(),
            &target.username,
            detail,
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Why and until when an account is suspended, for the sign-in page.
pub async fn suspension(db: &Db, user_id: i64) -> anyhow::Result<Option<(i64, String)>> {
    let row = sqlx::query("SELECT suspended_until, suspended_reason FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(&db.pool)
        .await?;
    let now = now_ms();
    Ok(row.and_then(|r| {
        let until = crate::db::opt_i64(&r, "suspended_until").filter(|u| *u > now)?;
        Some((until, opt_string(&r, "suspended_reason").unwrap_or_default()))
    }))
}

/// The device a session was opened from, for the sessions page.
#[derive(Debug, Clone, Default)]
pub struct Device {
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

/// Starts a browser session; returns the raw token for the cookie.
pub async fn create_session(db: &Db, user_id: i64, device: &Device) -> anyhow::Result<String> {
    let token = auth::new_token();
    let now = now_ms();
    let agent = device
        .user_agent
        .as_deref()
        .map(|a| crate::text::single_line(a).chars().take(300).collect::<String>());
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, created_at, expires_at, user_agent, ip, last_seen_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $3)",
    )
    .bind(auth::token_hash(&token))
    .bind(user_id)
    .bind(now)
    .bind(now + SESSION_DAYS * 86_400_000)
    .bind(agent)
    .bind(device.ip.as_deref())
    .execute(&db.pool)
    .await?;
    Ok(token)
}

/// A signed-in device, for the sessions page. `id` is the hash of its token (which cannot be
/// turned back into a cookie).
#[derive(Debug, Clone, Serialize)]
pub struct SessionInfo {
    pub id: String,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub created_at: i64,
    pub last_seen_at: Option<i64>,
    pub current: bool,
}

pub async fn list_sessions(db: &Db, user_id: i64, current_token: Option<&str>) -> anyhow::Result<Vec<SessionInfo>> {
    let current = current_token.map(auth::token_hash);
    let rows = sqlx::query(
        "SELECT token_hash, user_agent, ip, created_at, last_seen_at FROM sessions \
         WHERE user_id = $1 AND expires_at > $2 ORDER BY COALESCE(last_seen_at, created_at) DESC",
    )
    .bind(user_id)
    .bind(now_ms())
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let id: String = r.get("token_hash");
            SessionInfo {
                current: current.as_deref() == Some(id.as_str()),
                id,
                user_agent: opt_string(r, "user_agent"),
                ip: opt_string(r, "ip"),
                created_at: r.get("created_at"),
                last_seen_at: crate::db::opt_i64(r, "last_seen_at"),
            }
        })
        .collect())
}

/// Signs one of the member's devices out; `false` if it is not theirs.
pub async fn end_session(db: &Db, user_id: i64, session_id: &str) -> anyhow::Result<bool> {
    let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash = $2")
        .bind(user_id)
        .bind(session_id)
        .execute(&db.pool)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Signs every device of the member out, but the one whose raw token is `keep`.
pub async fn end_other_sessions<'e, E>(executor: E, user_id: i64, keep: Option<&str>) -> anyhow::Result<u64>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let keep = keep.map(auth::token_hash).unwrap_or_default();
    let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
        .bind(user_id)
        .bind(keep)
        .execute(executor)
        .await?;
    Ok(done.rows_affected())
}

pub async fn session_user(db: &Db, token: &str) -> anyhow::Result<Option<User>> {
    Ok(session_viewer(db, token).await?.map(|(user, _)| user))
}

/// The signed-in account of a session and its chosen time zone, if any.
pub async fn session_viewer(db: &Db, token: &str) -> anyhow::Result<Option<(User, Option<String>)>> {
    let row = sqlx::query(&format!(
        "SELECT {U_COLS}, u.time_zone, s.last_seen_at FROM sessions s \
             JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_at > $2"
    ))
    .bind(auth::token_hash(token))
    .bind(now_ms())
    .fetch_optional(&db.pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let user = User::from_row(&row);
    if user.is_suspended() {
        return Ok(None);
    }
    // The sessions page shows when each device was last seen, to the minute.
    let now = now_ms();
    if crate::db::opt_i64(&row, "last_seen_at").is_none_or(|at| now - at >= 60_000) {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2")
            .bind(now)
            .bind(auth::token_hash(token))
            .execute(&db.pool)
            .await?;
    }
    Ok(Some((user, row.get("time_zone"))))
}

/// The time zone an account chose, if any.
pub async fn time_zone_of(db: &Db, user_id: i64) -> anyhow::Result<Option<String>> {
    Ok(
        sqlx::query_scalar::<_, Option<String>>("SELECT time_zone FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&db.pool)
            .await?
            .flatten(),
    )
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
    let row = sqlx::query(&format!(
        "SELECT {U_COLS}, t.id AS token_id, t.last_used_at FROM api_tokens t \
             JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1"
    ))
    .bind(hex::encode(auth::token_digest(token)))
    .fetch_optional(&db.pool)
    .await?;
    if let Some(r) = &row {
        if use_is_news(r.get("last_used_at"), now_ms()) {
            uses.record(r.get("token_id"));
        }
    }
    Ok(row.as_ref().map(User::from_row))
}

/// A token's account, the token's id and when it was last used.
type TokenRow = (User, i64, Option<i64>);

type Lookup = (String, tokio::sync::oneshot::Sender<Result<Option<TokenRow>, String>>);

/// Resolves API tokens for concurrent requests: from this node's [`AuthCache`] when it holds
/// the token, otherwise a batch at a time from the database.  A flash sale authenticates
/// thousands of requests at once, and one query each would spend most of the CPU handing work
/// to the database driver's thread and back: lookups that arrive while a batch runs go together
/// in the next one (one `IN (…)` query); alone, a lookup is one query as before.
#[derive(Clone)]
pub struct TokenResolver {
    tx: tokio::sync::mpsc::Sender<Lookup>,
    uses: std::sync::Arc<TokenUses>,
    cache: std::sync::Arc<AuthCache>,
}

impl TokenResolver {
    /// Most lookups per query.
    const BATCH: usize = 256;

    /// Starts the resolver on the current Tokio runtime.
    pub fn start(db: Db, uses: std::sync::Arc<TokenUses>, cache: std::sync::Arc<AuthCache>) -> TokenResolver {
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
                Self::answer(&db, batch).await;
            }
        });
        TokenResolver { tx, uses, cache }
    }

    async fn answer(db: &Db, batch: Vec<Lookup>) {
        let hashes: Vec<&str> = batch.iter().map(|(h, _)| h.as_str()).collect();
        match users_by_token_hash(db, &hashes).await {
            Ok(found) => {
                // The same token may be asked for twice in one batch: each gets the answer.
                for (hash, reply) in batch {
                    let _ = reply.send(Ok(found.get(&hash).cloned()));
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
        let digest = auth::token_digest(token);
        let now = now_ms();
        if let Some((user, token_id, last_used_at)) = self.cache.get(&digest) {
            if use_is_news(last_used_at, now) {
                self.uses.record(token_id);
                self.cache.mark_used(&digest, now);
            }
            return Ok(Some(user));
        }
        // Read before the lookup: a change applied while it runs keeps its answer out.
        let epoch = self.cache.epoch();
        let (reply, answer) = tokio::sync::oneshot::channel();
        let hash = hex::encode(digest);
        self.tx
            .send((hash, reply))
            .await
            .map_err(|_| anyhow::anyhow!("the token resolver stopped"))?;
        let found = answer
            .await
            .map_err(|_| anyhow::anyhow!("the token resolver stopped"))?
            .map_err(|e| anyhow::anyhow!(e))?;
        Ok(found.map(|(user, token_id, mut last_used_at)| {
            if use_is_news(last_used_at, now) {
                self.uses.record(token_id);
                last_used_at = Some(now);
            }
            self.cache.insert(epoch, digest, token_id, &user, last_used_at);
            user
        }))
    }
}

/// Users by API-token hash, in one query with one parameter (the hashes as a JSON array): a
/// statement with hundreds of parameters costs more to bind than to run.
async fn users_by_token_hash(db: &Db, hashes: &[&str]) -> anyhow::Result<std::collections::HashMap<String, TokenRow>> {
    let list = db.json_list("$1", false);
    let sql = format!(
        "SELECT t.token_hash, t.id AS token_id, t.last_used_at, {U_COLS} FROM api_tokens t \
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
                (User::from_row(r), r.get("token_id"), r.get("last_used_at")),
            )
        })
        .collect())
}

/// Up to `limit` API tokens with their accounts, by token id after `after` (the last id of the
/// previous page): the SHA-256, when last used, the account; and the page's last token id
/// (`None` when there are no more).
pub async fn token_page(
    db: &Db,
    after: Option<i64>,
    limit: i64,
) -> anyhow::Result<(
    Vec<(crate::authcache::TokenDigest, i64, Option<i64>, User)>,
    Option<i64>,
)> {
    let rows = sqlx::query(&format!(
        "SELECT t.id AS token_id, t.token_hash, t.last_used_at, {U_COLS} FROM api_tokens t \
         JOIN users u ON u.id = t.user_id WHERE t.id > $1 ORDER BY t.id LIMIT $2"
    ))
    .bind(after.unwrap_or(0))
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    let last = rows.last().map(|r| r.get::<i64, _>("token_id"));
    let page = rows
        .iter()
        .filter_map(|r| {
            let mut digest = [0u8; 32];
            hex::decode_to_slice(r.get::<String, _>("token_hash"), &mut digest).ok()?;
            Some((
                digest,
                r.get::<i64, _>("token_id"),
                crate::db::opt_i64(r, "last_used_at"),
                User::from_row(r),
            ))
        })
        .collect();
    Ok((page, last))
}

/// The newest id of `auth_changes` (0 when empty).
pub async fn auth_changes_newest(db: &Db) -> anyhow::Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) FROM auth_changes")
            .fetch_one(&db.pool)
            .await?,
    )
}

/// Most rows [`auth_changes_after`] returns.
pub const AUTH_CHANGES_PAGE: usize = 5_000;

/// Changes (id, account, written at) above `id` or written since `since` (ms), oldest first, at
/// most [`AUTH_CHANGES_PAGE`].
pub async fn auth_changes_after(db: &Db, id: i64, since: i64) -> anyhow::Result<Vec<(i64, i64, i64)>> {
    let rows = sqlx::query(
        "SELECT id, user_id, created_at FROM auth_changes WHERE id > $1 OR created_at > $2 ORDER BY id LIMIT $3",
    )
    .bind(id)
    .bind(since)
    .bind(AUTH_CHANGES_PAGE as i64)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get("id"), r.get("user_id"), r.get("created_at")))
        .collect())
}

/// Removes changes written before `before` (ms).
pub async fn prune_auth_changes(db: &Db, before: i64) -> anyhow::Result<u64> {
    Ok(sqlx::query("DELETE FROM auth_changes WHERE created_at < $1")
        .bind(before)
        .execute(&db.pool)
        .await?
        .rows_affected())
}

/// Whether a use of a token last written as used at `last_used_at` is worth writing: the tokens
/// page shows the time to the minute, so a use within a minute of the stored one changes nothing
/// (a fan's app calling every second writes once a minute, not sixty times).
fn use_is_news(last_used_at: Option<i64>, now: i64) -> bool {
    last_used_at.is_none_or(|at| now - at >= 60_000)
}

/// API-token uses not yet written.  `last_used_at` is shown to the minute on the tokens page, so
/// uses are gathered in memory (token ids) and written in bulk by [`TokenUses::flush`], every
/// few seconds (see `Platform::new`).
#[derive(Debug, Default)]
pub struct TokenUses {
    pending: std::sync::Mutex<std::collections::HashSet<i64>>,
    /// One writer at a time: the last write at shutdown waits for a periodic one in flight.
    writing: tokio::sync::Mutex<()>,
}

impl TokenUses {
    /// Tokens per transaction.  Each holds SQLite's write lock, so a sale's order batches wait
    /// behind it: a transaction stays short (milliseconds).
    const PER_TRANSACTION: usize = 5_000;

    pub fn record(&self, token_id: i64) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        // Bounded: past this many distinct tokens between flushes, later ones wait their turn.
        if pending.len() < 2_000_000 {
            pending.insert(token_id);
        }
    }

    /// How many uses wait to be written.
    pub fn pending(&self) -> usize {
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Writes every recorded use as now; returns how many tokens were touched.
    ///
    /// In token-id order: after a sale a million tokens were used at random, and updating them
    /// by hash in that order dirtied nearly every page of the table in every transaction (about
    /// 37 µs per token measured at 1.3 million); by id, in ascending slices, each transaction
    /// touches one stretch of the table.
    pub async fn flush(&self, db: &Db) -> anyhow::Result<usize> {
        self.flush_at_most(db, usize::MAX).await
    }

    /// Writes at most `limit` of the recorded uses (the rest wait for the next call): the
    /// periodic writer's share of SQLite's write lock stays small while a sale is on, and the
    /// first uses of a million tokens are written in the minutes after it.
    pub async fn flush_at_most(&self, db: &Db, limit: usize) -> anyhow::Result<usize> {
        let _writing = self.writing.lock().await;
        let mut taken: Vec<i64> = {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            if pending.len() <= limit {
                std::mem::take(&mut *pending).into_iter().collect()
            } else {
                let some: Vec<i64> = pending.iter().take(limit).copied().collect();
                for id in &some {
                    pending.remove(id);
                }
                some
            }
        };
        taken.sort_unstable();
        let now = now_ms();
        // One parameter (the ids as a JSON array) per statement: binding thousands of
        // parameters costs more than the update.
        let list = db.json_list("$2", true);
        let sql = format!(
            "UPDATE api_tokens SET last_used_at = $1 WHERE id IN ({list}) \
             AND (last_used_at IS NULL OR last_used_at < $1)"
        );
        for (i, chunk) in taken.chunks(Self::PER_TRANSACTION).enumerate() {
            if i > 0 {
                // A pause between transactions: a writer that waited (an order batch) gets the
                // lock before the next slice, instead of losing every race to this loop.
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            }
            let written: anyhow::Result<()> = async {
                let mut tx = db.begin_write().await?;
                sqlx::query(&sql)
                    .bind(now)
                    .bind(serde_json::to_string(chunk)?)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }
            .await;
            if let Err(e) = written {
                // What was not written waits for the next call.
                let rest = &taken[i * Self::PER_TRANSACTION..];
                self.pending
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend(rest.iter().copied());
                return Err(e);
            }
        }
        Ok(taken.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn token_uses_that_could_not_be_written_wait_for_the_next_write() {
        let dir = tempfile::tempdir().unwrap();
        // No tables: every write fails.
        let db = Db::open_sqlite(dir.path()).await.unwrap();
        let uses = TokenUses::default();
        for id in 1..=12_000 {
            uses.record(id);
        }
        uses.record(5);
        assert_eq!(uses.pending(), 12_000);
        assert!(uses.flush_at_most(&db, 7_000).await.is_err());
        assert_eq!(uses.pending(), 12_000, "nothing lost");
        assert!(uses.flush(&db).await.is_err());
        assert_eq!(uses.pending(), 12_000, "nothing lost");
    }

    #[test]
    fn display_names_are_cleaned_and_bounded() {
        assert_eq!(
            clean_display_name("  \u{202E}Li  Lei\u{200B}\n ").unwrap().as_deref(),
            Some("Li Lei")
        );
        assert_eq!(clean_display_name(" \u{200B} \t").unwrap(), None);
        assert_eq!(
            clean_display_name("A\u{34F}d\u{3164}m\u{FE0F}i\u{E0041}n")
                .unwrap()
                .as_deref(),
            Some("Admin")
        );
        assert_eq!(display_name_skeleton("@ad min"), username_skeleton("admin"));
        assert_eq!(display_name_skeleton("Emma Wang"), display_name_skeleton("emmawang"));
        assert_eq!(
            clean_display_name("小米之家 · 上海 🍊").unwrap().as_deref(),
            Some("小米之家 · 上海 🍊")
        );
        assert_eq!(
            clean_display_name(&"名".repeat(40)).unwrap().map(|n| n.chars().count()),
            Some(40)
        );
        assert_eq!(
            clean_display_name(&"名".repeat(41)),
            Err(crate::error::AccountError::DisplayNameLength)
        );
    }

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
