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
    let v = drop_view(state, slug).await?;
    let status = match &viewer.user {
        Some(u) => Some(service::my_status(state, u, slug).await?),
        None => None,
    };
    // A fresh key per rendered form: submitting the same form twice (double click, reload)
    // replays the first order instead of buying again.
    let idem = fanloop_platform::auth::new_token();
    state.platform.render(
        viewer,
        "drop.html",
        context! { v => v, status => status, idem => idem, error => error, notice => notice },
    )
}

async fn drop_page(
    State(state): State<LaunchState>,
    viewer: Viewer,
    PagePath(slug): PagePath<String>,
) -> Result<Html<String>, PageError> {
    render_drop(&state, &viewer, &slug, None, None).await
}

async fn reserve_submit(
    State(state): State<LaunchState>,
    viewer: Viewer,
    PagePath(slug): PagePath<String>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    let user = viewer.require_user()?;
    match service::reserve(&state, user, &slug).await {
        Ok(_) => Ok(see_other(&format!("/drops/{slug}"))),
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
                render_drop(&state, &viewer, &slug, Some(message), None).await?,
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

async fn new_drop_page(State(state): State<LaunchState>, viewer: Viewer) -> Result<Html<String>, PageError> {
    if !viewer.require_user()?.role.is_staff() {
        return Err(PageError::forbidden());
    }
    state.platform.render(&viewer, "new_drop.html", context! {})
}

#[derive(Deserialize, serde::Serialize)]
pub struct NewDropForm {
    name: String,
    slug: String,
    variant: String,
    stock: i64,
    fcode_stock: Option<i64>,
    price: f64,
    limit: i64,
    mode: String,
    opens_in: i64,
    hours: i64,
    min_honor: i64,
}

async fn new_drop_submit(
    State(state): State<LaunchState>,
    viewer: Viewer,
    CsrfForm(f): CsrfForm<NewDropForm>,
) -> Result<Response, PageError> {
    let user = viewer.require_user()?;
    let now = now_ms();
    let opens_at = now + f.opens_in.clamp(0, 525_600) * 60_000;
    let mode = match f.mode.as_str() {
        "draw" => SaleMode::Draw,
        "queue" => SaleMode::Queue {
            wave_size: 1_000,
            wave_ms: 10_000,
        },
        _ => SaleMode::Open,
    };
    let req = NewDropRequest {
        slug: f.slug.clone(),
        name: f.name.clone(),
        description: String::new(),
        price_cents: (f.price * 100.0).round() as i64,
        currency: "CNY".into(),
        per_account_limit: f.limit,
        reservations_open_at: now,
        reservations_close_at: opens_at,
        fcode_opens_at: Some((opens_at - 3_600_000).max(now)),
        opens_at,
        closes_at: opens_at + f.hours.clamp(1, 24 * 30) * 3_600_000,
        min_honor_rank: f.min_honor,
        min_account_age_days: 0,
        mode,
        payment_seconds: 1_800,
        variants: vec![NewVariant {
            name: f.variant.clone(),
            stock: f.stock,
            fcode_stock: f.fcode_stock.unwrap_or(0),
        }],
    };
    match service::create_drop(&state, user, &req).await {
        Ok(d) => Ok(see_other(&format!("/drops/{}", d.slug))),
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY || e.status == StatusCode::CONFLICT => Ok((
            e.status,
            state.platform.render(
                &viewer,
                "new_drop.html",
                context! { error => say(&state, &viewer, &e), f => f },
            )?,
        )
            .into_response()),
        Err(e) => Err(e.into()),
    }
}
