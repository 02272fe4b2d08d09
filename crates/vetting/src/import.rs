//! Reading a candidate's public posts from JSON lines or CSV.  Every row that cannot be used
//! is reported with its line number and the reason; nothing is dropped silently.

use fanloop_platform::error::Arg;
use fanloop_platform::i18n::Lang;
use fanloop_platform::ApiError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::VettingError;

pub const MAX_TEXT_CHARS: usize = 10_000;
pub const MAX_ROWS: usize = 200_000;

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ImportedPost {
    /// Line of the file the post came from (1-based).
    pub line: usize,
    pub handle: String,
    pub platform: String,
    pub posted_at: i64,
    pub text: String,
    pub likes: i64,
    pub reposts: i64,
    pub comments: i64,
    pub followers: Option<i64>,
    pub url: Option<String>,
    /// The platform's id of the post, when given; re-importing the same post is then a no-op.
    pub external_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RowError {
    pub line: usize,
    /// Why, in English (for API clients; people read [`RowError::text`]).
    pub message: String,
    /// Why, typed: the message in every language. Not stored with an import, so the errors of
    /// past imports read back from the database have only their English message.
    #[serde(skip)]
    pub problem: Option<RowProblem>,
}

impl RowError {
    pub fn new(line: usize, problem: RowProblem) -> Self {
        RowError {
            line,
            message: problem.error().message,
            problem: Some(problem),
        }
    }

    /// The reason in the reader's language (English for errors read back from the database).
    pub fn text(&self, lang: Lang) -> String {
        match &self.problem {
            Some(p) => p.error().text(lang),
            None => self.message.clone(),
        }
    }
}

/// A count column of the file, named in English, Chinese and French.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    Likes,
    Reposts,
    Comments,
    Followers,
}

impl Count {
    fn words(self) -> [&'static str; 3] {
        match self {
            Count::Likes => ["likes", "点赞数", "Mentions j’aime"],
            Count::Reposts => ["reposts", "转发数", "Partages"],
            Count::Comments => ["comments", "评论数", "Commentaires"],
            Count::Followers => ["followers", "粉丝数", "Abonnés"],
        }
    }
}

/// Why a row of the file cannot be used, with the values its message names; the message in
/// each language is [`VettingError`]'s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowProblem {
    /// The line is not a JSON object of the expected fields (the parser's explanation).
    NotJson(String),
    /// More than [`MAX_ROWS`] rows: the rest was not read.
    TooManyRows,
    Header(String),
    MissingColumn {
        column: &'static str,
        found: String,
    },
    Csv(String),
    FieldCount {
        fields: usize,
        columns: usize,
    },
    /// The row's fields do not fit a post (the parser's explanation).
    Unreadable(String),
    MissingHandle,
    BadHandle,
    MissingPlatform,
    LongPlatform,
    MissingText,
    LongText,
    MissingTime,
    /// The value as it was written (JSON).
    BadTime(String),
    BadCount {
        count: Count,
        value: String,
    },
    BadUrl(String),
}

