//! Text as people type it, made safe to store without changing what they meant: line endings
//! normalised (`\r\n` and a lone `\r` become `\n`, never deleted, so two words are not joined),
//! other control characters dropped.

/// Multi-line text (posts, descriptions): line breaks and tabs kept, `\r\n` and `\r` → `\n`.
pub fn multiline(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push('\n');
            }
            '\n' | '\t' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// One-line text (titles, names): every line break or tab becomes a space.
pub fn single_line(text: &str) -> String {
    multiline(text).replace(['\n', '\t'], " ")
}

/// A Han (Chinese) character: the unified ideographs, extension A and B, and the compatibility
/// block.
pub fn is_han(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2A6DF)
}

const EN_MARKERS: &[&str] = &[
    "the", "is", "are", "and", "to", "of", "it", "this", "that", "with", "for", "was", "you", "my", "have", "not",
    "they", "be", "just", "so", "what", "after", "their", "on", "i", "at", "all", "who", "will", "from", "about",
    "been",
];
const FR_MARKERS: &[&str] = &[
    "le", "la", "les", "est", "et", "des", "de", "du", "un", "une", "que", "qui", "pas", "pour", "avec", "ce", "cette",
    "sont", "je", "il", "ils", "mon", "ma", "mes", "au", "aux", "sur", "dans", "c", "j", "n", "d", "l", "plus", "très",
    "après", "nous", "vous", "leur",
];

/// Chinese if Chinese characters dominate, otherwise English or French by function words, with
/// whatlang's trigrams to break ties (alone it misreads short English posts as French).
pub fn detect_lang(original: &str) -> crate::i18n::Lang {
    use crate::i18n::Lang;
    let han = original.chars().filter(|c| is_han(*c)).count();
    let letters = original.chars().filter(|c| c.is_alphabetic() && !is_han(*c)).count();
    if han > 0 && han * 2 >= letters / 3 {
        return Lang::Zh;
    }
    let norm = original.to_lowercase();
    let words: Vec<&str> = norm
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let en = words.iter().filter(|w| EN_MARKERS.contains(w)).count() as f64;
    let fr = words.iter().filter(|w| FR_MARKERS.contains(w)).count() as f64
        + 0.5 * norm.chars().filter(|c| "éèêàçùâîôûœ".contains(*c)).count().min(4) as f64;
    if (en - fr).abs() >= 1.0 {
        return if en > fr { Lang::En } else { Lang::Fr };
    }
    let detector = whatlang::Detector::with_allowlist(vec![whatlang::Lang::Eng, whatlang::Lang::Fra]);
    match detector.detect_lang(original) {
        Some(whatlang::Lang::Fra) => Lang::Fr,
        _ => Lang::En,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_endings_are_normalised_not_deleted() {
        assert_eq!(multiline("one\rtwo"), "one\ntwo");
        assert_eq!(multiline("one\r\ntwo\n\rthree"), "one\ntwo\n\nthree");
        assert_eq!(multiline("a\u{0}b\u{7f}c\u{1b}[31md\te"), "abc[31md\te");
        assert_eq!(
            single_line("Title\rwith\r\nbreaks\tand tabs"),
            "Title with breaks and tabs"
        );
    }

    proptest::proptest! {
        #[test]
        fn no_control_character_but_newline_and_tab_survives(s in "\\PC*|[\\r\\n\\t\\u{0}-\\u{1f}a ]{0,20}") {
            let m = multiline(&s);
            proptest::prop_assert!(m.chars().all(|c| !c.is_control() || c == '\n' || c == '\t'));
            let l = single_line(&s);
            proptest::prop_assert!(l.chars().all(|c| !c.is_control()));
            // Words are never joined: as many words before and after.
            let words = |t: &str| t.split(|c: char| c.is_whitespace() || c.is_control()).filter(|w| !w.is_empty()).count();
            proptest::prop_assert!(words(&m) >= words(&s.replace(|c: char| c.is_control() && !matches!(c, '\r' | '\n' | '\t'), "")));
        }
    }
}
