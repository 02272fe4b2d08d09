//! Ordering by posting: a drop may require a public post, carrying its hashtag, to reserve or
//! to buy.  This module is the pure part: what a drop asks for, how a member's text becomes a
//! post, and when a post is a copy of another one.  No HTTP, no SQL.
//!
//! Abuse limits, and where each one holds:
//! - one post per account and drop (a unique index; a second order of the same member keeps
//!   the first post);
//! - a minimum length in the member's words (letters, digits, Chinese characters; the hashtag and
//!   punctuation do not count);
//! - copies refused: a text whose terms (the forum's analyser: simplified Chinese, stems, case
//!   folded) are ≥ [`COPY_JACCARD`] alike those of another member's post on the same wall.  The
//!   drop's own suggested text is not a copy: posting it as offered is what the brand asked for.
//!   Exact copies (same terms) are refused by a unique index in the order's own transaction, so
//!   even two at the same instant cannot both pass; near copies are found through MinHash bands
//!   against the posts already stored.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::error::LaunchError;

/// Terms in common / terms in either, from which two posts are one text.
pub const COPY_JACCARD: f64 = 0.8;
/// The longest post, in characters.
pub const MAX_POST_CHARS: usize = 1_000;
/// MinHash bands stored per post (rows per band: [`ROWS`]). Four rows a band keep the buckets of
/// words every post has small (with two, a word in every post was both minimums of a band in one
/// short post of 64, and a wall of 50,000 such posts sent each new one hundreds of candidates);
/// sixteen bands keep near copies found: 1 − (1 − 0.8⁴)¹⁶ > 0.999 at Jaccard 0.8.
pub const BANDS: usize = 16;
const ROWS: usize = 4;

/// When a drop asks for a post.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ShareOn {
    /// Reserving is done by posting (buying is not).
    Reserve,
    /// Every first order of a member is placed by posting.
    Buy,
    /// Both.
    Both,
}

impl ShareOn {
    pub fn as_str(self) -> &'static str {
        match self {
            ShareOn::Reserve => "reserve",
            ShareOn::Buy => "buy",
            ShareOn::Both => "both",
        }
    }

    pub fn parse(s: &str) -> Option<ShareOn> {
        match s {
            "reserve" => Some(ShareOn::Reserve),
            "buy" => Some(ShareOn::Buy),
            "both" => Some(ShareOn::Both),
            _ => None,
        }
    }

    pub fn to_reserve(self) -> bool {
        matches!(self, ShareOn::Reserve | ShareOn::Both)
    }

    pub fn to_buy(self) -> bool {
        matches!(self, ShareOn::Buy | ShareOn::Both)
    }
}

/// A drop's share setting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ShareRule {
    pub on: ShareOn,
    /// The topic, without its '#' marks: posts carry it as `#topic#`.
    #[schema(min_length = 2, max_length = 30)]
    pub hashtag: String,
    /// The text offered in the post box, which members may keep or change.
    #[serde(default)]
    #[schema(max_length = 500)]
    pub template: String,
    /// Fewest letters, digits or Chinese characters of the member's own (hashtag not counted).
    #[serde(default = "default_min_chars")]
    #[schema(minimum = 0, maximum = 200)]
    pub min_chars: u32,
    /// The forum board where the drop's wall is mirrored (one thread; each post a reply).
    #[schema(min_length = 2, max_length = 40)]
    pub board: String,
}

fn default_min_chars() -> u32 {
    8
}

impl ShareRule {
    /// The hashtag as posts carry it.
    pub fn tag(&self) -> String {
        format!("#{}#", self.hashtag)
    }

    /// The text the post box starts with: the suggestion and the hashtag.
    pub fn prefill(&self) -> String {
        with_hashtag(&self.template, &self.hashtag)
    }

    /// Checks a setting before a drop is created with it.
    pub fn check(&self) -> Result<(), LaunchError> {
        let tag = self.hashtag.trim();
        let n = tag.chars().count();
        if !(2..=30).contains(&n)
            || tag
                .chars()
                .any(|c| c == '#' || c == '＃' || c.is_whitespace() || c.is_control())
        {
            return Err(LaunchError::ShareBadHashtag);
        }
        if self.template.chars().count() > 500 || self.min_chars > 200 || has_link(&self.template) {
            return Err(LaunchError::ShareBadTemplate);
        }
        // The suggestion itself must be postable as it is.
        if !self.template.trim().is_empty() && own_chars(&self.prefill(), &self.hashtag) < self.min_chars as usize {
            return Err(LaunchError::ShareBadTemplate);
        }
        Ok(())
    }
}

