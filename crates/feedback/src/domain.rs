//! Feedback rules with no HTTP and no SQL: the status workflow, report validation, the weekly
//! cadence, award weeks and honor progression.

use fanloop_platform::auth::Role;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    New,
    Acknowledged,
    Planned,
    InBuild,
    Shipped,
    Declined,
}

impl Status {
    /// Roadmap column order.
    pub const ALL: [Status; 6] = [
        Status::New,
        Status::Acknowledged,
        Status::Planned,
        Status::InBuild,
        Status::Shipped,
        Status::Declined,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Acknowledged => "acknowledged",
            Status::Planned => "planned",
            Status::InBuild => "in_build",
            Status::Shipped => "shipped",
            Status::Declined => "declined",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Staff acted on it: counts as an accepted report for honor progression.
    pub fn is_accepted(self) -> bool {
        matches!(
            self,
            Status::Acknowledged | Status::Planned | Status::InBuild | Status::Shipped
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransitionError {
    NotAllowed { from: Status, to: Status },
    BuildRequired,
    ReasonRequired,
}

/// The workflow new → acknowledged → planned → in build N → shipped, with declined (with a reason)
/// from any open state, re-opening of declined requests, and stepping back when plans change.
/// Shipped is final: a regression is a new report.
pub fn check_transition(
    from: Status,
    to: Status,
    build: Option<i64>,
    reason: Option<&str>,
) -> Result<(), TransitionError> {
    use Status::*;
    let allowed = match from {
        New => matches!(to, Acknowledged | Planned | InBuild | Declined),
        Acknowledged => matches!(to, Planned | InBuild | Declined),
        Planned => matches!(to, Acknowledged | InBuild | Declined),
        InBuild => matches!(to, Planned | Shipped | Declined | InBuild),
        Shipped => false,
        Declined => matches!(to, New | Acknowledged),
    };
    if !allowed {
        return Err(TransitionError::NotAllowed { from, to });
    }
    if matches!(to, InBuild | Shipped) && build.is_none() {
        return Err(TransitionError::BuildRequired);
    }
    if to == Declined && reason.is_none_or(|r| r.trim().is_empty()) {
        return Err(TransitionError::ReasonRequired);
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Bug,
    Suggestion,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Bug => "bug",
            Kind::Suggestion => "suggestion",
        }
    }
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "bug" => Some(Kind::Bug),
            "suggestion" => Some(Kind::Suggestion),
            _ => None,
        }
    }
}

/// A report as a fan fills the form.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct ReportInput {
    /// `bug` or `suggestion`.
    #[schema(pattern = r"^(bug|suggestion)$")]
    pub kind: String,
    /// Area slug, e.g. `camera`.
    pub area: String,
    /// Build version; defaults to the newest build the fan may run.
    pub build: Option<String>,
    #[schema(pattern = r"[^\s\x00-\x1f\x7f-\x9f](.*[^\s\x00-\x1f\x7f-\x9f]){3}", max_length = 120)]
    pub title: String,
    #[schema(pattern = r"[^\s\x00-\x1f\x7f-\x9f]", max_length = 5000)]
    pub description: String,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub steps: String,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub expected: String,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub actual: String,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub device: String,
    /// Values of the product's extra form fields, by key.
    #[serde(default)]
    pub extra: std::collections::BTreeMap<String, String>,
}

