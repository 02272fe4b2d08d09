//! Outgoing e-mail: letters composed in the recipient's language, an outbox written in the
//! transaction of what causes a message, and a worker that sends it over SMTP.
//!
//! A message is a row of `outbox` first. The worker claims a row with a lease
//! (`claimed_until`), hands it to the SMTP server and records the server's acceptance
//! (`sent_at`, `smtp_response`) before it takes the next. A node killed before the server
//! accepted the message leaves the lease to expire and the message is sent then, once; one
//! killed in the instant between the server's "250" and the write of `sent_at` sends it again
//! with the same `Message-ID`, which mail systems use to drop the copy. Failures are retried with
//! exponential backoff; a permanent refusal (5xx) or ten failures end in `failed_at`, shown on
//! the admin page with the error. Without SMTP configured nothing is sent and the admin page
//! lists the waiting messages as "not sent: no SMTP".
//!
//! Notifications become mail here too: the worker reads each new notification, looks at what
//! its recipient chose for its kind (site, e-mail now, digest, off) and writes the letter in the
//! same transaction that marks the notification handled, so a crash neither loses nor doubles it.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use minijinja::context;
use serde::Serialize;
use sha2::Sha256;
use sqlx::Row;

use crate::db::{now_ms, opt_i64, opt_string, Db};
use crate::i18n::Lang;
use crate::notifications::NotificationKind;
use crate::web::Platform;

/// How a mail server is reached and who mail comes from.
#[derive(Debug, Clone, Default)]
pub struct MailConfig {
    /// `smtp://host:port` (plain), `smtp://user:pass@host:587?tls=required` (STARTTLS) or
    /// `smtps://user:pass@host:465`. `None`: mail waits in the outbox.
    pub smtp_url: Option<String>,
    /// The `From:` of every message, e.g. `fanloop <noreply@fans.example.com>`.
    pub from: Option<String>,
    /// How often the worker looks for mail to send (tests use a short one).
    pub poll: Option<Duration>,
    /// How long a node holds a message it is sending before another may take it.
    pub lease: Option<Duration>,
}

/// A message ready for the outbox: already in the recipient's language.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub user_id: Option<i64>,
    pub to: String,
    /// What it is, for the admin page and unsubscribing: `verify_email`, `reset_password`,
    /// `email_changed`, `digest`, or a notification kind.
    pub kind: String,
    pub lang: Lang,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// One-click unsubscribe (RFC 8058) for mail a member may turn off; account mail has none.
    pub unsubscribe_url: Option<String>,
}

/// Who a letter is for: their language, account (for unsubscribe links) and address.
#[derive(Debug, Clone, Copy)]
pub struct To<'a> {
    pub lang: Lang,
    pub user_id: Option<i64>,
    pub address: &'a str,
}

/// The body of a letter: rendered as plain text and as HTML from the same parts.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Letter {
    pub greeting: String,
    pub paragraphs: Vec<String>,
    /// A button (HTML) or a line `label: url` (text).
    pub action: Option<(String, String)>,
    /// A code shown once (an F-code), set apart.
    pub code: Option<String>,
    /// Items of a digest: (title, link, detail).
    pub items: Vec<(String, String, String)>,
    pub footer: Vec<String>,
}

/// Writes a message to the outbox with the executor of the caller's transaction.
pub async fn enqueue<'e, E>(executor: E, mail: &Outgoing, message_host: &str) -> anyhow::Result<()>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let now = now_ms();
    let message_id = format!("<{}.{now}@{message_host}>", &crate::auth::new_token()[..20]);
    sqlx::query(
        "INSERT INTO outbox (user_id, to_address, kind, lang, subject, body_text, body_html, unsubscribe_url, \
         message_id, created_at, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
    )
    .bind(mail.user_id)
    .bind(&mail.to)
    .bind(&mail.kind)
    .bind(mail.lang.code())
    .bind(&mail.subject)
    .bind(&mail.text)
    .bind(&mail.html)
    .bind(&mail.unsubscribe_url)
    .bind(message_id)
    .bind(now)
    .execute(executor)
    .await?;
    Ok(())
}

