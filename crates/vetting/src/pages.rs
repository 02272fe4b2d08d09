//! Vetting pages for staff: brand profiles, the upload page, and the report (screen and print).

use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use fanloop_platform::web::{check_multipart_csrf, see_other, CsrfForm, PagePath, PageQuery, Viewer};
use fanloop_platform::PageError;
use minijinja::context;
use serde::Deserialize;

use crate::error::VettingError;
use crate::report::Report;
use crate::service::{self, BrandRequest, BrandUpdate, ReviewRequest, VettingState};
use crate::store::{self, Aliases};

pub fn router() -> Router<VettingState> {
    Router::new()
        .route("/vetting", get(home))
        .route("/vetting/brands", post(create_brand_submit))
        .route("/vetting/brands/{slug}", get(brand_page).post(brand_submit))
        .route(
            "/vetting/import",
            post(import_submit).layer(DefaultBodyLimit::max(service::IMPORT_BODY_LIMIT)),
        )
        .route("/vetting/brands/{slug}/candidates/{id}", get(report_page))
        .route("/vetting/brands/{slug}/candidates/{id}/review", post(review_submit))
}

async fn render_home(
    state: &VettingState,
    viewer: &Viewer,
    status: StatusCode,
    error: Option<String>,
    imported: Option<store::ImportSummary>,
) -> Result<Response, PageError> {
    let db = &state.platform.db;
    let page = state.platform.render(
        viewer,
        "vetting.html",
        context! {
            brands => store::list_brands(db).await?,
            candidates => store::list_candidates(db).await?,
            imports => store::recent_imports(db, 10).await?,
            imported => imported,
            error => error,
        },
    )?;
    Ok((status, page).into_response())
}

async fn home(State(state): State<VettingState>, viewer: Viewer) -> Result<Response, PageError> {
    viewer.require_staff()?;
    render_home(&state, &viewer, StatusCode::OK, None, None).await
}

#[derive(Deserialize)]
pub struct BrandForm {
    slug: Option<String>,
    name: String,
    #[serde(default)]
    brand: String,
    #[serde(default)]
    product: String,
    #[serde(default)]
    executive: String,
    #[serde(default)]
    fans: String,
    #[serde(default)]
    fan_slur: String,
}

