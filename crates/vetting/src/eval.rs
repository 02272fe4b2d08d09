//! Quality of the stance and incident rules on the labelled set (`data/labelled_posts.tsv`):
//! per-class, per-language precision, recall and F1.  Rules are tuned on the `dev` split only;
//! `test` is frozen and a unit test fails if its macro-F1 falls below the recorded baseline.

use std::collections::BTreeMap;
use std::fmt::Write;

use fanloop_platform::i18n::Lang;
use serde::Serialize;

use crate::lexicon::{AliasKind, Matcher};
use crate::report::{self, CandidatePost, Report, Verdict};
use crate::stance::{self, Label};

pub static LABELLED_TSV: &str = include_str!("../data/labelled_posts.tsv");
/// 300 harder posts (slang, sarcasm, quotes and reported speech, mixed reviews, long posts),
/// written independently of the rules, half `dev` and half `test`.
pub static LABELLED_MORE_TSV: &str = include_str!("../data/labelled_posts_more.tsv");

/// Macro-F1 on the frozen test split when the rules were last changed (`fanloop vetting eval`).
/// The split grew on 2026-12-02 with 150 harder posts written independently (slang, sarcasm,
/// reported speech); on it the rules score 0.808 (0.782 before reported speech was handled),
/// while the dev split they were tuned on reads 0.95: the rules do not generalise to new
/// wording well enough, and the figure says so.
pub const RECORDED_TEST_MACRO_F1: f64 = 0.80;

#[derive(Debug, Clone)]
pub struct LabelledPost {
    pub id: u32,
    pub lang: Lang,
    pub split: String,
    pub label: Label,
    pub text: String,
}

#[allow(clippy::expect_used)] // the set ships inside the binary; its unit tests read every row
pub fn labelled_set() -> Vec<LabelledPost> {
    LABELLED_TSV
        .lines()
        .chain(LABELLED_MORE_TSV.lines())
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.splitn(5, '\t').collect();
            assert_eq!(cols.len(), 5, "labelled row: {l}");
            LabelledPost {
                id: cols[0].parse().expect("id"),
                lang: Lang::parse(cols[1]).expect("lang"),
                split: cols[2].to_string(),
                label: Label::parse(cols[3]).unwrap_or_else(|| panic!("label {}", cols[3])),
                text: cols[4].to_string(),
            }
        })
        .collect()
}

/// The brand profile the labelled posts were written against.
pub fn labelled_profile() -> Matcher {
    let brand = [
        "Xiaomi",
        "小米",
        "Redmi",
        "红米",
        "HyperOS",
        "澎湃OS",
        "Xiaomi 14",
        "Xiaomi 14 Ultra",
        "Lei Jun",
        "雷军",
        "雷总",
    ];
    let fans = ["Mi Fans", "Mi Fan", "米粉"];
    let slurs = ["米猴"];
    Matcher::new(
        brand
            .iter()
            .map(|a| (AliasKind::Brand, *a))
            .chain(fans.iter().map(|a| (AliasKind::Fans, *a)))
            .chain(slurs.iter().map(|a| (AliasKind::FanSlur, *a))),
    )
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Scores {
    pub tp: u32,
    pub fp: u32,
    pub fn_: u32,
}

impl Scores {
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }
    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
}

fn ratio(a: u32, b: u32) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

#[derive(Debug, Clone)]
pub struct Mistake {
    pub id: u32,
    pub expected: Label,
    pub got: Label,
    pub text: String,
}

#[derive(Debug, Clone, Default)]
pub struct Evaluation {
    /// (language code or "all", label) → scores
    pub scores: BTreeMap<(String, Label), Scores>,
    pub posts: usize,
    pub correct: usize,
    pub mistakes: Vec<Mistake>,
}

impl Evaluation {
    pub fn macro_f1(&self, lang: &str) -> f64 {
        let f1s: Vec<f64> = Label::ALL
            .iter()
            .filter_map(|l| self.scores.get(&(lang.to_string(), *l)))
            .map(Scores::f1)
            .collect();
        f1s.iter().sum::<f64>() / f1s.len().max(1) as f64
    }
}

