//! Ask an expert: a member opens a private conversation on a field; it waits in that field's
//! queue (the member sees their place and the expected wait) until an expert of the field
//! answers, which makes the conversation theirs. Both see new messages live on an open page
//! (server-sent events) and are notified otherwise. Transcripts stay with the member. With the
//! member's consent the expert can publish an answer as a public FAQ entry; staff see the
//! time to a first answer (median, 90th percentile) per expert and field, not the messages.

use std::collections::BTreeMap;

use fanloop_platform::accounts::User;
use fanloop_platform::i18n::Lang;
use fanloop_platform::notifications::{self, NewNotification, NotificationKind};
use fanloop_platform::ApiError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::{self, expected_wait, percentile};
use crate::error::HubError;
use crate::service::HubState;
use crate::store::{self, ConversationRow, Written};

fn internal(e: anyhow::Error) -> ApiError {
    ApiError::from(e)
}

/// How many recent first answers the expected wait is estimated from.
const WAIT_SAMPLE: i64 = 50;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TopicView {
    /// The field, as experts are appointed to it.
    pub field: String,
    pub experts: i64,
    /// Experts of the field active in the last five minutes: a question may be answered live.
    pub online: i64,
    /// Questions waiting for a first answer.
    pub waiting: i64,
    /// For a question asked now, in seconds; absent before the field's first answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_wait_secs: Option<i64>,
}

