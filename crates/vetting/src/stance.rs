//! Stance toward the brand and, separately, toward its fans, judged clause by clause around each
//! mention; plus incidents (court rulings, suspensions, insults) found anywhere in a post.
//!
//! The rules, in the order a reader needs them:
//! - A clause is about the brand if it names the brand, a product or an executive; about the
//!   fans if it names the fan community, uses a slur for it, or says "fans" in a post about the
//!   brand ("Xiaomi fans" is about the fans, not the brand).  A clause naming nothing inherits
//!   the targets of the clause just before it ("Bought the Xiaomi 14. Total garbage.").
//! - A sentiment word preceded by a negation in its clause (3 words, or 2 Chinese words) does
//!   not count; a negated compliment is criticism.
//! - Insults and accusations are hostility toward whoever the clause is about.  Harsh words
//!   ("garbage", "垃圾", "nul") are hostility toward people, but only criticism when the clause
//!   talks about a product aspect ("the battery is garbage after the update").  Criticism is
//!   neutral: it is what a fair reviewer writes.

use fanloop_platform::i18n::Lang;
use serde::Serialize;
use utoipa::ToSchema;

use crate::lexicon::{AliasKind, Category, Hit, Kind, Matcher};
use crate::text::{self, Clause, Normalized, Token};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    Brand,
    Fans,
    /// Whoever a community post talks about (the candidate).
    Subject,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Stance {
    Hostile,
    Neutral,
    Supportive,
}

impl Stance {
    pub fn as_str(self) -> &'static str {
        match self {
            Stance::Hostile => "hostile",
            Stance::Neutral => "neutral",
            Stance::Supportive => "supportive",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum IncidentKind {
    /// A court ruling, a lost lawsuit, an apology or damages ordered.
    CourtRuling,
    /// An account suspended, banned or muted by a platform.
    AccountBan,
    /// Insulting language, at the brand, its fans or anyone.
    Insult,
}

impl IncidentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentKind::CourtRuling => "court_ruling",
            IncidentKind::AccountBan => "account_ban",
            IncidentKind::Insult => "insult",
        }
    }
}