/// How a kind of notification reaches a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// On the site only.
    Site,
    /// On the site and by e-mail at once.
    Email,
    /// On the site and in the daily or weekly digest.
    Digest,
    /// Not at all.
    Off,
}

impl Delivery {
    pub const ALL: [Delivery; 4] = [Delivery::Site, Delivery::Email, Delivery::Digest, Delivery::Off];

    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Site => "site",
            Delivery::Email => "email",
            Delivery::Digest => "digest",
            Delivery::Off => "off",
        }
    }

    pub fn parse(s: &str) -> Option<Delivery> {
        Delivery::ALL.into_iter().find(|d| d.as_str() == s)
    }

    /// What a member gets without choosing: mail for what is addressed to them, the digest
    /// for news about what they follow, the site for the rest.
    pub fn default_for(kind: NotificationKind) -> Delivery {
        match kind {
            NotificationKind::Reply
            | NotificationKind::Mention
            | NotificationKind::StaffAnswer
            | NotificationKind::FcodeIssued
            | NotificationKind::CampaignWinner
            | NotificationKind::LaunchReminder
            | NotificationKind::Watching
            | NotificationKind::ExpertConversation
            | NotificationKind::HubWeekly => Delivery::Email,
            NotificationKind::StatusChanged | NotificationKind::Promoted => Delivery::Digest,
            NotificationKind::RoleChanged => Delivery::Site,
        }
    }
}

/// The kinds a member sets a delivery for, in the order the settings page shows them.
pub const PREFERENCE_KINDS: [NotificationKind; 12] = [
    NotificationKind::Reply,
    NotificationKind::ExpertConversation,
    NotificationKind::HubWeekly,
    NotificationKind::Mention,
    NotificationKind::StaffAnswer,
    NotificationKind::Watching,
    NotificationKind::StatusChanged,
    NotificationKind::LaunchReminder,
    NotificationKind::FcodeIssued,
    NotificationKind::CampaignWinner,
    NotificationKind::Promoted,
    NotificationKind::RoleChanged,
];

/// Each kind's delivery for a member (defaults where they chose nothing).
pub async fn preferences(db: &Db, user_id: i64) -> anyhow::Result<Vec<(NotificationKind, Delivery)>> {
    let rows = sqlx::query("SELECT kind, delivery FROM notification_prefs WHERE user_id = $1")
        .bind(user_id)
        .fetch_all(&db.pool)
        .await?;
    let chosen: std::collections::HashMap<String, String> =
        rows.iter().map(|r| (r.get("kind"), r.get("delivery"))).collect();
    Ok(PREFERENCE_KINDS
        .iter()
        .map(|k| {
            let d = chosen
                .get(k.as_str())
                .and_then(|d| Delivery::parse(d))
                .unwrap_or(Delivery::default_for(*k));
            (*k, d)
        })
        .collect())
}

pub async fn set_preference<'e, E>(
    executor: E,
    user_id: i64,
    kind: NotificationKind,
    delivery: Delivery,
) -> anyhow::Result<()>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(
        "INSERT INTO notification_prefs (user_id, kind, delivery) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id, kind) DO UPDATE SET delivery = excluded.delivery",
    )
    .bind(user_id)
    .bind(kind.as_str())
    .bind(delivery.as_str())
    .execute(executor)
    .await?;
    Ok(())
}

/// SQL: the digest of the member `u` is due at `$1` (now): a day (`daily`) or a week after the
/// last one, or after joining.
const DIGEST_DUE: &str = "COALESCE(u.digest_sent_at, u.created_at) <= $1 - \
    (CASE WHEN u.digest_every = 'daily' THEN 86400000 ELSE 604800000 END)";

// ---------- unsubscribe links ----------

/// What a one-click unsubscribe link turns off: one kind of notification, or the digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsubscribe {
    pub user_id: i64,
    /// A notification kind, or `digest`.
    pub kind: String,
}