impl RowProblem {
    /// The table row and its values.
    pub fn error_args(&self) -> (VettingError, Vec<(&'static str, Arg)>) {
        let text = |name: &'static str, v: &dyn ToString| vec![(name, Arg::Text(v.to_string()))];
        match self {
            RowProblem::NotJson(e) => (VettingError::RowNotJson, text("error", e)),
            RowProblem::TooManyRows => (VettingError::RowLimit, text("max", &MAX_ROWS)),
            RowProblem::Header(e) => (VettingError::RowHeader, text("error", e)),
            RowProblem::MissingColumn { column, found } => (
                VettingError::RowMissingColumn,
                vec![
                    ("column", Arg::Text(column.to_string())),
                    ("found", Arg::Text(found.clone())),
                ],
            ),
            RowProblem::Csv(e) => (VettingError::RowCsv, text("error", e)),
            RowProblem::FieldCount { fields, columns } => (
                VettingError::RowFieldCount,
                vec![
                    ("fields", Arg::Text(fields.to_string())),
                    ("columns", Arg::Text(columns.to_string())),
                ],
            ),
            RowProblem::Unreadable(e) => (VettingError::RowUnreadable, text("error", e)),
            RowProblem::MissingHandle => (VettingError::RowMissingHandle, Vec::new()),
            RowProblem::BadHandle => (VettingError::RowBadHandle, Vec::new()),
            RowProblem::MissingPlatform => (VettingError::RowMissingPlatform, Vec::new()),
            RowProblem::LongPlatform => (VettingError::RowLongPlatform, Vec::new()),
            RowProblem::MissingText => (VettingError::RowMissingText, Vec::new()),
            RowProblem::LongText => (VettingError::RowLongText, text("max", &MAX_TEXT_CHARS)),
            RowProblem::MissingTime => (VettingError::RowMissingTime, Vec::new()),
            RowProblem::BadTime(v) => (VettingError::RowBadTime, text("value", v)),
            RowProblem::BadCount { count, value } => (
                VettingError::RowBadCount,
                vec![
                    ("field", Arg::Words(count.words())),
                    ("value", Arg::Text(value.clone())),
                ],
            ),
            RowProblem::BadUrl(u) => (VettingError::RowBadUrl, text("url", u)),
        }
    }

    /// The problem as an error: `message` in English, `text(lang)` in every language.
    pub fn error(&self) -> ApiError {
        let (error, args) = self.error_args();
        error.with_args(args)
    }
}

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Parsed {
    pub posts: Vec<ImportedPost>,
    pub errors: Vec<RowError>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Jsonl,
    Csv,
}

impl Format {
    /// From a file name, or failing that from the content (JSON lines start with `{`).
    pub fn guess(file_name: &str, content: &str) -> Format {
        let lower = file_name.to_ascii_lowercase();
        if lower.ends_with(".csv") || lower.ends_with(".tsv") {
            Format::Csv
        } else if lower.ends_with(".jsonl")
            || lower.ends_with(".ndjson")
            || lower.ends_with(".json")
            || content.trim_start().starts_with('{')
        {
            Format::Jsonl
        } else {
            Format::Csv
        }
    }
}

/// The fields of one row before validation, under the names exporters commonly use.
#[derive(Debug, Default, Deserialize)]
struct RawRow {
    #[serde(
        alias = "author",
        alias = "author_handle",
        alias = "user",
        alias = "screen_name",
        default
    )]
    handle: Option<String>,
    #[serde(alias = "source", alias = "network", default)]
    platform: Option<String>,
    #[serde(
        alias = "posted_at",
        alias = "created_at",
        alias = "date",
        alias = "timestamp",
        default
    )]
    time: Option<serde_json::Value>,
    #[serde(alias = "content", alias = "body", alias = "message", default)]
    text: Option<String>,
    #[serde(alias = "like_count", alias = "favorites", default)]
    likes: Option<serde_json::Value>,
    #[serde(alias = "repost_count", alias = "retweets", alias = "shares", default)]
    reposts: Option<serde_json::Value>,
    #[serde(alias = "comment_count", alias = "replies", default)]
    comments: Option<serde_json::Value>,
    #[serde(alias = "follower_count", alias = "followers_count", default)]
    followers: Option<serde_json::Value>,
    #[serde(alias = "link", alias = "permalink", default)]
    url: Option<String>,
    #[serde(alias = "post_id", alias = "external_id", default)]
    id: Option<serde_json::Value>,
}

