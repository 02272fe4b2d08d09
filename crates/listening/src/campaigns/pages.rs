//! Campaign pages: the list, a campaign's page (entries, votes, the entry form) and the staff
//! dashboard (targets against actuals, settings, recorded figures, winners).

use std::collections::HashMap;

use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use fanloop_platform::accounts::User;
use fanloop_platform::error::Arg;
use fanloop_platform::web::{
    check_multipart_csrf, pager, read_file_field, see_other, CsrfForm, PagePath, PageQuery, Viewer,
};
use fanloop_platform::{ApiError, PageError};
use minijinja::{context, Value};
use serde::{Deserialize, Serialize};

use super::domain::{Metric, Targets, WinnerPick, DAY_MS};
use super::service::{self, AdjustmentRequest, CampaignRequest, EntriesQuery, HideRequest, Sort, WinnersRequest};
use super::store::Campaign;
use crate::error::ListeningError;
use crate::ListeningState;

pub fn router() -> Router<ListeningState> {
    Router::new()
        .route("/campaigns", get(list_page).post(create_submit))
        .route("/campaigns/{slug}", get(campaign_page))
        .route(
            "/campaigns/{slug}/entries",
            post(entry_submit).layer(DefaultBodyLimit::max(service::ENTRY_BODY_LIMIT)),
        )
        .route("/campaigns/{slug}/entries/{id}/vote", post(vote_submit))
        .route("/campaigns/{slug}/entries/{id}/moderation", post(moderation_submit))
        .route("/campaigns/{slug}/dashboard", get(dashboard_page))
        .route("/campaigns/{slug}/settings", post(settings_submit))
        .route("/campaigns/{slug}/adjustments", post(adjustment_submit))
        .route("/campaigns/{slug}/winners", post(winners_submit))
}

/// A 4xx from a use case is shown on the form that caused it; anything else is an error page.
fn form_problem(e: ApiError, viewer: &Viewer) -> Result<String, PageError> {
    if e.status.is_client_error() && e.status != StatusCode::NOT_FOUND {
        Ok(e.text(viewer.lang))
    } else {
        Err(PageError::localized(e, viewer.lang))
    }
}

/// The campaign form as typed: dates as `YYYY-MM-DD` (UTC, end date included), money in units.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct CampaignForm {
    #[serde(default)]
    slug: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    hashtag: String,
    #[serde(default)]
    starts: String,
    #[serde(default)]
    ends: String,
    #[serde(default)]
    currency: String,
    #[serde(default)]
    exposure: String,
    #[serde(default)]
    page_views: String,
    #[serde(default)]
    entries: String,
    #[serde(default)]
    orders: String,
    #[serde(default)]
    revenue: String,
    #[serde(default)]
    max_entries: String,
    #[serde(default)]
    max_votes: String,
    #[serde(default)]
    drops: String,
}