/// A post about to be stored with its order or reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharePost {
    pub body: String,
    /// The drop's suggested text, kept or barely changed: never a copy of anyone.
    pub from_template: bool,
    /// SHA-256 of the sorted terms (own words only; `None` for the suggested text): two posts
    /// with the same one are the same text.
    pub fingerprint: Option<String>,
    /// MinHash bands of the terms (empty for the suggested text), to find near copies.
    pub bands: Vec<i64>,
    /// The terms, to compare with the candidates the bands find.
    pub terms: BTreeSet<String>,
}

/// `text` with the drop's hashtag, added at the end when the member left it out.
pub fn with_hashtag(text: &str, hashtag: &str) -> String {
    let text = fanloop_platform::text::multiline(text).trim().to_string();
    let tag = format!("#{hashtag}#");
    if text.to_lowercase().contains(&tag.to_lowercase()) {
        text
    } else if text.is_empty() {
        tag
    } else {
        format!("{text} {tag}")
    }
}

/// The text without the hashtag.
fn without_hashtag(text: &str, hashtag: &str) -> String {
    // Matched character by character on the text as typed (lower-casing may change byte
    // lengths, so offsets in a lower-cased copy would not fit the original).
    let tag: Vec<char> = format!("#{hashtag}#").to_lowercase().chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    'scan: while !rest.is_empty() {
        let mut want = tag.iter();
        let mut taken = 0;
        let mut matched = true;
        'chars: for (i, c) in rest.char_indices() {
            for l in c.to_lowercase() {
                match want.next() {
                    Some(w) if *w == l => {}
                    _ => {
                        matched = false;
                        break 'chars;
                    }
                }
            }
            if want.len() == 0 {
                taken = i + c.len_utf8();
                break;
            }
        }
        if matched && taken > 0 {
            out.push(' ');
            rest = &rest[taken..];
            continue 'scan;
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            out.push(c);
        }
        rest = chars.as_str();
    }
    out
}

/// A web address, or anything the forum's Markdown would render as a link or a picture (the
/// mirror renders it there).
fn has_link(text: &str) -> bool {
    let lower = text.to_lowercase();
    if lower.contains("://") || lower.contains("www.") || lower.contains("mailto:") {
        return true;
    }
    let html = fanloop_community::domain::render_markdown(text);
    html.contains("<a ") || html.contains("<img")
}

/// Letters, digits and Chinese characters of the member's own words.
pub fn own_chars(text: &str, hashtag: &str) -> usize {
    without_hashtag(text, hashtag)
        .chars()
        .filter(|c| c.is_alphanumeric())
        .count()
}

/// The terms two posts are compared by: the forum analyser's, on the text with punctuation and
/// spaces between Chinese characters taken out (so "铁上 终于" and "铁上，终于" read alike).
pub fn terms(text: &str, hashtag: &str) -> BTreeSet<String> {
    fanloop_community::search::index_terms(&squeezed(&without_hashtag(text, hashtag)))
        .into_iter()
        .collect()
}

fn squeezed(text: &str) -> String {
    use fanloop_platform::text::is_han;
    let chars: Vec<char> = text
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    let mut out = String::with_capacity(text.len());
    let mut last: Option<char> = None;
    for (i, c) in chars.iter().enumerate() {
        if *c == ' ' {
            let next = chars[i + 1..].iter().find(|n| **n != ' ');
            let between_han = last.is_some_and(is_han) && next.is_some_and(|n| is_han(*n));
            if between_han || last == Some(' ') || last.is_none() {
                continue;
            }
        }
        out.push(*c);
        last = Some(*c);
    }
    out
}

pub fn jaccard(a: &BTreeSet<String>, b: &BTreeSet<String>) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let common = a.intersection(b).count();
    common as f64 / (a.len() + b.len() - common) as f64
}