pub fn parse(content: &str, format: Format) -> Parsed {
    let mut parsed = Parsed::default();
    match format {
        Format::Jsonl => {
            for (i, line) in content.lines().enumerate() {
                let line_no = i + 1;
                if line.trim().is_empty() {
                    continue;
                }
                match serde_json::from_str::<RawRow>(line) {
                    Ok(raw) => push(&mut parsed, line_no, raw),
                    Err(e) => parsed
                        .errors
                        .push(RowError::new(line_no, RowProblem::NotJson(e.to_string()))),
                }
                if parsed.posts.len() + parsed.errors.len() > MAX_ROWS {
                    parsed.errors.push(RowError::new(line_no, RowProblem::TooManyRows));
                    break;
                }
            }
        }
        Format::Csv => {
            let delimiter = if content
                .lines()
                .next()
                .is_some_and(|h| h.contains('\t') && !h.contains(','))
            {
                b'\t'
            } else {
                b','
            };
            let mut reader = csv::ReaderBuilder::new()
                .delimiter(delimiter)
                .flexible(true)
                .from_reader(content.as_bytes());
            let headers: Vec<String> = match reader.headers() {
                Ok(h) => h
                    .iter()
                    .map(|s| s.trim().trim_start_matches('\u{feff}').to_lowercase())
                    .collect(),
                Err(e) => {
                    parsed.errors.push(RowError::new(1, RowProblem::Header(e.to_string())));
                    return parsed;
                }
            };
            for (required, alternatives) in [
                ("handle", &["author", "author_handle", "user", "screen_name"][..]),
                ("text", &["content", "body", "message"][..]),
            ] {
                if !headers
                    .iter()
                    .any(|h| h == required || alternatives.contains(&h.as_str()))
                {
                    let found = headers.join(", ");
                    parsed.errors.push(RowError::new(
                        1,
                        RowProblem::MissingColumn {
                            column: required,
                            found,
                        },
                    ));
                }
            }
            if !parsed.errors.is_empty() {
                return parsed;
            }
            for record in reader.records() {
                let record = match record {
                    Ok(r) => r,
                    Err(e) => {
                        let line = e.position().map_or(0, |p| p.line() as usize);
                        parsed.errors.push(RowError::new(line, RowProblem::Csv(e.to_string())));
                        continue;
                    }
                };
                let line = record.position().map_or(0, |p| p.line() as usize);
                if record.len() != headers.len() {
                    let (fields, columns) = (record.len(), headers.len());
                    parsed
                        .errors
                        .push(RowError::new(line, RowProblem::FieldCount { fields, columns }));
                    continue;
                }
                let object: serde_json::Map<String, serde_json::Value> = headers
                    .iter()
                    .zip(record.iter())
                    .filter(|(_, v)| !v.trim().is_empty())
                    .map(|(h, v)| (h.clone(), serde_json::Value::String(v.to_string())))
                    .collect();
                match serde_json::from_value::<RawRow>(serde_json::Value::Object(object)) {
                    Ok(raw) => push(&mut parsed, line, raw),
                    Err(e) => parsed
                        .errors
                        .push(RowError::new(line, RowProblem::Unreadable(e.to_string()))),
                }
                if parsed.posts.len() + parsed.errors.len() > MAX_ROWS {
                    parsed.errors.push(RowError::new(line, RowProblem::TooManyRows));
                    break;
                }
            }
        }
    }
    parsed
}

fn push(parsed: &mut Parsed, line: usize, raw: RawRow) {
    match validate(line, raw) {
        Ok(post) => parsed.posts.push(post),
        Err(problem) => parsed.errors.push(RowError::new(line, problem)),
    }
}

fn validate(line: usize, raw: RawRow) -> Result<ImportedPost, RowProblem> {
    let handle = raw
        .handle
        .unwrap_or_default()
        .trim()
        .trim_start_matches('@')
        .to_string();
    if handle.is_empty() {
        return Err(RowProblem::MissingHandle);
    }
    if handle.chars().count() > 100 || handle.chars().any(char::is_control) {
        return Err(RowProblem::BadHandle);
    }
    let platform = raw.platform.unwrap_or_default().trim().to_lowercase();
    if platform.is_empty() {
        return Err(RowProblem::MissingPlatform);
    }
    if platform.chars().count() > 40 {
        return Err(RowProblem::LongPlatform);
    }
    let text = raw.text.unwrap_or_default();
    if text.trim().is_empty() {
        return Err(RowProblem::MissingText);
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(RowProblem::LongText);
    }
    let posted_at = match raw.time {
        None => return Err(RowProblem::MissingTime),
        Some(v) => parse_time(&v).ok_or_else(|| RowProblem::BadTime(v.to_string()))?,
    };
    let bad_count = |count: Count, v: &serde_json::Value| RowProblem::BadCount {
        count,
        value: v.to_string(),
    };
    let count = |count: Count, v: Option<serde_json::Value>| -> Result<i64, RowProblem> {
        match v {
            None => Ok(0),
            Some(v) => parse_count(&v).ok_or_else(|| bad_count(count, &v)),
        }
    };
    let followers = match raw.followers {
        None => None,
        Some(v) => Some(parse_count(&v).ok_or_else(|| bad_count(Count::Followers, &v))?),
    };
    let url = raw.url.map(|u| u.trim().to_string()).filter(|u| !u.is_empty());
    if let Some(u) = &url {
        if !(u.starts_with("https://") || u.starts_with("http://")) || u.len() > 2000 {
            return Err(RowProblem::BadUrl(u.clone()));
        }
    }
    let external_id = raw.id.map(|v| match v {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    });
    Ok(ImportedPost {
        line,
        handle,
        platform,
        posted_at,
        likes: count(Count::Likes, raw.likes)?,
        reposts: count(Count::Reposts, raw.reposts)?,
        comments: count(Count::Comments, raw.comments)?,
        followers,
        url,
        external_id: external_id.filter(|s| !s.trim().is_empty()),
        text,
    })
}

