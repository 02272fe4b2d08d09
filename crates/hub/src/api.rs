//! `/api/v1/hub`: the same use cases as the pages, as JSON. Names and stage labels come in the
//! caller's language (`Accept-Language`, or the language cookie).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use fanloop_platform::error::ErrorBody;
use fanloop_platform::web::{request_lang, ApiCaller, ApiJson, ApiPath, ApiQuery, ApiUser};
use fanloop_platform::ApiError;
use utoipa::OpenApi;

use crate::ask::{
    self, ConsentRequest, ConversationSummary, ConversationView, FaqEntry, FaqRequest, MessageRequest, MessageView,
    MyQuestions, QuestionRequest, ResponseTime, TopicView,
};
use crate::domain::{Choice, Names, StageRule, Unit};
use crate::service::{
    self, ArticlePage, ArticleRequest, ArticleSummary, ArticleView, AuthorView, BrowseQuery, ChoiceView,
    DimensionRequest, DimensionView, ExpertRequest, ExpertView, FactRequest, FactView, FactsRequest, ForYou, HubState,
    MyHub, SeriesChange, SeriesPart, SeriesRequest, SeriesSummary, SeriesView, TargetRequest,
};
use crate::service::{ArticleReach, HubStats, SegmentViews};
use crate::store::ProductCard;

pub fn router() -> Router<HubState> {
    Router::new()
        .route("/api/v1/hub/segments", get(segments).post(create_segment))
        .route("/api/v1/hub/segments/{key}", put(update_segment))
        .route("/api/v1/hub/me", get(me).put(set_me).delete(forget_me))
        .route("/api/v1/hub/for-you", get(for_you))
        .route("/api/v1/hub/articles", get(articles).post(create_article))
        .route(
            "/api/v1/hub/articles/{slug}",
            get(article).put(update_article).delete(delete_article),
        )
        .route("/api/v1/hub/series", get(series_list).post(create_series))
        .route("/api/v1/hub/series/{slug}", get(series).put(update_series))
        .route("/api/v1/hub/experts", get(experts).post(appoint))
        .route("/api/v1/hub/experts/{username}", axum::routing::delete(dismiss))
        .route("/api/v1/hub/topics", get(topics))
        .route("/api/v1/hub/questions", get(my_questions).post(ask))
        .route("/api/v1/hub/questions/{id}", get(question))
        .route("/api/v1/hub/questions/{id}/messages", post(reply))
        .route("/api/v1/hub/questions/{id}/close", post(close))
        .route("/api/v1/hub/questions/{id}/consent", put(consent))
        .route("/api/v1/hub/questions/{id}/faq", post(publish_faq))
        .route("/api/v1/hub/questions/{id}/stream", get(question_stream))
        .route("/api/v1/hub/faq", get(faq))
        .route("/api/v1/hub/response-times", get(response_times))
        .route("/api/v1/hub/stats", get(stats))
}

#[derive(OpenApi)]
#[openapi(
    paths(segments, create_segment, update_segment, me, set_me, forget_me, for_you, articles, create_article, article, delete_article,
        update_article, series_list, create_series, series, update_series, experts, appoint, dismiss, topics, my_questions, ask, question,
        reply, close, consent, publish_faq, question_stream, faq, response_times, stats),
    components(schemas(
        DimensionRequest, DimensionView, ChoiceView, Choice, Names, StageRule, Unit, FactsRequest, FactRequest, MyHub,
        FactView, ForYou, ArticlePage, ArticleSummary, ArticleView, AuthorView, ArticleRequest, TargetRequest,
        SeriesRequest, SeriesChange, SeriesSummary, SeriesView, SeriesPart, ExpertRequest, ExpertView, TopicView, QuestionRequest,
        MessageRequest, ConsentRequest, FaqRequest, MessageView, ConversationView, ConversationSummary, MyQuestions,
        FaqEntry, ResponseTime, HubStats, ArticleReach, SegmentViews, ProductCard, ErrorBody
    )),
    tags((name = "hub", description = "Knowledge hub: member segments and stages, targeted articles and series, experts"))
)]
pub struct HubApi;

