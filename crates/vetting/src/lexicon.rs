//! The shipped lexicon (`data/lexicon.tsv`) and the phrase matcher built from it and from a
//! brand profile's aliases.  Terms and aliases are normalized and tokenized exactly like posts,
//! so a phrase matches whatever script, width or case it is written in.

use std::collections::HashMap;

use fanloop_platform::i18n::Lang;
use once_cell::sync::Lazy;

use crate::text::{self, Token};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    /// Contempt for people: always hostile toward whoever it is aimed at.
    Insult,
    /// Accusations and hatred (scam, liars, boycott): hostile toward the target.
    Hostile,
    /// Harsh words that are hostility when aimed at people or the brand as a whole, but product
    /// criticism when the clause is about a product aspect ("the battery is garbage").
    Harsh,
    Support,
    /// Defects and disappointment ("lags", "卡顿", "déçu"): criticism, which is not hostility.
    Criticism,
    /// Product aspects ("battery", "屏幕"): a harsh word about one is criticism.
    Aspect,
    /// "you", "vous", "你们": an insult at the addressee, who in a post about the fans is them.
    Addressee,
    Negator,
    /// Generic words for a fan base ("fans", "粉丝"), which point at the brand's fans when the post
    /// is about the brand.
    FanNoun,
    /// Buying or using: "only idiots buy X" insults the buyers, that is the fans.
    BuyerVerb,
    CourtActor,
    CourtOutcome,
    CourtStrong,
    BanObject,
    BanAction,
    BanStrong,
}

impl Category {
    fn parse(s: &str) -> Option<Category> {
        Some(match s {
            "insult" => Category::Insult,
            "hostile" => Category::Hostile,
            "harsh" => Category::Harsh,
            "support" => Category::Support,
            "criticism" => Category::Criticism,
            "aspect" => Category::Aspect,
            "addressee" => Category::Addressee,
            "negator" => Category::Negator,
            "fan_noun" => Category::FanNoun,
            "buyer_verb" => Category::BuyerVerb,
            "court_actor" => Category::CourtActor,
            "court_outcome" => Category::CourtOutcome,
            "court_strong" => Category::CourtStrong,
            "ban_object" => Category::BanObject,
            "ban_action" => Category::BanAction,
            "ban_strong" => Category::BanStrong,
            _ => return None,
        })
    }
}

/// What an alias names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AliasKind {
    /// The brand, its products or its executives.
    Brand,
    /// A name of the brand's fan community.
    Fans,
    /// A pejorative nickname for the fans: using it is hostility toward them.
    FanSlur,
    /// The person a community post may talk about (the candidate).
    Subject,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Term(Category),
    Alias(AliasKind),
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    kind: Kind,
    /// `None`: any language (Chinese terms, aliases).
    lang: Option<Lang>,
}

pub static LEXICON_TSV: &str = include_str!("../data/lexicon.tsv");

/// Longest phrase, in tokens, the matcher tries.
const MAX_PHRASE: usize = 5;

struct Lexicon {
    exact: HashMap<String, Vec<Entry>>,
    prefixes: Vec<(String, Entry)>,
}

static LEXICON: Lazy<Lexicon> = Lazy::new(|| {
    let rows: Vec<(Category, Lang, String)> = LEXICON_TSV
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let mut cols = l.split('\t');
            let category = Category::parse(cols.next()?)?;
            let lang = Lang::parse(cols.next()?)?;
            Some((category, lang, cols.next()?.replace('_', " ")))
        })
        .collect();
    text::add_words(rows.iter().map(|(_, _, t)| t.trim_end_matches('*')));
    let mut lexicon = Lexicon {
        exact: HashMap::new(),
        prefixes: Vec::new(),
    };
    for (category, lang, term) in rows {
        let lang = if term.chars().any(text::is_han) {
            None
        } else {
            Some(lang)
        };
        let entry = Entry {
            kind: Kind::Term(category),
            lang,
        };
        let (stem, prefix) = match term.strip_suffix('*') {
            Some(stem) => (stem, true),
            None => (term.as_str(), false),
        };
        let key = phrase_key(stem);
        if key.is_empty() {
            continue;
        }
        if prefix && !key.contains(' ') {
            lexicon.prefixes.push((key, entry));
        } else {
            lexicon.exact.entry(key).or_default().push(entry);
        }
    }
    lexicon
});

/// The key of a phrase: its tokens joined the way [`join`] joins a post's tokens.
pub fn phrase_key(phrase: &str) -> String {
    let normalized = text::normalize(phrase.trim());
    join(&text::tokenize(&normalized.text))
}

/// Chinese tokens are concatenated, anything else separated by one space; handles and
/// hashtags lose their sigil so "@Xiaomi" and "#xiaomi" match the alias "Xiaomi".
fn join(tokens: &[Token]) -> String {
    let mut key = String::new();
    for (i, t) in tokens.iter().enumerate() {
        if i > 0 && !(t.han && tokens[i - 1].han) {
            key.push(' ');
        }
        key.push_str(t.text.trim_start_matches(['@', '#']));
    }
    key
}