fn parse_count(v: &serde_json::Value) -> Option<i64> {
    let n = match v {
        serde_json::Value::Number(n) => n.as_i64()?,
        // Exports write "2,570,000" and "2.57M".
        serde_json::Value::String(s) => {
            let s = s.trim().replace([',', '_', ' '], "");
            let (digits, scale) = match s.chars().last() {
                Some('k' | 'K') => (&s[..s.len() - 1], 1e3),
                Some('m' | 'M') => (&s[..s.len() - 1], 1e6),
                Some('万') => (&s[..s.len() - '万'.len_utf8()], 1e4),
                _ => (s.as_str(), 1.0),
            };
            if scale == 1.0 {
                digits.parse::<i64>().ok()?
            } else {
                (digits.parse::<f64>().ok()? * scale).round() as i64
            }
        }
        _ => return None,
    };
    (0..=1_000_000_000_000).contains(&n).then_some(n)
}

/// Milliseconds since the epoch from RFC 3339, `YYYY-MM-DD[ HH:MM[:SS]]` (UTC) or Unix seconds
/// (or milliseconds, told apart by size).
pub fn parse_time(v: &serde_json::Value) -> Option<i64> {
    use time::format_description::well_known::Rfc3339;
    use time::macros::format_description;
    let ms = match v {
        serde_json::Value::Number(n) => epoch_ms(n.as_i64()?),
        serde_json::Value::String(s) => {
            let s = s.trim();
            if let Ok(n) = s.parse::<i64>() {
                epoch_ms(n)
            } else if let Ok(t) = time::OffsetDateTime::parse(s, &Rfc3339) {
                (t.unix_timestamp_nanos() / 1_000_000) as i64
            } else {
                let s = s.replace('T', " ").replace('/', "-");
                let date_time = time::PrimitiveDateTime::parse(
                    &s,
                    format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"),
                )
                .or_else(|_| {
                    time::PrimitiveDateTime::parse(&s, format_description!("[year]-[month]-[day] [hour]:[minute]"))
                })
                .or_else(|_| time::Date::parse(&s, format_description!("[year]-[month]-[day]")).map(|d| d.midnight()))
                .ok()?;
                (date_time.assume_utc().unix_timestamp_nanos() / 1_000_000) as i64
            }
        }
        _ => return None,
    };
    // Posts from before 2000 or more than a day in the future are typos.
    (946_684_800_000..=fanloop_platform::db::now_ms() + 86_400_000)
        .contains(&ms)
        .then_some(ms)
}

