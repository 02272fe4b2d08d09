//! Launch pages: the drop page fans use (countdown, live stock, reserve, buy, pay) and the staff
//! pages to create and watch a drop.  Plain forms; a small script adds the countdown and live
//! stock over server-sent events.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use fanloop_platform::db::now_ms;
use fanloop_platform::web::{safe_next, see_other, CsrfForm, EmptyForm, NextParam, PagePath, PageQuery, Viewer};
use fanloop_platform::{ApiError, PageError};
use minijinja::context;
use serde::Deserialize;

use crate::api::drop_view;
use crate::engine::SaleMode;
use crate::error::LaunchError;
use crate::service::{self, LaunchState, NewDropRequest, NewVariant, PurchaseRequest};
use crate::store;

pub fn router() -> Router<LaunchState> {
    Router::new()
        .route("/drops", get(drops_page))
        .route("/drops/new", get(new_drop_page).post(new_drop_submit))
        .route("/drops/{slug}", get(drop_page))
        .route("/drops/{slug}/reserve", post(reserve_submit))
        .route("/drops/{slug}/buy", post(buy_submit))
        .route("/drops/{slug}/manage", get(manage_page))
        .route("/drops/{slug}/draw", post(draw_submit))
        .route("/drops/{slug}/fcodes", post(fcodes_submit))
        .route("/fcodes/{id}/revoke", post(revoke_submit))
        .route(
            "/drops/{slug}/wall/{id}/hide",
            post(hide_submit).get(back_to_drop_of_post),
        )
        .route(
            "/orders/{id}/pay",
            post(pay_submit).get(|| async { see_other("/orders") }),
        )
        .route("/orders", get(orders_page))
        // A reload or a shared link of a form's address lands on the drop, not on a 405.
        .route("/drops/{slug}/reserve", get(back_to_drop))
        .route("/drops/{slug}/buy", get(back_to_drop))
        .route("/drops/{slug}/draw", get(back_to_drop))
        .route("/drops/{slug}/fcodes", get(back_to_drop))
}

/// An error as the reader sees it: the launches' table in their language; otherwise the
/// platform's message for its code (`ln.err.rate_limited`), else the English message.
fn say(state: &LaunchState, viewer: &Viewer, e: &ApiError) -> String {
    if e.spec.is_some() {
        return e.text(viewer.lang);
    }
    let key = format!("ln.err.{}", e.code);
    let text = viewer.t(&state.platform, &key);
    if text == key {
        e.message.clone()
    } else {
        text
    }
}

async fn back_to_drop(PagePath(slug): PagePath<String>) -> Response {
    // Anything that is not a slug is not a drop (and must not shape the redirect).
    if fanloop_platform::web::is_url_slug(&slug) {
        see_other(&format!("/drops/{slug}"))
    } else {
        see_other("/drops")
    }
}

/// A member's orders across every drop: what they bought, what to pay, what expired.
async fn orders_page(State(state): State<LaunchState>, viewer: Viewer) -> Result<Html<String>, PageError> {
    let user = viewer.require_user()?;
    let orders = store::orders_of_user(&state.platform.db, user.id, 200).await?;
    state
        .platform
        .render(&viewer, "orders.html", context! { orders => orders })
}

async fn drops_page(State(state): State<LaunchState>, viewer: Viewer) -> Result<Html<String>, PageError> {
    let drops = store::list_drops(&state.platform.db, fanloop_platform::db::now_ms(), 1).await?;
    state
        .platform
        .render(&viewer, "drops.html", context! { drops => drops })
}

async fn render_drop(
    state: &LaunchState,
    viewer: &Viewer,
    slug: &str,
    error: Option<String>,
    notice: Option<String>,
) -> Result<Html<String>, PageError> {
    render_drop_typed(state, viewer, slug, error, notice, None).await
}