#[utoipa::path(get, path = "/api/v1/hub/segments", tag = "hub",
    responses((status = 200, body = Vec<DimensionView>, description = "every segment; member counts for staff")))]
async fn segments(
    State(state): State<HubState>,
    ApiCaller(me): ApiCaller,
    headers: HeaderMap,
) -> Result<Json<Vec<DimensionView>>, ApiError> {
    Ok(Json(
        service::dimensions(&state, me.as_ref(), request_lang(&headers)).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/hub/segments", tag = "hub", request_body = DimensionRequest,
    responses((status = 201, body = DimensionView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_segment(
    State(state): State<HubState>,
    ApiUser(me): ApiUser,
    headers: HeaderMap,
    ApiJson(r): ApiJson<DimensionRequest>,
) -> Result<(StatusCode, Json<DimensionView>), ApiError> {
    let d = service::create_dimension(&state, &me, &r, request_lang(&headers)).await?;
    Ok((StatusCode::CREATED, Json(d)))
}

#[utoipa::path(put, path = "/api/v1/hub/segments/{key}", tag = "hub", params(("key" = String, Path)), request_body = DimensionRequest,
    responses((status = 200, body = DimensionView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "the kind cannot change"), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn update_segment(
    State(state): State<HubState>,
    ApiUser(me): ApiUser,
    ApiPath(key): ApiPath<String>,
    headers: HeaderMap,
    ApiJson(r): ApiJson<DimensionRequest>,
) -> Result<Json<DimensionView>, ApiError> {
    Ok(Json(
        service::update_dimension(&state, &me, &key, &r, request_lang(&headers)).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/hub/me", tag = "hub",
    responses((status = 200, body = MyHub, description = "what the hub knows about the caller, with today's stages")),
    security(("bearer" = [])))]
async fn me(State(state): State<HubState>, ApiUser(me): ApiUser, headers: HeaderMap) -> Result<Json<MyHub>, ApiError> {
    Ok(Json(service::my_hub(&state, &me, request_lang(&headers)).await?))
}

#[utoipa::path(put, path = "/api/v1/hub/me", tag = "hub", request_body = FactsRequest,
    responses((status = 200, body = MyHub), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn set_me(
    State(state): State<HubState>,
    ApiUser(me): ApiUser,
    headers: HeaderMap,
    ApiJson(r): ApiJson<FactsRequest>,
) -> Result<Json<MyHub>, ApiError> {
    Ok(Json(service::set_facts(&state, &me, &r, request_lang(&headers)).await?))
}

#[utoipa::path(delete, path = "/api/v1/hub/me", tag = "hub",
    responses((status = 200, body = MyHub, description = "everything the hub knew about the caller is forgotten")),
    security(("bearer" = [])))]
async fn forget_me(
    State(state): State<HubState>,
    ApiUser(me): ApiUser,
    headers: HeaderMap,
) -> Result<Json<MyHub>, ApiError> {
    Ok(Json(
        service::set_facts(&state, &me, &FactsRequest::default(), request_lang(&headers)).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/hub/for-you", tag = "hub",
    responses((status = 200, body = ForYou, description = "articles that fit the caller today, best first")))]
async fn for_you(
    State(state): State<HubState>,
    ApiCaller(me): ApiCaller,
    headers: HeaderMap,
) -> Result<Json<ForYou>, ApiError> {
    Ok(Json(
        service::for_you(&state, me.as_ref(), request_lang(&headers)).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/hub/articles", tag = "hub", params(BrowseQuery),
    responses((status = 200, body = ArticlePage), (status = 422, body = ErrorBody)))]
async fn articles(
    State(state): State<HubState>,
    ApiCaller(me): ApiCaller,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<BrowseQuery>,
) -> Result<Json<ArticlePage>, ApiError> {
    Ok(Json(
        service::browse(&state, me.as_ref(), &q, request_lang(&headers)).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/hub/articles", tag = "hub", request_body = ArticleRequest,
    responses((status = 201, body = ArticleView), (status = 403, body = ErrorBody, description = "not staff nor a hub expert"),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_article(
    State(state): State<HubState>,
    ApiUser(me): ApiUser,
    headers: HeaderMap,
    ApiJson(r): ApiJson<ArticleRequest>,
) -> Result<(StatusCode, Json<ArticleView>), ApiError> {
    let a = service::create_article(&state, &me, &r, request_lang(&headers)).await?;
    Ok((StatusCode::CREATED, Json(a)))
}

#[utoipa::path(get, path = "/api/v1/hub/articles/{slug}", tag = "hub", params(("slug" = String, Path)),
    responses((status = 200, body = ArticleView), (status = 404, body = ErrorBody, description = "no such article, or not yet published")))]
async fn article(
    State(state): State<HubState>,
    ApiCaller(me): ApiCaller,
    ApiPath(slug): ApiPath<String>,
    headers: HeaderMap,
) -> Result<Json<ArticleView>, ApiError> {
    Ok(Json(
        service::article(&state, me.as_ref(), &slug, request_lang(&headers)).await?,
    ))
}

#[utoipa::path(put, path = "/api/v1/hub/articles/{slug}", tag = "hub", params(("slug" = String, Path)), request_body = ArticleRequest,
    responses((status = 200, body = ArticleView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn update_article(
    State(state): State<HubState>,
    ApiUser(me): ApiUser,
    ApiPath(slug): ApiPath<String>,
    headers: HeaderMap,
    ApiJson(r): ApiJson<ArticleRequest>,
) -> Result<Json<ArticleView>, ApiError> {
    Ok(Json(
        service::update_article(&state, &me, &slug, &r, request_lang(&headers)).await?,
    ))
}

/// Deletes an article (staff, or its author): its targets, product cards and counts go with it.
#[utoipa::path(delete, path = "/api/v1/hub/articles/{slug}", tag = "hub", params(("slug" = String, Path)),
    responses((status = 204, description = "deleted"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn delete_article(
    State(state): State<HubState>,
    ApiUser(me): ApiUser,
    ApiPath(slug): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    service::delete_article(&state, &me, &slug).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/hub/series", tag = "hub", responses((status = 200, body = Vec<SeriesSummary>)))]
async fn series_list(State(state): State<HubState>) -> Result<Json<Vec<SeriesSummary>>, ApiError> {
    Ok(Json(service::all_series(&state).await?))
}

#[utoipa::path(post, path = "/api/v1/hub/series", tag = "hub", request_body = SeriesRequest,
    responses((status = 201, body = SeriesSummary), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_series(
    State(state): State<HubState>,
    ApiUser(me): ApiUser,
    ApiJson(r): ApiJson<SeriesRequest>,
) -> Result<(StatusCode, Json<SeriesSummary>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(service::create_series(&state, &me, &r).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/hub/series/{slug}", tag = "hub", params(("slug" = String, Path)),
    responses((status = 200, body = SeriesView, description = "its parts in stage order, the caller's stage marked"), (status = 404, body = ErrorBody)))]
async fn series(
    State(state): State<HubState>,
    ApiCaller(me): ApiCaller,
    ApiPath(slug): ApiPath<String>,
    headers: HeaderMap,
) -> Result<Json<SeriesView>, ApiError> {
    Ok(Json(
        service::series(&state, me.as_ref(), &slug, request_lang(&headers)).await?,
    ))
}

/// Changes a series: title and summary at any time, language and segment while it has no articles.
#[utoipa::path(put, path = "/api/v1/hub/series/{slug}", tag = "hub", params(("slug" = String, Path)), request_body = SeriesChange,
    responses((status = 200, body = SeriesSummary), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "the series has articles: its language and segment stay"), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn update_series(
    State(state): State<HubState>,
    ApiUser(me): ApiUser,
    ApiPath(slug): ApiPath<String>,
    ApiJson(r): ApiJson<SeriesChange>,
) -> Result<Json<SeriesSummary>, ApiError> {
    Ok(Json(service::update_series(&state, &me, &slug, &r).await?))
}

#[utoipa::path(get, path = "/api/v1/hub/experts", tag = "hub", responses((status = 200, body = Vec<ExpertView>)))]
async fn experts(State(state): State<HubState>) -> Result<Json<Vec<ExpertView>>, ApiError> {
    Ok(Json(service::experts(&state).await?))
}

#[utoipa::path(post, path = "/api/v1/hub/experts", tag = "hub", request_body = ExpertRequest,
    responses((status = 200, body = ExpertView, description = "appointed, or field and bio updated"), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn appoint(
    State(state): State<HubState>,
    ApiUser(me): ApiUser,
    ApiJson(r): ApiJson<ExpertRequest>,
) -> Result<Json<ExpertView>, ApiError> {
    Ok(Json(service::appoint_expert(&state, &me, &r).await?))
}

#[utoipa::path(delete, path = "/api/v1/hub/experts/{username}", tag = "hub", params(("username" = String, Path)),
    responses((status = 204, description = "no longer an expert"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn dismiss(
    State(state): State<HubState>,
    ApiUser(me): ApiUser,
    ApiPath(username): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    if service::dismiss_expert(&state, &me, &username).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(crate::error::HubError::NotExpert.with(&[("username", username)]))
    }
}

#[utoipa::path(get, path = "/api/v1/hub/topics", tag = "hub",
    responses((status = 200, body = Vec<TopicView>, description = "fields experts answer in, with the queue and the expected wait")))]
async fn topics(State(state): State<HubState>) -> Result<Json<Vec<TopicView>>, ApiError> {
    Ok(Json(ask::topics(&state).await?))
}

#[utoipa::path(get, path = "/api/v1/hub/questions", tag = "hub",
    responses((status = 200, body = MyQuestions, description = "what the caller asked; for an expert, their queue too")),
    security(("bearer" = [])))]
async fn my_questions(State(state): State<HubState>, ApiUser(me): ApiUser) -> Result<Json<MyQuestions>, ApiError> {
    Ok(Json(ask::my_questions(&state, &me).await?))
}

#[utoipa::path(post, path = "/api/v1/hub/questions", tag = "hub", request_body = QuestionRequest,
    responses((status = 201, body = ConversationView), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn ask(
    State(state): State<HubState>,
    ApiUser(me): ApiUser,
    headers: HeaderMap,
    ApiJson(r): ApiJson<QuestionRequest>,
) -> Result<(StatusCode, Json<ConversationView>), ApiError> {
    let c = ask::ask(&state, &me, &r, request_lang(&headers)).await?;
    Ok((StatusCode::CREATED, Json(c)))
}

#[utoipa::path(get, path = "/api/v1/hub/questions/{id}", tag = "hub", params(("id" = i64, Path)),
    responses((status = 200, body = ConversationView), (status = 404, body = ErrorBody, description = "no such conversation, or not the caller's")),
    security(("bearer" = [])))]
async fn question(
    State(state): State<HubState>,
    ApiUser(me): ApiUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ConversationView>, ApiError> {
    Ok(Json(ask::conversation(&state, &me, id).await?))
}

#[utoipa::path(post, path = "/api/v1/hub/questions/{id}/messages", tag = "hub", params(("id" = i64, Path)), request_body = MessageRequest,
    responses((status = 201, body = ConversationView, description = "an expert's first answer takes the conversation"),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "closed, or taken by another expert"), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn reply(
    State(state): State<HubState>,
    ApiUser(me): ApiUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(r): ApiJson<MessageRequest>,
) -> Result<(StatusCode, Json<ConversationView>), ApiError> {
    Ok((StatusCode::CREATED, Json(ask::reply(&state, &me, id, &r).await?)))
}

#[utoipa::path(post, path = "/api/v1/hub/questions/{id}/close", tag = "hub", params(("id" = i64, Path)),
    responses((status = 200, body = ConversationView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn close(
    State(state): State<HubState>,
    ApiUser(me): ApiUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ConversationView>, ApiError> {
    Ok(Json(ask::close(&state, &me, id).await?))
}

#[utoipa::path(put, path = "/api/v1/hub/questions/{id}/consent", tag = "hub", params(("id" = i64, Path)), request_body = ConsentRequest,
    responses((status = 200, body = ConversationView, description = "taking consent back removes the FAQ entry"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn consent(
    State(state): State<HubState>,
    ApiUser(me): ApiUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(r): ApiJson<ConsentRequest>,
) -> Result<Json<ConversationView>, ApiError> {
    Ok(Json(ask::set_consent(&state, &me, id, &r).await?))
}

#[utoipa::path(post, path = "/api/v1/hub/questions/{id}/faq", tag = "hub", params(("id" = i64, Path)), request_body = FaqRequest,
    responses((status = 201, body = FaqEntry), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "no consent, no answer yet, or already published"), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn publish_faq(
    State(state): State<HubState>,
    ApiUser(me): ApiUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(r): ApiJson<FaqRequest>,
) -> Result<(StatusCode, Json<FaqEntry>), ApiError> {
    Ok((StatusCode::CREATED, Json(ask::publish_faq(&state, &me, id, &r).await?)))
}

/// A conversation, live: its state at once, then whenever a message is written (on any node,
/// within about a second) or its place in the queue changes.
#[utoipa::path(get, path = "/api/v1/hub/questions/{id}/stream", tag = "hub", params(("id" = i64, Path)),
    responses((status = 200, description = "server-sent events: `conversation` events with the message count, status and queue position", content_type = "text/event-stream"),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn question_stream(
    State(state): State<HubState>,
    ApiUser(me): ApiUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<Sse<impl futures::Stream<Item = Result<Event, std::convert::Infallible>>>, ApiError> {
    use fanloop_platform::live::LiveEvent;
    use futures::StreamExt;
    ask::conversation(&state, &me, id).await?;
    let feed = state.platform.live.clone();
    let states = fanloop_platform::live::stream(
        &feed,
        move |e| *e == LiveEvent::Conversation { conversation_id: id },
        move || {
            let (state, me) = (state.clone(), me.clone());
            async move {
                ask::live_state(&state, &me, id)
                    .await
                    .map_err(|e| anyhow::anyhow!("{} {}", e.code, e.message))
            }
        },
    );
    let events = states.map(|s| Ok(Event::default().event("conversation").json_data(&s).unwrap_or_default()));
    Ok(Sse::new(fanloop_platform::live::bounded(events)).keep_alive(KeepAlive::default()))
}

#[utoipa::path(get, path = "/api/v1/hub/faq", tag = "hub", responses((status = 200, body = Vec<FaqEntry>)))]
async fn faq(State(state): State<HubState>) -> Result<Json<Vec<FaqEntry>>, ApiError> {
    Ok(Json(ask::faq(&state).await?))
}

#[utoipa::path(get, path = "/api/v1/hub/response-times", tag = "hub",
    responses((status = 200, body = Vec<ResponseTime>, description = "time to a first answer per field and per expert"), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn response_times(
    State(state): State<HubState>,
    ApiUser(me): ApiUser,
) -> Result<Json<Vec<ResponseTime>>, ApiError> {
    Ok(Json(ask::response_times(&state, &me).await?))
}

#[utoipa::path(get, path = "/api/v1/hub/stats", tag = "hub",
    responses((status = 200, body = HubStats, description = "views per article and per segment, clicks and orders from product cards, questions answered"),
        (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn stats(
    State(state): State<HubState>,
    ApiUser(me): ApiUser,
    headers: HeaderMap,
) -> Result<Json<HubStats>, ApiError> {
    Ok(Json(service::stats(&state, &me, request_lang(&headers)).await?))
}
