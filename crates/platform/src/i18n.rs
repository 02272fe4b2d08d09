//! UI languages.  Simplified Chinese is first-class, with English and French.
//!
//! Each crate contributes a message table `(key, en, zh, fr)`; the web shell merges them into one
//! [`Catalog`].  A missing translation falls back to English and then to the key itself, so a
//! forgotten string shows up as readable text rather than an error page.

use std::collections::HashMap;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Lang {
    #[serde(rename = "zh")]
    Zh,
    #[serde(rename = "en")]
    En,
    #[serde(rename = "fr")]
    Fr,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::Zh, Lang::En, Lang::Fr];

    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
            Lang::Fr => "fr",
        }
    }

    /// The `lang` attribute for `<html>`.
    pub fn html_tag(self) -> &'static str {
        match self {
            Lang::Zh => "zh-Hans",
            Lang::En => "en",
            Lang::Fr => "fr",
        }
    }

    pub fn native_name(self) -> &'static str {
        match self {
            Lang::Zh => "简体中文",
            Lang::En => "English",
            Lang::Fr => "Français",
        }
    }

    pub fn parse(code: &str) -> Option<Lang> {
        let primary = code.trim().split(['-', '_']).next().unwrap_or("").to_ascii_lowercase();
        match primary.as_str() {
            "zh" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            "fr" => Some(Lang::Fr),
            _ => None,
        }
    }

    /// Picks the best supported language from an `Accept-Language` header, honouring q-values.
    pub fn negotiate(accept_language: &str) -> Option<Lang> {
        let mut best: Option<(f32, Lang)> = None;
        for part in accept_language.split(',') {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or("");
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            if let Some(lang) = Lang::parse(tag) {
                if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
                    best = Some((q, lang));
                }
            }
        }
        best.map(|(_, l)| l)
    }
}

/// Replaces each `{name}` of a message with its value; unknown names stay as they are.
pub fn fill(message: &str, args: &std::collections::BTreeMap<String, String>) -> String {
    let mut out = message.to_string();
    for (name, value) in args {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

/// The English text of `key` in `table` (for text stored or sent in English, e.g. API fields).
pub fn english(table: MessageTable, key: &str) -> Option<&'static str> {
    table.iter().find(|(k, ..)| *k == key).map(|(_, en, ..)| *en)
}

pub type MessageTable = &'static [(&'static str, &'static str, &'static str, &'static str)];

#[derive(Default)]
pub struct Catalog {
    messages: HashMap<&'static str, [&'static str; 3]>,
}

impl Catalog {
    pub fn add(&mut self, table: MessageTable) -> &mut Self {
        for (key, en, zh, fr) in table {
            self.messages.insert(key, [en, zh, fr]);
        }
        self
    }

    pub fn get<'a>(&'a self, lang: Lang, key: &'a str) -> &'a str {
        match self.messages.get(key) {
            Some([en, zh, fr]) => {
                let text = match lang {
                    Lang::En => en,
                    Lang::Zh => zh,
                    Lang::Fr => fr,
                };
                if text.is_empty() {
                    en
                } else {
                    text
                }
            }
            None => key,
        }
    }

    pub fn keys(&self) -> impl Iterator<Item = &&'static str> {
        self.messages.keys()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_filled_by_name() {
        let args = [
            ("n".to_string(), "3".to_string()),
            ("total".to_string(), "40".to_string()),
        ]
        .into();
        assert_eq!(
            fill("{n} of {total}, {n} again, {missing}", &args),
            "3 of 40, 3 again, {missing}"
        );
    }

    #[test]
    fn negotiates_with_quality_values() {
        assert_eq!(Lang::negotiate("zh-CN,zh;q=0.9,en;q=0.8"), Some(Lang::Zh));
        assert_eq!(Lang::negotiate("de-DE, fr;q=0.7, en;q=0.5"), Some(Lang::Fr));
        assert_eq!(Lang::negotiate("en;q=0.2, fr-CA;q=0.9"), Some(Lang::Fr));
        assert_eq!(Lang::negotiate("de, ja"), None);
        assert_eq!(Lang::negotiate("zh-TW"), Some(Lang::Zh));
        assert_eq!(Lang::negotiate(""), None);
    }

    #[test]
    fn catalog_falls_back_to_english_then_key() {
        static T: MessageTable = &[("hello", "Hello", "你好", ""), ("x", "X", "叉", "Ix")];
        let mut c = Catalog::default();
        c.add(T);
        assert_eq!(c.get(Lang::Zh, "hello"), "你好");
        assert_eq!(c.get(Lang::Fr, "hello"), "Hello");
        assert_eq!(c.get(Lang::Fr, "x"), "Ix");
        assert_eq!(c.get(Lang::En, "missing.key"), "missing.key");
    }
}