/// The drop page, keeping a refused post as the member typed it.
async fn render_drop_typed(
    state: &LaunchState,
    viewer: &Viewer,
    slug: &str,
    error: Option<String>,
    notice: Option<String>,
    typed_post: Option<String>,
) -> Result<Html<String>, PageError> {
    let v = drop_view(state, slug).await?;
    let status = match &viewer.user {
        Some(u) => Some(service::my_status(state, u, slug).await?),
        None => None,
    };
    let wall = match &v.drop.share {
        Some(_) => Some(crate::wall::wall(state, viewer.user.as_ref(), slug, None, None).await?),
        None => None,
    };
    let share_prefill = v.drop.share.as_ref().map(|r| r.prefill());
    // A fresh key per rendered form: submitting the same form twice (double click, reload)
    // replays the first order instead of buying again.
    let idem = fanloop_platform::auth::new_token();
    state.platform.render(
        viewer,
        "drop.html",
        context! { v => v, status => status, idem => idem, error => error, notice => notice, wall => wall,
        typed_post => typed_post, share_prefill => share_prefill },
    )
}

async fn drop_page(
    State(state): State<LaunchState>,
    viewer: Viewer,
    PagePath(slug): PagePath<String>,
) -> Result<Html<String>, PageError> {
    render_drop(&state, &viewer, &slug, None, None).await
}

#[derive(Deserialize)]
pub struct ReserveForm {
    post: Option<String>,
}

async fn reserve_submit(
    State(state): State<LaunchState>,
    viewer: Viewer,
    PagePath(slug): PagePath<String>,
    CsrfForm(f): CsrfForm<ReserveForm>,
) -> Result<Response, PageError> {
    let user = viewer.require_user()?;
    match service::reserve(&state, user, &slug, f.post.as_deref()).await {
        Ok(_) => Ok(see_other(&format!("/drops/{slug}"))),
        Err(e) if e.status.is_client_error() && e.status != StatusCode::NOT_FOUND => Ok((
            e.status,
            render_drop_typed(&state, &viewer, &slug, Some(say(&state, &viewer, &e)), None, f.post).await?,
        )
            .into_response()),
        Err(e) => Err(e.into()),
    }
}

async fn back_to_drop_of_post(PagePath((slug, _)): PagePath<(String, i64)>) -> Response {
    back_to_drop(PagePath(slug)).await
}

