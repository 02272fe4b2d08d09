//! The hub's rules, without HTTP, SQL or a clock: what a stage is on a given day, which articles
//! fit a member, in which order "for you" shows them, and what a valid segment, fact or article
//! is.  Days come in as `time::Date` (UTC), so tests move the calendar instead of sleeping.

use std::collections::{BTreeMap, BTreeSet};

use fanloop_platform::i18n::Lang;
use serde::{Deserialize, Serialize};
use time::{Date, Duration};
use utoipa::ToSchema;

use crate::error::{HubError, Problem};

/// A text in the three languages; a missing one falls back to English, then Chinese, then French.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Names {
    #[serde(default)]
    pub en: String,
    #[serde(default)]
    pub zh: String,
    #[serde(default)]
    pub fr: String,
}

impl Names {
    pub fn get(&self, lang: Lang) -> &str {
        let first = match lang {
            Lang::En => &self.en,
            Lang::Zh => &self.zh,
            Lang::Fr => &self.fr,
        };
        [first, &self.en, &self.zh, &self.fr]
            .into_iter()
            .find(|s| !s.is_empty())
            .map(String::as_str)
            .unwrap_or_default()
    }

    /// Trimmed, on one line, each at most `max` characters, at least one given.
    pub fn checked(&self, max: usize, err: HubError) -> Result<Names, Problem> {
        let clean = |s: &str| fanloop_platform::text::single_line(s).trim().to_string();
        let n = Names {
            en: clean(&self.en),
            zh: clean(&self.zh),
            fr: clean(&self.fr),
        };
        let all = [&n.en, &n.zh, &n.fr];
        if all.iter().all(|s| s.is_empty()) || all.iter().any(|s| s.chars().count() > max) {
            return Err(err.into());
        }
        Ok(n)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    Week,
    Month,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Week => "week",
            Unit::Month => "month",
        }
    }

    pub fn parse(s: &str) -> Option<Unit> {
        match s {
            "week" => Some(Unit::Week),
            "month" => Some(Unit::Month),
            _ => None,
        }
    }

    /// "week 12", "第 12 周", "semaine 12".
    pub fn label(self, n: i64, lang: Lang) -> String {
        match (self, lang) {
            (Unit::Week, Lang::En) => format!("week {n}"),
            (Unit::Week, Lang::Zh) => format!("第 {n} 周"),
            (Unit::Week, Lang::Fr) => format!("semaine {n}"),
            (Unit::Month, Lang::En) => format!("month {n}"),
            (Unit::Month, Lang::Zh) => format!("第 {n} 个月"),
            (Unit::Month, Lang::Fr) => format!("mois {n}"),
        }
    }

    /// "weeks 4–8" in the reader's language; one stage when the range is one.
    pub fn range_label(self, from: i64, to: i64, lang: Lang) -> String {
        if from == to {
            return self.label(from, lang);
        }
        match (self, lang) {
            (Unit::Week, Lang::En) => format!("weeks {from}–{to}"),
            (Unit::Week, Lang::Zh) => format!("第 {from}–{to} 周"),
            (Unit::Week, Lang::Fr) => format!("semaines {from} à {to}"),
            (Unit::Month, Lang::En) => format!("months {from}–{to}"),
            (Unit::Month, Lang::Zh) => format!("第 {from}–{to} 个月"),
            (Unit::Month, Lang::Fr) => format!("mois {from} à {to}"),
        }
    }
}

/// How a stage follows from a date: `offset` plus the whole weeks or calendar months from the
/// date to today.  A pregnancy counted from the due date is `week, offset 40` (280 days before
/// the due date is week 0); a child's age from the birth date is `month, offset 0`.  Stages
/// outside `min..=max` are no stage: the member has moved past (or not yet reached) what this
/// dimension describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StageRule {
    pub unit: Unit,
    pub offset: i64,
    pub min: i64,
    pub max: i64,
}

pub const STAGE_LIMIT: i64 = 1_000;