fn unsubscribe_signature(key: &[u8], user_id: i64, kind: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(format!("unsubscribe:{user_id}:{kind}").as_bytes());
    hex::encode(&mac.finalize().into_bytes()[..16])
}

/// The token of an unsubscribe link (`{user}.{kind}.{signature}`): the link works without
/// signing in, from a mail client's one-click POST, and cannot be forged for someone else.
pub fn unsubscribe_token(key: &[u8], user_id: i64, kind: &str) -> String {
    format!("{user_id}.{kind}.{}", unsubscribe_signature(key, user_id, kind))
}

pub fn read_unsubscribe_token(key: &[u8], token: &str) -> Option<Unsubscribe> {
    let mut parts = token.splitn(3, '.');
    let user_id: i64 = parts.next()?.parse().ok()?;
    let kind = parts.next()?;
    let signature = parts.next()?;
    let known = kind == "digest" || PREFERENCE_KINDS.iter().any(|k| k.as_str() == kind);
    if !known || !crate::auth::tokens_equal(signature, &unsubscribe_signature(key, user_id, kind)) {
        return None;
    }
    Some(Unsubscribe {
        user_id,
        kind: kind.to_string(),
    })
}

/// Turns off what the link names: the kind's delivery becomes "site" (still shown on the
/// site, no more mail), or the digest kinds move to "site".
pub async fn apply_unsubscribe(db: &Db, u: &Unsubscribe) -> anyhow::Result<()> {
    let mut tx = db.begin_write().await?;
    if u.kind == "digest" {
        for (kind, delivery) in preferences(db, u.user_id).await? {
            if delivery == Delivery::Digest {
                set_preference(&mut *tx, u.user_id, kind, Delivery::Site).await?;
            }
        }
        // What already waits for the next digest is not mailed either.
        sqlx::query("UPDATE notifications SET mail_state = 'site' WHERE user_id = $1 AND mail_state = 'digest'")
            .bind(u.user_id)
            .execute(&mut *tx)
            .await?;
    } else if let Some(kind) = PREFERENCE_KINDS.iter().find(|k| k.as_str() == u.kind) {
        set_preference(&mut *tx, u.user_id, *kind, Delivery::Site).await?;
        sqlx::query(
            "UPDATE notifications SET mail_state = 'site' WHERE user_id = $1 AND kind = $2 AND mail_state = 'digest'",
        )
        .bind(u.user_id)
        .bind(kind.as_str())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

// ---------- composing ----------

impl Platform {
    /// The host named in `Message-ID`s and the `From:` default.
    pub fn mail_host(&self) -> String {
        let url = self.config.public_url.trim_end_matches('/');
        let host = url.split("://").nth(1).unwrap_or(url);
        let host = host.split(['/', ':']).next().unwrap_or("localhost");
        if host.is_empty() {
            "localhost".into()
        } else {
            host.to_string()
        }
    }

    /// An absolute link to a path of this site, for mail.
    pub fn absolute(&self, path: &str) -> String {
        format!("{}{path}", self.config.public_url.trim_end_matches('/'))
    }

    /// A message in `lang`: the subject and the letter as text and HTML.
    pub fn compose(
        &self,
        to: To<'_>,
        kind: &str,
        subject: String,
        mut letter: Letter,
        unsubscribe_kind: Option<&str>,
    ) -> anyhow::Result<Outgoing> {
        let To { lang, user_id, address } = to;
        let unsubscribe_url = match (user_id, unsubscribe_kind) {
            (Some(id), Some(k)) => Some(self.absolute(&format!(
                "/unsubscribe/{}",
                unsubscribe_token(&self.config.csrf_key.0, id, k)
            ))),
            _ => None,
        };
        letter.footer.push(crate::i18n::fill(
            &self.t(lang, "mail.footer_site"),
            &args(&[("site", &self.config.public_url)]),
        ));
        if let Some(url) = &unsubscribe_url {
            letter
                .footer
                .push(format!("{} {url}", self.t(lang, "mail.unsubscribe")));
        }
        let text = letter_text(&letter);
        let html = self.render_fragment(
            lang,
            "mail.html",
            context! { subject => &subject, letter => &letter, unsubscribe_url => &unsubscribe_url,
            unsubscribe_label => self.t(lang, "mail.unsubscribe"),
            settings_url => self.absolute("/settings/notifications") },
        )?;
        Ok(Outgoing {
            user_id,
            to: address.to_string(),
            kind: kind.to_string(),
            lang,
            subject,
            text,
            html,
            unsubscribe_url,
        })
    }

    /// Wakes the mail worker (something was just written to the outbox or notified).
    pub fn wake_mail(&self) {
        self.mail_wake.notify_one();
    }
}

/// `{name}` arguments for [`crate::i18n::fill`].
pub fn args(pairs: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn letter_text(letter: &Letter) -> String {
    let mut out = String::new();
    out.push_str(&letter.greeting);
    out.push_str("\n\n");
    for p in &letter.paragraphs {
        out.push_str(p);
        out.push_str("\n\n");
    }
    if let Some(code) = &letter.code {
        out.push_str("    ");
        out.push_str(code);
        out.push_str("\n\n");
    }
    for (title, link, detail) in &letter.items {
        out.push_str("- ");
        out.push_str(title);
        if !detail.is_empty() {
            out.push_str(" (");
            out.push_str(detail);
            out.push(')');
        }
        out.push_str("\n  ");
        out.push_str(link);
        out.push('\n');
    }
    if !letter.items.is_empty() {
        out.push('\n');
    }
    if let Some((label, url)) = &letter.action {
        out.push_str(label);
        out.push_str(":\n");
        out.push_str(url);
        out.push_str("\n\n");
    }
    out.push_str("-- \n");
    for line in &letter.footer {
        out.push_str(line);
        out.push('\n');
    }
    out
}

// ---------- the outbox, read ----------

/// A row of the outbox, for the admin page.
#[derive(Debug, Clone, Serialize)]
pub struct OutboxEntry {
    pub id: i64,
    pub to: String,
    pub kind: String,
    pub subject: String,
    pub created_at: i64,
    pub attempts: i64,
    pub sent_at: Option<i64>,
    pub smtp_response: Option<String>,
    pub last_error: Option<String>,
    pub failed_at: Option<i64>,
    pub next_attempt_at: i64,
}

/// The newest messages, those not sent first.
pub async fn list_outbox(db: &Db, limit: i64, offset: i64) -> anyhow::Result<Vec<OutboxEntry>> {
    let rows = sqlx::query(
        "SELECT id, to_address, kind, subject, created_at, attempts, sent_at, smtp_response, last_error, failed_at, \
         next_attempt_at FROM outbox ORDER BY (CASE WHEN sent_at IS NULL THEN 0 ELSE 1 END), id DESC LIMIT $1 OFFSET $2",
    )
    .bind(limit)
    .bind(offset)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| OutboxEntry {
            id: r.get("id"),
            to: r.get("to_address"),
            kind: r.get("kind"),
            subject: r.get("subject"),
            created_at: r.get("created_at"),
            attempts: r.get("attempts"),
            sent_at: opt_i64(r, "sent_at"),
            smtp_response: opt_string(r, "smtp_response"),
            last_error: opt_string(r, "last_error"),
            failed_at: opt_i64(r, "failed_at"),
            next_attempt_at: r.get("next_attempt_at"),
        })
        .collect())
}

/// (messages waiting, sent, given up).
pub async fn outbox_counts(db: &Db) -> anyhow::Result<(i64, i64, i64)> {
    let row = sqlx::query(
        "SELECT COALESCE(SUM(CASE WHEN sent_at IS NULL AND failed_at IS NULL THEN 1 ELSE 0 END), 0) AS waiting, \
         COALESCE(SUM(CASE WHEN sent_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS sent, \
         COALESCE(SUM(CASE WHEN failed_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS failed FROM outbox",
    )
    .fetch_one(&db.pool)
    .await?;
    Ok((row.get("waiting"), row.get("sent"), row.get("failed")))
}

// ---------- the worker ----------

#[derive(Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribe(s.to_string()))
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), format!("<{}>", self.0))
    }
}