pub async fn topics(state: &HubState) -> Result<Vec<TopicView>, ApiError> {
    let db = &state.platform.db;
    let waiting = store::waiting_counts(db).await.map_err(internal)?;
    let mut out = Vec::new();
    let since = fanloop_platform::db::now_ms() - crate::service::ONLINE_WITHIN_MS;
    for (field, experts, online) in store::expert_fields(db, since).await.map_err(internal)? {
        let recent = store::recent_first_answers(db, &field, WAIT_SAMPLE)
            .await
            .map_err(internal)?;
        let w = waiting.get(&field).copied().unwrap_or(0);
        out.push(TopicView {
            expected_wait_secs: expected_wait(&recent, w + 1, experts).map(|ms| ms / 1000),
            waiting: w,
            experts,
            online,
            field,
        });
    }
    Ok(out)
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct QuestionRequest {
    /// One of the fields in `GET /api/v1/hub/topics`.
    pub field: String,
    pub subject: String,
    /// The question (Markdown is shown as typed, not rendered).
    pub body: String,
    /// Whether an expert may publish the answer as a public FAQ entry (changeable later).
    #[serde(default)]
    pub faq_consent: bool,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct MessageRequest {
    pub body: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct ConsentRequest {
    pub faq_consent: bool,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct FaqRequest {
    /// The question as it will read in public (the expert may shorten it and remove anything
    /// personal).
    pub question: String,
    /// The answer, in Markdown.
    pub answer: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct MessageView {
    pub id: i64,
    pub author: String,
    /// Written by the conversation's expert.
    pub from_expert: bool,
    pub body: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ConversationView {
    pub id: i64,
    pub field: String,
    pub subject: String,
    pub lang: String,
    /// `waiting` (for a first answer), `open` or `closed`.
    pub status: String,
    pub member: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expert: Option<String>,
    pub faq_consent: bool,
    /// Published as a FAQ entry.
    pub in_faq: bool,
    pub created_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_answer_at: Option<i64>,
    pub messages: Vec<MessageView>,
    /// While waiting: 1 for the next question the field's experts will answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_wait_secs: Option<i64>,
    /// The same, in whole minutes rounded up (at least 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_wait_mins: Option<i64>,
    /// The caller asked this question.
    pub is_member: bool,
    /// The caller is an expert who may answer it.
    pub is_expert: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConversationSummary {
    pub id: i64,
    pub field: String,
    pub subject: String,
    pub status: String,
    pub member: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expert: Option<String>,
    pub created_at: i64,
    pub messages: i64,
}

fn summary(c: &ConversationRow) -> ConversationSummary {
    ConversationSummary {
        id: c.id,
        field: c.field.clone(),
        subject: c.subject.clone(),
        status: c.status.clone(),
        member: c.member.clone(),
        expert: c.expert.clone(),
        created_at: c.created_at,
        messages: c.messages,
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MyQuestions {
    /// What the caller asked, newest first.
    pub asked: Vec<ConversationSummary>,
    /// For an expert: the field's waiting questions (oldest first), then the ones they took.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<Vec<ConversationSummary>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expert_field: Option<String>,
}

pub async fn my_questions(state: &HubState, me: &User) -> Result<MyQuestions, ApiError> {
    let db = &state.platform.db;
    let asked = store::member_conversations(db, me.id).await.map_err(internal)?;
    let expert = store::expert(db, me.id).await.map_err(internal)?;
    let queue = match &expert {
        Some(e) => Some(
            store::expert_queue(db, me.id, &e.field)
                .await
                .map_err(internal)?
                .iter()
                .filter(|c| c.member_id != me.id)
                .map(summary)
                .collect(),
        ),
        None => None,
    };
    Ok(MyQuestions {
        asked: asked.iter().map(summary).collect(),
        queue,
        expert_field: expert.map(|e| e.field),
    })
}

/// Who the caller is to a conversation: `None` when they may not see it (a 404, so nobody
/// learns that it exists).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Party {
    Member,
    Expert,
}

async fn party(state: &HubState, me: &User, c: &ConversationRow) -> Result<Option<Party>, ApiError> {
    if c.member_id == me.id {
        return Ok(Some(Party::Member));
    }
    let Some(e) = store::expert(&state.platform.db, me.id).await.map_err(internal)? else {
        return Ok(None);
    };
    let answers_it = match c.expert_id {
        Some(x) => x == me.id,
        None => c.status == "waiting" && e.field == c.field,
    };
    Ok(answers_it.then_some(Party::Expert))
}

async fn load(state: &HubState, me: &User, id: i64) -> Result<(ConversationRow, Party), ApiError> {
    let c = store::conversation(&state.platform.db, id)
        .await
        .map_err(internal)?
        .ok_or(HubError::ConversationNotFound)?;
    let p = party(state, me, &c).await?.ok_or(HubError::ConversationNotFound)?;
    Ok((c, p))
}

pub async fn conversation(state: &HubState, me: &User, id: i64) -> Result<ConversationView, ApiError> {
    let (c, p) = load(state, me, id).await?;
    view(state, &c, p).await
}

async fn view(state: &HubState, c: &ConversationRow, p: Party) -> Result<ConversationView, ApiError> {
    let db = &state.platform.db;
    let messages = store::messages(db, c.id).await.map_err(internal)?;
    let (position, wait) = if c.status == "waiting" {
        let position = store::queue_position(db, c).await.map_err(internal)?;
        let recent = store::recent_first_answers(db, &c.field, WAIT_SAMPLE)
            .await
            .map_err(internal)?;
        let experts = store::expert_fields(db, i64::MAX)
            .await
            .map_err(internal)?
            .into_iter()
            .find(|(f, _, _)| *f == c.field)
            .map(|(_, n, _)| n)
            .unwrap_or(0);
        (
            Some(position),
            expected_wait(&recent, position, experts).map(|ms| ms / 1000),
        )
    } else {
        (None, None)
    };
    Ok(ConversationView {
        id: c.id,
        field: c.field.clone(),
        subject: c.subject.clone(),
        lang: c.lang.clone(),
        status: c.status.clone(),
        member: c.member.clone(),
        expert: c.expert.clone(),
        faq_consent: c.faq_consent,
        in_faq: store::has_faq(db, c.id).await.map_err(internal)?,
        created_at: c.created_at,
        first_answer_at: c.first_answer_at,
        messages: messages
            .into_iter()
            .map(|m| MessageView {
                from_expert: Some(m.author_id) == c.expert_id,
                id: m.id,
                author: m.author,
                body: m.body,
                created_at: m.created_at,
            })
            .collect(),
        position,
        expected_wait_secs: wait,
        expected_wait_mins: wait.map(|s| ((s + 59) / 60).max(1)),
        is_member: p == Party::Member,
        is_expert: p == Party::Expert,
    })
}

fn checked_message(body: &str) -> Result<String, ApiError> {
    let body = fanloop_platform::text::multiline(body).trim().to_string();
    if body.is_empty() || body.chars().count() > domain::MESSAGE_MAX {
        return Err(HubError::Message.into());
    }
    Ok(body)
}

async fn notify(state: &HubState, to: i64, actor: i64, subject: &str, id: i64) -> Result<(), ApiError> {
    let link = format!("/hub/questions/{id}");
    notifications::notify(
        &state.platform.db.pool,
        &NewNotification {
            user_id: to,
            kind: NotificationKind::ExpertConversation,
            actor_id: Some(actor),
            subject,
            link: &link,
            detail: None,
        },
    )
    .await
    .map_err(internal)
}

pub async fn ask(state: &HubState, me: &User, r: &QuestionRequest, lang: Lang) -> Result<ConversationView, ApiError> {
    let db = &state.platform.db;
    let field = r.field.trim();
    let experts = store::experts(db).await.map_err(internal)?;
    // Someone other than the asker must be able to take it.
    if !experts.iter().any(|e| e.field == field && e.user_id != me.id) {
        return Err(HubError::NoField.with(&[("field", field.to_string())]));
    }
    let subject = fanloop_platform::text::single_line(&r.subject).trim().to_string();
    if subject.is_empty() || subject.chars().count() > domain::QUESTION_SUBJECT_MAX {
        return Err(HubError::Subject.into());
    }
    let body = checked_message(&r.body)?;
    let id = store::create_conversation(
        db,
        me.id,
        field,
        &subject,
        lang.code(),
        &body,
        r.faq_consent,
        state.clock.now_ms(),
    )
    .await
    .map_err(internal)?;
    for e in experts.iter().filter(|e| e.field == field && e.user_id != me.id) {
        notify(state, e.user_id, me.id, &subject, id).await?;
    }
    conversation(state, me, id).await
}

pub async fn reply(state: &HubState, me: &User, id: i64, r: &MessageRequest) -> Result<ConversationView, ApiError> {
    let (c, p) = load(state, me, id).await?;
    let body = checked_message(&r.body)?;
    if c.status == "closed" {
        return Err(HubError::ConversationClosed.into());
    }
    let written = store::add_message(
        &state.platform.db,
        c.id,
        me.id,
        &body,
        p == Party::Expert,
        state.clock.now_ms(),
    )
    .await
    .map_err(internal)?;
    match written {
        Written::Closed => return Err(HubError::ConversationClosed.into()),
        Written::TakenByAnother => return Err(HubError::TakenByAnother.into()),
        Written::Done | Written::Took => {}
    }
    match p {
        Party::Expert => notify(state, c.member_id, me.id, &c.subject, c.id).await?,
        Party::Member => {
            if let Some(expert) = c.expert_id {
                notify(state, expert, me.id, &c.subject, c.id).await?;
            }
        }
    }
    conversation(state, me, id).await
}

pub async fn close(state: &HubState, me: &User, id: i64) -> Result<ConversationView, ApiError> {
    let (c, p) = load(state, me, id).await?;
    if p == Party::Expert && c.expert_id != Some(me.id) {
        return Err(HubError::ExpertOfConversation.into());
    }
    store::close_conversation(&state.platform.db, c.id, state.clock.now_ms())
        .await
        .map_err(internal)?;
    // No message is written: tell this node's open pages now (others see it at their next look).
    state
        .platform
        .live
        .publish(fanloop_platform::live::LiveEvent::Conversation { conversation_id: c.id });
    conversation(state, me, id).await
}

pub async fn set_consent(
    state: &HubState,
    me: &User,
    id: i64,
    r: &ConsentRequest,
) -> Result<ConversationView, ApiError> {
    let (c, p) = load(state, me, id).await?;
    if p != Party::Member {
        return Err(HubError::MemberOnly.into());
    }
    store::set_consent(&state.platform.db, c.id, r.faq_consent)
        .await
        .map_err(internal)?;
    conversation(state, me, id).await
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FaqEntry {
    pub id: i64,
    pub field: String,
    pub lang: String,
    pub question: String,
    /// Sanitised HTML of the answer's Markdown.
    pub answer_html: String,
    pub expert: String,
    pub created_at: i64,
}

pub async fn publish_faq(state: &HubState, me: &User, id: i64, r: &FaqRequest) -> Result<FaqEntry, ApiError> {
    let (c, _) = load(state, me, id).await?;
    if c.expert_id != Some(me.id) {
        return Err(HubError::ExpertOfConversation.into());
    }
    if !c.faq_consent {
        return Err(HubError::NoConsent.into());
    }
    if c.first_answer_at.is_none() {
        return Err(HubError::NotAnswered.into());
    }
    let question = fanloop_platform::text::single_line(&r.question).trim().to_string();
    let answer = fanloop_platform::text::multiline(&r.answer).trim().to_string();
    if question.is_empty()
        || question.chars().count() > 300
        || answer.is_empty()
        || answer.chars().count() > domain::MESSAGE_MAX
    {
        return Err(HubError::FaqText.into());
    }
    let html = fanloop_community::domain::render_markdown(&answer);
    let now = state.clock.now_ms();
    let db = &state.platform.db;
    let faq_id = match store::create_faq(db, c.id, &c.field, &c.lang, &question, &answer, &html, me.id, now)
        .await
        .map_err(internal)?
    {
        store::FaqWritten::Done(id) => id,
        store::FaqWritten::Exists => return Err(HubError::FaqExists.into()),
        // Consent was taken back (or the conversation changed hands) since it was read.
        store::FaqWritten::NoConsent => return Err(HubError::NoConsent.into()),
    };
    Ok(FaqEntry {
        id: faq_id,
        field: c.field,
        lang: c.lang,
        question,
        answer_html: html,
        expert: me.username.clone(),
        created_at: now,
    })
}

pub async fn faq(state: &HubState) -> Result<Vec<FaqEntry>, ApiError> {
    Ok(store::faq(&state.platform.db)
        .await
        .map_err(internal)?
        .into_iter()
        .map(|f| FaqEntry {
            id: f.id,
            field: f.field,
            lang: f.lang,
            question: f.question,
            answer_html: f.answer_html,
            expert: f.expert,
            created_at: f.created_at,
        })
        .collect())
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ResponseTime {
    /// Absent on a field's overall line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expert: Option<String>,
    pub field: String,
    /// Questions given a first answer.
    pub answered: i64,
    /// Time from the question to its first answer.
    pub median_secs: i64,
    pub p90_secs: i64,
}

/// Time to a first answer per field, and per expert within it (staff only).
pub async fn response_times(state: &HubState, me: &User) -> Result<Vec<ResponseTime>, ApiError> {
    if !me.role.is_staff() {
        return Err(HubError::StaffOnly.into());
    }
    let rows = store::first_answers(&state.platform.db).await.map_err(internal)?;
    let mut groups: BTreeMap<(String, Option<String>), Vec<i64>> = BTreeMap::new();
    for (expert, field, waited) in rows {
        groups.entry((field.clone(), None)).or_default().push(waited);
        groups.entry((field, Some(expert))).or_default().push(waited);
    }
    Ok(groups
        .into_iter()
        .map(|((field, expert), v)| ResponseTime {
            answered: v.len() as i64,
            median_secs: percentile(&v, 50).unwrap_or(0) / 1000,
            p90_secs: percentile(&v, 90).unwrap_or(0) / 1000,
            expert,
            field,
        })
        .collect())
}

/// What an open conversation page shows live: a change in any of these is pushed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiveState {
    pub messages: usize,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<i64>,
}

pub async fn live_state(state: &HubState, me: &User, id: i64) -> Result<LiveState, ApiError> {
    let v = conversation(state, me, id).await?;
    Ok(LiveState {
        messages: v.messages.len(),
        status: v.status,
        position: v.position,
    })
}

/// New messages: each tells the open pages of its conversation.
pub struct MessageRows;

impl fanloop_platform::live::Followed for MessageRows {
    fn newest<'a>(&'a self, db: &'a fanloop_platform::Db) -> fanloop_platform::live::BoxFuture<'a, i64> {
        Box::pin(store::newest_message_id(db))
    }
    fn after<'a>(
        &'a self,
        db: &'a fanloop_platform::Db,
        id: i64,
    ) -> fanloop_platform::live::BoxFuture<'a, Vec<(i64, i64)>> {
        Box::pin(store::message_conversations_after(db, id, 2_000))
    }
    fn event(&self, owner: i64) -> fanloop_platform::live::LiveEvent {
        fanloop_platform::live::LiveEvent::Conversation { conversation_id: owner }
    }
}