/// Scores the rules on one split ("dev", "test") or on everything (`None`).
pub fn evaluate(split: Option<&str>) -> Evaluation {
    let matcher = labelled_profile();
    let mut e = Evaluation::default();
    for post in labelled_set()
        .into_iter()
        .filter(|p| split.is_none_or(|s| p.split == s))
    {
        let got = stance::label(&stance::analyze(&matcher, &post.text));
        e.posts += 1;
        for lang in [post.lang.code().to_string(), "all".to_string()] {
            for label in Label::ALL {
                let s = e.scores.entry((lang.clone(), label)).or_default();
                match (post.label == label, got == label) {
                    (true, true) => s.tp += 1,
                    (false, true) => s.fp += 1,
                    (true, false) => s.fn_ += 1,
                    (false, false) => {}
                }
            }
        }
        if got == post.label {
            e.correct += 1;
        } else {
            e.mistakes.push(Mistake {
                id: post.id,
                expected: post.label,
                got,
                text: post.text,
            });
        }
    }
    e
}

/// The table `fanloop vetting eval` prints.
pub fn format(e: &Evaluation, split: &str, show_mistakes: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "split: {split}, {} posts, accuracy {:.3}",
        e.posts,
        ratio(e.correct as u32, e.posts as u32)
    );
    let _ = writeln!(
        out,
        "{:<5} {:<14} {:>9} {:>7} {:>6} {:>8}",
        "lang", "class", "precision", "recall", "F1", "support"
    );
    for lang in ["en", "fr", "zh", "all"] {
        for label in Label::ALL {
            if let Some(s) = e.scores.get(&(lang.to_string(), label)) {
                let _ = writeln!(
                    out,
                    "{lang:<5} {:<14} {:>9.3} {:>7.3} {:>6.3} {:>8}",
                    label.as_str(),
                    s.precision(),
                    s.recall(),
                    s.f1(),
                    s.tp + s.fn_
                );
            }
        }
        let _ = writeln!(out, "{lang:<5} {:<14} {:>24.3}", "macro-F1", e.macro_f1(lang));
    }
    if show_mistakes {
        for m in &e.mistakes {
            let _ = writeln!(
                out,
                "#{:<4} expected {:<13} got {:<13} {}",
                m.id,
                m.expected.as_str(),
                m.got.as_str(),
                m.text
            );
        }
    }
    out
}

/// Candidate histories (25–32 posts each: haters of the brand or of its fans, with and without
/// incidents, incident-only accounts, loyal fans, critical but fair reviewers, neutral
/// reviewers, one angry post among many), written independently of the rules, each with the
/// verdicts a reviewer would accept.  This is where the verdict is judged: at the level the
/// user decides.
pub static HISTORIES_TSV: &str = include_str!("../data/labelled_histories.tsv");

#[derive(Debug, Clone)]
pub struct History {
    pub id: String,
    pub split: String,
    pub kind: String,
    pub expected: Vec<Verdict>,
    pub posts: Vec<String>,
}

pub fn histories() -> Vec<History> {
    let mut out: Vec<History> = Vec::new();
    for line in HISTORIES_TSV
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let cols: Vec<&str> = line.splitn(6, '\t').collect();
        let [id, split, kind, expected, _lang, text] = cols[..] else {
            continue;
        };
        if out.last().is_none_or(|h| h.id != id) {
            out.push(History {
                id: id.to_string(),
                split: split.to_string(),
                kind: kind.to_string(),
                expected: expected
                    .split('|')
                    .filter_map(|v| match v {
                        "clear" => Some(Verdict::Clear),
                        "review" => Some(Verdict::Review),
                        "high_risk" => Some(Verdict::HighRisk),
                        _ => None,
                    })
                    .collect(),
                posts: Vec::new(),
            });
        }
        if let Some(h) = out.last_mut() {
            h.posts.push(text.to_string());
        }
    }
    out
}

