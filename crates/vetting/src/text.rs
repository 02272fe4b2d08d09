//! Text handling shared by stance analysis and trending: normalisation (traditional → simplified
//! Chinese, full-width → ASCII, lower case) that remembers where each character came from so
//! evidence is quoted from the original, language detection, clause splitting and tokens
//! (jieba for runs of Chinese characters, words for everything else).

use std::collections::HashSet;
use std::sync::{Mutex, RwLock};

use jieba_rs::Jieba;
use once_cell::sync::Lazy;

/// Text prepared for matching, with a way back to the original for quoting.
#[derive(Debug, Clone)]
pub struct Normalized {
    pub text: String,
    /// For each normalized char: (byte offset in `text`, byte offset in the original).
    offsets: Vec<(usize, usize)>,
    original_len: usize,
}

impl Normalized {
    /// Byte offset in the original text of the normalized byte offset `at`.
    pub fn original_offset(&self, at: usize) -> usize {
        if at >= self.text.len() {
            return self.original_len;
        }
        match self.offsets.binary_search_by(|(n, _)| n.cmp(&at)) {
            Ok(i) => self.offsets[i].1,
            Err(i) => self.offsets[i.saturating_sub(1)].1,
        }
    }
}

pub fn normalize(original: &str) -> Normalized {
    // fast2s converts character for character, so offsets line up with the original's chars.
    let simplified = fast2s::convert(original);
    let mut text = String::with_capacity(original.len());
    let mut offsets = Vec::with_capacity(original.len());
    for ((orig_at, _), c) in original.char_indices().zip(simplified.chars()) {
        let c = match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            '\u{2018}' | '\u{2019}' | '\u{02BC}' => '\'',
            '\u{201C}' | '\u{201D}' => '"',
            '\u{00A0}' => ' ',
            _ => c,
        };
        for lower in c.to_lowercase() {
            offsets.push((text.len(), orig_at));
            text.push(lower);
        }
    }
    Normalized {
        text,
        offsets,
        original_len: original.len(),
    }
}

pub use fanloop_platform::text::is_han;

/// The process-wide segmenter.  Brand aliases and lexicon terms are added to its dictionary so
/// jieba keeps them whole ("米猴", "脑残") instead of cutting them into characters.
struct Segmenter {
    jieba: RwLock<Jieba>,
    added: Mutex<HashSet<String>>,
}

static SEGMENTER: Lazy<Segmenter> = Lazy::new(|| Segmenter {
    jieba: RwLock::new(Jieba::new()),
    added: Mutex::new(HashSet::new()),
});

/// Teaches the segmenter words it must not split (only words containing Chinese matter).
pub fn add_words<'a>(words: impl IntoIterator<Item = &'a str>) {
    let mut added = SEGMENTER.added.lock().unwrap_or_else(|e| e.into_inner());
    let fresh: Vec<&str> = words
        .into_iter()
        .filter(|w| w.chars().any(is_han) && !added.contains(*w))
        .collect();
    if fresh.is_empty() {
        return;
    }
    let mut jieba = SEGMENTER.jieba.write().unwrap_or_else(|e| e.into_inner());
    for w in fresh {
        // A high frequency makes jieba prefer the whole word over its parts.
        jieba.add_word(w, Some(200_000), None);
        added.insert(w.to_string());
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub text: String,
    /// Byte range in the normalized text.
    pub start: usize,
    pub end: usize,
    pub han: bool,
}

/// Tokens of normalized text.  Latin words are cut at anything that is not a letter or digit
/// (so "n'est" gives "n" and "est", "don't" gives "don" and "t"); '#' and '@' stay attached to
/// the word they start so hashtags and handles survive.
pub fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let jieba = SEGMENTER.jieba.read().unwrap_or_else(|e| e.into_inner());
    let mut chars = text.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if is_han(c) {
            let mut end = start;
            while let Some(&(i, c)) = chars.peek() {
                if !is_han(c) {
                    break;
                }
                end = i + c.len_utf8();
                chars.next();
            }
            let run = &text[start..end];
            let mut at = start;
            for word in jieba.cut(run, true) {
                tokens.push(Token {
                    text: word.to_string(),
                    start: at,
                    end: at + word.len(),
                    han: true,
                });
                at += word.len();
            }
        } else if c.is_alphanumeric() || ((c == '#' || c == '@') && next_is_word(text, start + 1)) {
            let mut end = start + c.len_utf8();
            chars.next();
            while let Some(&(i, c)) = chars.peek() {
                let word_char = c.is_alphanumeric() && !is_han(c);
                let joiner = c == '_' || (c == '-' && next_is_word(text, i + 1));
                if !word_char && !joiner {
                    break;
                }
                end = i + c.len_utf8();
                chars.next();
            }
            tokens.push(Token {
                text: text[start..end].to_string(),
                start,
                end,
                han: false,
            });
        } else {
            chars.next();
        }
    }
    tokens
}

fn next_is_word(text: &str, at: usize) -> bool {
    text[at..]
        .chars()
        .next()
        .is_some_and(|c| c.is_alphanumeric() && !is_han(c))
}

/// A clause: the unit stance is judged in.  Byte range in the normalized text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clause {
    pub start: usize,
    pub end: usize,
    /// Index of the sentence the clause belongs to.
    pub sentence: usize,
    /// The sentence ends with a question mark: it asks rather than asserts.
    pub question: bool,
}

