//! Quality of the stance and incident rules on the labelled set (`data/labelled_posts.tsv`):
//! per-class, per-language precision, recall and F1.  Rules are tuned on the `dev` split only;
//! `test` is frozen and a unit test fails if its macro-F1 falls below the recorded baseline.

use std::collections::BTreeMap;
use std::fmt::Write;

use fanloop_platform::i18n::Lang;
use serde::Serialize;

use crate::lexicon::{AliasKind, Matcher};
use crate::stance::{self, Label};

pub static LABELLED_TSV: &str = include_str!("../data/labelled_posts.tsv");

/// Macro-F1 on the frozen test split when the rules were last changed (`fanloop vetting eval`).
pub const RECORDED_TEST_MACRO_F1: f64 = 0.96;

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