/// The report the product would give on one history (a post a day, no community posts).
pub fn report_on(h: &History) -> Report {
    let matcher = labelled_profile();
    let start = 1_700_000_000_000i64;
    let posts: Vec<CandidatePost> = h
        .posts
        .iter()
        .enumerate()
        .map(|(i, text)| CandidatePost {
            id: i as i64 + 1,
            platform: "weibo".into(),
            posted_at: start + i as i64 * 86_400_000,
            text: text.clone(),
            likes: 10,
            reposts: 1,
            comments: 2,
            followers: Some(10_000),
            url: None,
        })
        .collect();
    report::build(
        "Xiaomi",
        &h.id,
        &matcher,
        &Matcher::default(),
        &posts,
        &[],
        start + 400 * 86_400_000,
    )
}

/// The second table of `fanloop vetting eval`: one line per history, and the two counts that
/// matter.
pub fn format_histories(split: Option<&str>) -> (String, usize, usize) {
    let mut out = String::new();
    let (mut right, mut loyal_high) = (0, 0);
    let all: Vec<History> = histories()
        .into_iter()
        .filter(|h| split.is_none_or(|s| h.split == s))
        .collect();
    for h in &all {
        let r = report_on(h);
        let ok = h.expected.contains(&r.verdict);
        right += usize::from(ok);
        if r.verdict == Verdict::HighRisk
            && matches!(h.kind.as_str(), "loyal_fan" | "neutral_reviewer" | "critical_reviewer")
        {
            loyal_high += 1;
        }
        let _ = writeln!(
            out,
            "{} {:<34} {:<22} expected {:<14} got {:<10} brand h/n/s {}/{}/{} fans h/n/s {}/{}/{} incidents {}",
            if ok { "ok  " } else { "MISS" },
            h.id,
            h.kind,
            h.expected.iter().map(|v| v.as_str()).collect::<Vec<_>>().join("|"),
            r.verdict.as_str(),
            r.toward_brand.hostile,
            r.toward_brand.neutral,
            r.toward_brand.supportive,
            r.toward_fans.hostile,
            r.toward_fans.neutral,
            r.toward_fans.supportive,
            r.incidents
                .iter()
                .filter(|i| i.kind != crate::stance::IncidentKind::Insult)
                .count(),
        );
    }
    let _ = writeln!(
        out,
        "{right}/{} histories get an accepted verdict; loyal fans and fair reviewers flagged high risk: {loyal_high}",
        all.len()
    );
    (out, right, loyal_high)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_labelled_set_is_big_enough_and_balanced_across_splits() {
        let set = labelled_set();
        for lang in Lang::ALL {
            let of_lang: Vec<_> = set.iter().filter(|p| p.lang == lang).collect();
            assert!(of_lang.len() >= 100, "{lang:?}: {}", of_lang.len());
            for label in Label::ALL {
                for split in ["dev", "test"] {
                    assert!(
                        of_lang.iter().any(|p| p.label == label && p.split == split),
                        "{lang:?} {label:?} {split}"
                    );
                }
            }
        }
    }

    /// The verdict, judged where the user decides: no loyal fan or fair reviewer is ever high
    /// risk, and the held-out histories keep the recorded number of accepted verdicts.
    #[test]
    fn candidate_histories_get_the_verdicts_a_reviewer_accepts() {
        let all = histories();
        assert!(all.len() >= 24 && all.iter().all(|h| h.posts.len() >= 20));
        let (table, _, loyal_high) = format_histories(None);
        assert_eq!(loyal_high, 0, "{table}");
        let (table, right, _) = format_histories(Some("test"));
        assert!(right >= 11, "held-out histories: {right}/12 accepted\n{table}");
    }

    #[test]
    fn frozen_test_split_does_not_fall_below_the_recorded_macro_f1() {
        let e = evaluate(Some("test"));
        let f1 = e.macro_f1("all");
        assert!(
            f1 + 1e-9 >= RECORDED_TEST_MACRO_F1,
            "test macro-F1 {f1:.3} fell below the recorded {RECORDED_TEST_MACRO_F1:.3}\n{}",
            format(&e, "test", true)
        );
    }
}