impl StageRule {
    /// The stage number on `today`, in range or not.
    pub fn raw_stage(&self, date: Date, today: Date) -> i64 {
        let elapsed = match self.unit {
            Unit::Week => (today - date).whole_days().div_euclid(7),
            Unit::Month => {
                let months = |d: Date| i64::from(d.year()) * 12 + i64::from(u8::from(d.month()));
                let mut m = months(today) - months(date);
                if today.day() < date.day() {
                    m -= 1;
                }
                m
            }
        };
        self.offset.saturating_add(elapsed)
    }

    /// The stage on `today`, when it lies within the dimension's stages.
    pub fn stage(&self, date: Date, today: Date) -> Option<i64> {
        let s = self.raw_stage(date, today);
        (self.min..=self.max).contains(&s).then_some(s)
    }

    /// The latest date a member may give: a rule with a positive offset counts toward a date to
    /// come (a due date, up to `offset` units ahead); others count from a date already past.
    /// "Today" is the UTC day, so a day of grace lets a member east of UTC (Beijing is UTC+8)
    /// give their own today before UTC midnight.
    pub fn latest_date(&self, today: Date) -> Date {
        let ahead = self.offset.clamp(0, STAGE_LIMIT);
        let days = 1 + match self.unit {
            Unit::Week => ahead * 7,
            Unit::Month => ahead * 31,
        };
        today.checked_add(Duration::days(days)).unwrap_or(today)
    }

    pub fn check(&self) -> Result<(), Problem> {
        let ok = |v: i64| (-STAGE_LIMIT..=STAGE_LIMIT).contains(&v);
        if !ok(self.offset) || !ok(self.min) || !ok(self.max) || self.min > self.max {
            return Err(HubError::StageRule.into());
        }
        Ok(())
    }
}

/// A dimension's kind: a list of choices, or a stage from a date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Choice(Vec<Choice>),
    Stage(StageRule),
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Choice {
    pub key: String,
    pub names: Names,
    /// Drops whose orders tell the hub that a member has this choice (a device bought in a
    /// launch), unless the member said otherwise.
    #[serde(default)]
    pub drops: Vec<String>,
}

/// What a member said about a choice segment on purpose: "none of these" (`-`), which also
/// keeps their orders from choosing for them.
pub const NONE_OF_THESE: &str = "-";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dimension {
    pub id: i64,
    pub key: String,
    pub names: Names,
    pub date_prompt: Names,
    pub kind: Kind,
}

impl Dimension {
    pub fn choice(&self, key: &str) -> Option<&Choice> {
        match &self.kind {
            Kind::Choice(choices) => choices.iter().find(|c| c.key == key),
            Kind::Stage(_) => None,
        }
    }

    pub fn rule(&self) -> Option<StageRule> {
        match self.kind {
            Kind::Stage(r) => Some(r),
            Kind::Choice(_) => None,
        }
    }
}

/// What a member told the hub about one dimension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fact {
    Choice(String),
    Day(Date),
}

/// The member as the hub sees them today: a choice or a current stage per dimension.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    pub choices: BTreeMap<i64, String>,
    pub stages: BTreeMap<i64, i64>,
}

/// The choice a member's orders give a segment: the first whose drops they ordered.
pub fn choice_from_orders<'a>(d: &'a Dimension, ordered: &BTreeSet<String>) -> Option<&'a Choice> {
    match &d.kind {
        Kind::Choice(choices) => choices.iter().find(|c| c.drops.iter().any(|s| ordered.contains(s))),
        Kind::Stage(_) => None,
    }
}

impl Profile {
    /// Today's profile from the facts (a fact for an unknown dimension, or a choice that no
    /// longer exists, is left out; so is a date whose stage is out of range today), and, for a
    /// choice segment the member said nothing about, from the drops they ordered.
    pub fn of(
        dimensions: &[Dimension],
        facts: &BTreeMap<i64, Fact>,
        ordered: &BTreeSet<String>,
        today: Date,
    ) -> Profile {
        let mut p = Profile::default();
        for d in dimensions {
            match (facts.get(&d.id), &d.kind) {
                (Some(Fact::Choice(c)), Kind::Choice(_)) if d.choice(c).is_some() => {
                    p.choices.insert(d.id, c.clone());
                }
                (None, Kind::Choice(_)) => {
                    if let Some(c) = choice_from_orders(d, ordered) {
                        p.choices.insert(d.id, c.key.clone());
                    }
                }
                (Some(Fact::Day(day)), Kind::Stage(rule)) => {
                    if let Some(s) = rule.stage(*day, today) {
                        p.stages.insert(d.id, s);
                    }
                }
                _ => {}
            }
        }
        p
    }