/// One alias per line (commas and 、 also separate, as people paste lists).
fn lines(s: &str) -> Vec<String> {
    s.split(['\n', ',', '，', '、'])
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

impl BrandForm {
    fn aliases(&self) -> Aliases {
        Aliases {
            brand: lines(&self.brand),
            products: lines(&self.product),
            executives: lines(&self.executive),
            fans: lines(&self.fans),
            fan_slurs: lines(&self.fan_slur),
        }
    }
}

async fn create_brand_submit(
    State(state): State<VettingState>,
    viewer: Viewer,
    CsrfForm(f): CsrfForm<BrandForm>,
) -> Result<Response, PageError> {
    let me = viewer.require_staff()?;
    let r = BrandRequest {
        slug: f.slug.clone().unwrap_or_default().trim().to_lowercase(),
        name: f.name.clone(),
        aliases: f.aliases(),
    };
    match service::create_brand(&state, me, &r).await {
        Ok(b) => Ok(see_other(&format!("/vetting/brands/{}", b.slug))),
        Err(e) if e.status.is_client_error() => {
            let message = e.text(viewer.lang);
            render_home(&state, &viewer, StatusCode::UNPROCESSABLE_ENTITY, Some(message), None).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn render_brand(
    state: &VettingState,
    viewer: &Viewer,
    slug: &str,
    status: StatusCode,
    error: Option<String>,
    saved: bool,
) -> Result<Response, PageError> {
    let db = &state.platform.db;
    let brand = service::brand(db, slug).await?;
    let aliases = store::aliases(db, brand.id).await?;
    let kinds: Vec<_> = store::ALIAS_KINDS
        .iter()
        .map(|k| context! { kind => k, text => aliases.list(k).join("\n") })
        .collect();
    let page = state.platform.render(
        viewer,
        "vet_brand.html",
        context! { brand => brand, kinds => kinds, candidates => store::list_candidates(db).await?, error => error, saved => saved },
    )?;
    Ok((status, page).into_response())
}

async fn brand_page(
    State(state): State<VettingState>,
    viewer: Viewer,
    PagePath(slug): PagePath<String>,
) -> Result<Response, PageError> {
    viewer.require_staff()?;
    render_brand(&state, &viewer, &slug, StatusCode::OK, None, false).await
}

async fn brand_submit(
    State(state): State<VettingState>,
    viewer: Viewer,
    PagePath(slug): PagePath<String>,
    CsrfForm(f): CsrfForm<BrandForm>,
) -> Result<Response, PageError> {
    let me = viewer.require_staff()?;
    let r = BrandUpdate {
        name: f.name.clone(),
        aliases: f.aliases(),
    };
    match service::update_brand(&state, me, &slug, &r).await {
        Ok(_) => render_brand(&state, &viewer, &slug, StatusCode::OK, None, true).await,
        Err(e) if e.status.is_client_error() && e.status != StatusCode::NOT_FOUND => {
            render_brand(
                &state,
                &viewer,
                &slug,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(e.text(viewer.lang)),
                false,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

async fn import_submit(
    State(state): State<VettingState>,
    viewer: Viewer,
    mut multipart: Multipart,
) -> Result<Response, PageError> {
    let me = viewer.require_staff()?;
    let (mut csrf, mut file_name, mut data) = (String::new(), String::new(), Vec::new());
    while let Some(field) = multipart.next_field().await.map_err(|e| {
        PageError::localized(
            VettingError::InvalidUpload.with(&[("error", e.to_string())]),
            viewer.lang,
        )
    })? {
        match field.name().unwrap_or("") {
            "_csrf" => csrf = field.text().await.unwrap_or_default(),
            "file" => {
                file_name = field.file_name().unwrap_or("upload").to_string();
                data = field
                    .bytes()
                    .await
                    .map_err(|e| {
                        let e = VettingError::UploadFailed.with(&[("error", e.to_string())]);
                        PageError::localized(e, viewer.lang)
                    })?
                    .to_vec();
            }
            _ => {}
        }
    }
    check_multipart_csrf(&viewer, &csrf)?;
    match service::import(&state, Some(me), &file_name, &data, None).await {
        Ok(mut summary) => {
            // The refused rows' reasons in the reader's language (the API keeps them in English).
            for row in &mut summary.errors {
                row.message = row.text(viewer.lang);
            }
            render_home(&state, &viewer, StatusCode::OK, None, Some(summary)).await
        }
        Err(e) if e.status.is_client_error() => {
            let message = e.text(viewer.lang);
            render_home(&state, &viewer, e.status, Some(message), None).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct ReportParams {
    print: Option<u8>,
}

/// Heights of the stacked monthly bars of the stance chart, scaled to `CHART_HEIGHT`.
const CHART_HEIGHT: u32 = 120;

fn chart(report: &Report) -> minijinja::Value {
    let max = report
        .timeline
        .iter()
        .map(|m| m.hostile + m.neutral + m.supportive)
        .max()
        .unwrap_or(1)
        .max(1);
    // Rounding each part up keeps small counts visible; the stack may then exceed the chart
    // by a pixel or two, which the saturating top absorbs.
    let scale = |n: u32| (n * CHART_HEIGHT).div_ceil(max);
    // Bars share about 900 px, between 22 and 80 px each; the SVG then scales uniformly, so
    // the month labels are never stretched.
    let step = (900 / report.timeline.len().max(1)).clamp(22, 80);
    let bars: Vec<_> = report
        .timeline
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let (h, n, s) = (scale(m.hostile), scale(m.neutral), scale(m.supportive));
            context! { x => i * step, bar => step - 4, month => m.month.clone(), hostile => m.hostile, neutral => m.neutral, supportive => m.supportive,
                h => h, n => n, s => s, top => CHART_HEIGHT.saturating_sub(h + n + s) }
        })
        .collect();
    context! { bars => bars, width => (report.timeline.len() * step).max(step), height => CHART_HEIGHT }
}

async fn render_report(
    state: &VettingState,
    viewer: &Viewer,
    slug: &str,
    id: i64,
    print: bool,
    status: StatusCode,
    error: Option<String>,
) -> Result<Response, PageError> {
    let me = viewer.require_staff()?;
    let r = service::report(state, me, slug, id).await?;
    let chart = chart(&r.report);
    let template = if print {
        "vet_report_print.html"
    } else {
        "vet_report.html"
    };
    let page = state
        .platform
        .render(viewer, template, context! { r => r, chart => chart, error => error })?;
    Ok((status, page).into_response())
}

async fn report_page(
    State(state): State<VettingState>,
    viewer: Viewer,
    PagePath((slug, id)): PagePath<(String, i64)>,
    PageQuery(q): PageQuery<ReportParams>,
) -> Result<Response, PageError> {
    render_report(&state, &viewer, &slug, id, q.print == Some(1), StatusCode::OK, None).await
}

async fn review_submit(
    State(state): State<VettingState>,
    viewer: Viewer,
    PagePath((slug, id)): PagePath<(String, i64)>,
    CsrfForm(f): CsrfForm<ReviewRequest>,
) -> Result<Response, PageError> {
    let me = viewer.require_staff()?;
    match service::review(&state, me, &slug, id, &f).await {
        Ok(_) => Ok(see_other(&format!("/vetting/brands/{slug}/candidates/{id}#reviews"))),
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            let message = e.text(viewer.lang);
            render_report(&state, &viewer, &slug, id, false, e.status, Some(message)).await
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexicon::Matcher;
    use crate::report::{self, CandidatePost};

    #[test]
    fn the_stance_chart_copes_with_months_whose_parts_round_up() {
        let texts = ["Xiaomi is great", "Xiaomi is garbage", "Xiaomi shipped a phone"];
        let posts: Vec<CandidatePost> = (0..7)
            .map(|i| CandidatePost {
                id: i,
                platform: "x".into(),
                posted_at: 1_700_000_000_000,
                text: texts[i as usize % 3].into(),
                likes: 0,
                reposts: 0,
                comments: 0,
                followers: None,
                url: None,
            })
            .collect();
        let matcher = Matcher::new([(crate::lexicon::AliasKind::Brand, "Xiaomi")]);
        let r = report::build("Xiaomi", "x", &matcher, &Matcher::default(), &posts, &[], 0);
        let chart = chart(&r);
        let bar = chart
            .get_attr("bars")
            .unwrap()
            .get_item(&minijinja::Value::from(0))
            .unwrap();
        assert_eq!(bar.get_attr("top").unwrap().as_i64(), Some(0));
    }
}
