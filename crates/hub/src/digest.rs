//! "Your stage this week": a weekly letter to each member who gave the hub a date (a due date, a
//! child's birth date): their stage this week in each stage segment, and the articles that fit
//! them now ("for you"), in their language.  A job (one node at a time) writes the letters; each
//! member is claimed in the transaction that puts their letter in the outbox, so nobody gets two
//! in a week, whichever node writes.  Members turn it off in their notification settings
//! (`hub_weekly`) or with the letter's one-click unsubscribe link.

use std::time::Duration;

use fanloop_platform::accounts;
use fanloop_platform::i18n::Lang;
use fanloop_platform::mail::{self, args, Delivery, Letter, To};
use fanloop_platform::notifications::NotificationKind;

use crate::service::{self, HubState};
use crate::store;

pub const WEEK_MS: i64 = 7 * 86_400_000;
/// Articles listed in a letter at most.
pub const ARTICLES: usize = 5;

/// One pass: every member due gets their letter (or is passed over for the week when there is
/// nothing to say or they turned it off). Returns how many letters were written.
pub async fn send_weekly(state: &HubState) -> anyhow::Result<usize> {
    let p = &state.platform;
    let db = &p.db;
    let now = state.clock.now_ms();
    let last_before = now - WEEK_MS;
    let mut written = 0;
    loop {
        let due = store::weekly_due(db, now, last_before, 200).await?;
        if due.is_empty() {
            break;
        }
        for user_id in due {
            let letter = match letter_for(state, user_id).await {
                Ok(letter) => letter,
                Err(e) => {
                    // Passed over this week rather than tried on every pass.
                    tracing::warn!("weekly hub letter of member {user_id}: {e:#}");
                    None
                }
            };
            let host = p.mail_host();
            if store::claim_weekly(
                db,
                user_id,
                now,
                last_before,
                letter.as_ref().map(|m| (m, host.as_str())),
            )
            .await?
                && letter.is_some()
            {
                written += 1;
            }
        }
    }
    if written > 0 {
        p.wake_mail();
    }
    Ok(written)
}

/// The member's letter, or `None` when they turned it off or the hub has nothing for them.
async fn letter_for(state: &HubState, user_id: i64) -> anyhow::Result<Option<mail::Outgoing>> {
    let p = &state.platform;
    let db = &p.db;
    let wanted = mail::preferences(db, user_id)
        .await?
        .into_iter()
        .find(|(k, _)| *k == NotificationKind::HubWeekly)
        .map_or(Delivery::default_for(NotificationKind::HubWeekly), |(_, d)| d);
    if matches!(wanted, Delivery::Off | Delivery::Site) {
        return Ok(None);
    }
    let (Some(user), Some(details)) = (
        accounts::find_by_id(db, user_id).await?,
        accounts::details(db, user_id).await?,
    ) else {
        return Ok(None);
    };
    let lang = details.locale.as_deref().and_then(Lang::parse).unwrap_or(Lang::Zh);
    let mine = service::my_hub(state, &user, lang)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    let stages: Vec<String> = mine
        .facts
        .iter()
        .filter_map(|f| {
            f.stage_label
                .as_ref()
                .map(|label| format!("{} · {label}", f.dimension_name))
        })
        .collect();
    // A date whose stages are over (a child past the last month): nothing to say.
    if stages.is_empty() {
        return Ok(None);
    }
    let fits = service::for_you(state, Some(&user), lang)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    let items: Vec<(String, String, String)> = fits
        .articles
        .iter()
        .take(ARTICLES)
        .map(|a| {
            (
                a.title.clone(),
                p.absolute(&format!("/hub/a/{}", a.slug)),
                a.summary.clone(),
            )
        })
        .collect();
    let stage_line = stages.join(" ; ");
    let mut paragraphs = vec![mail_fill(p, lang, "hub.weekly.stage", &[("stages", &stage_line)])];
    paragraphs.push(p.t(
        lang,
        if items.is_empty() {
            "hub.weekly.nothing_new"
        } else {
            "hub.weekly.for_you"
        },
    ));
    let letter = Letter {
        greeting: mail_fill(p, lang, "mail.greeting", &[("name", &user.username)]),
        paragraphs,
        items,
        action: Some((p.t(lang, "hub.weekly.open"), p.absolute("/hub"))),
        ..Letter::default()
    };
    let subject = mail_fill(p, lang, "hub.weekly.subject", &[("stages", &stage_line)]);
    Ok(Some(p.compose(
        To {
            lang,
            user_id: Some(user_id),
            address: &details.email,
        },
        NotificationKind::HubWeekly.as_str(),
        subject,
        letter,
        Some(NotificationKind::HubWeekly.as_str()),
    )?))
}

fn mail_fill(p: &fanloop_platform::Platform, lang: Lang, key: &str, pairs: &[(&str, &str)]) -> String {
    fanloop_platform::i18n::fill(&p.t(lang, key), &args(pairs))
}

/// Looks for members due every 10 minutes (one node at a time); a member is written to at most
/// once in 7 days.
pub fn start(state: HubState) {
    let db = state.platform.db.clone();
    fanloop_platform::jobs::spawn(
        db,
        fanloop_platform::jobs::Schedule {
            name: "hub.weekly",
            every: Duration::from_secs(600),
            lease: Duration::from_secs(600),
            delay_first: false,
        },
        move || {
            let state = state.clone();
            async move {
                let n = send_weekly(&state).await?;
                Ok(format!("{n} weekly letters"))
            }
        },
    );
}