/// Words after which a clause turns ("good camera, but the fans are clowns"): what precedes
/// them must not colour what follows.
const CONTRAST_WORDS: &[&str] = &[
    "but",
    "however",
    "although",
    "though",
    "whereas",
    "yet",
    "mais",
    "cependant",
    "pourtant",
    "toutefois",
    "alors que",
    "但",
    "但是",
    "可是",
    "不过",
    "然而",
    "却",
    "虽然",
];

/// Splits normalized text into clauses at punctuation and contrast words.
pub fn clauses(text: &str) -> Vec<Clause> {
    let mut cuts: Vec<(usize, usize, bool)> = Vec::new(); // (cut start, resume at, ends sentence)
    for (i, c) in text.char_indices() {
        let sentence_end = matches!(c, '.' | '!' | '?' | '。' | '！' | '？' | '\n' | '…');
        let clause_end = matches!(c, ',' | ';' | ':' | '，' | '；' | '：' | '、' | '(' | ')' | '（' | '）');
        if sentence_end || clause_end {
            // "3.5" and "v2.0" are not sentence ends.
            if c == '.' {
                let prev = text[..i].chars().next_back();
                let next = text[i + 1..].chars().next();
                if prev.is_some_and(|p| p.is_ascii_digit()) && next.is_some_and(|n| n.is_ascii_digit()) {
                    continue;
                }
            }
            cuts.push((i, i + c.len_utf8(), sentence_end));
        }
    }
    for word in CONTRAST_WORDS {
        let latin = !word.chars().any(is_han);
        let mut from = 0;
        while let Some(pos) = text[from..].find(word) {
            let at = from + pos;
            let end = at + word.len();
            let bounded = !latin
                || (text[..at].chars().next_back().is_none_or(|c| !c.is_alphanumeric())
                    && text[end..].chars().next().is_none_or(|c| !c.is_alphanumeric()));
            if bounded {
                cuts.push((at, at, false));
            }
            from = end;
        }
    }
    cuts.sort();
    let mut out = Vec::new();
    let mut start = 0;
    let mut sentence = 0;
    for (cut, resume, ends_sentence) in cuts {
        if cut < start {
            continue;
        }
        if text[start..cut].chars().any(|c| c.is_alphanumeric()) {
            out.push(Clause {
                start,
                end: cut,
                sentence,
                question: false,
            });
        }
        if ends_sentence {
            if matches!(text[cut..].chars().next(), Some('?' | '？')) {
                for c in out.iter_mut().filter(|c| c.sentence == sentence) {
                    c.question = true;
                }
            }
            sentence += 1;
        }
        start = resume;
    }
    if text[start..].chars().any(|c| c.is_alphanumeric()) {
        out.push(Clause {
            start,
            end: text.len(),
            sentence,
            question: false,
        });
    }
    out
}

pub use fanloop_platform::text::detect_lang;

#[cfg(test)]
mod tests {
    use super::*;
    use fanloop_platform::i18n::Lang;

    #[test]
    fn normalizing_keeps_the_way_back_to_the_original() {
        let original = "米粉們ＡＲＥ Great";
        let n = normalize(original);
        assert_eq!(n.text, "米粉们are great");
        let at = n.text.find("great").unwrap();
        assert_eq!(&original[n.original_offset(at)..], "Great");
        assert_eq!(n.original_offset(n.text.len()), original.len());
    }

    #[test]
    fn tokens_cover_chinese_latin_hashtags_and_handles() {
        add_words(["米猴"]);
        let toks: Vec<String> = tokenize("米猴真多 #redmi-note fans @tech_guru, n'est")
            .into_iter()
            .map(|t| t.text)
            .collect();
        assert_eq!(toks[0], "米猴");
        assert!(toks.contains(&"#redmi-note".to_string()), "{toks:?}");
        assert!(toks.contains(&"@tech_guru".to_string()), "{toks:?}");
        assert!(toks.contains(&"n".to_string()) && toks.contains(&"est".to_string()));
    }

    #[test]
    fn clauses_split_at_punctuation_and_contrast_but_not_version_numbers() {
        let text = "version 2.5 is fine, but the fans are clowns. 相机很好但是米粉很烦";
        let parts: Vec<&str> = clauses(text).iter().map(|c| text[c.start..c.end].trim()).collect();
        assert_eq!(
            parts,
            vec![
                "version 2.5 is fine",
                "but the fans are clowns",
                "相机很好",
                "但是米粉很烦"
            ]
        );
        let cl = clauses(text);
        assert_eq!(cl[1].sentence, 0);
        assert_eq!(cl[2].sentence, 1);
    }

    #[test]
    fn languages_are_told_apart() {
        assert_eq!(detect_lang("Xiaomi fans are losers lol"), Lang::En);
        assert_eq!(detect_lang("les fans de Xiaomi sont des pigeons"), Lang::Fr);
        assert_eq!(detect_lang("小米的电池续航变差了 after update"), Lang::Zh);
        assert_eq!(detect_lang("米粉們都是腦殘"), Lang::Zh);
        assert_eq!(detect_lang("La batterie chauffe"), Lang::Fr);
    }
}

#[cfg(test)]
mod fuzz {
    use super::*;

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1000))]
        #[test]
        fn normalising_and_cutting_any_text_never_panics(text in "(\\PC|[\\r\\n\\t\\u{0}\\u{7f}\\u{85}\\u{200b}\\u{feff}!?.。！？…,，;；:：\"“”'‘’]|[電池續航這個垃圾米粉]+){0,80}") {
            let n = normalize(&text);
            let _ = tokenize(&n.text);
            let _ = clauses(&n.text);
            let _ = detect_lang(&text);
        }
    }
}
