//! The hub's use cases, shared by the pages and the API: checks, permissions, and the views
//! both show.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use fanloop_platform::accounts::{self, User};
use fanloop_platform::error::escape_html;
use fanloop_platform::i18n::Lang;
use fanloop_platform::{ApiError, Platform};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::domain::{
    self, day_of_ms, format_day, parse_day, valid_key, Choice, Dimension, Fact, FilterValue, Kind, Names, Profile,
    StageRule, Targeting, Unit,
};
use crate::error::{HubError, Problem};
use crate::store::{self, ArticleRow, ArticleWrite, ExpertRow, SeriesRow};

/// The hub's time: the real clock plus an offset tests move (stages advance without sleeping).
#[derive(Clone, Default)]
pub struct Clock(Arc<AtomicI64>);

impl Clock {
    pub fn now_ms(&self) -> i64 {
        fanloop_platform::db::now_ms() + self.0.load(Ordering::Relaxed)
    }

    pub fn today(&self) -> time::Date {
        day_of_ms(self.now_ms())
    }

    /// Today where the member is (`tz`, an IANA zone name).
    pub fn today_in(&self, tz: &str) -> time::Date {
        let now = self.now_ms();
        day_of_ms(now + fanloop_platform::locale::offset_ms(now, tz))
    }

    /// The day `days` from today by this clock, as `YYYY-MM-DD`.
    pub fn day_in(&self, days: i64) -> String {
        format_day(self.today() + time::Duration::days(days))
    }

    /// Moves this clock forward (or back) by `days`.
    pub fn advance_days(&self, days: i64) {
        self.advance_ms(days * 86_400_000);
    }

    pub fn advance_ms(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::Relaxed);
    }
}

#[derive(Clone)]
pub struct HubState {
    pub platform: Platform,
    pub clock: Clock,
    /// Segments, series and experts as this node last read them.
    pub catalogue: Arc<CatalogueCache>,
}

/// Segments, series and experts: every hub page needs them, and they rarely change.
pub struct Catalogue {
    pub dims: Vec<Dimension>,
    pub experts: Vec<ExpertRow>,
    pub series: Vec<SeriesRow>,
}

/// How long a node shows the catalogue without reading it again. A change made through a node
/// is seen there at once; the other nodes see it within this time. Changes are checked against
/// fresh reads, never against this copy.
const CATALOGUE_FRESH: std::time::Duration = std::time::Duration::from_secs(1);

/// This node's copy of the [`Catalogue`], with a generation so that a read begun before a change
/// never stores what it read once the change is made.
#[derive(Default)]
pub struct CatalogueCache(std::sync::Mutex<CatalogueCopy>);

/// The generation (changes made through this node) and, when read, the copy with its time.
type CatalogueCopy = (u64, Option<(std::time::Instant, Arc<Catalogue>)>);

impl CatalogueCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, CatalogueCopy> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Forgets the copy: the catalogue was just changed through this node.
    pub fn forget(&self) {
        let mut c = self.lock();
        c.0 += 1;
        c.1 = None;
    }
}

impl HubState {
    /// The catalogue, from this node's copy of at most [`CATALOGUE_FRESH`] ago.
    pub async fn catalogue(&self) -> Result<Arc<Catalogue>, ApiError> {
        let generation = {
            let c = self.catalogue.lock();
            if let Some((at, copy)) = &c.1 {
                if at.elapsed() < CATALOGUE_FRESH {
                    return Ok(copy.clone());
                }
            }
            c.0
        };
        let db = &self.platform.db;
        let copy = Arc::new(Catalogue {
            dims: store::dimensions(db).await.map_err(internal)?,
            experts: store::experts(db).await.map_err(internal)?,
            series: store::all_series(db).await.map_err(internal)?,
        });
        let mut c = self.catalogue.lock();
        if c.0 == generation {
            c.1 = Some((std::time::Instant::now(), copy.clone()));
        }
        Ok(copy)
    }

    /// The catalogue, read again if this node's copy lacks what `has` looks for (a segment or
    /// series made on another node within the last second), so that nothing new is answered
    /// as missing.
    pub async fn catalogue_having(&self, has: impl Fn(&Catalogue) -> bool) -> Result<Arc<Catalogue>, ApiError> {
        let copy = self.catalogue().await?;
        if has(&copy) {
            return Ok(copy);
        }
        self.catalogue.forget();
        self.catalogue().await
    }
}

impl axum::extract::FromRef<HubState> for Platform {
    fn from_ref(s: &HubState) -> Platform {
        s.platform.clone()
    }
}

fn internal(e: anyhow::Error) -> ApiError {
    ApiError::from(e)
}

fn require_staff(me: &User) -> Result<(), ApiError> {
    if me.role.is_staff() {
        Ok(())
    } else {
        Err(HubError::StaffOnly.into())
    }
}

// ---------------------------------------------------------------------------------------------
// Segments

/// A segment as written by staff.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct DimensionRequest {
    /// 2–40 lowercase letters, digits, '-' or '_'; fixed once created (ignored when editing).
    #[serde(default)]
    pub key: String,
    /// `choice` (members pick one of the choices) or `stage` (members give a date; the stage
    /// follows from it day by day). Fixed once created.
    pub kind: String,
    /// The segment's name in each language (at least one).
    pub names: Names,
    /// Stage segments: the date asked for ("Due date", "Child's birth date").
    #[serde(default)]
    pub date_prompt: Names,
    /// Stage segments: `week` or `month`.
    #[serde(default)]
    pub unit: String,
    /// Stage segments: the stage on the given date (40 for a due date counted in weeks).
    #[serde(default)]
    pub offset: i64,
    /// Stage segments: the first and last stage that exist.
    #[serde(default)]
    pub min: i64,
    #[serde(default)]
    pub max: i64,
    /// Choice segments: 1–50 choices.
    #[serde(default)]
    pub choices: Vec<Choice>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChoiceView {
    pub key: String,
    pub name: String,
    pub names: Names,
    /// Drops whose orders give a member this choice.
    pub drops: Vec<String>,
    /// Members who picked it (staff only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members: Option<i64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DimensionView {
    pub key: String,
    pub kind: String,
    /// In the reader's language.
    pub name: String,
    pub names: Names,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_prompt: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_prompts: Option<Names>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<StageRule>,
    pub choices: Vec<ChoiceView>,
    /// Members with a date for this stage segment (staff only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members: Option<i64>,
}

fn dimension_view(d: &Dimension, lang: Lang, counts: Option<&HashMap<(i64, String), i64>>) -> DimensionView {
    let count = |c: &str| counts.map(|m| m.get(&(d.id, c.to_string())).copied().unwrap_or(0));
    let (choices, rule) = match &d.kind {
        Kind::Choice(cs) => (
            cs.iter()
                .map(|c| ChoiceView {
                    key: c.key.clone(),
                    name: c.names.get(lang).to_string(),
                    names: c.names.clone(),
                    drops: c.drops.clone(),
                    members: count(&c.key),
                })
                .collect(),
            None,
        ),
        Kind::Stage(r) => (Vec::new(), Some(*r)),
    };
    DimensionView {
        key: d.key.clone(),
        kind: if rule.is_some() { "stage" } else { "choice" }.into(),
        name: d.names.get(lang).to_string(),
        names: d.names.clone(),
        date_prompt: rule.map(|_| d.date_prompt.get(lang).to_string()),
        date_prompts: rule.map(|_| d.date_prompt.clone()),
        rule,
        choices,
        members: if rule.is_some() { count("") } else { None },
    }
}