async fn hide_submit(
    State(state): State<LaunchState>,
    viewer: Viewer,
    PagePath((slug, id)): PagePath<(String, i64)>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    let user = viewer.require_user()?;
    match crate::wall::hide(&state, user, &slug, id).await {
        Ok(()) => {
            let notice = viewer.t(&state.platform, "ln.share.hidden_notice");
            Ok(render_drop(&state, &viewer, &slug, None, Some(notice))
                .await?
                .into_response())
        }
        Err(e) if e.status.is_client_error() && e.status != StatusCode::NOT_FOUND => Ok((
            e.status,
            render_drop(&state, &viewer, &slug, Some(say(&state, &viewer, &e)), None).await?,
        )
            .into_response()),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct BuyForm {
    variant_id: i64,
    quantity: Option<u32>,
    fcode: Option<String>,
    idempotency_key: String,
    post: Option<String>,
}

async fn buy_submit(
    State(state): State<LaunchState>,
    viewer: Viewer,
    PagePath(slug): PagePath<String>,
    CsrfForm(f): CsrfForm<BuyForm>,
) -> Result<Response, PageError> {
    let user = viewer.require_user()?;
    let req = PurchaseRequest {
        variant_id: f.variant_id,
        quantity: f.quantity.unwrap_or(1),
        fcode: f.fcode.filter(|c| !c.trim().is_empty()),
        post: f.post.clone(),
    };
    match service::purchase(&state, user, &slug, &f.idempotency_key, &req).await {
        Ok(_) => Ok(see_other(&format!("/drops/{slug}"))),
        Err(e)
            if e.status.is_client_error() && e.status != StatusCode::NOT_FOUND
                || e.status == StatusCode::SERVICE_UNAVAILABLE =>
        {
            let message = say(&state, &viewer, &e);
            Ok((
                e.status,
                render_drop_typed(&state, &viewer, &slug, Some(message), None, f.post).await?,
            )
                .into_response())
        }
        Err(e) => Err(e.into()),
    }
}

async fn pay_submit(
    State(state): State<LaunchState>,
    viewer: Viewer,
    PagePath(id): PagePath<i64>,
    PageQuery(q): PageQuery<NextParam>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    service::pay(&state, viewer.require_user()?, id).await?;
    Ok(see_other(&safe_next(q.next.as_deref())))
}

async fn render_manage(
    state: &LaunchState,
    viewer: &Viewer,
    slug: &str,
    issued: Option<Vec<service::IssuedCode>>,
    error: Option<String>,
) -> Result<Html<String>, PageError> {
    if !viewer.require_user()?.role.is_staff() {
        return Err(PageError::forbidden());
    }
    let v = drop_view(state, slug).await?;
    let stats = store::stats(&state.platform.db, &v.drop).await?;
    let fcodes = store::list_fcodes(&state.platform.db, v.drop.id).await?;
    let queue = store::admission_list(&state.platform.db, v.drop.id, 200).await?;
    state.platform.render(
        viewer,
        "manage.html",
        context! { v => v, stats => stats, fcodes => fcodes, issued => issued, error => error, queue => queue },
    )
}

async fn manage_page(
    State(state): State<LaunchState>,
    viewer: Viewer,
    PagePath(slug): PagePath<String>,
) -> Result<Html<String>, PageError> {
    render_manage(&state, &viewer, &slug, None, None).await
}

async fn draw_submit(
    State(state): State<LaunchState>,
    viewer: Viewer,
    PagePath(slug): PagePath<String>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    match service::run_draw(&state, viewer.require_user()?, &slug).await {
        Ok(_) => Ok(see_other(&format!("/drops/{slug}/manage"))),
        Err(e) if e.status.is_client_error() && e.status != StatusCode::FORBIDDEN => Ok((
            e.status,
            render_manage(&state, &viewer, &slug, None, Some(say(&state, &viewer, &e))).await?,
        )
            .into_response()),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct FcodeForm {
    usernames: String,
    transferable: Option<String>,
}

async fn fcodes_submit(
    State(state): State<LaunchState>,
    viewer: Viewer,
    PagePath(slug): PagePath<String>,
    CsrfForm(f): CsrfForm<FcodeForm>,
) -> Result<Response, PageError> {
    let names: Vec<String> = f
        .usernames
        .split([',', '\n', ' ', '，'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    match service::issue_fcodes(&state, viewer.require_user()?, &slug, &names, f.transferable.is_some()).await {
        Ok(issued) => Ok(render_manage(&state, &viewer, &slug, Some(issued), None)
            .await?
            .into_response()),
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => Ok((
            e.status,
            render_manage(&state, &viewer, &slug, None, Some(say(&state, &viewer, &e))).await?,
        )
            .into_response()),
        Err(e) => Err(e.into()),
    }
}

async fn revoke_submit(
    State(state): State<LaunchState>,
    viewer: Viewer,
    PagePath(id): PagePath<i64>,
    PageQuery(q): PageQuery<NextParam>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    let user = viewer.require_user()?;
    if !user.role.is_staff() {
        return Err(PageError::forbidden());
    }
    store::revoke_fcode(&state.platform.db, id, user.id).await?;
    Ok(see_other(&safe_next(q.next.as_deref())))
}

/// A price as people type it, in hundredths: `3999`, `3999.50`, `3999,5` (a comma with one or
/// two digits after it is a decimal mark), `3 999,50`. Anything ambiguous or inexact is refused
/// rather than guessed: `3,999` (a thousands separator?), `3.999`, `1,299.00`, more than two
/// decimals, a negative or a price above 100,000,000.
pub fn parse_price_cents(typed: &str) -> Option<i64> {
    let text: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{202f}')
        .collect();
    let text = match (text.contains(','), text.contains('.')) {
        (true, true) => return None,
        (true, false) => {
            let (_, decimals) = text.split_once(',')?;
            if text.matches(',').count() != 1 || !(1..=2).contains(&decimals.len()) {
                return None;
            }
            text.replace(',', ".")
        }
        _ => text,
    };
    let (units, decimals) = text.split_once('.').unwrap_or((&text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if units.is_empty() || units.len() > 9 || !digits(units) || decimals.len() > 2 || !digits(decimals) {
        return None;
    }
    if text.contains('.') && decimals.is_empty() {
        return None;
    }
    let cents = units.parse::<i64>().ok()? * 100 + format!("{decimals:0<2}").parse::<i64>().ok()?;
    (cents <= 10_000_000_000).then_some(cents)
}

/// Currencies offered when creating a drop (the API takes any ISO 4217 code).
const CURRENCIES: &[&str] = &["CNY", "EUR", "USD", "GBP", "HKD", "TWD", "JPY", "INR", "CHF", "CAD"];

/// Variant rows the new-drop form shows (filled ones, then empty ones up to this many).
const VARIANT_ROWS: usize = 6;

/// The new-drop form as typed: every value kept as text so a refused form comes back as it was.
#[derive(Debug, Default, serde::Serialize)]
pub struct NewDropForm {
    name: String,
    slug: String,
    price: String,
    currency: String,
    limit: String,
    mode: String,
    opens_at: String,
    closes_at: String,
    min_honor: String,
    variants: Vec<VariantRow>,
    /// Ordering by posting: '' (off), 'reserve', 'buy' or 'both', and its setting.
    share_on: String,
    share_hashtag: String,
    share_template: String,
    share_min: String,
    share_board: String,
}

#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct VariantRow {
    name: String,
    stock: String,
    fcode_stock: String,
}

impl NewDropForm {
    /// The form's fields from `name=value` pairs; variant rows are `variant_name`, `variant_stock`
    /// and `variant_fcode` repeated, row by row.
    fn from_pairs(pairs: Vec<(String, String)>) -> NewDropForm {
        let mut f = NewDropForm::default();
        let (mut names, mut stocks, mut fcodes) = (Vec::new(), Vec::new(), Vec::new());
        for (k, v) in pairs {
            match k.as_str() {
                "name" => f.name = v,
                "slug" => f.slug = v,
                "price" => f.price = v,
                "currency" => f.currency = v,
                "limit" => f.limit = v,
                "mode" => f.mode = v,
                "opens_at" => f.opens_at = v,
                "closes_at" => f.closes_at = v,
                "min_honor" => f.min_honor = v,
                "share_on" => f.share_on = v,
                "share_hashtag" => f.share_hashtag = v,
                "share_template" => f.share_template = v,
                "share_min" => f.share_min = v,
                "share_board" => f.share_board = v,
                "variant_name" if names.len() < 50 => names.push(v),
                "variant_stock" if stocks.len() < 50 => stocks.push(v),
                "variant_fcode" if fcodes.len() < 50 => fcodes.push(v),
                _ => {}
            }
        }
        let rows = names.len().max(stocks.len()).max(fcodes.len());
        let at = |v: &Vec<String>, i: usize| v.get(i).cloned().unwrap_or_default();
        f.variants = (0..rows)
            .map(|i| VariantRow {
                name: at(&names, i),
                stock: at(&stocks, i),
                fcode_stock: at(&fcodes, i),
            })
            .collect();
        f
    }

    /// A blank form with sensible defaults: opening at the next full hour in the reader's zone.
    fn blank(tz: &str) -> NewDropForm {
        let now = now_ms();
        let opens = (now / 3_600_000 + 2) * 3_600_000;
        NewDropForm {
            price: "3999".into(),
            currency: "CNY".into(),
            limit: "1".into(),
            mode: "open".into(),
            opens_at: fanloop_platform::locale::input_value(opens, tz),
            closes_at: fanloop_platform::locale::input_value(opens + 24 * 3_600_000, tz),
            min_honor: "1".into(),
            share_min: "8".into(),
            variants: vec![VariantRow {
                name: String::new(),
                stock: "100".into(),
                fcode_stock: "0".into(),
            }],
            ..NewDropForm::default()
        }
    }

    /// The request this form asks for, or each field's problem (all of them at once).
    fn request(&self, tz: &str, now: i64) -> Result<NewDropRequest, Vec<(&'static str, LaunchError)>> {
        let mut problems = Vec::new();
        let int = |v: &str| v.trim().parse::<i64>().ok();
        if self.name.trim().is_empty() || self.name.trim().chars().count() > 80 {
            problems.push(("name", LaunchError::BadName));
        }
        if !fanloop_platform::web::is_url_slug(self.slug.trim()) {
            problems.push(("slug", LaunchError::BadSlug));
        }
        let price_cents = parse_price_cents(&self.price).unwrap_or_else(|| {
            problems.push(("price", LaunchError::BadPrice));
            0
        });
        let limit = int(&self.limit).unwrap_or(0);
        if !(1..=100).contains(&limit) {
            problems.push(("limit", LaunchError::BadLimit));
        }
        let opens_at = fanloop_platform::locale::parse_input(&self.opens_at, tz);
        let closes_at = fanloop_platform::locale::parse_input(&self.closes_at, tz);
        if opens_at.is_none() {
            problems.push(("opens_at", LaunchError::BadTime));
        }
        if closes_at.is_none() {
            problems.push(("closes_at", LaunchError::BadTime));
        }
        if let (Some(o), Some(c)) = (opens_at, closes_at) {
            if o >= c {
                problems.push(("closes_at", LaunchError::SaleWindow));
            }
        }
        let mut variants = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for row in &self.variants {
            let blank = row.name.trim().is_empty();
            if blank && row.stock.trim().is_empty() && row.fcode_stock.trim().is_empty() {
                continue;
            }
            let stock = int(&row.stock);
            let fcode_stock = if row.fcode_stock.trim().is_empty() {
                Some(0)
            } else {
                int(&row.fcode_stock)
            };
            match (blank, stock, fcode_stock) {
                (false, Some(stock), Some(fcode_stock))
                    if (0..=10_000_000).contains(&stock)
                        && (0..=10_000_000).contains(&fcode_stock)
                        && stock + fcode_stock <= 10_000_000 =>
                {
                    if !seen.insert(row.name.trim().to_lowercase()) {
                        problems.push(("variants", LaunchError::DuplicateVariant));
                    }
                    variants.push(NewVariant {
                        name: row.name.trim().to_string(),
                        stock,
                        fcode_stock,
                    });
                }
                _ => problems.push(("variants", LaunchError::BadVariant)),
            }
        }
        if variants.is_empty() {
            problems.push(("variants", LaunchError::BadVariantCount));
        }
        let mode = match self.mode.as_str() {
            "open" => SaleMode::Open,
            "draw" => SaleMode::Draw,
            "queue" => SaleMode::Queue {
                wave_size: 1_000,
                wave_ms: 10_000,
            },
            _ => {
                problems.push(("mode", LaunchError::BadMode));
                SaleMode::Open
            }
        };
        let currency = self.currency.trim().to_ascii_uppercase();
        if !CURRENCIES.contains(&currency.as_str()) {
            problems.push(("currency", LaunchError::BadCurrency));
        }
        let share = match crate::share::ShareOn::parse(self.share_on.trim()) {
            None => None,
            Some(on) => {
                let rule = crate::share::ShareRule {
                    on,
                    hashtag: self.share_hashtag.trim().trim_matches(['#', '＃']).to_string(),
                    template: self.share_template.trim().to_string(),
                    min_chars: int(&self.share_min).filter(|n| (0..=200).contains(n)).unwrap_or(1_000) as u32,
                    board: self.share_board.trim().to_string(),
                };
                match rule.check() {
                    Ok(()) => Some(rule),
                    Err(e @ LaunchError::ShareBadHashtag) => {
                        problems.push(("share_hashtag", e));
                        None
                    }
                    Err(e) => {
                        problems.push(("share_template", e));
                        None
                    }
                }
            }
        };
        if !problems.is_empty() {
            problems.dedup();
            return Err(problems);
        }
        let (opens_at, closes_at) = (opens_at.unwrap_or(now), closes_at.unwrap_or(now));
        Ok(NewDropRequest {
            slug: self.slug.trim().to_string(),
            name: self.name.trim().to_string(),
            description: String::new(),
            price_cents,
            currency,
            per_account_limit: limit,
            reservations_open_at: now.min(opens_at),
            reservations_close_at: opens_at,
            fcode_opens_at: Some((opens_at - 3_600_000).max(now.min(opens_at))),
            opens_at,
            closes_at,
            min_honor_rank: int(&self.min_honor).unwrap_or(1),
            min_account_age_days: 0,
            mode,
            payment_seconds: 1_800,
            variants,
            share,
        })
    }
}

async fn render_new_drop(
    state: &LaunchState,
    viewer: &Viewer,
    status: StatusCode,
    mut f: NewDropForm,
    errors: &[(&'static str, LaunchError)],
    error: Option<String>,
) -> Result<Response, PageError> {
    // The rows typed, and room for more: at least VARIANT_ROWS, one empty at the end, 20 at most.
    let rows = VARIANT_ROWS.max(f.variants.len() + 1).min(20);
    while f.variants.len() < rows {
        f.variants.push(VariantRow::default());
    }
    let mut by_field: std::collections::BTreeMap<&str, Vec<&str>> = std::collections::BTreeMap::new();
    for (field, e) in errors {
        by_field.entry(field).or_default().push(e.spec().text(viewer.lang));
    }
    let now = now_ms();
    let boards = fanloop_community::store::list_boards(&state.platform.db).await?;
    let page = state.platform.render(
        viewer,
        "new_drop.html",
        context! {
            boards => boards,
            f => f,
            errors => by_field,
            error => error,
            currencies => CURRENCIES,
            zone => viewer.tz.clone(),
            zone_offset => fanloop_platform::locale::offset_label(now, &viewer.tz),
        },
    )?;
    Ok((status, page).into_response())
}

async fn new_drop_page(State(state): State<LaunchState>, viewer: Viewer) -> Result<Response, PageError> {
    viewer.require_staff()?;
    render_new_drop(
        &state,
        &viewer,
        StatusCode::OK,
        NewDropForm::blank(&viewer.tz),
        &[],
        None,
    )
    .await
}

async fn new_drop_submit(
    State(state): State<LaunchState>,
    viewer: Viewer,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let user = viewer.require_staff()?;
    let f = NewDropForm::from_pairs(pairs);
    let mut req = f.request(&viewer.tz, now_ms());
    if let Ok(r) = &req {
        // Said next to the address field rather than as a conflict after the fact (the store
        // still refuses a duplicate that slips in between).
        if store::drop_by_slug(&state.platform.db, &r.slug).await?.is_some() {
            req = Err(vec![("slug", LaunchError::SlugTaken)]);
        }
    }
    let req = match req {
        Ok(req) => req,
        Err(problems) => {
            return render_new_drop(&state, &viewer, StatusCode::UNPROCESSABLE_ENTITY, f, &problems, None).await;
        }
    };
    match service::create_drop(&state, user, &req).await {
        Ok(d) => Ok(see_other(&format!("/drops/{}", d.slug))),
        Err(e) if e.status.is_client_error() => {
            let text = say(&state, &viewer, &e);
            render_new_drop(&state, &viewer, e.status, f, &[], Some(text)).await
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_price_cents;

    #[test]
    fn prices_are_read_exactly_or_refused() {
        for (typed, cents) in [
            ("3999", 399_900),
            ("3999.50", 399_950),
            ("3999,5", 399_950),
            (" 3 999,50 ", 399_950),
            ("0", 0),
            ("0.01", 1),
            ("100000000", 10_000_000_000),
        ] {
            assert_eq!(parse_price_cents(typed), Some(cents), "{typed}");
        }
        for typed in [
            "",
            "3,999",
            "3.999",
            "1,299.00",
            "1.299,00",
            "-5",
            "abc",
            "3999.",
            ",5",
            "1e3",
            "100000001",
            "9999999999999",
            "３９９９",
            "3999.5.0",
            "NaN",
            "inf",
        ] {
            assert_eq!(parse_price_cents(typed), None, "{typed}");
        }
    }
}