/// A phrase found in a post: tokens `start..end` and everything it is.
#[derive(Debug, Clone)]
pub struct Hit {
    pub start: usize,
    pub end: usize,
    pub kinds: Vec<Kind>,
}

impl Hit {
    pub fn is(&self, kind: Kind) -> bool {
        self.kinds.contains(&kind)
    }
    pub fn has_category(&self, c: Category) -> bool {
        self.is(Kind::Term(c))
    }
    pub fn alias(&self) -> Option<AliasKind> {
        self.kinds.iter().find_map(|k| match k {
            Kind::Alias(a) => Some(*a),
            Kind::Term(_) => None,
        })
    }
}

/// Aliases of one profile plus the shared lexicon.
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    aliases: HashMap<String, Vec<AliasKind>>,
}

impl Matcher {
    pub fn new<'a>(aliases: impl IntoIterator<Item = (AliasKind, &'a str)>) -> Matcher {
        Lazy::force(&LEXICON);
        let aliases: Vec<(AliasKind, &str)> = aliases.into_iter().filter(|(_, a)| !a.trim().is_empty()).collect();
        text::add_words(aliases.iter().map(|(_, a)| a.trim()));
        let mut map: HashMap<String, Vec<AliasKind>> = HashMap::new();
        for (kind, alias) in aliases {
            let key = phrase_key(alias);
            if !key.is_empty() {
                map.entry(key).or_default().push(kind);
            }
        }
        Matcher { aliases: map }
    }

    /// Greedy longest-first matching of aliases and lexicon phrases over `tokens`.
    pub fn find(&self, tokens: &[Token], lang: Lang) -> Vec<Hit> {
        let lexicon = &*LEXICON;
        let accepts = |e: &Entry| match (e.lang, lang) {
            (None, _) => true,
            // Chinese posts quote English and French words freely.
            (Some(_), Lang::Zh) => true,
            (Some(l), post) => l == post,
        };
        let mut hits = Vec::new();
        let mut i = 0;
        while i < tokens.len() {
            let mut found = None;
            for n in (1..=MAX_PHRASE.min(tokens.len() - i)).rev() {
                let key = join(&tokens[i..i + n]);
                let mut kinds: Vec<Kind> = self
                    .aliases
                    .get(&key)
                    .map(|a| a.iter().map(|k| Kind::Alias(*k)).collect())
                    .unwrap_or_default();
                if let Some(entries) = lexicon.exact.get(&key) {
                    kinds.extend(entries.iter().filter(|e| accepts(e)).map(|e| e.kind));
                }
                if n == 1 && !tokens[i].han {
                    let word = tokens[i].text.trim_start_matches(['@', '#']);
                    kinds.extend(
                        lexicon
                            .prefixes
                            .iter()
                            .filter(|(stem, e)| accepts(e) && word.starts_with(stem.as_str()))
                            .map(|(_, e)| e.kind),
                    );
                }
                if !kinds.is_empty() {
                    kinds.dedup();
                    found = Some((n, kinds));
                    break;
                }
            }
            match found {
                Some((n, kinds)) => {
                    hits.push(Hit {
                        start: i,
                        end: i + n,
                        kinds,
                    });
                    i += n;
                }
                None => i += 1,
            }
        }
        hits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(m: &Matcher, s: &str, lang: Lang) -> Vec<(String, Vec<Kind>)> {
        let n = text::normalize(s);
        let toks = text::tokenize(&n.text);
        m.find(&toks, lang)
            .into_iter()
            .map(|h| (join(&toks[h.start..h.end]), h.kinds))
            .collect()
    }

    #[test]
    fn aliases_and_phrases_match_across_scripts_and_case() {
        let m = Matcher::new([
            (AliasKind::Brand, "Xiaomi 14 Ultra"),
            (AliasKind::Fans, "米粉"),
            (AliasKind::Brand, "小米"),
        ]);
        let found = kinds(&m, "The XIAOMI 14 ultra, well done!", Lang::En);
        assert_eq!(
            found[0],
            ("xiaomi 14 ultra".into(), vec![Kind::Alias(AliasKind::Brand)])
        );
        assert!(found
            .iter()
            .any(|(k, v)| k == "well done" && v.contains(&Kind::Term(Category::Support))));
        let zh = kinds(&m, "米粉們都是腦殘，小米粥很好喝", Lang::Zh);
        assert_eq!(zh[0].1, vec![Kind::Alias(AliasKind::Fans)]);
        assert!(zh
            .iter()
            .any(|(k, v)| k == "脑残" && v.contains(&Kind::Term(Category::Insult))));
        assert!(
            !zh.iter().any(|(k, _)| k == "小米"),
            "millet porridge is not the brand: {zh:?}"
        );
    }

    #[test]
    fn prefixes_match_inflections_only_in_their_language() {
        let m = Matcher::default();
        assert!(kinds(&m, "total idiots", Lang::En)[0]
            .1
            .contains(&Kind::Term(Category::Insult)));
        assert!(kinds(&m, "quelle arnaque", Lang::Fr)[0]
            .1
            .contains(&Kind::Term(Category::Hostile)));
        assert!(kinds(&m, "quelle arnaque", Lang::En).is_empty());
    }
}