/// A clause that decided a stance, quoted from the original text.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Evidence {
    pub target: Target,
    pub stance: Stance,
    pub quote: String,
    /// The words that decided it, as written in the lexicon or the profile.
    pub cues: Vec<String>,
    /// Set when harsh words were read as product criticism.
    pub criticism: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Incident {
    pub kind: IncidentKind,
    pub quote: String,
    pub cues: Vec<String>,
    /// Whom an insult was aimed at, when known.
    pub target: Option<Target>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Analysis {
    #[schema(value_type = String)]
    pub lang: Lang,
    pub mentions_brand: bool,
    pub mentions_fans: bool,
    pub brand: Option<Stance>,
    pub fans: Option<Stance>,
    pub subject: Option<Stance>,
    /// The post criticises a product without hostility.
    pub criticism: bool,
    pub evidence: Vec<Evidence>,
    pub incidents: Vec<Incident>,
    /// How bad the post is, for ranking quotes: 0 for posts with nothing hostile.
    pub severity: u32,
}

impl Analysis {
    pub fn stance(&self, target: Target) -> Option<Stance> {
        match target {
            Target::Brand => self.brand,
            Target::Fans => self.fans,
            Target::Subject => self.subject,
        }
    }
    pub fn has_incident(&self, kind: IncidentKind) -> bool {
        self.incidents.iter().any(|i| i.kind == kind)
    }
}

/// Words that make "fans" somebody else's ("my fans", "mes fans").
const OWN_POSSESSIVES: &[&str] = &["my", "our", "mes", "mon", "nos", "我的", "我们的"];

/// Tokens before a sentiment word in which a negation cancels it.
fn negation_window(han: bool) -> usize {
    if han {
        2
    } else {
        3
    }
}

pub fn analyze(matcher: &Matcher, original: &str) -> Analysis {
    analyze_in(matcher, original, text::detect_lang(original))
}

/// Words that introduce what somebody else said ("有人说…", "someone called Mi Fans…",
/// "quelqu'un a traité…"): the rest of that clause is their words, not the author's.  Every
/// frame names the other speaker; "I call Mi Fans idiots" is the author's own.
const REPORTING_FRAMES: &[&str] = &[
    "有人说",
    "有人骂",
    "有人称",
    "有人叫",
    "有人把",
    "总有人说",
    "老有人说",
    "网友说",
    "网友骂",
    "网上有人",
    "评论区有人",
    "被人说",
    "被说成",
    "被骂",
    "别人说",
    "人家说",
    "他们说",
    "某博主称",
    "博主称",
    "someone called",
    "someone calls",
    "someone said",
    "someone says",
    "somebody called",
    "somebody said",
    "people call",
    "people calling",
    "people say",
    "people said",
    "they call",
    "they called",
    "called us",
    "calls us",
    "calling us",
    "quelqu'un a traité",
    "quelqu'un a dit",
    "quelqu'un traite",
    "on nous traite",
    "les gens disent",
    "des gens traiter",
    "gens traitent",
    "ont traité",
];

/// Longest quotation taken as somebody else's words, in characters: a stray or unpaired
/// quotation mark must not silence the rest of a post.
const MAX_QUOTE_CHARS: usize = 120;

/// Byte ranges of `text` (normalised) that are somebody else's words: quotations (“…”, "…",
/// 「…」, 『…』, «…», 《…》) within one sentence and up to [`MAX_QUOTE_CHARS`], and the clause
/// after a reporting frame.  Hostile or warm words there are quoted, not the author's:
/// "有人说米粉都是脑残，我不同意" is not hostility toward the fans, and a "revolutionary" launch in
/// scare quotes is not praise.
fn reported_spans(text: &str, clauses: &[text::Clause]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let sentence_of = |at: usize| clauses.iter().find(|c| at >= c.start && at < c.end).map(|c| c.sentence);
    for (open, close) in [('"', '"'), ('「', '」'), ('『', '』'), ('«', '»'), ('《', '》')] {
        let mut start: Option<(usize, usize)> = None; // (byte after the mark, char index)
        let mut previous: Option<char> = None;
        for (n, (i, c)) in text.char_indices().enumerate() {
            // 6.7" is inches, not a quotation mark.
            let inch = c == '"' && previous.is_some_and(|p| p.is_ascii_digit());
            previous = Some(c);
            if inch {
                continue;
            }
            match start {
                Some((s, from)) if c == close => {
                    let same_sentence = sentence_of(s) == sentence_of(i.saturating_sub(1));
                    if same_sentence && n - from <= MAX_QUOTE_CHARS {
                        out.push((s, i));
                    }
                    start = None;
                }
                None if c == open => start = Some((i + c.len_utf8(), n)),
                _ => {}
            }
        }
    }
    for frame in REPORTING_FRAMES {
        let latin = !frame.chars().any(text::is_han);
        let mut from = 0;
        while let Some(pos) = text[from..].find(frame) {
            let at = from + pos;
            let end_of_frame = at + frame.len();
            from = end_of_frame;
            let bounded = !latin
                || (text[..at].chars().next_back().is_none_or(|c| !c.is_alphanumeric())
                    && text[end_of_frame..].chars().next().is_none_or(|c| !c.is_alphanumeric()));
            if !bounded {
                continue;
            }
            let end = clauses
                .iter()
                .find(|c| at >= c.start && at < c.end)
                .map_or(text.len(), |c| c.end);
            out.push((at, end.max(end_of_frame)));
        }
    }
    out
}

pub fn analyze_in(matcher: &Matcher, original: &str, lang: Lang) -> Analysis {
    let norm = text::normalize(original);
    let tokens = text::tokenize(&norm.text);
    let hits = matcher.find(&tokens, lang);
    let clauses = text::clauses(&norm.text);
    let reported = reported_spans(&norm.text, &clauses);
    let is_reported = |i: usize| -> bool {
        let at = tokens[hits[i].start].start;
        reported.iter().any(|(a, b)| at >= *a && at < *b)
    };
    // The clause each hit starts in, looked up once.
    let clause_of_hit: Vec<Option<usize>> = hits
        .iter()
        .map(|h| {
            let at = tokens[h.start].start;
            clauses.iter().position(|c| at >= c.start && at < c.end)
        })
        .collect();

    let post_mentions_brand = hits.iter().any(|h| h.alias() == Some(AliasKind::Brand));
    // Which hits name which target, resolving "brand + fans" pairs into the fans.
    let mut targets_of_hit: Vec<Vec<Target>> = vec![Vec::new(); hits.len()];
    let mut consumed = vec![false; hits.len()];
    for (i, h) in hits.iter().enumerate() {
        match h.alias() {
            Some(AliasKind::Fans) | Some(AliasKind::FanSlur) => targets_of_hit[i].push(Target::Fans),
            Some(AliasKind::Subject) => targets_of_hit[i].push(Target::Subject),
            Some(AliasKind::Brand) => targets_of_hit[i].push(Target::Brand),
            None => {}
        }
        if h.has_category(Category::FanNoun) && h.alias().is_none() && post_mentions_brand {
            let owned = h.start > 0 && OWN_POSSESSIVES.contains(&tokens[h.start - 1].text.as_str());
            if !owned {
                targets_of_hit[i].push(Target::Fans);
                for (j, other) in hits.iter().enumerate() {
                    let near = other.end + 3 >= h.start && other.start <= h.end + 3;
                    if j != i && other.alias() == Some(AliasKind::Brand) && near && clause_of_hit[j] == clause_of_hit[i]
                    {
                        consumed[j] = true;
                    }
                }
            }
        }
    }
    for (i, c) in consumed.iter().enumerate() {
        if *c {
            targets_of_hit[i].retain(|t| *t != Target::Brand);
        }
    }

    let mut analysis = Analysis {
        lang,
        mentions_brand: post_mentions_brand,
        mentions_fans: targets_of_hit.iter().any(|t| t.contains(&Target::Fans)),
        brand: None,
        fans: None,
        subject: None,
        criticism: false,
        evidence: Vec::new(),
        incidents: Vec::new(),
        severity: 0,
    };

    let negated = |i: usize| -> bool {
        let h = &hits[i];
        let window = negation_window(tokens[h.start].han);
        hits[..i].iter().enumerate().any(|(j, n)| {
            n.has_category(Category::Negator)
                && n.end <= h.start
                && n.end + window >= h.start
                && clause_of_hit[j] == clause_of_hit[i]
        })
    };

    // Stance, clause by clause.
    let (mut brand_praise, mut brand_criticism) = (false, false);
    let mut previous_targets: Option<(usize, Vec<Target>)> = None;
    for (ci, clause) in clauses.iter().enumerate() {
        let in_clause: Vec<usize> = (0..hits.len()).filter(|&i| clause_of_hit[i] == Some(ci)).collect();
        let mut targets: Vec<Target> = in_clause.iter().flat_map(|&i| targets_of_hit[i].clone()).collect();
        targets.sort();
        targets.dedup();
        if targets.is_empty() {
            match &previous_targets {
                Some((at, t)) if ci - at <= 2 => targets = t.clone(),
                _ => continue,
            }
        } else {
            previous_targets = Some((ci, targets.clone()));
        }
        let mut signals = Signals {
            question: clause.question,
            ..Signals::default()
        };
        for &i in &in_clause {
            let h = &hits[i];
            let words = phrase(&tokens, h);
            let neg = negated(i);
            let quoted = is_reported(i);
            if h.alias() == Some(AliasKind::FanSlur) && !quoted {
                signals.insult.push(words.clone());
            }
            for kind in &h.kinds {
                let Kind::Term(c) = kind else { continue };
                if quoted
                    && matches!(
                        c,
                        Category::Insult | Category::Hostile | Category::Harsh | Category::Support
                    )
                {
                    continue;
                }
                match (c, neg) {
                    (Category::Insult, false) => signals.insult.push(words.clone()),
                    (Category::Hostile, false) => signals.hostile.push(words.clone()),
                    (Category::Harsh, false) => signals.harsh.push(words.clone()),
                    (Category::Support, false) => signals.support.push(words.clone()),
                    (Category::Support, true) => signals.criticism.push(words.clone()),
                    (Category::Criticism, false) => signals.criticism.push(words.clone()),
                    (Category::BuyerVerb, _) => signals.buying = true,
                    (Category::Aspect, _) => signals.aspects.push(words.clone()),
                    (Category::Addressee, _) => signals.addressed = true,
                    _ => {}
                }
            }
        }
        // "Dear Mi Fans, you are idiots": in a post about the fans, "you" are the fans.
        if signals.addressed && !signals.insult.is_empty() && analysis.mentions_fans {
            targets = vec![Target::Fans];
        }
        // "Only idiots buy Xiaomi": the insult is at the buyers, who are the fans.
        if signals.buying && !signals.insult.is_empty() && targets.contains(&Target::Brand) {
            targets.retain(|t| *t != Target::Brand);
            if !targets.contains(&Target::Fans) {
                targets.push(Target::Fans);
            }
        }
        for target in targets {
            let (stance, cues, criticism) = signals.judge(target);
            if target == Target::Brand {
                brand_praise |= stance == Stance::Supportive;
                brand_criticism |= criticism;
            }
            if stance == Stance::Neutral && !criticism {
                continue;
            }
            analysis.criticism |= criticism;
            let slot = match target {
                Target::Brand => &mut analysis.brand,
                Target::Fans => &mut analysis.fans,
                Target::Subject => &mut analysis.subject,
            };
            // Hostility anywhere outweighs praise elsewhere in the post.
            *slot = Some(match (*slot, stance) {
                (Some(Stance::Hostile), _) | (_, Stance::Hostile) => Stance::Hostile,
                (Some(Stance::Supportive), _) | (_, Stance::Supportive) => Stance::Supportive,
                _ => Stance::Neutral,
            });
            if stance == Stance::Hostile {
                analysis.severity += 3 * signals.insult.len() as u32
                    + 2 * signals.hostile.len() as u32
                    + signals.harsh.len() as u32
                    + u32::from(target == Target::Fans);
            }
            analysis.evidence.push(Evidence {
                target,
                stance,
                quote: quote(original, &norm, clause),
                cues,
                criticism,
            });
        }
    }
    // A review weighing strengths against flaws is neither praise nor hostility.
    if brand_praise && brand_criticism && analysis.brand == Some(Stance::Supportive) {
        analysis.brand = Some(Stance::Neutral);
    }
    for (slot, mentioned) in [
        (&mut analysis.brand, analysis.mentions_brand),
        (&mut analysis.fans, analysis.mentions_fans),
        (
            &mut analysis.subject,
            targets_of_hit.iter().any(|t| t.contains(&Target::Subject)),
        ),
    ] {
        if mentioned && slot.is_none() {
            *slot = Some(Stance::Neutral);
        }
    }
    let parts = PostParts {
        original,
        norm: &norm,
        tokens: &tokens,
        hits: &hits,
        clauses: &clauses,
        clause_of_hit: &clause_of_hit,
    };
    analysis.incidents = incidents(&parts, &targets_of_hit, &|i| negated(i) || is_reported(i));
    analysis.severity += analysis
        .incidents
        .iter()
        .map(|i| match i.kind {
            IncidentKind::CourtRuling | IncidentKind::AccountBan => 4,
            IncidentKind::Insult => 0,
        })
        .sum::<u32>();
    analysis
}

#[derive(Default)]
struct Signals {
    question: bool,
    buying: bool,
    addressed: bool,
    aspects: Vec<String>,
    insult: Vec<String>,
    hostile: Vec<String>,
    harsh: Vec<String>,
    support: Vec<String>,
    criticism: Vec<String>,
}

impl Signals {
    /// (stance, the cues that decided it, read as criticism)
    fn judge(&self, target: Target) -> (Stance, Vec<String>, bool) {
        // A question asks ("is Xiaomi a scam?") rather than accuses; an insult stays an insult.
        let accusations: &[String] = if self.question { &[] } else { &self.hostile };
        let attack: Vec<String> = self.insult.iter().chain(accusations).cloned().collect();
        if !attack.is_empty() {
            return (Stance::Hostile, [attack, self.harsh.clone()].concat(), false);
        }
        if !self.harsh.is_empty() && !self.question {
            // People cannot have a flat battery: harsh words about fans are always hostility.
            if target == Target::Brand && !(self.criticism.is_empty() && self.aspects.is_empty()) {
                let cues = [self.harsh.clone(), self.aspects.clone(), self.criticism.clone()].concat();
                return (Stance::Neutral, cues, true);
            }
            return (Stance::Hostile, self.harsh.clone(), false);
        }
        if !self.support.is_empty() && !self.question {
            return (Stance::Supportive, self.support.clone(), false);
        }
        (Stance::Neutral, self.criticism.clone(), !self.criticism.is_empty())
    }
}

fn phrase(tokens: &[Token], h: &Hit) -> String {
    tokens[h.start..h.end]
        .iter()
        .map(|t| t.text.as_str())
        .collect::<Vec<_>>()
        .join(if tokens[h.start].han { "" } else { " " })
}

/// The original text of a normalized byte range, trimmed.
fn quote_range(original: &str, norm: &Normalized, start: usize, end: usize) -> String {
    let a = norm.original_offset(start);
    let b = norm.original_offset(end);
    original.get(a..b).unwrap_or(original).trim().to_string()
}

fn quote(original: &str, norm: &Normalized, clause: &Clause) -> String {
    quote_range(original, norm, clause.start, clause.end)
}

/// A post cut up for judging: its text, tokens, the phrases found, its clauses and the clause
/// each phrase starts in.
#[derive(Clone, Copy)]
struct PostParts<'a> {
    original: &'a str,
    norm: &'a Normalized,
    tokens: &'a [Token],
    hits: &'a [Hit],
    clauses: &'a [Clause],
    clause_of_hit: &'a [Option<usize>],
}