pub async fn dimensions(state: &HubState, me: Option<&User>, lang: Lang) -> Result<Vec<DimensionView>, ApiError> {
    let catalogue = state.catalogue().await?;
    let dims = &catalogue.dims;
    let counts = match me {
        Some(u) if u.role.is_staff() => Some(store::member_counts(&state.platform.db).await.map_err(internal)?),
        _ => None,
    };
    Ok(dims.iter().map(|d| dimension_view(d, lang, counts.as_ref())).collect())
}

fn checked_dimension(r: &DimensionRequest, id: i64) -> Result<Dimension, Problem> {
    let key = r.key.trim().to_string();
    if !valid_key(&key) {
        return Err(HubError::Key.into());
    }
    let names = r.names.checked(60, HubError::Names)?;
    let (kind, date_prompt) = match r.kind.trim() {
        "choice" => {
            if r.choices.is_empty() || r.choices.len() > domain::CHOICES_MAX {
                return Err(HubError::Choices.into());
            }
            let mut seen = BTreeSet::new();
            let mut choices = Vec::new();
            for c in &r.choices {
                let k = c.key.trim().to_string();
                if !valid_key(&k) {
                    return Err(HubError::Choices.into());
                }
                if !seen.insert(k.clone()) {
                    return Err(HubError::ChoiceTwice.named(&[("choice", &k)]));
                }
                let mut drops: Vec<String> = Vec::new();
                for d in c.drops.iter().map(|d| d.trim()).filter(|d| !d.is_empty()) {
                    if !valid_key(d) || drops.len() == 20 {
                        return Err(HubError::ChoiceDrops.named(&[("choice", &k)]));
                    }
                    if !drops.iter().any(|x| x == d) {
                        drops.push(d.to_string());
                    }
                }
                choices.push(Choice {
                    key: k,
                    names: c.names.checked(60, HubError::Choices)?,
                    drops,
                });
            }
            (Kind::Choice(choices), Names::default())
        }
        "stage" => {
            let unit = Unit::parse(r.unit.trim()).ok_or(HubError::Unit)?;
            let rule = StageRule {
                unit,
                offset: r.offset,
                min: r.min,
                max: r.max,
            };
            rule.check()?;
            (Kind::Stage(rule), r.date_prompt.checked(80, HubError::Prompt)?)
        }
        _ => return Err(HubError::Kind.into()),
    };
    Ok(Dimension {
        id,
        key,
        names,
        date_prompt,
        kind,
    })
}

pub async fn create_dimension(
    state: &HubState,
    me: &User,
    r: &DimensionRequest,
    lang: Lang,
) -> Result<DimensionView, ApiError> {
    require_staff(me)?;
    let d = checked_dimension(r, 0)?;
    let id = store::create_dimension(&state.platform.db, &d, state.clock.now_ms())
        .await
        .map_err(internal)?
        .ok_or_else(|| HubError::KeyTaken.with(&[("key", d.key.clone())]))?;
    state.catalogue.forget();
    Ok(dimension_view(&Dimension { id, ..d }, lang, None))
}

pub async fn update_dimension(
    state: &HubState,
    me: &User,
    key: &str,
    r: &DimensionRequest,
    lang: Lang,
) -> Result<DimensionView, ApiError> {
    require_staff(me)?;
    let dims = store::dimensions(&state.platform.db).await.map_err(internal)?;
    let old = dims.iter().find(|d| d.key == key).ok_or(HubError::DimensionNotFound)?;
    let d = checked_dimension(
        &DimensionRequest {
            key: key.to_string(),
            ..r.clone()
        },
        old.id,
    )?;
    if d.rule().is_some() != old.rule().is_some() {
        return Err(HubError::KindChange.into());
    }
    store::update_dimension(&state.platform.db, &d)
        .await
        .map_err(internal)?;
    state.catalogue.forget();
    Ok(dimension_view(&d, lang, None))
}

