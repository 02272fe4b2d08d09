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