#[derive(Clone)]
struct ListUnsubscribePost;

impl Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribePost)
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".to_string())
    }
}

/// Sends the outbox and turns notifications into mail, on every node (claims keep nodes from
/// sending one message twice).
pub struct MailWorker {
    platform: Platform,
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: Mailbox,
    poll: Duration,
    lease_ms: i64,
}

const MAX_ATTEMPTS: i64 = 10;

/// SQL: once a message carrying a one-time link or an F-code is sent (or given up), its body
/// is dropped from the outbox: the database keeps only the hashes of such secrets.
const FORGET_SECRETS: &str = "body_text = CASE WHEN kind IN ('verify_email', 'reset_password', 'fcode_issued') \
    THEN '(removed once sent: it held a one-time link or code)' ELSE body_text END, \
    body_html = CASE WHEN kind IN ('verify_email', 'reset_password', 'fcode_issued') THEN '' ELSE body_html END";

impl MailWorker {
    pub fn new(platform: Platform, config: &MailConfig) -> anyhow::Result<MailWorker> {
        // A send (connect, greeting, EHLO, MAIL, RCPT, DATA, the message, QUIT: about eight
        // waits) must end within the lease, or another node would send the message again: each
        // wait gets at most an eighth of it.
        let lease = config
            .lease
            .unwrap_or(Duration::from_secs(120))
            .max(Duration::from_secs(1));
        let step = (lease / 8).min(Duration::from_secs(20));
        let transport = match &config.smtp_url {
            Some(url) => Some(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| anyhow::anyhow!("--smtp-url is not usable: {e}"))?
                    .timeout(Some(step))
                    .build(),
            ),
            None => None,
        };
        let from = match &config.from {
            Some(f) => f
                .parse()
                .map_err(|e| anyhow::anyhow!("--mail-from {f:?} is not an address: {e}"))?,
            None => format!("fanloop <noreply@{}>", platform.mail_host())
                .parse()
                .or_else(|_| "fanloop <noreply@localhost>".parse())
                .map_err(|e| anyhow::anyhow!("default sender: {e}"))?,
        };
        Ok(MailWorker {
            platform,
            transport,
            from,
            poll: config.poll.unwrap_or(Duration::from_secs(5)),
            lease_ms: lease.as_millis() as i64,
        })
    }

    pub fn sends(&self) -> bool {
        self.transport.is_some()
    }

    /// Runs forever: a pass at every tick, or as soon as something wakes it.
    pub async fn run(self) {
        let wake = self.platform.mail_wake.clone();
        loop {
            if let Err(e) = self.pass().await {
                tracing::warn!("mail worker: {e:#}");
            }
            tokio::select! {
                _ = tokio::time::sleep(self.poll) => {}
                _ = wake.notified() => {}
            }
        }
    }

    /// One pass: notifications to mail, digests that are due, then the outbox.
    pub async fn pass(&self) -> anyhow::Result<()> {
        while self.mail_notifications().await? > 0 {}
        self.mail_digests().await?;
        if self.transport.is_some() {
            while self.send_due().await? > 0 {}
        }
        Ok(())
    }

    /// Decides what becomes of new notifications; returns how many were handled.
    async fn mail_notifications(&self) -> anyhow::Result<usize> {
        let db = &self.platform.db;
        let rows = sqlx::query(
            "SELECT n.id, n.user_id, n.kind, n.subject, n.link, n.detail, n.read_at, a.username AS actor, \
             u.username, u.email, u.locale, u.email_verified_at, u.suspended_until, p.delivery FROM notifications n \
             JOIN users u ON u.id = n.user_id LEFT JOIN users a ON a.id = n.actor_id \
             LEFT JOIN notification_prefs p ON p.user_id = n.user_id AND p.kind = n.kind \
             WHERE n.mail_state IS NULL ORDER BY n.id LIMIT 100",
        )
        .fetch_all(&db.pool)
        .await?;
        let now = now_ms();
        for r in &rows {
            let id: i64 = r.get("id");
            let kind = NotificationKind::parse(&r.get::<String, _>("kind"));
            let delivery = match (kind, opt_string(r, "delivery").and_then(|d| Delivery::parse(&d))) {
                (_, Some(chosen)) => chosen,
                (Some(k), None) => Delivery::default_for(k),
                (None, None) => Delivery::Site,
            };
            // Mail goes only to proven addresses of accounts in good standing.
            // (`.invalid` is reserved and never delivered: the demo's addresses.)
            let reachable = opt_i64(r, "email_verified_at").is_some()
                && opt_i64(r, "suspended_until").is_none_or(|u| u <= now)
                && !r.get::<String, _>("email").to_ascii_lowercase().ends_with(".invalid");
            let state = match delivery {
                Delivery::Email if reachable => "mailed",
                Delivery::Digest if reachable => "digest",
                _ => "site",
            };
            // A notification that cannot become a letter must not hold up the others (they come
            // in id order): it stays on the site. A database error ends the pass instead, and
            // the notification is tried again on the next.
            let mut letter = None;
            if state == "mailed" {
                match self.notification_mail(r) {
                    Ok(m) => letter = Some(m),
                    Err(e) => tracing::warn!("notification {id} not mailed: {e:#}"),
                }
            }
            let state = if letter.is_some() || state != "mailed" {
                state
            } else {
                "site"
            };
            let mut tx = db.begin_write().await?;
            let claimed = sqlx::query("UPDATE notifications SET mail_state = $1 WHERE id = $2 AND mail_state IS NULL")
                .bind(state)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if let (1, Some(mail)) = (claimed, &letter) {
                enqueue(&mut *tx, mail, &self.platform.mail_host()).await?;
            }
            tx.commit().await?;
        }
        Ok(rows.len())
    }

    fn notification_mail(&self, r: &sqlx::any::AnyRow) -> anyhow::Result<Outgoing> {
        let p = &self.platform;
        let lang = opt_string(r, "locale")
            .as_deref()
            .and_then(Lang::parse)
            .unwrap_or(Lang::Zh);
        let kind: String = r.get("kind");
        let actor = opt_string(r, "actor").unwrap_or_default();
        let subject_line: String = r.get("subject");
        let detail = opt_string(r, "detail").unwrap_or_default();
        let a = args(&[("actor", &actor), ("subject", &subject_line), ("detail", &detail)]);
        let headline = crate::i18n::fill(&p.t(lang, &format!("mail.notify.{kind}")), &a);
        let subject = format!("{headline} · {subject_line}");
        let link = p.absolute(&r.get::<String, _>("link"));
        let username: String = r.get("username");
        let letter = Letter {
            greeting: crate::i18n::fill(&p.t(lang, "mail.greeting"), &args(&[("name", &username)])),
            paragraphs: vec![headline, subject_line.clone()],
            action: Some((p.t(lang, "mail.open"), link)),
            ..Letter::default()
        };
        p.compose(
            To {
                lang,
                user_id: Some(r.get("user_id")),
                address: &r.get::<String, _>("email"),
            },
            &kind,
            subject,
            letter,
            Some(&kind),
        )
    }

    /// Writes each member's digest when it is due: the notifications chosen for it and not read
    /// on the site since, in one letter.
    async fn mail_digests(&self) -> anyhow::Result<()> {
        let db = &self.platform.db;
        let now = now_ms();
        let due: Vec<i64> = sqlx::query_scalar(&format!(
            "SELECT DISTINCT u.id FROM notifications n JOIN users u ON u.id = n.user_id \
             WHERE n.mail_state = 'digest' AND {DIGEST_DUE} LIMIT 200"
        ))
        .bind(now)
        .fetch_all(&db.pool)
        .await?;
        for user_id in due {
            // One member's digest that fails does not hold up the others' (it is tried again
            // on the next pass).
            if let Err(e) = self.write_digest(user_id, now).await {
                tracing::warn!("digest of member {user_id}: {e:#}");
            }
        }
        Ok(())
    }

    /// Writes one member's digest if it is due; `false` when it is not (or another node took
    /// it: the claim on `digest_sent_at` is made in the transaction that writes the letter).
    async fn write_digest(&self, user_id: i64, now: i64) -> anyhow::Result<bool> {
        let p = &self.platform;
        let mut tx = p.db.begin_write().await?;
        let claimed = sqlx::query(&format!(
            "UPDATE users SET digest_sent_at = $1 WHERE id = $2 AND {}",
            DIGEST_DUE.replace("u.", "")
        ))
        .bind(now)
        .bind(user_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if claimed != 1 {
            return Ok(false);
        }
        let Some(u) = sqlx::query("SELECT username, email, locale, suspended_until FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(false);
        };
        let items = sqlx::query(
            "SELECT n.id, n.kind, n.subject, n.link, n.detail, n.read_at FROM notifications n \
             WHERE n.user_id = $1 AND n.mail_state = 'digest' ORDER BY n.id LIMIT 200",
        )
        .bind(user_id)
        .fetch_all(&mut *tx)
        .await?;
        let lang = opt_string(&u, "locale")
            .as_deref()
            .and_then(Lang::parse)
            .unwrap_or(Lang::Zh);
        let unread: Vec<_> = items.iter().filter(|n| opt_i64(n, "read_at").is_none()).collect();
        for n in &items {
            sqlx::query("UPDATE notifications SET mail_state = 'digested' WHERE id = $1 AND mail_state = 'digest'")
                .bind(n.get::<i64, _>("id"))
                .execute(&mut *tx)
                .await?;
        }
        let suspended = opt_i64(&u, "suspended_until").is_some_and(|until| until > now);
        if !unread.is_empty() && !suspended {
            let username: String = u.get("username");
            let count = unread.len().to_string();
            let letter = Letter {
                greeting: crate::i18n::fill(&p.t(lang, "mail.greeting"), &args(&[("name", &username)])),
                paragraphs: vec![crate::i18n::fill(
                    &p.t(lang, "mail.digest_intro"),
                    &args(&[("count", &count)]),
                )],
                items: unread
                    .iter()
                    .map(|n| {
                        let kind: String = n.get("kind");
                        let detail = opt_string(n, "detail").unwrap_or_default();
                        let label = p.t(lang, &format!("notif.{kind}"));
                        let detail = if detail.is_empty() {
                            label
                        } else {
                            format!("{label}: {detail}")
                        };
                        (n.get("subject"), p.absolute(&n.get::<String, _>("link")), detail)
                    })
                    .collect(),
                action: Some((p.t(lang, "mail.open_notifications"), p.absolute("/notifications"))),
                ..Letter::default()
            };
            let subject = crate::i18n::fill(&p.t(lang, "mail.digest_subject"), &args(&[("count", &count)]));
            let mail = p.compose(
                To {
                    lang,
                    user_id: Some(user_id),
                    address: &u.get::<String, _>("email"),
                },
                "digest",
                subject,
                letter,
                Some("digest"),
            )?;
            enqueue(&mut *tx, &mail, &p.mail_host()).await?;
        }
        tx.commit().await?;
        Ok(!unread.is_empty())
    }

    /// Sends the messages that are due, one at a time; returns how many it tried.
    async fn send_due(&self) -> anyhow::Result<usize> {
        let Some(transport) = &self.transport else { return Ok(0) };
        let db = &self.platform.db;
        let now = now_ms();
        let due: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1 \
             AND (claimed_until IS NULL OR claimed_until < $1) ORDER BY id LIMIT 20",
        )
        .bind(now)
        .fetch_all(&db.pool)
        .await?;
        let mut tried = 0;
        for id in due {
            let now = now_ms();
            // The claim: only one node sends a message while its lease runs.
            let claimed = sqlx::query(
                "UPDATE outbox SET claimed_until = $1 WHERE id = $2 AND sent_at IS NULL AND failed_at IS NULL \
                 AND (claimed_until IS NULL OR claimed_until < $3)",
            )
            .bind(now + self.lease_ms)
            .bind(id)
            .bind(now)
            .execute(&db.pool)
            .await?
            .rows_affected();
            if claimed != 1 {
                continue;
            }
            tried += 1;
            let row = sqlx::query(
                "SELECT to_address, subject, body_text, body_html, unsubscribe_url, message_id, attempts FROM outbox WHERE id = $1",
            )
            .bind(id)
            .fetch_one(&db.pool)
            .await?;
            let attempts: i64 = row.get::<i64, _>("attempts") + 1;
            match self.send_one(transport, &row).await {
                Ok(response) => {
                    sqlx::query(&format!(
                        "UPDATE outbox SET sent_at = $1, smtp_response = $2, attempts = $3, claimed_until = NULL, \
                         last_error = NULL, {FORGET_SECRETS} WHERE id = $4"
                    ))
                    .bind(now_ms())
                    .bind(response)
                    .bind(attempts)
                    .bind(id)
                    .execute(&db.pool)
                    .await?;
                }
                Err((error, permanent)) => {
                    tracing::warn!("mail {id} not sent (attempt {attempts}): {error}");
                    let give_up = permanent || attempts >= MAX_ATTEMPTS;
                    // 30 s, 1 min, 2 min, … up to 6 h.
                    let backoff = (30_000i64 << (attempts - 1).min(10)).min(6 * 3_600_000);
                    let forget = if give_up {
                        FORGET_SECRETS
                    } else {
                        "body_text = body_text"
                    };
                    sqlx::query(&format!(
                        "UPDATE outbox SET attempts = $1, last_error = $2, claimed_until = NULL, next_attempt_at = $3, \
                         failed_at = $4, {forget} WHERE id = $5"
                    ))
                    .bind(attempts)
                    .bind(error.chars().take(500).collect::<String>())
                    .bind(now_ms() + backoff)
                    .bind(give_up.then(now_ms))
                    .bind(id)
                    .execute(&db.pool)
                    .await?;
                }
            }
        }
        Ok(tried)
    }

    /// Hands one message to the SMTP server: its reply, or the error and whether it is permanent.
    async fn send_one(
        &self,
        transport: &AsyncSmtpTransport<Tokio1Executor>,
        row: &sqlx::any::AnyRow,
    ) -> Result<String, (String, bool)> {
        let to: Mailbox = row
            .get::<String, _>("to_address")
            .parse()
            .map_err(|e| (format!("bad recipient address: {e}"), true))?;
        let mut builder = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(row.get::<String, _>("subject"))
            .message_id(Some(row.get("message_id")))
            .date_now();
        if let Some(url) = opt_string(row, "unsubscribe_url") {
            builder = builder.header(ListUnsubscribe(url)).header(ListUnsubscribePost);
        }
        let message = builder
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(row.get::<String, _>("body_text")),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(row.get::<String, _>("body_html")),
                    ),
            )
            .map_err(|e| (format!("message could not be built: {e}"), true))?;
        match transport.send(message).await {
            Ok(response) => Ok(format!(
                "{} {}",
                response.code(),
                response.message().collect::<Vec<_>>().join(" ")
            )),
            Err(e) => Err((e.to_string(), e.is_permanent())),
        }
    }
}

/// Starts the worker on the current runtime (the outbox fills either way; without SMTP it only
/// turns notifications into mail that waits).
pub fn start(platform: Platform, config: &MailConfig) -> anyhow::Result<Arc<tokio::task::JoinHandle<()>>> {
    let worker = MailWorker::new(platform, config)?;
    if worker.sends() {
        tracing::info!("mail: sending through SMTP");
    } else {
        tracing::info!("mail: no --smtp-url, so mail is kept in the outbox (see /admin/mail)");
    }
    Ok(Arc::new(tokio::spawn(worker.run())))
}
