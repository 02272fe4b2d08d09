//! Trending terms and hashtags, and burst detection.
//!
//! Each post contributes its hashtags (Weibo's `#话题#` and the `#tag` style) and its content
//! words (jieba words of two or more characters, Latin words of three or more letters, minus
//! stop words), once per post.  Counts are kept per hour.
//!
//! A term bursts in a bucket when it is far above what its recent share of the conversation
//! predicts: expected = (term count in the baseline window + 1) / (posts in the baseline + 1)
//! × posts in this bucket, and the observed count must be at least `min_count`, at least
//! `min_ratio` × expected, and improbable under a Poisson with that mean (upper tail below
//! `max_p`).  Scaling by the bucket's volume keeps a busy evening, or a launch that makes every
//! term louder, from flagging everything.  Bursts are ranked by the Poisson log-likelihood
//! ratio, which favours large and surprising rises over small noisy ones.

use std::collections::{HashMap, HashSet};

use fanloop_vetting::text;
use once_cell::sync::Lazy;
use serde::Serialize;
use utoipa::ToSchema;

/// Words that say nothing about a topic: the stopwords-iso lists for Chinese, English and French
/// (from the `stop-words` crate) and our own file of forum words (thanks, anyone, 之后, 谢谢, merci…),
/// minus the few product words those lists hold ("order", "fix").
static STOP_WORDS: Lazy<HashSet<&'static str>> = Lazy::new(|| {
    const KEEP: &[&str] = &[
        "order", "orders", "fix", "fixed", "system", "problem", "problems", "home", "open", "opens", "case", "face",
        "test", "tests", "side", "turn", "turns", "line", "lines", "number", "son", "point", "power", "light", "sound",
        "call", "calls", "play", "show", "run", "runs", "work", "works", "working", "full", "back", "top", "end",
    ];
    let mut words: HashSet<&'static str> = include_str!("../data/stopwords.txt").split_whitespace().collect();
    for lang in ["zh", "en", "fr"] {
        words.extend(stop_words::get(lang).iter().copied());
    }
    words.retain(|w| !KEEP.contains(w));
    words
});

/// Pieces of version numbers and other tokenizer debris ("0-beta", "3.3", "v2-1"): a token that
/// starts with a digit and is not a plain number or a model name such as "5g" or "120hz".
fn is_debris(t: &str) -> bool {
    let starts_with_digit = t.chars().next().is_some_and(|c| c.is_ascii_digit());
    starts_with_digit && t.chars().any(|c| !c.is_alphanumeric())
}

/// Weibo topics (`#话题#`: text between two '#', with a Chinese character, no line break, at most
/// 30 characters) in normalized text, with each one's byte span (both '#' included).
fn weibo_topics(norm: &str) -> Vec<(String, (usize, usize))> {
    let mut found = Vec::new();
    let mut rest = norm;
    let base = norm.as_ptr() as usize;
    while let Some(start) = rest.find('#') {
        let after = &rest[start + 1..];
        match after.find(['#', '\n']) {
            Some(end)
                if after[..end].chars().any(text::is_han)
                    && after[..end].chars().count() <= 30
                    && after.as_bytes()[end] == b'#' =>
            {
                let topic = after[..end].trim();
                let abs = rest.as_ptr() as usize - base + start;
                if !topic.is_empty() {
                    found.push((format!("#{topic}#"), (abs, abs + end + 2)));
                }
                rest = &after[end + 1..];
            }
            _ => rest = after,
        }
    }
    found
}