fn incidents(parts: &PostParts, targets_of_hit: &[Vec<Target>], negated: &dyn Fn(usize) -> bool) -> Vec<Incident> {
    let PostParts {
        original,
        norm,
        tokens,
        hits,
        clauses,
        clause_of_hit,
    } = *parts;
    let mut out: Vec<Incident> = Vec::new();
    let sentences = clauses.iter().map(|c| c.sentence).max().map_or(0, |m| m + 1);
    for s in 0..sentences {
        // A sentence may have no clause at all ("!!", "...", a blank line): nothing to read there.
        let mut parts = clauses.iter().filter(|c| c.sentence == s);
        let Some(first) = parts.next() else { continue };
        let (start, end) = (first.start, parts.next_back().unwrap_or(first).end);
        let in_sentence: Vec<&Hit> = hits
            .iter()
            .filter(|h| tokens.get(h.start).is_some_and(|t| t.start >= start && t.start < end))
            .collect();
        let cues_of = |cats: &[Category]| -> Vec<String> {
            in_sentence
                .iter()
                .filter(|h| cats.iter().any(|c| h.has_category(*c)))
                .map(|h| phrase(tokens, h))
                .collect()
        };
        let has = |c: Category| in_sentence.iter().any(|h| h.has_category(c));
        let court = has(Category::CourtStrong) || (has(Category::CourtActor) && has(Category::CourtOutcome));
        if court {
            out.push(Incident {
                kind: IncidentKind::CourtRuling,
                quote: quote_range(original, norm, start, end),
                cues: cues_of(&[Category::CourtStrong, Category::CourtActor, Category::CourtOutcome]),
                target: None,
            });
        }
        let ban = has(Category::BanStrong) || (has(Category::BanObject) && has(Category::BanAction));
        if ban {
            out.push(Incident {
                kind: IncidentKind::AccountBan,
                quote: quote_range(original, norm, start, end),
                cues: cues_of(&[Category::BanStrong, Category::BanObject, Category::BanAction]),
                target: None,
            });
        }
    }
    let mut insults: Vec<(usize, Option<Target>)> = Vec::new();
    for (i, h) in hits.iter().enumerate() {
        if !(h.has_category(Category::Insult) || h.alias() == Some(AliasKind::FanSlur)) || negated(i) {
            continue;
        }
        let target = (0..hits.len())
            .filter(|&j| clause_of_hit[j] == clause_of_hit[i])
            .flat_map(|j| targets_of_hit[j].clone())
            .min();
        insults.push((i, target));
    }
    if let Some(&(first, target)) = insults.first() {
        let clause = clause_of_hit[first].map(|c| &clauses[c]);
        out.push(Incident {
            kind: IncidentKind::Insult,
            quote: clause.map_or_else(|| original.trim().to_string(), |c| quote(original, norm, c)),
            cues: insults.iter().map(|(i, _)| phrase(tokens, &hits[*i])).collect(),
            target,
        });
    }
    out
}