    pub fn is_empty(&self) -> bool {
        self.choices.is_empty() && self.stages.is_empty()
    }
}

/// Who an article is for: per dimension, a set of choices or one stage range.  Empty: everyone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Targeting {
    pub choices: BTreeMap<i64, BTreeSet<String>>,
    pub stages: BTreeMap<i64, (i64, i64)>,
}

/// How well an article fits: more targeted dimensions matched first, then a narrower stage range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Fit {
    pub matched: usize,
    /// Negated width of the narrowest matched stage range (so larger is better).
    pub narrowness: i64,
}

impl Targeting {
    pub fn is_empty(&self) -> bool {
        self.choices.is_empty() && self.stages.is_empty()
    }

    /// Whether the member fits every targeted dimension; `None` when one is missed.
    pub fn fit(&self, p: &Profile) -> Option<Fit> {
        for (dim, wanted) in &self.choices {
            if !p.choices.get(dim).is_some_and(|c| wanted.contains(c)) {
                return None;
            }
        }
        let mut narrowness = i64::MIN;
        for (dim, (from, to)) in &self.stages {
            let s = p.stages.get(dim)?;
            if !(from..=to).contains(&s) {
                return None;
            }
            narrowness = narrowness.max(-(to - from));
        }
        Some(Fit {
            matched: self.choices.len() + self.stages.len(),
            narrowness,
        })
    }