// ---------------------------------------------------------------------------------------------
// What a member told the hub

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct FactRequest {
    /// A segment's key.
    pub dimension: String,
    /// For a choice segment: a choice's key, or `-` for "none of these" (which also keeps the
    /// member's orders from choosing).
    #[serde(default)]
    pub choice: Option<String>,
    /// For a stage segment: the date (YYYY-MM-DD) the stage is counted from.
    #[serde(default)]
    pub date: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct FactsRequest {
    /// Everything the hub should know: segments left out are forgotten.
    pub facts: Vec<FactRequest>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FactView {
    pub dimension: String,
    pub dimension_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub choice: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub choice_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// The stage today, when the date gives one within the segment's stages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<i64>,
    /// "week 12" in the reader's language; absent when out of range.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage_label: Option<String>,
    /// The choice comes from the member's launch orders, not from what they said (they can
    /// pick another, or "none of these": `-`).
    pub from_orders: bool,
    /// When they said it; for a choice from orders, absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<i64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MyHub {
    /// Today, by the hub's clock (YYYY-MM-DD, UTC).
    pub today: String,
    pub facts: Vec<FactView>,
}

pub async fn my_hub(state: &HubState, me: &User, lang: Lang) -> Result<MyHub, ApiError> {
    let db = &state.platform.db;
    let catalogue = state.catalogue().await?;
    let dims = &catalogue.dims;
    let facts = store::facts(db, me.id).await.map_err(internal)?;
    let ordered = store::ordered_drops(db, me.id).await.map_err(internal)?;
    let today = member_today(state, me, lang).await?;
    let mut out = Vec::new();
    for d in dims {
        let mut v = FactView {
            dimension: d.key.clone(),
            dimension_name: d.names.get(lang).to_string(),
            choice: None,
            choice_name: None,
            date: None,
            stage: None,
            stage_label: None,
            from_orders: false,
            updated_at: None,
        };
        let Some((fact, at)) = facts.get(&d.id) else {
            if let Some(c) = domain::choice_from_orders(d, &ordered) {
                v.choice = Some(c.key.clone());
                v.choice_name = Some(c.names.get(lang).to_string());
                v.from_orders = true;
                out.push(v);
            }
            continue;
        };
        v.updated_at = Some(*at);
        match (fact, &d.kind) {
            (Fact::Choice(c), Kind::Choice(_)) => {
                v.choice_name = if c == domain::NONE_OF_THESE {
                    Some(
                        match lang {
                            Lang::Zh => "以上都不是",
                            Lang::En => "none of these",
                            Lang::Fr => "aucun de ceux-ci",
                        }
                        .to_string(),
                    )
                } else {
                    d.choice(c).map(|ch| ch.names.get(lang).to_string())
                };
                v.choice = Some(c.clone());
            }
            (Fact::Day(day), Kind::Stage(rule)) => {
                v.date = Some(format_day(*day));
                v.stage = rule.stage(*day, today);
                v.stage_label = v.stage.map(|s| rule.unit.label(s, lang));
            }
            _ => continue,
        }
        out.push(v);
    }
    Ok(MyHub {
        today: format_day(today),
        facts: out,
    })
}

fn checked_facts(
    dims: &[Dimension],
    r: &FactsRequest,
    today: time::Date,
    lang: Lang,
) -> Result<Vec<(i64, Fact)>, Problem> {
    let mut out: Vec<(i64, Fact)> = Vec::new();
    for f in r.facts.iter().take(200) {
        let wanted = f.dimension.trim();
        let d = dims
            .iter()
            .find(|d| d.key == wanted)
            .ok_or_else(|| HubError::NoDimension.named(&[("dimension", wanted)]))?;
        // Messages name the segment as the member reads it.
        let key = d.names.get(lang);
        if out.iter().any(|(id, _)| *id == d.id) {
            return Err(HubError::FactTwice.named(&[("dimension", key)]));
        }
        let choice = f.choice.as_deref().map(str::trim).filter(|s| !s.is_empty());
        let date = f.date.as_deref().map(str::trim).filter(|s| !s.is_empty());
        let fact = match (&d.kind, choice, date) {
            (_, None, None) => continue, // nothing given: forgotten
            (Kind::Choice(_), Some(c), None) => {
                if c != domain::NONE_OF_THESE && d.choice(c).is_none() {
                    return Err(HubError::NoChoice.named(&[("dimension", key), ("choice", c)]));
                }
                Fact::Choice(c.to_string())
            }
            (Kind::Stage(rule), None, Some(s)) => {
                let day = parse_day(s).ok_or_else(|| HubError::Date.named(&[("dimension", key)]))?;
                let latest = rule.latest_date(today);
                if day < time::macros::date!(1900 - 01 - 01) || day > latest {
                    return Err(HubError::DateRange.named(&[("dimension", key), ("latest", &format_day(latest))]));
                }
                Fact::Day(day)
            }
            _ => return Err(HubError::FactKind.named(&[("dimension", key)])),
        };
        out.push((d.id, fact));
    }
    Ok(out)
}

pub async fn set_facts(state: &HubState, me: &User, r: &FactsRequest, lang: Lang) -> Result<MyHub, ApiError> {
    let db = &state.platform.db;
    let dims = store::dimensions(db).await.map_err(internal)?;
    let facts = checked_facts(&dims, r, member_today(state, me, lang).await?, lang)?;
    store::replace_facts(db, me.id, &facts, state.clock.now_ms())
        .await
        .map_err(internal)?;
    my_hub(state, me, lang).await
}

/// Today where the member is: the time zone they chose, else their language's usual one (what
/// the pages show them), so a stage moves on at their midnight, not at UTC's.
async fn member_today(state: &HubState, me: &User, lang: Lang) -> Result<time::Date, ApiError> {
    let zone = fanloop_platform::accounts::time_zone_of(&state.platform.db, me.id)
        .await
        .map_err(internal)?
        .unwrap_or_else(|| fanloop_platform::locale::default_zone(lang).to_string());
    Ok(state.clock.today_in(&zone))
}

async fn profile_of(state: &HubState, me: Option<&User>, dims: &[Dimension], lang: Lang) -> Result<Profile, ApiError> {
    let Some(me) = me else { return Ok(Profile::default()) };
    let facts: BTreeMap<i64, Fact> = store::facts(&state.platform.db, me.id)
        .await
        .map_err(internal)?
        .into_iter()
        .map(|(d, (f, _))| (d, f))
        .collect();
    let ordered = store::ordered_drops(&state.platform.db, me.id)
        .await
        .map_err(internal)?;
    Ok(Profile::of(
        dims,
        &facts,
        &ordered,
        member_today(state, me, lang).await?,
    ))
}

// ---------------------------------------------------------------------------------------------
// Experts

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct ExpertRequest {
    pub username: String,
    /// Field of expertise, shown on the badge ("Paediatric nurse", "育儿顾问").
    pub field: String,
    #[serde(default)]
    pub bio: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExpertView {
    pub username: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    pub field: String,
    pub bio: String,
    pub appointed_at: i64,
    /// Active on the site or the API in the last [`ONLINE_WITHIN_MS`].
    pub online: bool,
}

/// An expert active this recently counts as online (sessions note activity once a minute).
pub const ONLINE_WITHIN_MS: i64 = 5 * 60_000;

fn expert_view(e: &ExpertRow) -> ExpertView {
    ExpertView {
        username: e.username.clone(),
        display_name: e.display_name.clone(),
        field: e.field.clone(),
        bio: e.bio.clone(),
        appointed_at: e.appointed_at,
        online: e
            .last_active_at
            .is_some_and(|at| fanloop_platform::db::now_ms() - at < ONLINE_WITHIN_MS),
    }
}

pub async fn experts(state: &HubState) -> Result<Vec<ExpertView>, ApiError> {
    Ok(state.catalogue().await?.experts.iter().map(expert_view).collect())
}

pub async fn appoint_expert(state: &HubState, me: &User, r: &ExpertRequest) -> Result<ExpertView, ApiError> {
    require_staff(me)?;
    let field = fanloop_platform::text::single_line(&r.field).trim().to_string();
    if field.is_empty() || field.chars().count() > 60 {
        return Err(HubError::ExpertField.into());
    }
    let bio = fanloop_platform::text::multiline(&r.bio).trim().to_string();
    if bio.chars().count() > 1000 {
        return Err(HubError::ExpertBio.into());
    }
    let db = &state.platform.db;
    let name = r.username.trim().trim_start_matches('@');
    let user = accounts::find_by_username(db, name)
        .await
        .map_err(internal)?
        .ok_or_else(|| HubError::NoMember.with(&[("username", name.to_string())]))?;
    store::set_expert(db, user.id, &field, &bio, me.id, state.clock.now_ms())
        .await
        .map_err(internal)?;
    state.catalogue.forget();
    let e = store::expert(db, user.id)
        .await
        .map_err(internal)?
        .ok_or_else(|| ApiError::internal("expert vanished"))?;
    Ok(expert_view(&e))
}

/// `false` when the member was not an expert.
pub async fn dismiss_expert(state: &HubState, me: &User, username: &str) -> Result<bool, ApiError> {
    require_staff(me)?;
    let db = &state.platform.db;
    let username = username.trim().trim_start_matches('@');
    let Some(user) = accounts::find_by_username(db, username).await.map_err(internal)? else {
        return Ok(false);
    };
    let removed = store::remove_expert(db, user.id).await.map_err(internal)?;
    state.catalogue.forget();
    Ok(removed)
}

// ---------------------------------------------------------------------------------------------
// Series and articles

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct SeriesRequest {
    /// 2–40 lowercase letters, digits, '-' or '_'; fixed once created.
    pub slug: String,
    /// zh, en or fr: the series' articles are in this language.
    pub lang: String,
    pub title: String,
    #[serde(default)]
    pub summary: String,
    /// The stage segment the series unfolds along.
    pub dimension: String,
}

/// A change to a series: everything but its slug.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct SeriesChange {
    /// zh, en or fr; changes only while the series has no articles.
    pub lang: String,
    pub title: String,
    #[serde(default)]
    pub summary: String,
    /// The stage segment the series unfolds along; changes only while it has no articles.
    pub dimension: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct TargetRequest {
    /// A segment's key.
    pub dimension: String,
    /// For a choice segment: the choices the article is for.
    #[serde(default)]
    pub choices: Vec<String>,
    /// For a stage segment: the stage range the article is for.
    #[serde(default)]
    pub from: Option<i64>,
    #[serde(default)]
    pub to: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct ArticleRequest {
    /// 2–40 lowercase letters, digits, '-' or '_'; fixed once created (ignored when editing).
    #[serde(default)]
    pub slug: String,
    /// zh, en or fr.
    pub lang: String,
    pub title: String,
    #[serde(default)]
    pub summary: String,
    /// Markdown.
    pub body: String,
    /// When it appears (ms since the epoch); absent: now when creating, unchanged when
    /// editing. Until then only staff and its author see it.
    #[serde(default)]
    pub publish_at: Option<i64>,
    /// The series it belongs to (it must then target a stage range of the series' segment).
    #[serde(default)]
    pub series: Option<String>,
    /// Who it is for; none: everyone.
    #[serde(default)]
    pub targets: Vec<TargetRequest>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuthorView {
    pub username: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The hub expert's field, when the author is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expert_field: Option<String>,
    pub is_staff: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ArticleSummary {
    pub slug: String,
    pub lang: String,
    pub title: String,
    pub summary: String,
    pub author: AuthorView,
    pub publish_at: i64,
    /// Not yet published (shown to staff and its author only).
    pub scheduled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub series: Option<String>,
    /// Who it is for, in the reader's language ("Pregnancy: weeks 10–14"); empty: everyone.
    pub audience: Vec<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ArticleView {
    #[serde(flatten)]
    pub summary: ArticleSummary,
    /// Sanitised HTML of the markdown.
    pub body_html: String,
    /// The markdown, for its author and staff (to edit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    pub targets: Vec<TargetRequest>,
    pub updated_at: i64,
    pub can_edit: bool,
    /// The series it belongs to, with the neighbouring parts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub series_title: Option<String>,
    /// The drops it embeds, as their cards show them now (also drawn into `body_html`).
    pub products: Vec<store::ProductCard>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// What the lists need besides the articles: segments, experts, series, staff authors.
struct Context {
    dims: Vec<Dimension>,
    experts: HashMap<i64, ExpertRow>,
    series: Vec<SeriesRow>,
}

async fn context(state: &HubState) -> Result<Context, ApiError> {
    context_having(state, |_| true).await
}

/// The context, read again if this node's copy of the catalogue lacks what `has` looks for.
async fn context_having(state: &HubState, has: impl Fn(&Catalogue) -> bool) -> Result<Context, ApiError> {
    let c = state.catalogue_having(has).await?;
    Ok(Context {
        dims: c.dims.clone(),
        experts: c.experts.iter().map(|e| (e.user_id, e.clone())).collect(),
        series: c.series.clone(),
    })
}

fn audience(t: &Targeting, dims: &[Dimension], lang: Lang) -> Vec<String> {
    let mut out = Vec::new();
    for d in dims {
        if let Some(cs) = t.choices.get(&d.id) {
            let names: Vec<&str> = cs
                .iter()
                .map(|c| d.choice(c).map(|ch| ch.names.get(lang)).unwrap_or(c.as_str()))
                .collect();
            let sep = if lang == Lang::Zh { "、" } else { ", " };
            let colon = if lang == Lang::Zh {
                "："
            } else if lang == Lang::Fr {
                " : "
            } else {
                ": "
            };
            out.push(format!("{}{colon}{}", d.names.get(lang), names.join(sep)));
        }
        if let (Some((a, b)), Some(rule)) = (t.stages.get(&d.id), d.rule()) {
            let colon = if lang == Lang::Zh {
                "："
            } else if lang == Lang::Fr {
                " : "
            } else {
                ": "
            };
            out.push(format!(
                "{}{colon}{}",
                d.names.get(lang),
                rule.unit.range_label(*a, *b, lang)
            ));
        }
    }
    out
}

fn summary_of(a: &ArticleRow, cx: &Context, lang: Lang, now: i64) -> ArticleSummary {
    ArticleSummary {
        slug: a.slug.clone(),
        lang: a.lang.clone(),
        title: a.title.clone(),
        summary: a.summary.clone(),
        author: AuthorView {
            username: a.author.clone(),
            display_name: a.author_display.clone(),
            expert_field: cx.experts.get(&a.author_id).map(|e| e.field.clone()),
            is_staff: a.author_is_staff,
        },
        publish_at: a.publish_at,
        scheduled: a.publish_at > now,
        series: a
            .series_id
            .and_then(|id| cx.series.iter().find(|s| s.id == id))
            .map(|s| s.slug.clone()),
        audience: audience(&a.targeting, &cx.dims, lang),
    }
}

fn targets_of(t: &Targeting, dims: &[Dimension]) -> Vec<TargetRequest> {
    dims.iter()
        .filter_map(|d| {
            if let Some(cs) = t.choices.get(&d.id) {
                Some(TargetRequest {
                    dimension: d.key.clone(),
                    choices: cs.iter().cloned().collect(),
                    from: None,
                    to: None,
                })
            } else {
                t.stages.get(&d.id).map(|(a, b)| TargetRequest {
                    dimension: d.key.clone(),
                    choices: Vec::new(),
                    from: Some(*a),
                    to: Some(*b),
                })
            }
        })
        .collect()
}

/// Who may see an article not yet published: staff, and its author.
fn sees_scheduled(me: Option<&User>, a: &ArticleRow) -> bool {
    me.is_some_and(|u| u.role.is_staff() || u.id == a.author_id)
}

async fn may_write(state: &HubState, me: &User) -> Result<bool, ApiError> {
    Ok(me.role.is_staff()
        || store::expert(&state.platform.db, me.id)
            .await
            .map_err(internal)?
            .is_some())
}

pub async fn may_write_articles(state: &HubState, me: Option<&User>) -> Result<bool, ApiError> {
    match me {
        Some(me) => may_write(state, me).await,
        None => Ok(false),
    }
}

fn checked_targets(dims: &[Dimension], targets: &[TargetRequest]) -> Result<Targeting, Problem> {
    if targets.len() > domain::TARGETS_MAX {
        return Err(HubError::Targets.into());
    }
    let mut t = Targeting::default();
    for r in targets {
        let key = r.dimension.trim();
        let d = dims
            .iter()
            .find(|d| d.key == key)
            .ok_or_else(|| HubError::NoDimension.named(&[("dimension", key)]))?;
        if t.choices.contains_key(&d.id) || t.stages.contains_key(&d.id) {
            return Err(HubError::TargetTwice.named(&[("dimension", key)]));
        }
        match &d.kind {
            Kind::Choice(_) => {
                if r.choices.is_empty() || r.from.is_some() || r.to.is_some() {
                    return Err(HubError::TargetChoices.named(&[("dimension", key)]));
                }
                let mut set = BTreeSet::new();
                for c in &r.choices {
                    let c = c.trim();
                    if d.choice(c).is_none() {
                        return Err(HubError::NoChoice.named(&[("dimension", key), ("choice", c)]));
                    }
                    set.insert(c.to_string());
                }
                t.choices.insert(d.id, set);
            }
            Kind::Stage(rule) => {
                let bad = || {
                    HubError::TargetStages.named(&[
                        ("dimension", key),
                        ("min", &rule.min.to_string()),
                        ("max", &rule.max.to_string()),
                    ])
                };
                let (Some(a), Some(b)) = (r.from, r.to) else {
                    return Err(bad());
                };
                if !r.choices.is_empty() || a > b || a < rule.min || b > rule.max {
                    return Err(bad());
                }
                t.stages.insert(d.id, (a, b));
            }
        }
    }
    Ok(t)
}

struct CheckedArticle {
    slug: String,
    lang: String,
    title: String,
    summary: String,
    body: String,
    body_html: String,
    publish_at: i64,
    series_id: Option<i64>,
    targeting: Targeting,
    terms: Vec<(String, bool)>,
    products: Vec<String>,
}

fn check_article(
    r: &ArticleRequest,
    dims: &[Dimension],
    series: &[SeriesRow],
    now: i64,
) -> Result<CheckedArticle, Problem> {
    let slug = r.slug.trim().to_string();
    if !valid_key(&slug) {
        return Err(HubError::Key.into());
    }
    let lang = r.lang.trim().to_string();
    if Lang::parse(&lang).is_none() {
        return Err(HubError::Lang.into());
    }
    let title = fanloop_platform::text::single_line(&r.title).trim().to_string();
    if title.is_empty() || title.chars().count() > domain::ARTICLE_TITLE_MAX {
        return Err(HubError::Title.into());
    }
    let summary = fanloop_platform::text::single_line(&r.summary).trim().to_string();
    if summary.chars().count() > domain::ARTICLE_SUMMARY_MAX {
        return Err(HubError::Summary.into());
    }
    let body = fanloop_platform::text::multiline(&r.body).trim().to_string();
    if body.is_empty() || body.chars().count() > domain::ARTICLE_BODY_MAX {
        return Err(HubError::Body.into());
    }
    let publish_at = r.publish_at.unwrap_or(now);
    if !(0..=4_102_444_800_000).contains(&publish_at) {
        return Err(HubError::PublishAt.into());
    }
    let targeting = checked_targets(dims, &r.targets)?;
    let series_id = match r.series.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(slug) => {
            let s = series
                .iter()
                .find(|s| s.slug == slug)
                .ok_or_else(|| HubError::NoSeries.named(&[("series", slug)]))?;
            if s.lang != lang {
                return Err(HubError::SeriesLang.named(&[("series", slug), ("lang", &s.lang)]));
            }
            if !targeting.stages.contains_key(&s.dimension_id) {
                let dim = dims
                    .iter()
                    .find(|d| d.id == s.dimension_id)
                    .map(|d| d.key.clone())
                    .unwrap_or_default();
                return Err(HubError::SeriesStage.named(&[("series", slug), ("dimension", &dim)]));
            }
            Some(s.id)
        }
    };
    let mut terms: Vec<(String, bool)> = Vec::new();
    let title_terms: BTreeSet<String> = fanloop_community::search::index_terms(&format!("{title} {summary}"))
        .into_iter()
        .collect();
    for t in &title_terms {
        terms.push((t.clone(), true));
    }
    for t in fanloop_community::search::index_terms(&body) {
        if !title_terms.contains(&t) {
            terms.push((t, false));
        }
    }
    Ok(CheckedArticle {
        products: domain::product_markers(&body),
        body_html: fanloop_community::domain::render_markdown(&body),
        slug,
        lang,
        title,
        summary,
        body,
        publish_at,
        series_id,
        targeting,
        terms,
    })
}

impl CheckedArticle {
    fn write(&self) -> ArticleWrite<'_> {
        ArticleWrite {
            slug: &self.slug,
            lang: &self.lang,
            title: &self.title,
            summary: &self.summary,
            body: &self.body,
            body_html: &self.body_html,
            publish_at: self.publish_at,
            series_id: self.series_id,
            targeting: &self.targeting,
            terms: &self.terms,
            products: &self.products,
        }
    }

    /// Every product card names a drop that exists.
    async fn check_products(&self, db: &fanloop_platform::Db) -> Result<(), ApiError> {
        let found = store::product_cards(db, &self.products).await.map_err(internal)?;
        match self.products.iter().find(|p| !found.iter().any(|c| &c.drop == *p)) {
            Some(missing) => Err(HubError::NoProduct.with(&[("drop", missing.clone())])),
            None => Ok(()),
        }
    }
}

pub async fn create_article(
    state: &HubState,
    me: &User,
    r: &ArticleRequest,
    lang: Lang,
) -> Result<ArticleView, ApiError> {
    if !may_write(state, me).await? {
        return Err(HubError::WriterOnly.into());
    }
    let db = &state.platform.db;
    let dims = store::dimensions(db).await.map_err(internal)?;
    let series = store::all_series(db).await.map_err(internal)?;
    let now = state.clock.now_ms();
    let a = check_article(r, &dims, &series, now)?;
    a.check_products(db).await?;
    store::create_article(db, &a.write(), me.id, now)
        .await
        .map_err(internal)?
        .map_err(|refused| article_refused(refused, &a))?;
    article(state, Some(me), &a.slug, lang).await
}

fn article_refused(refused: store::ArticleRefused, a: &CheckedArticle) -> ApiError {
    match refused {
        store::ArticleRefused::SlugTaken => HubError::KeyTaken.with(&[("key", a.slug.clone())]),
        store::ArticleRefused::Gone => HubError::ArticleNotFound.into(),
        store::ArticleRefused::SeriesChanged => HubError::SeriesChanged.into(),
    }
}

/// The article `me` may change or delete: staff, or its author while they may write. Someone
/// else is told it is not theirs, or that there is no such article when it is scheduled and
/// they cannot see it.
async fn changeable_article(state: &HubState, me: &User, slug: &str) -> Result<store::ArticleRow, ApiError> {
    let old = store::article_by_slug(&state.platform.db, slug)
        .await
        .map_err(internal)?
        .ok_or(HubError::ArticleNotFound)?;
    if !(me.role.is_staff() || (old.author_id == me.id && may_write(state, me).await?)) {
        return Err(
            if sees_scheduled(Some(me), &old) || old.publish_at <= state.clock.now_ms() {
                HubError::NotAuthor.into()
            } else {
                HubError::ArticleNotFound.into()
            },
        );
    }
    Ok(old)
}

/// Deletes an article: staff, or its author while they may write. Its series keeps the others.
pub async fn delete_article(state: &HubState, me: &User, slug: &str) -> Result<(), ApiError> {
    let db = &state.platform.db;
    let old = changeable_article(state, me, slug).await?;
    if !store::delete_article(db, old.id).await.map_err(internal)? {
        return Err(HubError::ArticleNotFound.into());
    }
    Ok(())
}

pub async fn update_article(
    state: &HubState,
    me: &User,
    slug: &str,
    r: &ArticleRequest,
    lang: Lang,
) -> Result<ArticleView, ApiError> {
    let db = &state.platform.db;
    let old = changeable_article(state, me, slug).await?;
    let dims = store::dimensions(db).await.map_err(internal)?;
    let series = store::all_series(db).await.map_err(internal)?;
    let now = state.clock.now_ms();
    // An edit that does not name a publication time keeps the article's: a typo fixed in a
    // scheduled article does not publish it, nor does it move a published one to the top.
    let a = check_article(
        &ArticleRequest {
            slug: slug.to_string(),
            publish_at: r.publish_at.or(Some(old.publish_at)),
            ..r.clone()
        },
        &dims,
        &series,
        now,
    )?;
    a.check_products(db).await?;
    store::update_article(db, old.id, &a.write(), now)
        .await
        .map_err(internal)?
        .map_err(|refused| article_refused(refused, &a))?;
    article(state, Some(me), slug, lang).await
}

pub async fn article(state: &HubState, me: Option<&User>, slug: &str, lang: Lang) -> Result<ArticleView, ApiError> {
    let db = &state.platform.db;
    let a = store::article_by_slug(db, slug)
        .await
        .map_err(internal)?
        .ok_or(HubError::ArticleNotFound)?;
    let now = state.clock.now_ms();
    if a.publish_at > now && !sees_scheduled(me, &a) {
        return Err(HubError::ArticleNotFound.into());
    }
    let cx = context_having(state, |c| {
        a.series_id.is_none_or(|id| c.series.iter().any(|s| s.id == id))
            && a.targeting
                .choices
                .keys()
                .chain(a.targeting.stages.keys())
                .all(|dim| c.dims.iter().any(|d| d.id == *dim))
    })
    .await?;
    let can_edit = match me {
        Some(u) => u.role.is_staff() || (u.id == a.author_id && may_write(state, u).await?),
        None => false,
    };
    let (mut series_title, mut previous, mut next) = (None, None, None);
    if let Some(s) = a.series_id.and_then(|id| cx.series.iter().find(|s| s.id == id)) {
        series_title = Some(s.title.clone());
        let parts = series_parts(state, me, s, now).await?;
        if let Some(i) = parts.iter().position(|p| p.id == a.id) {
            previous = i.checked_sub(1).and_then(|j| parts.get(j)).map(|p| p.slug.clone());
            next = parts.get(i + 1).map(|p| p.slug.clone());
        }
    }
    let products = store::product_cards(db, &domain::product_markers(&a.body))
        .await
        .map_err(internal)?;
    Ok(ArticleView {
        summary: summary_of(&a, &cx, lang, now),
        body_html: with_cards(&a.body_html, &a.slug, &products, lang, now),
        products,
        body: can_edit.then(|| a.body.clone()),
        targets: targets_of(&a.targeting, &cx.dims),
        updated_at: a.updated_at,
        can_edit,
        series_title,
        previous,
        next,
    })
}

/// The article's HTML with each `[[drop:slug]]` paragraph drawn as its product card: name,
/// price, what is left, and a link that counts the click before going to the drop.
fn with_cards(html: &str, article: &str, cards: &[store::ProductCard], lang: Lang, now: i64) -> String {
    let mut out = html.to_string();
    for c in cards {
        let (buy, left, sold_out, soon) = match lang {
            Lang::Zh => ("去购买", "剩余", "已售罄", "即将开售"),
            Lang::En => ("Buy", "left", "Sold out", "Coming soon"),
            Lang::Fr => ("Acheter", "restant(s)", "Épuisé", "Bientôt en vente"),
        };
        let state = if c.remaining <= 0 || now > c.closes_at {
            sold_out.to_string()
        } else if now < c.opens_at {
            soon.to_string()
        } else if lang == Lang::Zh {
            format!("{left} {}", c.remaining)
        } else {
            format!("{} {left}", c.remaining)
        };
        let card = format!(
            "<aside class=\"product-card\" data-product=\"{slug}\"><strong>{name}</strong>              <span class=\"price\">{units}.{cents:02} {currency}</span> <span class=\"muted small\">{state}</span>              <a class=\"button small\" href=\"/hub/a/{article}/buy/{slug}\">{buy}</a></aside>",
            slug = escape_html(&c.drop),
            name = escape_html(&c.name),
            units = c.price_cents / 100,
            cents = c.price_cents.rem_euclid(100),
            currency = escape_html(&c.currency),
            state = escape_html(&state),
            article = escape_html(article),
            buy = buy,
        );
        out = out.replace(&format!("<p>[[drop:{}]]</p>", c.drop), &card);
    }
    out
}

/// A series' articles the reader may see, in stage order.
async fn series_parts(
    state: &HubState,
    me: Option<&User>,
    s: &SeriesRow,
    now: i64,
) -> Result<Vec<ArticleRow>, ApiError> {
    let list = visible_articles(state, me, now).await?;
    let mut parts: Vec<ArticleRow> = list.into_iter().filter(|a| a.series_id == Some(s.id)).collect();
    parts.sort_by_key(|a| (a.targeting.stages.get(&s.dimension_id).copied(), a.id));
    Ok(parts)
}

async fn visible_articles(state: &HubState, me: Option<&User>, now: i64) -> Result<Vec<ArticleRow>, ApiError> {
    let unpublished_of = me.map(|u| if u.role.is_staff() { 0 } else { u.id });
    store::article_list(&state.platform.db, now, unpublished_of)
        .await
        .map_err(internal)
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SeriesPart {
    /// "week 12" in the reader's language.
    pub stage_label: String,
    pub from: i64,
    pub to: i64,
    /// The reader is at this part's stage now.
    pub current: bool,
    pub article: ArticleSummary,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SeriesView {
    pub slug: String,
    pub lang: String,
    pub title: String,
    pub summary: String,
    pub dimension: String,
    pub dimension_name: String,
    /// The reader's stage in the series' segment today.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_stage: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_label: Option<String>,
    pub parts: Vec<SeriesPart>,
}

pub async fn series(state: &HubState, me: Option<&User>, slug: &str, lang: Lang) -> Result<SeriesView, ApiError> {
    let db = &state.platform.db;
    let s = store::series_by_slug(db, slug)
        .await
        .map_err(internal)?
        .ok_or(HubError::SeriesNotFound)?;
    let now = state.clock.now_ms();
    let parts = series_parts(state, me, &s, now).await?;
    let cx = context_having(state, |c| c.dims.iter().any(|d| d.id == s.dimension_id)).await?;
    let d = cx
        .dims
        .iter()
        .find(|d| d.id == s.dimension_id)
        .ok_or(HubError::SeriesNotFound)?;
    let rule = d.rule().ok_or(HubError::SeriesNotFound)?;
    let profile = profile_of(state, me, &cx.dims, lang).await?;
    let current = profile.stages.get(&d.id).copied();
    Ok(SeriesView {
        slug: s.slug.clone(),
        lang: s.lang.clone(),
        title: s.title.clone(),
        summary: s.summary.clone(),
        dimension: d.key.clone(),
        dimension_name: d.names.get(lang).to_string(),
        current_stage: current,
        current_label: current.map(|c| rule.unit.label(c, lang)),
        parts: parts
            .iter()
            .map(|a| {
                let (from, to) = a.targeting.stages.get(&d.id).copied().unwrap_or((0, 0));
                SeriesPart {
                    stage_label: rule.unit.range_label(from, to, lang),
                    from,
                    to,
                    current: current.is_some_and(|c| (from..=to).contains(&c)),
                    article: summary_of(a, &cx, lang, now),
                }
            })
            .collect(),
    })
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SeriesSummary {
    pub slug: String,
    pub lang: String,
    pub title: String,
    pub summary: String,
    pub dimension: String,
}

pub async fn all_series(state: &HubState) -> Result<Vec<SeriesSummary>, ApiError> {
    let c = state.catalogue().await?;
    Ok(c.series
        .iter()
        .map(|s| SeriesSummary {
            dimension: c
                .dims
                .iter()
                .find(|d| d.id == s.dimension_id)
                .map(|d| d.key.clone())
                .unwrap_or_default(),
            slug: s.slug.clone(),
            lang: s.lang.clone(),
            title: s.title.clone(),
            summary: s.summary.clone(),
        })
        .collect())
}

/// A series' language, title, summary and segment (those of a [`SeriesRequest`] or a
/// [`SeriesChange`]) checked against the segments.
fn checked_series<'d>(
    lang: &str,
    title: &str,
    summary: &str,
    dimension: &str,
    dims: &'d [Dimension],
) -> Result<(Lang, String, String, &'d Dimension), ApiError> {
    let lang = Lang::parse(lang.trim()).ok_or(HubError::Lang)?;
    let title = fanloop_platform::text::single_line(title).trim().to_string();
    if title.is_empty() || title.chars().count() > domain::ARTICLE_TITLE_MAX {
        return Err(HubError::Title.into());
    }
    let summary = fanloop_platform::text::single_line(summary).trim().to_string();
    if summary.chars().count() > domain::ARTICLE_SUMMARY_MAX {
        return Err(HubError::Summary.into());
    }
    let key = dimension.trim();
    let d = dims
        .iter()
        .find(|d| d.key == key)
        .ok_or_else(|| HubError::NoDimension.with(&[("dimension", key.to_string())]))?;
    if d.rule().is_none() {
        return Err(HubError::SeriesDimension.with(&[("dimension", key.to_string())]));
    }
    Ok((lang, title, summary, d))
}

pub async fn create_series(state: &HubState, me: &User, r: &SeriesRequest) -> Result<SeriesSummary, ApiError> {
    require_staff(me)?;
    let slug = r.slug.trim();
    if !valid_key(slug) {
        return Err(HubError::Key.into());
    }
    let db = &state.platform.db;
    let dims = store::dimensions(db).await.map_err(internal)?;
    let (lang, title, summary, d) = checked_series(&r.lang, &r.title, &r.summary, &r.dimension, &dims)?;
    let s = store::create_series(
        db,
        slug,
        lang.code(),
        &title,
        &summary,
        d.id,
        me.id,
        state.clock.now_ms(),
    )
    .await
    .map_err(internal)?
    .ok_or_else(|| HubError::KeyTaken.with(&[("key", slug.to_string())]))?;
    state.catalogue.forget();
    Ok(SeriesSummary {
        slug: s.slug,
        lang: s.lang,
        title: s.title,
        summary: s.summary,
        dimension: d.key.clone(),
    })
}

/// Changes a series (staff): its title and summary at any time; its language and segment only
/// while it has no articles, since each of its articles is written in its language and targets
/// a stage range of its segment. The slug stays.
pub async fn update_series(
    state: &HubState,
    me: &User,
    slug: &str,
    r: &SeriesChange,
) -> Result<SeriesSummary, ApiError> {
    require_staff(me)?;
    let db = &state.platform.db;
    let old = store::series_by_slug(db, slug)
        .await
        .map_err(internal)?
        .ok_or(HubError::SeriesNotFound)?;
    let dims = store::dimensions(db).await.map_err(internal)?;
    let (lang, title, summary, d) = checked_series(&r.lang, &r.title, &r.summary, &r.dimension, &dims)?;
    if !store::update_series(db, old.id, lang.code(), &title, &summary, d.id)
        .await
        .map_err(internal)?
    {
        return Err(HubError::SeriesInUse.with(&[("series", old.slug)]));
    }
    state.catalogue.forget();
    Ok(SeriesSummary {
        slug: old.slug,
        lang: lang.code().to_string(),
        title,
        summary,
        dimension: d.key.clone(),
    })
}

// ---------------------------------------------------------------------------------------------
// For you, browsing and search

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ForYou {
    /// What the hub used: the reader's values today ("Pregnancy: week 12").
    pub profile: Vec<String>,
    /// Fitting articles in the reader's language first, best first; then fitting ones in
    /// other languages.
    pub articles: Vec<ArticleSummary>,
}

pub const FOR_YOU_MAX: usize = 30;

pub async fn for_you(state: &HubState, me: Option<&User>, lang: Lang) -> Result<ForYou, ApiError> {
    let now = state.clock.now_ms();
    let published = store::article_list(&state.platform.db, now, None)
        .await
        .map_err(internal)?;
    let cx = context(state).await?;
    let profile = profile_of(state, me, &cx.dims, lang).await?;
    let mut ids = Vec::new();
    for same_lang in [true, false] {
        let items: Vec<(i64, i64, &Targeting)> = published
            .iter()
            .filter(|a| (a.lang == lang.code()) == same_lang)
            .map(|a| (a.id, a.publish_at, &a.targeting))
            .collect();
        ids.extend(domain::for_you(&items, &profile, FOR_YOU_MAX - ids.len()));
    }
    let by_id: HashMap<i64, &ArticleRow> = published.iter().map(|a| (a.id, a)).collect();
    let mut described = Vec::new();
    for d in &cx.dims {
        if let Some(c) = profile.choices.get(&d.id) {
            described.push(format!(
                "{} · {}",
                d.names.get(lang),
                d.choice(c).map(|ch| ch.names.get(lang)).unwrap_or(c)
            ));
        }
        if let (Some(s), Some(rule)) = (profile.stages.get(&d.id), d.rule()) {
            described.push(format!("{} · {}", d.names.get(lang), rule.unit.label(*s, lang)));
        }
    }
    Ok(ForYou {
        profile: described,
        articles: ids
            .iter()
            .filter_map(|id| by_id.get(id))
            .map(|a| summary_of(a, &cx, lang, now))
            .collect(),
    })
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, IntoParams, ToSchema)]
#[into_params(parameter_in = Query)]
pub struct BrowseQuery {
    /// Words to find (Chinese, English or French; traditional characters find simplified).
    #[serde(default)]
    pub q: Option<String>,
    /// zh, en, fr, or `all` (default: the reader's language).
    #[serde(default)]
    pub lang: Option<String>,
    /// A segment's key, with `value`: only articles aimed at that value.
    #[serde(default)]
    pub segment: Option<String>,
    /// A choice's key, or a stage number.
    #[serde(default)]
    pub value: Option<String>,
    /// Only articles that embed this drop's product card (the guides about a product).
    #[serde(default)]
    pub drop: Option<String>,
    #[serde(default)]
    pub page: Option<i64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ArticlePage {
    pub articles: Vec<ArticleSummary>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

pub const PER_PAGE: i64 = 20;

pub async fn browse(state: &HubState, me: Option<&User>, q: &BrowseQuery, lang: Lang) -> Result<ArticlePage, ApiError> {
    let page = q.page.unwrap_or(1);
    if !(1..=1000).contains(&page) {
        return Err(HubError::Page.into());
    }
    let want_lang = match q.lang.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Some(lang.code().to_string()),
        Some("all") => None,
        Some(l) => Some(Lang::parse(l).ok_or(HubError::Lang)?.code().to_string()),
    };
    let now = state.clock.now_ms();
    let db = &state.platform.db;
    let mut list = visible_articles(state, me, now).await?;
    let segment = q.segment.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let cx = context_having(state, |c| segment.is_none_or(|seg| c.dims.iter().any(|d| d.key == seg))).await?;
    if let Some(seg) = segment {
        let d = cx
            .dims
            .iter()
            .find(|d| d.key == seg)
            .ok_or_else(|| HubError::NoDimension.with(&[("dimension", seg.to_string())]))?;
        let value = q.value.as_deref().unwrap_or("").trim();
        let bad = || HubError::FilterValue.with(&[("dimension", seg.to_string()), ("value", value.to_string())]);
        let v = match &d.kind {
            Kind::Choice(_) if d.choice(value).is_some() => FilterValue::Choice(value.to_string()),
            Kind::Stage(_) => FilterValue::Stage(value.parse().map_err(|_| bad())?),
            _ => return Err(bad()),
        };
        list.retain(|a| a.targeting.aims_at(d.id, &v));
    }
    if let Some(l) = &want_lang {
        list.retain(|a| &a.lang == l);
    }
    if let Some(d) = q.drop.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let with = store::articles_with_product(db, d).await.map_err(internal)?;
        list.retain(|a| with.contains(&a.id));
    }
    let text = q.q.as_deref().map(str::trim).unwrap_or("");
    if text.chars().count() > 200 {
        return Err(HubError::Query.into());
    }
    if !text.is_empty() {
        let groups = fanloop_community::search::query_term_groups(text);
        let hits = if groups.is_empty() {
            Vec::new()
        } else {
            store::search(db, &groups).await.map_err(internal)?
        };
        let rank: HashMap<i64, usize> = hits.iter().enumerate().map(|(i, (id, _))| (*id, i)).collect();
        list.retain(|a| rank.contains_key(&a.id));
        list.sort_by_key(|a| rank.get(&a.id).copied().unwrap_or(usize::MAX));
    }
    let total = list.len() as i64;
    let articles = list
        .iter()
        .skip(((page - 1) * PER_PAGE) as usize)
        .take(PER_PAGE as usize)
        .map(|a| summary_of(a, &cx, lang, now))
        .collect();
    Ok(ArticlePage {
        articles,
        total,
        page,
        per_page: PER_PAGE,
    })
}

// ---------------------------------------------------------------------------------------------
// Shop and reach

/// Counts a reader's view of an article page (staff and the author are not counted; a member's
/// views of one article count once a day).
pub async fn record_view(state: &HubState, me: Option<&User>, slug: &str) -> Result<(), ApiError> {
    let db = &state.platform.db;
    let Some(a) = store::article_by_slug(db, slug).await.map_err(internal)? else {
        return Ok(());
    };
    if me.is_some_and(|u| u.role.is_staff() || u.id == a.author_id) {
        return Ok(());
    }
    store::record_view(db, a.id, me.map(|u| u.id), state.clock.now_ms(), 86_400_000)
        .await
        .map_err(internal)
}

/// A click on an article's product card: the drop's page, and, when `counted` (a member's own
/// navigation, not an image or a script loading the link), the click is recorded once per
/// conversion window. Only a card the article (as the reader may see it) carries is followed.
pub async fn click(
    state: &HubState,
    me: Option<&User>,
    slug: &str,
    drop: &str,
    counted: bool,
) -> Result<String, ApiError> {
    let db = &state.platform.db;
    let a = store::article_by_slug(db, slug)
        .await
        .map_err(internal)?
        .ok_or(HubError::ArticleNotFound)?;
    if a.publish_at > state.clock.now_ms() && !sees_scheduled(me, &a) {
        return Err(HubError::ArticleNotFound.into());
    }
    if !domain::product_markers(&a.body).iter().any(|d| d == drop) {
        return Err(HubError::NoProduct.with(&[("drop", drop.to_string())]));
    }
    if let (Some(me), true) = (me, counted) {
        store::record_click(
            db,
            a.id,
            drop,
            me.id,
            state.clock.now_ms(),
            domain::CONVERSION_WINDOW_MS,
        )
        .await
        .map_err(internal)?;
    }
    Ok(format!("/drops/{drop}"))
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ArticleReach {
    pub slug: String,
    pub title: String,
    pub lang: String,
    /// Page views by readers (staff and the author not counted).
    pub views: i64,
    /// Members who clicked one of its product cards (once per member, card and 7 days).
    pub clicks: i64,
    /// Orders (not expired) of a carded drop placed within 7 days after a click from it.
    pub orders: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SegmentViews {
    pub segment: String,
    /// The choice, or for a stage segment "date given".
    pub value: String,
    /// Article views by members who gave this value (as they stand now).
    pub views: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HubStats {
    pub articles: Vec<ArticleReach>,
    pub segments: Vec<SegmentViews>,
    pub questions_answered: i64,
    pub faq_entries: i64,
}

/// The hub's numbers for staff: views per article and per segment, conversions, questions.
pub async fn stats(state: &HubState, me: &User, lang: Lang) -> Result<HubStats, ApiError> {
    require_staff(me)?;
    let db = &state.platform.db;
    let reach = store::article_reach(db, domain::CONVERSION_WINDOW_MS)
        .await
        .map_err(internal)?;
    let list = store::article_list(db, i64::MAX, None).await.map_err(internal)?;
    let by_id: HashMap<i64, &ArticleRow> = list.iter().map(|a| (a.id, a)).collect();
    let mut articles: Vec<ArticleReach> = reach
        .into_iter()
        .filter_map(|(id, views, clicks, orders)| {
            by_id.get(&id).map(|a| ArticleReach {
                slug: a.slug.clone(),
                title: a.title.clone(),
                lang: a.lang.clone(),
                views,
                clicks,
                orders,
            })
        })
        .collect();
    articles.sort_by(|a, b| b.views.cmp(&a.views).then(a.slug.cmp(&b.slug)));
    let dims = store::dimensions(db).await.map_err(internal)?;
    let date_given = match lang {
        Lang::Zh => "已填写日期",
        Lang::En => "date given",
        Lang::Fr => "date indiquée",
    };
    let segments = store::views_by_segment(db)
        .await
        .map_err(internal)?
        .into_iter()
        .filter_map(|(dim, choice, views)| {
            let d = dims.iter().find(|d| d.id == dim)?;
            let value = if choice.is_empty() {
                date_given.to_string()
            } else {
                d.choice(&choice)?.names.get(lang).to_string()
            };
            Some(SegmentViews {
                segment: d.names.get(lang).to_string(),
                value,
                views,
            })
        })
        .collect();
    let (questions_answered, faq_entries) = store::questions_answered(db).await.map_err(internal)?;
    Ok(HubStats {
        articles,
        segments,
        questions_answered,
        faq_entries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dims() -> Vec<Dimension> {
        vec![
            Dimension {
                id: 1,
                key: "device".into(),
                names: Names {
                    en: "Device".into(),
                    ..Names::default()
                },
                date_prompt: Names::default(),
                kind: Kind::Choice(vec![Choice {
                    key: "washer".into(),
                    names: Names {
                        en: "Washer".into(),
                        ..Names::default()
                    },
                    drops: Vec::new(),
                }]),
            },
            Dimension {
                id: 2,
                key: "pregnancy".into(),
                names: Names {
                    en: "Pregnancy".into(),
                    ..Names::default()
                },
                date_prompt: Names::default(),
                kind: Kind::Stage(StageRule {
                    unit: Unit::Week,
                    offset: 40,
                    min: 1,
                    max: 42,
                }),
            },
        ]
    }

    fn checked_facts_en(d: &[Dimension], r: &FactsRequest, today: time::Date) -> Result<Vec<(i64, Fact)>, Problem> {
        checked_facts(d, r, today, Lang::En)
    }

    #[test]
    fn facts_are_checked_against_their_segment() {
        let today = time::macros::date!(2026 - 12 - 03);
        let f = |dimension: &str, choice: Option<&str>, date: Option<&str>| FactsRequest {
            facts: vec![FactRequest {
                dimension: dimension.into(),
                choice: choice.map(Into::into),
                date: date.map(Into::into),
            }],
        };
        let d = dims();
        assert!(checked_facts_en(&d, &f("device", Some("washer"), None), today).is_ok());
        assert_eq!(
            checked_facts_en(&d, &f("device", Some("dryer"), None), today)
                .unwrap_err()
                .0,
            HubError::NoChoice
        );
        assert_eq!(
            checked_facts_en(&d, &f("device", None, Some("2027-01-01")), today)
                .unwrap_err()
                .0,
            HubError::FactKind
        );
        assert_eq!(
            checked_facts_en(&d, &f("nope", Some("x"), None), today).unwrap_err().0,
            HubError::NoDimension
        );
        assert!(checked_facts_en(&d, &f("pregnancy", None, Some("2027-06-01")), today).is_ok());
        assert_eq!(
            checked_facts_en(&d, &f("pregnancy", None, Some("2028-06-01")), today)
                .unwrap_err()
                .0,
            HubError::DateRange
        );
        assert_eq!(
            checked_facts_en(&d, &f("pregnancy", None, Some("01/06/2027")), today)
                .unwrap_err()
                .0,
            HubError::Date
        );
        // Empty values forget.
        assert!(checked_facts_en(&d, &f("pregnancy", None, Some("  ")), today)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn targets_are_checked_against_their_segment() {
        let d = dims();
        let t = |dimension: &str, choices: &[&str], from: Option<i64>, to: Option<i64>| TargetRequest {
            dimension: dimension.into(),
            choices: choices.iter().map(|c| c.to_string()).collect(),
            from,
            to,
        };
        let ok = checked_targets(
            &d,
            &[
                t("device", &["washer"], None, None),
                t("pregnancy", &[], Some(10), Some(14)),
            ],
        )
        .unwrap();
        assert_eq!(ok.stages.get(&2), Some(&(10, 14)));
        for (bad, err) in [
            (t("device", &[], None, None), HubError::TargetChoices),
            (t("device", &["dryer"], None, None), HubError::NoChoice),
            (t("pregnancy", &[], Some(14), Some(10)), HubError::TargetStages),
            (t("pregnancy", &[], Some(0), Some(10)), HubError::TargetStages),
            (t("pregnancy", &[], Some(1), None), HubError::TargetStages),
            (t("pregnancy", &["washer"], Some(1), Some(2)), HubError::TargetStages),
        ] {
            assert_eq!(checked_targets(&d, &[bad]).unwrap_err().0, err);
        }
        assert_eq!(
            checked_targets(
                &d,
                &[
                    t("device", &["washer"], None, None),
                    t("device", &["washer"], None, None)
                ]
            )
            .unwrap_err()
            .0,
            HubError::TargetTwice
        );
    }
}