/// The hashtags of one post, each once, in the form `terms` gives them (`#话题#`, `#tag`),
/// without segmenting the text: cheap enough to scan every post of a campaign.
pub fn hashtags(original: &str) -> Vec<String> {
    let norm = text::normalize(original).text;
    let topics = weibo_topics(&norm);
    let mut out: Vec<String> = Vec::new();
    for (topic, _) in &topics {
        if !out.contains(topic) {
            out.push(topic.clone());
        }
    }
    let word_char = |c: char| c.is_alphanumeric() && !text::is_han(c);
    for (at, _) in norm.match_indices('#') {
        if topics.iter().any(|(_, (a, b))| at >= *a && at < *b) {
            continue;
        }
        let mut tag = String::new();
        let mut chars = norm[at + 1..].chars().peekable();
        while let Some(c) = chars.next() {
            let joiner = c == '_' || (c == '-' && chars.peek().is_some_and(|n| word_char(*n)));
            if !(word_char(c) || (!tag.is_empty() && joiner)) {
                break;
            }
            tag.push(c);
        }
        if tag.chars().count() >= 2 {
            let tag = format!("#{tag}");
            if !out.contains(&tag) {
                out.push(tag);
            }
        }
    }
    out
}

/// Hashtags and content words of one post, each once, hashtags with their leading '#'.
pub fn terms(original: &str) -> Vec<String> {
    let norm = text::normalize(original).text;
    let mut out: Vec<String> = Vec::new();
    let push = |t: String, out: &mut Vec<String>| {
        if !out.contains(&t) {
            out.push(t);
        }
    };
    let topics = weibo_topics(&norm);
    let weibo_spans: Vec<(usize, usize)> = topics.iter().map(|(_, span)| *span).collect();
    for (topic, _) in topics {
        push(topic, &mut out);
    }
    for token in text::tokenize(&norm) {
        if weibo_spans.iter().any(|(a, b)| token.start >= *a && token.start < *b) {
            continue;
        }
        let t = token.text.as_str();
        if let Some(tag) = t.strip_prefix('#') {
            if tag.chars().count() >= 2 {
                push(format!("#{tag}"), &mut out);
            }
            continue;
        }
        if t.starts_with('@') || t.chars().all(|c| c.is_ascii_digit()) || STOP_WORDS.contains(t) || is_debris(t) {
            continue;
        }
        let long_enough = if token.han {
            t.chars().count() >= 2
        } else {
            t.chars().count() >= 3
        };
        if long_enough {
            push(t.to_string(), &mut out);
        }
    }
    out
}

#[derive(Debug, Clone, Copy)]
pub struct BurstConfig {
    /// Buckets before the current one that make the baseline.
    pub baseline: usize,
    pub min_count: u32,
    pub min_ratio: f64,
    pub max_p: f64,
}