/// A 64-bit finaliser (splitmix64's): nearby inputs give unrelated outputs.
fn mix(mut h: u64) -> u64 {
    h = h.wrapping_add(0x9E37_79B9_7F4A_7C15);
    h = (h ^ (h >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    h ^ (h >> 31)
}

/// FNV-1a, seeded: the same on every node and in every release (the bands are stored).
fn hash(seed: u64, s: &str) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    // A final mix, so nearby seeds give unrelated orders.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

/// [`BANDS`] numbers such that two texts whose terms are ≥ 0.8 alike share at least one with
/// probability above 0.999 (each band: [`ROWS`] minimums of seeded hashes).
pub fn bands(terms: &BTreeSet<String>) -> Vec<i64> {
    if terms.is_empty() {
        return Vec::new();
    }
    // Each term hashed once; its seeded hashes are derived from that (one multiply-mix each).
    let base: Vec<u64> = terms.iter().map(|t| hash(0, t)).collect();
    (0..BANDS)
        .map(|band| {
            let mut key = 0xcbf2_9ce4_8422_2325u64 ^ band as u64;
            for row in 0..ROWS {
                let seed = (band * ROWS + row) as u64 + 1;
                let min = base
                    .iter()
                    .map(|h| mix(h ^ seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)))
                    .min()
                    .unwrap_or(0);
                key = mix(key ^ min);
            }
            // Band number in the top bits, so equal minimums in two bands stay two keys.
            (key >> 4) as i64 ^ ((band as i64) << 60)
        })
        .collect()
}

/// A member's typed text as the post it would be, or why it cannot be one.
pub fn prepare(rule: &ShareRule, typed: &str) -> Result<SharePost, LaunchError> {
    if typed.trim().is_empty() {
        return Err(LaunchError::ShareRequired);
    }
    if fanloop_platform::text::multiline(typed).trim().chars().count() > MAX_POST_CHARS {
        return Err(LaunchError::ShareTooLong);
    }
    let body = with_hashtag(typed, &rule.hashtag);
    if body.chars().count() > MAX_POST_CHARS + rule.hashtag.chars().count() + 3 {
        return Err(LaunchError::ShareTooLong);
    }
    if own_chars(&body, &rule.hashtag) < rule.min_chars as usize {
        return Err(LaunchError::ShareTooShort);
    }
    // The forum holds new members' links for a moderator; a wall post skips that queue, so it
    // carries none.
    if has_link(&body) {
        return Err(LaunchError::ShareNoLinks);
    }
    let terms = terms(&body, &rule.hashtag);
    let template = terms_of_template(rule);
    let from_template = !template.is_empty() && jaccard(&terms, &template) >= COPY_JACCARD;
    let (fingerprint, bands) = if from_template || terms.is_empty() {
        (None, Vec::new())
    } else {
        let digest = Sha256::digest(joined_terms(&terms).as_bytes());
        (Some(hex::encode(&digest[..16])), bands(&terms))
    };
    Ok(SharePost {
        body,
        from_template,
        fingerprint,
        bands,
        terms,
    })
}

fn terms_of_template(rule: &ShareRule) -> BTreeSet<String> {
    terms(&rule.template, &rule.hashtag)
}

/// The terms as stored with a post.
pub fn joined_terms(terms: &BTreeSet<String>) -> String {
    terms.iter().map(String::as_str).collect::<Vec<_>>().join("\u{1f}")
}

/// Whether `post` copies one of `others` (stored terms of other members' posts on the wall).
pub fn copies_any(post: &SharePost, others: &[String]) -> bool {
    if post.from_template || post.fingerprint.is_none() {
        return false;
    }
    others.iter().any(|o| {
        let theirs: BTreeSet<String> = o
            .split('\u{1f}')
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect();
        jaccard(&post.terms, &theirs) >= COPY_JACCARD
    })
}

/// What a purchase or reservation carries to the transaction that stores it.
pub type Carried = Option<Arc<SharePost>>;

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> ShareRule {
        ShareRule {
            on: ShareOn::Buy,
            hashtag: "AuroraBuds首发".into(),
            template: "我在 fanloop 抢 Aurora Buds，一起来！".into(),
            min_chars: 8,
            board: "announcements".into(),
        }
    }

    #[test]
    fn the_hashtag_is_added_once_and_does_not_count_as_words() {
        let r = rule();
        assert_eq!(with_hashtag("好耳机", &r.hashtag), "好耳机 #AuroraBuds首发#");
        assert_eq!(
            with_hashtag("#auroraBUDS首发# 好耳机", &r.hashtag),
            "#auroraBUDS首发# 好耳机"
        );
        assert_eq!(with_hashtag("", &r.hashtag), "#AuroraBuds首发#");
        assert_eq!(own_chars("#AuroraBuds首发#!!!", &r.hashtag), 0);
        assert_eq!(
            prepare(&r, "#AuroraBuds首发# ！！！？？").unwrap_err(),
            LaunchError::ShareTooShort
        );
        assert_eq!(prepare(&r, "  \n ").unwrap_err(), LaunchError::ShareRequired);
        assert_eq!(prepare(&r, &"长".repeat(1_200)).unwrap_err(), LaunchError::ShareTooLong);
        assert_eq!(own_chars("İ#AuroraBuds首发#ẞ 好", &r.hashtag), 3);
        assert_eq!(without_hashtag("ẞ#AURORABUDS首发#İ", &r.hashtag), "ẞ İ");
        for linked in [
            "买这个 https://spam.example 很便宜",
            "买这个 www.spam.example 很便宜",
            "看看这里 [便宜](/x) 好东西",
            "#AuroraBuds首发# 看看这里 [便宜][1] 好东西\n\n[1]: /spam",
            "写信 <mailto:a@spam.example> 好东西好东西",
        ] {
            assert_eq!(prepare(&r, linked).unwrap_err(), LaunchError::ShareNoLinks, "{linked}");
        }
    }

    #[test]
    fn the_suggested_text_is_never_a_copy_and_own_words_are() {
        let r = rule();
        let offered = prepare(&r, &r.prefill()).unwrap();
        assert!(offered.from_template && offered.fingerprint.is_none());
        assert!(!copies_any(&offered, &[joined_terms(&terms(&r.prefill(), &r.hashtag))]));
        let own = "降噪很强，通勤地铁上终于听得清播客了";
        let mine = prepare(&r, own).unwrap();
        assert!(!mine.from_template && mine.fingerprint.is_some());
        // Punctuation, spacing, traditional characters and the hashtag's place do not hide a copy.
        let copy = prepare(&r, "#AuroraBuds首发# 降噪很強！通勤地鐵上 終於聽得清播客了！！").unwrap();
        assert_eq!(copy.fingerprint, mine.fingerprint);
        assert!(copies_any(&copy, &[joined_terms(&mine.terms)]));
        // One word changed in a longer text: still a copy (near).
        let long = "降噪很强，通勤地铁上终于听得清播客了，续航一整天也够用，充电盒小巧好放口袋";
        let near = "降噪很强，通勤地铁上终于听得清播客了，续航一整天也够用，充电盒小巧方便放口袋";
        let (a, b) = (prepare(&r, long).unwrap(), prepare(&r, near).unwrap());
        assert!(copies_any(&b, &[joined_terms(&a.terms)]));
        assert!(a.bands.iter().any(|x| b.bands.contains(x)), "near copies share a band");
        // A different text is not.
        let other = prepare(&r, "音质比上一代通透，低频不轰头，佩戴两小时耳朵不疼").unwrap();
        assert!(!copies_any(
            &other,
            &[joined_terms(&mine.terms), joined_terms(&a.terms)]
        ));
    }

    #[test]
    fn settings_are_checked() {
        let mut r = rule();
        assert!(r.check().is_ok());
        r.hashtag = "two words".into();
        assert_eq!(r.check(), Err(LaunchError::ShareBadHashtag));
        r.hashtag = "#x#".into();
        assert_eq!(r.check(), Err(LaunchError::ShareBadHashtag));
        r = rule();
        r.template = "短".into();
        assert_eq!(r.check(), Err(LaunchError::ShareBadTemplate));
    }

    #[test]
    fn any_text_prepares_or_is_refused_without_panicking() {
        let r = rule();
        for t in [
            "\u{0}\u{1}\u{200b}\u{feff}",
            "😀😀😀😀😀😀😀😀😀😀",
            "«»“”‘’「」『』……——",
            "#AuroraBuds首发##AuroraBuds首发#",
            "İİİİİİİİİİİİ ǅǅǅǅ",
            "\r\n\r\n\t\t",
            "a\u{301}b\u{301}c\u{301}d\u{301}e\u{301}f\u{301}g\u{301}h\u{301}",
            // Lower-casing changes byte lengths both ways here (İ grows, ẞ shrinks).
            "İ#AuroraBuds首发#ẞẞẞ 降噪很强通勤地铁上终于听得清",
            "ẞ#AURORABUDS首发#İİ 降噪很强通勤地铁上终于听得清",
            "[x][1] 降噪很强通勤地铁上终于听得清\n\n[1]: //spam.example",
        ] {
            let _ = prepare(&r, t);
        }
    }
}