/// A form field's name in English, Chinese and French, for the message that refuses its value
/// (it starts the French sentence, hence the capital).
type Field = [&'static str; 3];
const START: Field = ["start", "开始日期", "Début"];
const END: Field = ["end", "结束日期", "Fin"];
const DATE: Field = ["date", "日期", "Date"];
const AMOUNT: Field = ["amount", "数量", "Montant"];
const EXPOSURE: Field = ["exposure", "曝光量", "Exposition"];
const PAGE_VIEWS: Field = ["page views", "页面浏览量", "Pages vues"];
const ENTRIES: Field = ["entries", "作品数", "Participations"];
const ORDERS: Field = ["orders", "订单数", "Commandes"];
const REVENUE: Field = ["revenue", "销售额", "Chiffre d’affaires"];
const ENTRIES_PER_ACCOUNT: Field = ["entries per account", "每人投稿数", "Participations par compte"];
const VOTES_PER_ACCOUNT: Field = ["votes per account", "每人投票数", "Votes par compte"];

/// A form value that could not be read: the message, and the field it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Unreadable(ListeningError, Field);

impl From<Unreadable> for ApiError {
    fn from(Unreadable(e, field): Unreadable) -> Self {
        e.with_args(vec![("field", Arg::Words(field))])
    }
}

fn parse_day(s: &str, what: Field) -> Result<i64, Unreadable> {
    let d = time::Date::parse(s.trim(), time::macros::format_description!("[year]-[month]-[day]"))
        .map_err(|_| Unreadable(ListeningError::FormDate, what))?;
    Ok(d.midnight().assume_utc().unix_timestamp() * 1000)
}

fn format_day(ms: i64) -> String {
    fanloop_platform::web::format_datetime(ms)
        .split(' ')
        .next()
        .unwrap_or_default()
        .to_string()
}

fn parse_count(s: &str, what: Field) -> Result<i64, Unreadable> {
    let s: String = s.chars().filter(|c| !matches!(c, ',' | ' ' | '_')).collect();
    if s.is_empty() {
        return Ok(0);
    }
    s.parse::<i64>()
        .map_err(|_| Unreadable(ListeningError::FormCount, what))
}

/// "12,345.67" → 1234567 cents.
fn parse_money(s: &str, what: Field) -> Result<i64, Unreadable> {
    let s: String = s.chars().filter(|c| !matches!(c, ',' | ' ' | '_')).collect();
    if s.is_empty() {
        return Ok(0);
    }
    let (units, cents) = s.split_once('.').unwrap_or((&s, ""));
    let bad = || Unreadable(ListeningError::FormMoney, what);
    if cents.len() > 2 || !cents.bytes().all(|b| b.is_ascii_digit()) || units.starts_with('-') {
        return Err(bad());
    }
    let units: i64 = units.parse().map_err(|_| bad())?;
    let cents: i64 = if cents.is_empty() {
        0
    } else {
        format!("{cents:0<2}").parse().map_err(|_| bad())?
    };
    units
        .checked_mul(100)
        .and_then(|u| u.checked_add(cents))
        .ok_or_else(bad)
}

impl CampaignForm {
    fn request(&self) -> Result<CampaignRequest, Unreadable> {
        let starts_at = parse_day(&self.starts, START)?;
        let ends_at = parse_day(&self.ends, END)? + DAY_MS;
        let limit = |s: &str, what| -> Result<i64, Unreadable> {
            if s.trim().is_empty() {
                Ok(3)
            } else {
                parse_count(s, what)
            }
        };
        Ok(CampaignRequest {
            slug: self.slug.trim().to_lowercase(),
            title: self.title.clone(),
            description: self.description.clone(),
            hashtag: self.hashtag.clone(),
            starts_at,
            ends_at,
            currency: if self.currency.trim().is_empty() {
                "CNY".into()
            } else {
                self.currency.clone()
            },
            targets: Targets {
                exposure: parse_count(&self.exposure, EXPOSURE)?,
                page_views: parse_count(&self.page_views, PAGE_VIEWS)?,
                entries: parse_count(&self.entries, ENTRIES)?,
                orders: parse_count(&self.orders, ORDERS)?,
                revenue_cents: parse_money(&self.revenue, REVENUE)?,
            },
            max_entries_per_account: limit(&self.max_entries, ENTRIES_PER_ACCOUNT)?,
            max_votes_per_account: limit(&self.max_votes, VOTES_PER_ACCOUNT)?,
            drops: self
                .drops
                .split([',', ' ', '\n'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
        })
    }

    fn of(c: &Campaign) -> CampaignForm {
        let n = |v: i64| if v == 0 { String::new() } else { v.to_string() };
        let t = c.all_targets;
        CampaignForm {
            slug: c.slug.clone(),
            title: c.title.clone(),
            description: c.description.clone(),
            hashtag: c.hashtag.clone(),
            starts: format_day(c.starts_at),
            ends: format_day(c.ends_at - 1),
            currency: c.currency.clone(),
            exposure: n(t.exposure),
            page_views: n(t.page_views),
            entries: n(t.entries),
            orders: n(t.orders),
            revenue: if t.revenue_cents == 0 {
                String::new()
            } else if t.revenue_cents % 100 == 0 {
                (t.revenue_cents / 100).to_string()
            } else {
                format!("{}.{:02}", t.revenue_cents / 100, t.revenue_cents % 100)
            },
            max_entries: c.max_entries_per_account.to_string(),
            max_votes: c.max_votes_per_account.to_string(),
            drops: c.drops.clone().unwrap_or_default().join(", "),
        }
    }
}

async fn render_list(
    state: &ListeningState,
    viewer: &Viewer,
    status: StatusCode,
    form: CampaignForm,
    error: Option<String>,
) -> Result<Response, PageError> {
    let campaigns = service::list(state, viewer.user.as_ref()).await?;
    let page = state.platform.render(
        viewer,
        "campaigns.html",
        context! { campaigns => campaigns, f => form, error => error },
    )?;
    Ok((status, page).into_response())
}

async fn list_page(State(state): State<ListeningState>, viewer: Viewer) -> Result<Response, PageError> {
    let today = format_day(fanloop_platform::db::now_ms());
    let form = CampaignForm {
        starts: today.clone(),
        ends: format_day(fanloop_platform::db::now_ms() + 13 * DAY_MS),
        currency: "CNY".into(),
        max_entries: "3".into(),
        max_votes: "3".into(),
        ..CampaignForm::default()
    };
    render_list(&state, &viewer, StatusCode::OK, form, None).await
}

async fn create_submit(
    State(state): State<ListeningState>,
    viewer: Viewer,
    CsrfForm(f): CsrfForm<CampaignForm>,
) -> Result<Response, PageError> {
    let me = viewer.require_staff()?;
    let error = match f.request() {
        Ok(r) => match service::create(&state, me, &r).await {
            Ok(c) => return Ok(see_other(&format!("/campaigns/{}/dashboard", c.slug))),
            Err(e) => form_problem(e, &viewer)?,
        },
        Err(unreadable) => ApiError::from(unreadable).text(viewer.lang),
    };
    render_list(&state, &viewer, StatusCode::UNPROCESSABLE_ENTITY, f, Some(error)).await
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct GalleryQuery {
    #[serde(default)]
    sort: Sort,
    page: Option<i64>,
}

async fn render_campaign(
    state: &ListeningState,
    viewer: &Viewer,
    c: Campaign,
    q: &GalleryQuery,
    status: StatusCode,
    error: Option<String>,
    draft: &str,
) -> Result<Response, PageError> {
    let me = viewer.user.as_ref();
    let page = q.page.unwrap_or(1).clamp(1, 10_000);
    let entries = service::entries_of(
        state,
        me,
        &c,
        &EntriesQuery {
            sort: q.sort,
            page: Some(page),
        },
    )
    .await?;
    let view = service::view_of(state, me, c).await?;
    let sort = if q.sort == Sort::New { "new" } else { "top" };
    let body = state.platform.render(
        viewer,
        "campaign.html",
        context! {
            v => view,
            entries => entries.entries,
            pager => pager(page, entries.per_page, entries.total),
            sort => sort,
            error => error,
            draft => draft,
            max_images => super::domain::MAX_ENTRY_IMAGES,
        },
    )?;
    Ok((status, body).into_response())
}

async fn campaign_page(
    State(state): State<ListeningState>,
    viewer: Viewer,
    PagePath(slug): PagePath<String>,
    PageQuery(q): PageQuery<GalleryQuery>,
) -> Result<Response, PageError> {
    let c = service::campaign(&state, &slug).await?;
    service::record_view(&state, &c, viewer.user.as_ref()).await?;
    render_campaign(&state, &viewer, c, &q, StatusCode::OK, None, "").await
}

async fn entry_submit(
    State(state): State<ListeningState>,
    viewer: Viewer,
    PagePath(slug): PagePath<String>,
    mut multipart: Multipart,
) -> Result<Response, PageError> {
    let Some(me) = viewer.user.as_ref() else {
        return Ok(see_other(&format!("/signin?next=/campaigns/{slug}")));
    };
    let (mut csrf, mut text, mut uploads) = (String::new(), String::new(), Vec::new());
    while let Some(field) = multipart.next_field().await.map_err(|e| {
        PageError::localized(
            {
                tracing::debug!("unreadable entry form: {e}");
                ListeningError::InvalidForm.into()
            },
            viewer.lang,
        )
    })? {
        match field.name().unwrap_or("") {
            "images" => uploads.extend(read_file_field(field).await?),
            name => {
                let name = name.to_string();
                let value = field
                    .text()
                    .await
                    .map_err(|_| PageError::localized(ListeningError::FormNotUtf8.into(), viewer.lang))?;
                match name.as_str() {
                    "_csrf" => csrf = value,
                    "text" => text = value,
                    _ => {}
                }
            }
        }
    }
    check_multipart_csrf(&viewer, &csrf)?;
    match service::submit_entry(&state, me, &slug, &text, &uploads).await {
        Ok(e) => Ok(see_other(&format!("/campaigns/{slug}?sort=new#entry-{}", e.id))),
        Err(e) => {
            let message = form_problem(e, &viewer)?;
            let q = GalleryQuery::default();
            let c = service::campaign(&state, &slug).await?;
            render_campaign(
                &state,
                &viewer,
                c,
                &q,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(message),
                &text,
            )
            .await
        }
    }
}

#[derive(Deserialize)]
pub struct VoteForm {
    /// "vote" or "unvote".
    #[serde(default)]
    action: String,
    #[serde(default)]
    sort: Sort,
    page: Option<i64>,
}

async fn vote_submit(
    State(state): State<ListeningState>,
    viewer: Viewer,
    PagePath((slug, id)): PagePath<(String, i64)>,
    CsrfForm(f): CsrfForm<VoteForm>,
) -> Result<Response, PageError> {
    let Some(me) = viewer.user.as_ref() else {
        return Ok(see_other(&format!("/signin?next=/campaigns/{slug}")));
    };
    let done = if f.action == "unvote" {
        service::unvote(&state, me, &slug, id).await
    } else {
        service::vote(&state, me, &slug, id).await
    };
    let sort = if f.sort == Sort::New { "new" } else { "top" };
    let page = f.page.unwrap_or(1).clamp(1, 10_000);
    match done {
        Ok(_) => Ok(see_other(&format!(
            "/campaigns/{slug}?sort={sort}&page={page}#entry-{id}"
        ))),
        Err(e) => {
            let message = form_problem(e, &viewer)?;
            let q = GalleryQuery {
                sort: f.sort,
                page: Some(page),
            };
            let c = service::campaign(&state, &slug).await?;
            render_campaign(&state, &viewer, c, &q, StatusCode::FORBIDDEN, Some(message), "").await
        }
    }
}

#[derive(Deserialize)]
pub struct ModerationForm {
    #[serde(default)]
    hidden: String,
    #[serde(default)]
    reason: String,
}

async fn moderation_submit(
    State(state): State<ListeningState>,
    viewer: Viewer,
    PagePath((slug, id)): PagePath<(String, i64)>,
    CsrfForm(f): CsrfForm<ModerationForm>,
) -> Result<Response, PageError> {
    let me = viewer.require_user()?;
    let r = HideRequest {
        hidden: f.hidden == "1",
        reason: f.reason,
    };
    match service::moderate(&state, me, &slug, id, &r).await {
        Ok(_) => Ok(see_other(&format!("/campaigns/{slug}?sort=new#entry-{id}"))),
        Err(e) if e.status == StatusCode::FORBIDDEN => Err(PageError::localized(e, viewer.lang)),
        Err(e) => {
            let message = form_problem(e, &viewer)?;
            let q = GalleryQuery {
                sort: Sort::New,
                page: None,
            };
            let c = service::campaign(&state, &slug).await?;
            render_campaign(
                &state,
                &viewer,
                c,
                &q,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(message),
                "",
            )
            .await
        }
    }
}

/// 1234567 → "1,234,567"; revenue (cents) → "12,345.67 CNY".
fn amount_text(metric: Metric, n: i64, currency: &str) -> String {
    let grouped = |v: u64| {
        let digits = v.to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        out
    };
    let sign = if n < 0 { "-" } else { "" };
    let abs = n.unsigned_abs();
    if metric == Metric::Revenue {
        format!("{sign}{}.{:02} {currency}", grouped(abs / 100), abs % 100)
    } else {
        format!("{sign}{}", grouped(abs))
    }
}

/// A chart per metric: cumulative completion (% of target) day by day against the steady pace.
fn charts(d: &service::Dashboard) -> Vec<Value> {
    const W: f64 = 320.0;
    const H: f64 = 90.0;
    let days = d.progress.days.len();
    let total_days = ((d.campaign.ends_at - d.campaign.starts_at) as f64 / DAY_MS as f64)
        .ceil()
        .max(1.0);
    let x = |i: f64| (i / total_days * W).min(W);
    d.progress
        .metrics
        .iter()
        .map(|m| {
            let target = m.target.max(0) as f64;
            // Scale to the target, or to what was reached beyond it.
            let top = target.max(m.actual as f64).max(1.0);
            let y = |v: f64| H - (v / top * (H - 4.0)) - 2.0;
            let actual: Vec<String> = std::iter::once(format!("{:.1},{:.1}", x(0.0), y(0.0)))
                .chain(
                    m.cumulative
                        .iter()
                        .enumerate()
                        .map(|(i, v)| format!("{:.1},{:.1}", x(i as f64 + 1.0), y(*v as f64))),
                )
                .collect();
            context! {
                m => m,
                actual_text => amount_text(m.metric, m.actual, &d.campaign.currency),
                target_text => amount_text(m.metric, m.target, &d.campaign.currency),
                actual => actual.join(" "),
                pace => if target > 0.0 { format!("0,{:.1} {W:.1},{:.1}", y(0.0), y(target)) } else { String::new() },
                target_y => y(target),
                days => days,
                width => W,
                height => H,
                bar => m.completion_pct.map(|p| p.clamp(0.0, 100.0)),
            }
        })
        .collect()
}

/// What the dashboard shows besides the figures: the answer to a form just sent.
#[derive(Default)]
struct Answer {
    /// The settings form as typed, when it was refused.
    form: Option<CampaignForm>,
    error: Option<String>,
    saved: bool,
}

async fn render_dashboard(
    state: &ListeningState,
    viewer: &Viewer,
    me: &User,
    slug: &str,
    answer: Answer,
) -> Result<Response, PageError> {
    let status = if answer.error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let d = service::dashboard(state, me, slug).await?;
    let c = &d.campaign;
    let top = service::entries_of(
        state,
        Some(me),
        c,
        &EntriesQuery {
            sort: Sort::Top,
            page: Some(1),
        },
    )
    .await?;
    let form = answer.form.unwrap_or_else(|| CampaignForm::of(c));
    let today = format_day(fanloop_platform::db::now_ms().clamp(c.starts_at, c.ends_at - 1));
    let body = state.platform.render(
        viewer,
        "campaign_dashboard.html",
        context! {
            d => d,
            charts => charts(&d),
            recorded => d.sources.adjustments.iter().map(|t| (t.metric, amount_text(t.metric, t.amount, &d.campaign.currency))).collect::<Vec<_>>(),
            adjustments => d.adjustments.iter().map(|a| context! { a => a, text => amount_text(a.metric, a.amount, &d.campaign.currency) }).collect::<Vec<_>>(),
            f => form,
            top => top.entries,
            metrics => Metric::ALL.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
            error => answer.error,
            saved => answer.saved,
            today => today,
        },
    )?;
    Ok((status, body).into_response())
}

async fn dashboard_page(
    State(state): State<ListeningState>,
    viewer: Viewer,
    PagePath(slug): PagePath<String>,
) -> Result<Response, PageError> {
    let me = viewer.require_staff()?;
    render_dashboard(&state, &viewer, me, &slug, Answer::default()).await
}

async fn settings_submit(
    State(state): State<ListeningState>,
    viewer: Viewer,
    PagePath(slug): PagePath<String>,
    CsrfForm(f): CsrfForm<CampaignForm>,
) -> Result<Response, PageError> {
    let me = viewer.require_staff()?;
    let error = match f.request() {
        Ok(r) => match service::update(&state, me, &slug, &r).await {
            Ok(_) => {
                let saved = Answer {
                    saved: true,
                    ..Answer::default()
                };
                return render_dashboard(&state, &viewer, me, &slug, saved).await;
            }
            Err(e) => form_problem(e, &viewer)?,
        },
        Err(unreadable) => ApiError::from(unreadable).text(viewer.lang),
    };
    let answer = Answer {
        form: Some(f),
        error: Some(error),
        saved: false,
    };
    render_dashboard(&state, &viewer, me, &slug, answer).await
}

#[derive(Deserialize)]
pub struct AdjustmentForm {
    #[serde(default)]
    metric: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    note: String,
}

async fn adjustment_submit(
    State(state): State<ListeningState>,
    viewer: Viewer,
    PagePath(slug): PagePath<String>,
    CsrfForm(f): CsrfForm<AdjustmentForm>,
) -> Result<Response, PageError> {
    let me = viewer.require_staff()?;
    let request = (|| -> Result<AdjustmentRequest, ApiError> {
        let metric = Metric::parse(&f.metric).ok_or(ListeningError::FormMetric)?;
        let amount = if metric == Metric::Revenue {
            let negative = f.amount.trim().starts_with('-');
            let cents = parse_money(f.amount.trim().trim_start_matches('-'), AMOUNT)?;
            if negative {
                -cents
            } else {
                cents
            }
        } else {
            parse_count(&f.amount, AMOUNT)?
        };
        // Noon of the chosen day (or now, or the campaign's edge), so that it lands inside it.
        let at = parse_day(&f.date, DATE)? + DAY_MS / 2;
        Ok(AdjustmentRequest {
            metric,
            amount,
            at: Some(at),
            note: f.note.clone(),
        })
    })();
    let error = match request {
        Ok(r) => {
            let c = service::campaign(&state, &slug).await?;
            let r = AdjustmentRequest {
                at: r
                    .at
                    .map(|at| at.min(fanloop_platform::db::now_ms()).clamp(c.starts_at, c.ends_at - 1)),
                ..r
            };
            match service::add_adjustment(&state, me, &slug, &r).await {
                Ok(_) => return Ok(see_other(&format!("/campaigns/{slug}/dashboard#figures"))),
                Err(e) => form_problem(e, &viewer)?,
            }
        }
        Err(e) => e.text(viewer.lang),
    };
    let answer = Answer {
        error: Some(error),
        ..Answer::default()
    };
    render_dashboard(&state, &viewer, me, &slug, answer).await
}

/// `rank_<entry id>` (1, 2, 3… or empty) and `prize_<entry id>` per entry on the form.
async fn winners_submit(
    State(state): State<ListeningState>,
    viewer: Viewer,
    PagePath(slug): PagePath<String>,
    CsrfForm(f): CsrfForm<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let me = viewer.require_staff()?;
    let mut ranked: Vec<(i64, i64, String)> = Vec::new();
    let mut error = None;
    for (key, value) in &f {
        let Some(id) = key.strip_prefix("rank_").and_then(|id| id.parse::<i64>().ok()) else {
            continue;
        };
        if value.trim().is_empty() {
            continue;
        }
        match value.trim().parse::<i64>() {
            Ok(rank) if rank >= 1 => {
                let prize = f.get(&format!("prize_{id}")).cloned().unwrap_or_default();
                ranked.push((rank, id, prize));
            }
            _ => {
                let rank = ListeningError::FormRank.with(&[("entry", id.to_string())]);
                error = Some(rank.text(viewer.lang));
            }
        }
    }
    if error.is_none() {
        ranked.sort();
        let r = WinnersRequest {
            winners: ranked
                .into_iter()
                .map(|(_, entry_id, prize)| WinnerPick { entry_id, prize })
                .collect(),
        };
        match service::set_winners(&state, me, &slug, &r).await {
            Ok(_) => return Ok(see_other(&format!("/campaigns/{slug}#winners"))),
            Err(e) => error = Some(form_problem(e, &viewer)?),
        }
    }
    let answer = Answer {
        error,
        ..Answer::default()
    };
    render_dashboard(&state, &viewer, me, &slug, answer).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_amounts_and_dates_are_read_as_typed() {
        assert_eq!(parse_money("50,000", REVENUE), Ok(5_000_000));
        assert_eq!(parse_money("49.9", REVENUE), Ok(4_990));
        assert_eq!(parse_money("49.90", REVENUE), Ok(4_990));
        assert_eq!(parse_money("", REVENUE), Ok(0));
        assert!(parse_money("4.999", REVENUE).is_err());
        assert!(parse_money("-3", REVENUE).is_err());
        assert!(parse_money("abc", REVENUE).is_err());
        assert_eq!(parse_count("1 200 000", ORDERS), Ok(1_200_000));
        assert!(parse_count("1.5", ORDERS).is_err());
        assert_eq!(parse_day("2026-11-24", DATE), Ok(1_795_478_400_000));
        assert_eq!(format_day(1_795_478_400_000 + DAY_MS - 1), "2026-11-24");
        assert!(parse_day("24/11/2026", DATE).is_err());
        assert_eq!(amount_text(Metric::Exposure, 1_234_567, "CNY"), "1,234,567");
        assert_eq!(amount_text(Metric::Revenue, 123_450, "CNY"), "1,234.50 CNY");
        assert_eq!(amount_text(Metric::Revenue, -5, "EUR"), "-0.05 EUR");
        assert_eq!(amount_text(Metric::Orders, 999, "CNY"), "999");
    }
}