/// The primary label of a post, as the labelled set uses it: incidents first, then hostility
/// toward fans, toward the brand, support, and everything else is neutral.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Label {
    HostileBrand,
    HostileFans,
    Neutral,
    Supportive,
    Incident,
}

impl Label {
    pub const ALL: [Label; 5] = [
        Label::HostileBrand,
        Label::HostileFans,
        Label::Neutral,
        Label::Supportive,
        Label::Incident,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Label::HostileBrand => "hostile_brand",
            Label::HostileFans => "hostile_fans",
            Label::Neutral => "neutral",
            Label::Supportive => "supportive",
            Label::Incident => "incident",
        }
    }
    pub fn parse(s: &str) -> Option<Label> {
        Label::ALL.into_iter().find(|l| l.as_str() == s)
    }
}

pub fn label(a: &Analysis) -> Label {
    if a.has_incident(IncidentKind::CourtRuling) || a.has_incident(IncidentKind::AccountBan) {
        Label::Incident
    } else if a.fans == Some(Stance::Hostile) {
        Label::HostileFans
    } else if a.brand == Some(Stance::Hostile) {
        Label::HostileBrand
    } else if a.brand == Some(Stance::Supportive) || a.fans == Some(Stance::Supportive) {
        Label::Supportive
    } else {
        Label::Neutral
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xiaomi() -> Matcher {
        Matcher::new([
            (AliasKind::Brand, "Xiaomi"),
            (AliasKind::Brand, "小米"),
            (AliasKind::Brand, "Redmi"),
            (AliasKind::Brand, "Lei Jun"),
            (AliasKind::Brand, "雷军"),
            (AliasKind::Fans, "米粉"),
            (AliasKind::Fans, "Mi Fans"),
            (AliasKind::FanSlur, "米猴"),
        ])
    }

    fn both(text: &str) -> (Option<Stance>, Option<Stance>) {
        let a = analyze(&xiaomi(), text);
        (a.brand, a.fans)
    }

    #[test]
    fn quoted_and_reported_insults_are_not_the_authors() {
        let fans = |t: &str| analyze(&xiaomi(), t).fans;
        assert_ne!(fans("有人说米粉都是脑残，我不同意。"), Some(Stance::Hostile));
        assert_ne!(
            fans("Someone called Mi Fans idiots in the comments. That's unfair."),
            Some(Stance::Hostile)
        );
        assert_ne!(fans("有人骂“米粉都是脑残”，太过分了"), Some(Stance::Hostile));
        // The author's own words stay the author's.
        assert_eq!(fans("I call Mi Fans idiots, and I mean it."), Some(Stance::Hostile));
        assert_eq!(
            fans("Mi Fans are idiots. The 6.7\" screen is nice though."),
            Some(Stance::Hostile)
        );
        assert_eq!(
            fans("Mi Fans are \"special\" idiots, all of them"),
            Some(Stance::Hostile)
        );
        // An unpaired quotation mark silences nothing.
        assert_eq!(fans("\"Mi Fans are idiots"), Some(Stance::Hostile));
        assert!(analyze(&xiaomi(), "有人说米粉都是脑残")
            .incidents
            .iter()
            .all(|i| i.kind != IncidentKind::Insult));
    }

    #[test]
    fn punctuation_runs_and_blank_lines_never_panic() {
        // Regression: an empty sentence ("!!", "...", a blank line) indexed an empty clause list.
        for text in [
            "!!",
            "...",
            "?!",
            ". .",
            "Xiaomi!!",
            "小米。。。米粉！！",
            "Xiaomi is garbage!!\n\nbanned by Weibo...",
            "\n\n\n",
            "米粉都是脑残?!?! ... 法院判决小米道歉。",
            "",
        ] {
            let _ = analyze(&xiaomi(), text);
        }
        assert_eq!(both("Xiaomi is garbage!! ...").0, Some(Stance::Hostile));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        #[test]
        fn any_text_is_analysed_without_panicking(text in "(\\PC|[!?.。！？…\n\r\t\u{0}\u{7f}\u{200b}米粉小米Xiaomi垃圾骗子 ]){0,60}") {
            let _ = analyze(&xiaomi(), &text);
        }
    }

    #[test]
    fn insults_at_fans_are_hostility_toward_fans_not_the_brand() {
        assert_eq!(
            both("Xiaomi fans are losers, every single one"),
            (Some(Stance::Neutral), Some(Stance::Hostile))
        );
        assert_eq!(both("米粉都是脑残"), (None, Some(Stance::Hostile)));
        assert_eq!(
            both("Les fans de Xiaomi sont des pigeons"),
            (Some(Stance::Neutral), Some(Stance::Hostile))
        );
        assert_eq!(both("又是一群米猴在刷屏").1, Some(Stance::Hostile));
    }

    #[test]
    fn product_criticism_is_not_hostility() {
        let a = analyze(
            &xiaomi(),
            "Battery life on my Xiaomi dropped after the update, camera is still great though",
        );
        assert_ne!(a.brand, Some(Stance::Hostile));
        assert!(a.criticism);
        let a = analyze(&xiaomi(), "La batterie du Redmi est nulle depuis la mise à jour");
        assert_eq!(a.brand, Some(Stance::Neutral));
        assert!(a.criticism);
        assert_eq!(
            analyze(&xiaomi(), "小米这次更新后续航变差了，发热也严重").brand,
            Some(Stance::Neutral)
        );
    }

    #[test]
    fn harsh_words_about_the_brand_itself_are_hostile() {
        assert_eq!(both("Xiaomi is garbage").0, Some(Stance::Hostile));
        assert_eq!(both("小米就是垃圾，骗子公司").0, Some(Stance::Hostile));
    }

    #[test]
    fn negation_cancels_and_contrast_separates() {
        assert_eq!(both("Xiaomi is not garbage, people").0, Some(Stance::Neutral));
        assert_eq!(both("小米不是垃圾").0, Some(Stance::Neutral));
        assert_eq!(both("Ce n'est pas une arnaque, Xiaomi").0, Some(Stance::Neutral));
        let (brand, fans) = both("Xiaomi makes great phones, but Mi Fans are clowns");
        assert_eq!((brand, fans), (Some(Stance::Supportive), Some(Stance::Hostile)));
    }

    #[test]
    fn a_following_clause_inherits_the_target() {
        assert_eq!(
            both("Bought the new Xiaomi last week. Total scam, they are liars.").0,
            Some(Stance::Hostile)
        );
    }

    #[test]
    fn posts_about_other_things_take_no_stance() {
        let a = analyze(&xiaomi(), "My neighbour is an idiot who parks on my lawn");
        assert_eq!((a.brand, a.fans), (None, None));
        assert!(a.has_incident(IncidentKind::Insult));
        assert_eq!(label(&a), Label::Neutral);
    }

    #[test]
    fn incidents_are_found_in_three_languages() {
        let m = xiaomi();
        for (text, kind) in [
            (
                "The court ordered me to publicly apologize to Meizu. Whatever.",
                IncidentKind::CourtRuling,
            ),
            ("法院判决我向魅族公开道歉，我不服", IncidentKind::CourtRuling),
            ("Le tribunal m'a condamné pour diffamation", IncidentKind::CourtRuling),
            (
                "My Weibo account got suspended for 30 days lol",
                IncidentKind::AccountBan,
            ),
            ("又被封号了，这次是七天", IncidentKind::AccountBan),
            ("Mon compte YouTube a été suspendu", IncidentKind::AccountBan),
        ] {
            let a = analyze(&m, text);
            assert!(a.has_incident(kind), "{text}: {:?}", a.incidents);
            assert_eq!(label(&a), Label::Incident);
        }
        assert!(!analyze(&m, "The suspension on this car is great").has_incident(IncidentKind::AccountBan));
    }

    #[test]
    fn evidence_quotes_the_original_text() {
        let a = analyze(&xiaomi(), "相機不錯。但是米粉們都是腦殘！");
        let hostile = a
            .evidence
            .iter()
            .find(|e| e.stance == Stance::Hostile)
            .expect("hostile clause");
        assert_eq!(hostile.quote, "但是米粉們都是腦殘");
        assert_eq!(hostile.target, Target::Fans);
    }
}