    /// Whether the article is aimed at `value` of dimension `dim` (a choice key, or a stage
    /// number for a stage dimension): the browse filter.
    pub fn aims_at(&self, dim: i64, value: &FilterValue) -> bool {
        match value {
            FilterValue::Choice(c) => self.choices.get(&dim).is_some_and(|s| s.contains(c)),
            FilterValue::Stage(n) => self.stages.get(&dim).is_some_and(|(a, b)| (a..=b).contains(&n)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterValue {
    Choice(String),
    Stage(i64),
}

/// "For you": the articles that fit the member, best first (more of what they told matched,
/// narrower stage, newer), then the ones for everyone, newest first; at most `limit`.  Each
/// item is `(id, publish_at, targeting)`; the answer is ids in order.
pub fn for_you(articles: &[(i64, i64, &Targeting)], p: &Profile, limit: usize) -> Vec<i64> {
    let mut fitting: Vec<(Fit, i64, i64)> = articles
        .iter()
        .filter_map(|(id, at, t)| t.fit(p).map(|f| (f, *at, *id)))
        .collect();
    fitting.sort_by(|a, b| b.cmp(a));
    fitting.into_iter().take(limit).map(|(_, _, id)| id).collect()
}

/// Dimension, series, article and expert keys: 2–40 lowercase letters, digits, '-' or '_',
/// starting with a letter or digit.
pub fn valid_key(s: &str) -> bool {
    let n = s.len();
    (2..=40).contains(&n)
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
}

/// `YYYY-MM-DD`.
pub fn parse_day(s: &str) -> Option<Date> {
    Date::parse(s.trim(), time::macros::format_description!("[year]-[month]-[day]")).ok()
}

pub fn format_day(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// The UTC day of a time in milliseconds since the epoch.
pub fn day_of_ms(ms: i64) -> Date {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .map(|t| t.date())
        .unwrap_or(Date::MIN)
}

/// The `p`-th percentile (0–100) of some durations, by the nearest-rank method; `None` for none.
pub fn percentile(values: &[i64], p: u32) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_unstable();
    let rank = (u64::from(p.min(100)) * v.len() as u64).div_ceil(100).max(1) as usize;
    v.get(rank - 1).copied()
}

/// How long a question at `position` in its field's queue may wait, in ms: the median time to a
/// first answer lately, times the questions ahead of it and this one, shared by the field's
/// experts.  `None` before any question of the field was answered.
pub fn expected_wait(recent_first_answers: &[i64], position: i64, experts: i64) -> Option<i64> {
    let median = percentile(recent_first_answers, 50)?;
    let rounds = (position.max(1) + experts.max(1) - 1) / experts.max(1);
    Some(median.max(0).saturating_mul(rounds))
}

/// The drops an article embeds as product cards: a line `[[drop:slug]]` of its own, at most
/// [`PRODUCTS_MAX`], each once, in order. Anything else that looks alike stays text.
pub fn product_markers(markdown: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in markdown.lines() {
        let Some(slug) = line.trim().strip_prefix("[[drop:").and_then(|r| r.strip_suffix("]]")) else {
            continue;
        };
        if valid_key(slug) && !out.iter().any(|s| s == slug) {
            out.push(slug.to_string());
        }
    }
    out.truncate(PRODUCTS_MAX);
    out
}

pub const PRODUCTS_MAX: usize = 10;

/// How long after a click on an article's product card an order of that drop counts as the
/// article's conversion.
pub const CONVERSION_WINDOW_MS: i64 = 7 * 86_400_000;

pub const QUESTION_SUBJECT_MAX: usize = 120;
pub const MESSAGE_MAX: usize = 5_000;

pub const ARTICLE_TITLE_MAX: usize = 120;
pub const ARTICLE_SUMMARY_MAX: usize = 300;
pub const ARTICLE_BODY_MAX: usize = 50_000;
pub const CHOICES_MAX: usize = 50;
pub const TARGETS_MAX: usize = 20;

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn pregnancy() -> StageRule {
        StageRule {
            unit: Unit::Week,
            offset: 40,
            min: 1,
            max: 42,
        }
    }

    #[test]
    fn a_pregnancy_week_advances_every_seven_days_and_ends() {
        let due = date!(2027 - 06 - 30);
        let r = pregnancy();
        assert_eq!(r.raw_stage(due, due - Duration::days(280)), 0);
        assert_eq!(r.stage(due, due - Duration::days(280)), None);
        assert_eq!(r.stage(due, due - Duration::days(273)), Some(1));
        // 28 weeks before the due date is week 12, for all seven days of it.
        for d in 0..7 {
            assert_eq!(r.stage(due, due - Duration::days(28 * 7 - d)), Some(12), "day {d}");
        }
        assert_eq!(r.stage(due, due - Duration::days(27 * 7)), Some(13));
        assert_eq!(r.stage(due, due), Some(40));
        assert_eq!(r.stage(due, due + Duration::days(14)), Some(42));
        assert_eq!(r.stage(due, due + Duration::days(21)), None);
    }

    #[test]
    fn a_childs_age_in_months_counts_calendar_months() {
        let r = StageRule {
            unit: Unit::Month,
            offset: 0,
            min: 0,
            max: 36,
        };
        let born = date!(2026 - 01 - 31);
        assert_eq!(r.stage(born, born), Some(0));
        assert_eq!(r.stage(born, date!(2026 - 02 - 28)), Some(0));
        assert_eq!(r.stage(born, date!(2026 - 03 - 01)), Some(1));
        assert_eq!(r.stage(born, date!(2026 - 03 - 31)), Some(2));
        assert_eq!(r.stage(born, date!(2029 - 01 - 31)), Some(36));
        assert_eq!(r.stage(born, date!(2029 - 02 - 28)), Some(36));
        assert_eq!(r.stage(born, date!(2029 - 03 - 31)), None);
        // A date to come is a negative age: out of range.
        assert_eq!(r.stage(born, date!(2025 - 12 - 31)), None);
    }

    #[test]
    fn a_due_date_may_lie_ahead_a_birth_date_may_not() {
        let today = date!(2026 - 12 - 03);
        assert_eq!(pregnancy().latest_date(today), today + Duration::days(281));
        let age = StageRule {
            unit: Unit::Month,
            offset: 0,
            min: 0,
            max: 36,
        };
        assert_eq!(age.latest_date(today), today + Duration::days(1));
    }

    fn targeting(choices: &[(i64, &[&str])], stages: &[(i64, i64, i64)]) -> Targeting {
        Targeting {
            choices: choices
                .iter()
                .map(|(d, cs)| (*d, cs.iter().map(|c| c.to_string()).collect()))
                .collect(),
            stages: stages.iter().map(|(d, a, b)| (*d, (*a, *b))).collect(),
        }
    }

    #[test]
    fn an_article_fits_when_every_targeted_dimension_matches() {
        let p = Profile {
            choices: [(1, "washer".to_string())].into(),
            stages: [(2, 12)].into(),
        };
        assert!(targeting(&[], &[]).fit(&p).is_some());
        assert!(targeting(&[(1, &["washer", "dryer"])], &[]).fit(&p).is_some());
        assert!(targeting(&[(1, &["dryer"])], &[]).fit(&p).is_none());
        assert!(targeting(&[(1, &["washer"])], &[(2, 10, 14)]).fit(&p).is_some());
        assert!(targeting(&[(1, &["washer"])], &[(2, 13, 14)]).fit(&p).is_none());
        // A dimension the member said nothing about is not a match.
        assert!(targeting(&[(3, &["beginner"])], &[]).fit(&p).is_none());
    }

    #[test]
    fn for_you_puts_the_most_specific_first_then_everyone_newest_first() {
        let p = Profile {
            choices: [(1, "washer".to_string())].into(),
            stages: [(2, 12)].into(),
        };
        let everyone_old = targeting(&[], &[]);
        let everyone_new = targeting(&[], &[]);
        let week_range = targeting(&[], &[(2, 8, 16)]);
        let week_12 = targeting(&[], &[(2, 12, 12)]);
        let both = targeting(&[(1, &["washer"])], &[(2, 10, 14)]);
        let other = targeting(&[(1, &["dryer"])], &[]);
        let items = vec![
            (1, 100, &everyone_old),
            (2, 300, &everyone_new),
            (3, 200, &week_range),
            (4, 50, &week_12),
            (5, 10, &both),
            (6, 999, &other),
        ];
        assert_eq!(for_you(&items, &p, 10), vec![5, 4, 3, 2, 1]);
        assert_eq!(for_you(&items, &p, 2), vec![5, 4]);
        assert_eq!(for_you(&items, &Profile::default(), 10), vec![2, 1]);
    }

    #[test]
    fn profiles_leave_out_what_no_longer_applies() {
        let dims = vec![
            Dimension {
                id: 1,
                key: "device".into(),
                names: Names::default(),
                date_prompt: Names::default(),
                kind: Kind::Choice(vec![Choice {
                    key: "washer".into(),
                    ..Choice::default()
                }]),
            },
            Dimension {
                id: 2,
                key: "pregnancy".into(),
                names: Names::default(),
                date_prompt: Names::default(),
                kind: Kind::Stage(pregnancy()),
            },
        ];
        let due = date!(2027 - 01 - 01);
        let facts: BTreeMap<i64, Fact> = [
            (1, Fact::Choice("removed".into())),
            (2, Fact::Day(due)),
            (9, Fact::Choice("x".into())),
        ]
        .into();
        let none = BTreeSet::new();
        let p = Profile::of(&dims, &facts, &none, due - Duration::days(7));
        assert!(p.choices.is_empty());
        assert_eq!(p.stages.get(&2), Some(&39));
        assert!(Profile::of(&dims, &facts, &none, due + Duration::days(60)).is_empty());
        // Orders choose for a segment the member said nothing about, never over what they said.
        let mut dims = dims;
        dims[0].kind = Kind::Choice(vec![
            Choice {
                key: "washer".into(),
                drops: vec!["w1".into()],
                ..Choice::default()
            },
            Choice {
                key: "dryer".into(),
                drops: vec!["d1".into()],
                ..Choice::default()
            },
        ]);
        let ordered: BTreeSet<String> = ["d1".to_string()].into();
        let nothing_said: BTreeMap<i64, Fact> = BTreeMap::new();
        assert_eq!(
            Profile::of(&dims, &nothing_said, &ordered, due)
                .choices
                .get(&1)
                .map(String::as_str),
            Some("dryer")
        );
        let said_washer: BTreeMap<i64, Fact> = [(1, Fact::Choice("washer".into()))].into();
        assert_eq!(
            Profile::of(&dims, &said_washer, &ordered, due)
                .choices
                .get(&1)
                .map(String::as_str),
            Some("washer")
        );
        let said_none: BTreeMap<i64, Fact> = [(1, Fact::Choice(NONE_OF_THESE.into()))].into();
        assert!(Profile::of(&dims, &said_none, &ordered, due).choices.is_empty());
    }

    #[test]
    fn names_fall_back_and_are_checked() {
        let n = Names {
            en: " Device ".into(),
            zh: String::new(),
            fr: "Appareil".into(),
        };
        let c = n.checked(20, HubError::Names).unwrap();
        assert_eq!(c.get(Lang::Zh), "Device");
        assert_eq!(c.get(Lang::Fr), "Appareil");
        assert!(Names::default().checked(20, HubError::Names).is_err());
        assert!(Names {
            en: "x".repeat(21),
            ..Names::default()
        }
        .checked(20, HubError::Names)
        .is_err());
    }

    #[test]
    fn keys() {
        assert!(valid_key("device"));
        assert!(valid_key("week-12_a"));
        assert!(!valid_key("-x"));
        assert!(!valid_key("x"));
        assert!(!valid_key("Device"));
        assert!(!valid_key("设备"));
        assert!(!valid_key(&"a".repeat(41)));
    }

    #[test]
    fn product_markers_are_lines_of_their_own() {
        let md = "Intro [[drop:inline]] text\n[[drop:x2-washer]]\n  [[drop:x2-washer]]  \n[[drop:Bad Slug]]\n[[drop:purifier-4]]\n`[[drop:code]]`";
        assert_eq!(product_markers(md), ["x2-washer", "purifier-4"]);
        let many: String = (0..20).map(|i| format!("[[drop:d{i:02}]]\n")).collect();
        assert_eq!(product_markers(&many).len(), PRODUCTS_MAX);
        assert!(product_markers("[[drop:]]\n[[drop:a]]").is_empty());
    }

    #[test]
    fn percentiles_and_waits() {
        assert_eq!(percentile(&[], 50), None);
        assert_eq!(percentile(&[5], 90), Some(5));
        let v: Vec<i64> = (1..=10).rev().collect();
        assert_eq!(percentile(&v, 50), Some(5));
        assert_eq!(percentile(&v, 90), Some(9));
        assert_eq!(percentile(&v, 100), Some(10));
        assert_eq!(expected_wait(&[], 1, 1), None);
        assert_eq!(expected_wait(&[60_000, 120_000, 180_000], 1, 1), Some(120_000));
        // Third in line with two experts: two rounds.
        assert_eq!(expected_wait(&[60_000], 3, 2), Some(120_000));
        assert_eq!(expected_wait(&[60_000], 2, 2), Some(60_000));
    }

    proptest::proptest! {
        #[test]
        fn stages_never_panic_and_weeks_advance_by_one_per_seven_days(
            y in 1900i32..2100, d in 1u16..365, shift in -40_000i64..40_000, offset in -1000i64..1000,
        ) {
            let date = Date::from_ordinal_date(y, d).unwrap();
            let today = date.checked_add(Duration::days(shift)).unwrap_or(date);
            let r = StageRule { unit: Unit::Week, offset, min: -1000, max: 1000 };
            let a = r.raw_stage(date, today);
            if let Some(next) = today.checked_add(Duration::days(7)) {
                proptest::prop_assert_eq!(r.raw_stage(date, next), a + 1);
            }
            let m = StageRule { unit: Unit::Month, ..r };
            let _ = m.stage(date, today);
            let _ = r.latest_date(today);
        }

        #[test]
        fn parse_day_takes_any_text(s in "\\PC{0,30}") {
            let _ = parse_day(&s);
        }
    }
}