impl ReportInput {
    /// The report with line endings normalised and control characters dropped
    /// ([`fanloop_platform::text`]): one-line fields on one line.
    pub fn cleaned(&self) -> ReportInput {
        use fanloop_platform::text::{multiline, single_line};
        ReportInput {
            kind: single_line(&self.kind),
            area: single_line(&self.area),
            build: self.build.as_deref().map(single_line),
            title: single_line(&self.title),
            description: multiline(&self.description),
            steps: multiline(&self.steps),
            expected: multiline(&self.expected),
            actual: multiline(&self.actual),
            device: single_line(&self.device),
            extra: self.extra.iter().map(|(k, v)| (k.clone(), single_line(v))).collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportProblem {
    Kind,
    Title,
    Description,
    BugNeedsSteps,
    TooLong(&'static str),
    MissingField(String),
    UnknownField(String),
}

/// Checks a report against the standard form and the product's extra fields `(key, required)`;
/// the first problem (see [`report_problems`] for all of them).
pub fn validate_report(input: &ReportInput, extra_fields: &[(String, bool)]) -> Result<Kind, ReportProblem> {
    match report_problems(input, extra_fields).into_iter().next() {
        Some((_, problem)) => Err(problem),
        None => Kind::parse(&input.kind).ok_or(ReportProblem::Kind),
    }
}

/// Every problem of a report, each with the form field it is about (`extra.<key>` for a
/// product's own fields), so a form can show them all at once next to their fields.
pub fn report_problems(input: &ReportInput, extra_fields: &[(String, bool)]) -> Vec<(String, ReportProblem)> {
    let mut problems = Vec::new();
    let kind = Kind::parse(&input.kind);
    if kind.is_none() {
        problems.push(("kind".to_string(), ReportProblem::Kind));
    }
    let title_len = input.title.trim().chars().count();
    if !(4..=120).contains(&title_len) {
        problems.push(("title".into(), ReportProblem::Title));
    }
    let desc_len = input.description.trim().chars().count();
    if desc_len == 0 || desc_len > 5_000 {
        problems.push(("description".into(), ReportProblem::Description));
    }
    for (name, value) in [
        ("steps", &input.steps),
        ("expected", &input.expected),
        ("actual", &input.actual),
        ("device", &input.device),
    ] {
        if value.chars().count() > 2_000 {
            problems.push((name.into(), ReportProblem::TooLong(name)));
        } else if kind == Some(Kind::Bug) && name != "device" && value.trim().is_empty() {
            problems.push((name.into(), ReportProblem::BugNeedsSteps));
        }
    }
    for (key, required) in extra_fields {
        let value = input.extra.get(key).map(|v| v.trim()).unwrap_or("");
        if *required && value.is_empty() {
            problems.push((format!("extra.{key}"), ReportProblem::MissingField(key.clone())));
        } else if value.chars().count() > 2_000 {
            problems.push((format!("extra.{key}"), ReportProblem::TooLong("extra field")));
        }
    }
    if let Some(unknown) = input.extra.keys().find(|k| !extra_fields.iter().any(|(f, _)| f == *k)) {
        problems.push((format!("extra.{unknown}"), ReportProblem::UnknownField(unknown.clone())));
    }
    problems
}

/// Beta-channel builds are for beta testers, honorary developers and staff.
pub fn may_see_beta(role: Role) -> bool {
    role.is_staff() || role.honor_rank() >= 2
}

const DAY_MS: i64 = 86_400_000;

/// Day of week for a Unix-ms timestamp, 1 = Monday … 7 = Sunday (UTC).
pub fn weekday(ms: i64) -> i64 {
    // 1970-01-01 was a Thursday (4).
    (ms.div_euclid(DAY_MS) + 3).rem_euclid(7) + 1
}

/// Latest time a date typed by staff may name (2100-01-01, Unix ms).
pub const LATEST_TIME_MS: i64 = 4_102_444_800_000;

/// The next release date on the product's cadence: the first `release_weekday` at least
/// `cadence_days` after the latest build (or after `now` if there is none or it is overdue).
pub fn next_release(now_ms: i64, latest_build_ms: Option<i64>, cadence_days: i64, release_weekday: i64) -> i64 {
    // Saturating: a build dated at the end of time must not overflow the schedule.
    let earliest = match latest_build_ms {
        Some(last) => last
            .saturating_add((cadence_days.max(1) - 1).saturating_mul(DAY_MS))
            .max(now_ms),
        None => now_ms,
    };
    let day_start = earliest.div_euclid(DAY_MS).saturating_mul(DAY_MS);
    let mut day = day_start.saturating_add(DAY_MS);
    for _ in 0..7 {
        if weekday(day) == release_weekday.clamp(1, 7) {
            break;
        }
        day = day.saturating_add(DAY_MS);
    }
    day
}

/// ISO-8601 week label ("2026-W48") used to scope award votes.
pub fn iso_week(ms: i64) -> String {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)) else {
        return "1970-W01".into();
    };
    let (year, week, _) = t.to_iso_week_date();
    format!("{year}-W{week:02}")
}

/// A configurable promotion rule.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HonorRule {
    #[schema(value_type = String, pattern = r"^(beta_tester|honorary_developer)$")]
    pub target_role: Role,
    #[schema(minimum = 0)]
    pub min_accepted_reports: i64,
    #[schema(minimum = 0)]
    pub min_shipped_requests: i64,
}

/// The highest honor a reporter has earned, if above their current one.  Staff are never
/// touched and nobody is demoted.
pub fn earned_promotion(
    current: Role,
    accepted_reports: i64,
    shipped_requests: i64,
    rules: &[HonorRule],
) -> Option<Role> {
    if current.is_staff() {
        return None;
    }
    rules
        .iter()
        .filter(|r| accepted_reports >= r.min_accepted_reports && shipped_requests >= r.min_shipped_requests)
        .map(|r| r.target_role)
        .filter(|role| role.honor_rank() > current.honor_rank())
        .max_by_key(|role| role.honor_rank())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_release_schedule_never_overflows() {
        for last in [i64::MIN, -1, 0, i64::MAX - 1, i64::MAX] {
            for cadence in [i64::MIN, 0, 1, 7, i64::MAX] {
                let _ = next_release(1_700_000_000_000, Some(last), cadence, 5);
                let _ = next_release(i64::MAX, Some(last), cadence, 9);
            }
        }
    }

    #[test]
    fn workflow_moves_forward_and_declines_with_reason() {
        use Status::*;
        assert!(check_transition(New, Acknowledged, None, None).is_ok());
        assert!(check_transition(Acknowledged, Planned, None, None).is_ok());
        assert_eq!(
            check_transition(Planned, InBuild, None, None),
            Err(TransitionError::BuildRequired)
        );
        assert!(check_transition(Planned, InBuild, Some(3), None).is_ok());
        assert!(check_transition(InBuild, Shipped, Some(3), None).is_ok());
        assert!(matches!(
            check_transition(Shipped, New, None, None),
            Err(TransitionError::NotAllowed { .. })
        ));
        assert!(matches!(
            check_transition(New, Shipped, Some(1), None),
            Err(TransitionError::NotAllowed { .. })
        ));
        assert_eq!(
            check_transition(New, Declined, None, Some("  ")),
            Err(TransitionError::ReasonRequired)
        );
        assert!(check_transition(New, Declined, None, Some("works as intended")).is_ok());
        assert!(check_transition(Declined, New, None, None).is_ok());
        assert!(check_transition(New, New, None, None).is_err());
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn bug_reports_need_steps_and_extra_fields_are_checked() {
        let mut input = ReportInput {
            kind: "bug".into(),
            area: "camera".into(),
            title: "Night mode blurry".into(),
            description: "Photos are blurry".into(),
            ..Default::default()
        };
        assert_eq!(validate_report(&input, &[]), Err(ReportProblem::BugNeedsSteps));
        input.steps = "1. open camera".into();
        input.expected = "sharp".into();
        input.actual = "blurry".into();
        assert_eq!(validate_report(&input, &[]), Ok(Kind::Bug));
        assert_eq!(
            validate_report(&input, &[("region".into(), true)]),
            Err(ReportProblem::MissingField("region".into()))
        );
        input.extra.insert("region".into(), "EU".into());
        assert_eq!(validate_report(&input, &[("region".into(), true)]), Ok(Kind::Bug));
        assert_eq!(
            validate_report(&input, &[]),
            Err(ReportProblem::UnknownField("region".into()))
        );
        let idea = ReportInput {
            kind: "suggestion".into(),
            title: "Dark mode everywhere".into(),
            description: "please".into(),
            ..Default::default()
        };
        assert_eq!(validate_report(&idea, &[]), Ok(Kind::Suggestion));
        assert_eq!(
            validate_report(
                &ReportInput {
                    title: "x".into(),
                    ..idea.clone()
                },
                &[]
            ),
            Err(ReportProblem::Title)
        );
        assert_eq!(
            validate_report(
                &ReportInput {
                    kind: "rant".into(),
                    ..idea
                },
                &[]
            ),
            Err(ReportProblem::Kind)
        );
    }

    #[test]
    fn cadence_lands_on_fridays() {
        let friday = 1_795_737_600_000; // 2026-11-27, a Friday
        assert_eq!(weekday(friday), 5);
        let tuesday = friday - 3 * DAY_MS;
        assert_eq!(next_release(tuesday, None, 7, 5), friday);
        // Built on Friday: the next weekly build is the following Friday.
        assert_eq!(
            next_release(friday + 3_600_000, Some(friday), 7, 5),
            friday + 7 * DAY_MS
        );
        assert_eq!(iso_week(friday), "2026-W48");
    }

    #[test]
    fn honor_progression_promotes_never_demotes() {
        let rules = vec![
            HonorRule {
                target_role: Role::BetaTester,
                min_accepted_reports: 3,
                min_shipped_requests: 0,
            },
            HonorRule {
                target_role: Role::HonoraryDeveloper,
                min_accepted_reports: 5,
                min_shipped_requests: 2,
            },
        ];
        assert_eq!(earned_promotion(Role::Fan, 2, 0, &rules), None);
        assert_eq!(earned_promotion(Role::Fan, 3, 0, &rules), Some(Role::BetaTester));
        assert_eq!(earned_promotion(Role::Fan, 6, 2, &rules), Some(Role::HonoraryDeveloper));
        assert_eq!(earned_promotion(Role::HonoraryDeveloper, 3, 0, &rules), None);
        assert_eq!(earned_promotion(Role::Staff, 99, 99, &rules), None);
        assert!(may_see_beta(Role::BetaTester) && may_see_beta(Role::Staff) && !may_see_beta(Role::Fan));
    }
}

pub const MAX_ATTACHMENTS: usize = 3;
pub const MAX_ATTACHMENT_BYTES: usize = 2 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttachmentProblem {
    TooMany,
    TooLarge(String),
    Type(String),
}

/// Decides an attachment's type from its bytes, not from what the client claims: images by
/// their magic numbers, logs when the content is valid UTF-8 text.  Returns the content type
/// to serve it with.
pub fn check_attachment(filename: &str, data: &[u8]) -> Result<&'static str, AttachmentProblem> {
    if data.len() > MAX_ATTACHMENT_BYTES {
        return Err(AttachmentProblem::TooLarge(filename.into()));
    }
    if let Some(image) = fanloop_platform::web::image_content_type(data) {
        return Ok(image);
    }
    let lower = filename.to_ascii_lowercase();
    if (lower.ends_with(".log") || lower.ends_with(".txt")) && std::str::from_utf8(data).is_ok() {
        return Ok("text/plain; charset=utf-8");
    }
    Err(AttachmentProblem::Type(filename.into()))
}

#[cfg(test)]
mod attachment_tests {
    use super::*;

    #[test]
    fn attachments_are_typed_by_content() {
        assert_eq!(check_attachment("shot.png", b"\x89PNG\r\n\x1a\nrest"), Ok("image/png"));
        assert_eq!(check_attachment("x.jpg", &[0xFF, 0xD8, 0xFF, 0xE0]), Ok("image/jpeg"));
        assert_eq!(
            check_attachment("bug.log", "日志 line".as_bytes()),
            Ok("text/plain; charset=utf-8")
        );
        assert!(matches!(
            check_attachment("evil.png", b"<script>"),
            Err(AttachmentProblem::Type(_))
        ));
        assert!(matches!(
            check_attachment("bin.log", &[0xFF, 0xFE, 0x00]),
            Err(AttachmentProblem::Type(_))
        ));
        assert!(matches!(
            check_attachment("big.log", &vec![b'a'; MAX_ATTACHMENT_BYTES + 1]),
            Err(AttachmentProblem::TooLarge(_))
        ));
    }
}