impl BurstConfig {
    pub const HOURLY: BurstConfig = BurstConfig {
        baseline: 48,
        min_count: 5,
        min_ratio: 3.0,
        max_p: 1e-6,
    };
    pub const DAILY: BurstConfig = BurstConfig {
        baseline: 14,
        min_count: 5,
        min_ratio: 2.5,
        max_p: 1e-6,
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
pub struct Burst {
    pub observed: u32,
    pub expected: f64,
    /// Poisson log-likelihood ratio of the rise: the ranking score.
    pub score: f64,
}

/// Is `counts[at]` a burst, given the posts per bucket in `totals`?
pub fn burst_at(counts: &[u32], totals: &[u32], at: usize, cfg: &BurstConfig) -> Option<Burst> {
    let observed = counts[at];
    if observed < cfg.min_count {
        return None;
    }
    let from = at.saturating_sub(cfg.baseline);
    let base_term: u64 = counts[from..at].iter().map(|&c| c as u64).sum();
    let base_total: u64 = totals[from..at].iter().map(|&c| c as u64).sum();
    let expected = (base_term as f64 + 1.0) / (base_total as f64 + 1.0) * totals[at].max(1) as f64;
    let expected = expected.max(0.1);
    if (observed as f64) < cfg.min_ratio * expected {
        return None;
    }
    if poisson_upper_tail_ln(observed, expected) > cfg.max_p.ln() {
        return None;
    }
    let k = observed as f64;
    Some(Burst {
        observed,
        expected,
        score: k * (k / expected).ln() - (k - expected),
    })
}

/// ln P(X ≥ k) for X ~ Poisson(λ), k > λ: the first term times the geometric bound of the rest.
fn poisson_upper_tail_ln(k: u32, lambda: f64) -> f64 {
    let k_f = k as f64;
    let ln_pmf = k_f * lambda.ln() - lambda - ln_factorial(k);
    let ratio = lambda / (k_f + 1.0);
    if ratio >= 1.0 {
        return 0.0;
    }
    ln_pmf - (1.0 - ratio).ln()
}

fn ln_factorial(k: u32) -> f64 {
    if k < 2 {
        return 0.0;
    }
    if k < 64 {
        return (2..=k).map(|i| (i as f64).ln()).sum();
    }
    // Stirling with the 1/12k term: exact to ~1e-6 here.
    let n = k as f64;
    n * n.ln() - n + 0.5 * (2.0 * std::f64::consts::PI * n).ln() + 1.0 / (12.0 * n)
}

/// Counts per bucket for a set of posts: (bucket → term → count, bucket → posts).
#[derive(Debug, Default, Clone)]
pub struct Counts {
    pub terms: HashMap<(i64, String), u32>,
    pub totals: HashMap<i64, u32>,
}

impl Counts {
    pub fn add_post(&mut self, bucket: i64, text: &str) {
        *self.totals.entry(bucket).or_default() += 1;
        for t in terms(text) {
            *self.terms.entry((bucket, t)).or_default() += 1;
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Trend {
    pub term: String,
    pub is_hashtag: bool,
    /// Count per bucket over the window, oldest first (for the sparkline).
    pub series: Vec<u32>,
    pub total: u32,
    /// The strongest burst in the detection window, if any.
    pub burst: Option<Burst>,
    /// Start (ms) of the first bucket of the detection window where it burst.
    pub burst_started_at: Option<i64>,
}

/// Ranks terms over the buckets of `series` (the first starting at `start_ms`): bursting terms
/// first (by score), then the most frequent in the last `detect` buckets.
pub fn rank(
    series: &HashMap<String, Vec<u32>>,
    totals: &[u32],
    start_ms: i64,
    bucket_ms: i64,
    detect: usize,
    cfg: &BurstConfig,
    limit: usize,
) -> Vec<Trend> {
    let n = totals.len();
    let mut trends: Vec<Trend> = series
        .iter()
        .map(|(term, counts)| {
            let mut best: Option<(usize, Burst)> = None;
            let mut first: Option<usize> = None;
            for at in n.saturating_sub(detect)..n {
                if let Some(b) = burst_at(counts, totals, at, cfg) {
                    first.get_or_insert(at);
                    if best.is_none_or(|(_, x)| b.score > x.score) {
                        best = Some((at, b));
                    }
                }
            }
            Trend {
                term: term.clone(),
                is_hashtag: term.starts_with('#'),
                total: counts[n.saturating_sub(detect)..].iter().sum(),
                series: counts.clone(),
                burst: best.map(|(_, b)| b),
                burst_started_at: first.map(|i| start_ms + i as i64 * bucket_ms),
            }
        })
        .filter(|t| t.total > 0)
        .collect();
    trends.sort_by(|a, b| {
        let score = |t: &Trend| t.burst.map_or(0.0, |b| b.score);
        score(b)
            .total_cmp(&score(a))
            .then(b.total.cmp(&a.total))
            .then(a.term.cmp(&b.term))
    });
    trends.truncate(limit);
    trends
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashtags_in_both_styles_and_content_words_are_extracted_once() {
        let t = terms("#小米14# 的相机 太强了！#Xiaomi14 #xiaomi14 the camera and the camera");
        assert!(t.contains(&"#小米14#".to_string()), "{t:?}");
        assert!(t.contains(&"#xiaomi14".to_string()), "{t:?}");
        assert_eq!(t.iter().filter(|x| *x == "#xiaomi14").count(), 1);
        assert!(
            t.contains(&"相机".to_string()) && t.contains(&"camera".to_string()),
            "{t:?}"
        );
        assert!(!t.contains(&"the".to_string()) && !t.contains(&"and".to_string()));
        assert!(
            !t.iter().any(|x| x == "小米14"),
            "the topic's words are not counted twice: {t:?}"
        );
    }

    /// The top "terms" on real forums were 之后, 谢谢, merci, thanks and "0-beta": words of
    /// politeness and time, and version debris, say nothing about a topic.
    #[test]
    fn politeness_time_words_and_version_debris_are_not_terms() {
        let t = terms("谢谢大家！升级 3.3.0-beta.1 之后充电发烫。Thanks, anyone else? Merci d'avance, depuis la 3.3 ça chauffe. 5G and 120Hz fine, order stuck");
        for gone in [
            "谢谢", "之后", "thanks", "anyone", "merci", "depuis", "0-beta", "3.3", "beta.1",
        ] {
            assert!(!t.iter().any(|x| x == gone), "{gone} in {t:?}");
        }
        for kept in ["充电", "发烫", "chauffe", "120hz", "order", "stuck"] {
            assert!(t.iter().any(|x| x == kept), "{kept} missing from {t:?}");
        }
    }

    #[test]
    fn hashtags_agree_with_the_hashtags_terms_finds() {
        for post in [
            "#小米14# 的相机 太强了！#Xiaomi14 #xiaomi14 the camera",
            "Sortie photo #ShotOnFan_2026 et #mi-fans, pas # seul ni #a",
            "#小米 拍照大赛# 參加了 #攝影# 還有#x14pro",
            "no tags here, just a # and ## and #-x",
        ] {
            let mut from_terms: Vec<String> = terms(post).into_iter().filter(|t| t.starts_with('#')).collect();
            let mut cheap = hashtags(post);
            from_terms.sort();
            cheap.sort();
            assert_eq!(cheap, from_terms, "{post}");
        }
        assert_eq!(
            hashtags("參加 #攝影大賽#"),
            vec!["#摄影大赛#".to_string()],
            "traditional → simplified"
        );
    }

    #[test]
    fn a_sudden_rise_bursts_but_a_busier_hour_does_not() {
        let cfg = BurstConfig::HOURLY;
        let totals = vec![100; 50];
        let mut counts = vec![2; 50];
        counts[49] = 30;
        let b = burst_at(&counts, &totals, 49, &cfg).expect("burst");
        assert!(b.expected < 3.0 && b.score > 30.0, "{b:?}");
        // The whole site is 10× busier: a term keeping its share is not a burst.
        let mut totals = vec![100; 50];
        totals[49] = 1000;
        counts[49] = 20;
        assert!(burst_at(&counts, &totals, 49, &cfg).is_none());
        // Too few to matter, however surprising.
        let mut counts = vec![0; 50];
        counts[49] = 4;
        assert!(burst_at(&counts, &[100; 50], 49, &cfg).is_none());
    }

    #[test]
    fn poisson_tail_is_close_to_the_exact_sum() {
        // P(X ≥ 10 | λ = 2) = 4.65e-5
        let ln = poisson_upper_tail_ln(10, 2.0);
        assert!((ln.exp() - 4.65e-5).abs() < 0.3e-5, "{}", ln.exp());
        assert!((ln_factorial(70) - (1..=70).map(|i| (i as f64).ln()).sum::<f64>()).abs() < 1e-6);
    }
}

#[cfg(test)]
mod fuzz {
    use super::*;

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1000))]
        #[test]
        fn terms_and_hashtags_of_any_text_never_panic(text in "(\\PC|[#＃\\r\\n\\t\\u{0}\\u{200b}\\u{feff} ]|#[^#]{0,12}#|[A-Za-z0-9_]{1,8}){0,60}") {
            for tag in hashtags(&text) {
                proptest::prop_assert!(!tag.is_empty());
            }
            let _ = terms(&text);
        }
    }
}