fn epoch_ms(n: i64) -> i64 {
    if n > 100_000_000_000 {
        n
    } else {
        n.saturating_mul(1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_report_every_bad_row_with_its_line() {
        let file = r#"{"handle":"@techguru","platform":"Weibo","time":"2024-05-01T12:00:00Z","text":"小米就是垃圾","likes":10,"followers":"2.57M"}

{"handle":"techguru","platform":"weibo","time":"yesterday","text":"hi"}
not json at all
{"handle":"","platform":"x","time":1714564800,"text":"hello"}
{"handle":"techguru","platform":"x","time":1714564800,"text":"ok","likes":-3}
{"author":"techguru","source":"x","created_at":"2024-05-02 08:30","content":"Xiaomi fans are losers","retweets":"1,204","url":"https://x.com/techguru/status/1","id":1}
"#;
        let parsed = parse(file, Format::Jsonl);
        assert_eq!(parsed.posts.len(), 2);
        assert_eq!(parsed.posts[0].handle, "techguru");
        assert_eq!(parsed.posts[0].platform, "weibo");
        assert_eq!(parsed.posts[0].followers, Some(2_570_000));
        assert_eq!(parsed.posts[1].line, 7);
        assert_eq!(parsed.posts[1].reposts, 1204);
        assert_eq!(parsed.posts[1].external_id.as_deref(), Some("1"));
        let lines: Vec<usize> = parsed.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![3, 4, 5, 6]);
        assert!(parsed.errors[0].message.contains("unreadable time"));
        assert!(parsed.errors[2].message.contains("handle"));
        assert!(parsed.errors[3].message.contains("likes"));
    }

    #[test]
    fn csv_rows_are_numbered_by_file_line_including_quoted_newlines() {
        let file = "handle,platform,time,text,likes,reposts,comments,followers\n\
                    techguru,weibo,2024-05-01,\"第一行\n第二行\",1,2,3,100\n\
                    techguru,weibo,2024-05-02\n\
                    techguru,weibo,not-a-date,hello,0,0,0,100\n\
                    techguru,weibo,2024-05-03,\"Les fans de Xiaomi sont des pigeons\",5,0,1,\"1,000\"\n";
        let parsed = parse(file, Format::Csv);
        assert_eq!(parsed.posts.len(), 2, "{:?}", parsed.errors);
        assert_eq!(parsed.posts[0].text, "第一行\n第二行");
        assert_eq!(parsed.posts[1].line, 6);
        assert_eq!(parsed.posts[1].followers, Some(1000));
        let lines: Vec<usize> = parsed.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![4, 5]);
    }

    #[test]
    fn a_csv_without_the_needed_columns_is_refused_up_front() {
        let parsed = parse("name,body2\na,b\n", Format::Csv);
        assert!(parsed.posts.is_empty());
        assert_eq!(parsed.errors.len(), 2);
        assert_eq!(parsed.errors[0].line, 1);
    }

    #[test]
    fn format_is_guessed_from_name_then_content() {
        assert_eq!(Format::guess("a.csv", "{"), Format::Csv);
        assert_eq!(Format::guess("upload", "  {\"a\":1}"), Format::Jsonl);
        assert_eq!(Format::guess("upload", "handle,text"), Format::Csv);
    }
}

/// Files nobody on the team wrote: no line of JSON or CSV may panic the parser.
#[cfg(test)]
mod fuzz {
    use super::*;

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(500))]
        #[test]
        fn any_file_parses_without_panicking(content in "(\\PC|[\\r\\n\\t,\"{}:\\[\\]\\u{0}\\u{feff}]|\"(handle|time|text|likes|followers)\"|[0-9]{1,20}|-?[0-9]+\\.[0-9]+e[0-9]{1,4}){0,120}") {
            let _ = parse(&content, Format::Jsonl);
            let _ = parse(&content, Format::Csv);
            let _ = parse_time(&serde_json::Value::String(content.clone()));
        }

        #[test]
        fn well_formed_lines_with_odd_values_never_panic(
            text in "\\PC{0,40}",
            time in proptest::prelude::any::<i64>(),
            likes in proptest::prelude::any::<i64>(),
            float in proptest::prelude::any::<f64>(),
        ) {
            let line = serde_json::json!({"handle": "x", "platform": "weibo", "time": time, "text": text,
                "likes": likes, "reposts": float, "comments": -1, "followers": float}).to_string();
            let _ = parse(&line, Format::Jsonl);
            let _ = parse(&format!("handle,platform,time,text,likes\nx,weibo,{time},\"{}\",{likes}\n", text.replace('"', "\"\"")), Format::Csv);
        }
    }
}
