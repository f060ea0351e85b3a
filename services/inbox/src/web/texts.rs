//! The pages' words in Finnish, Swedish and English, from `texts/*.toml`
//! (built in, so a release always has all three).

use std::collections::HashMap;
use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Fi,
    Sv,
    En,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::Fi, Lang::Sv, Lang::En];

    pub fn code(self) -> &'static str {
        match self {
            Lang::Fi => "fi",
            Lang::Sv => "sv",
            Lang::En => "en",
        }
    }

    pub fn native_name(self) -> &'static str {
        match self {
            Lang::Fi => "Suomi",
            Lang::Sv => "Svenska",
            Lang::En => "English",
        }
    }

    pub fn parse(s: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|l| l.code() == s)
    }

    /// The first of the browser's languages the inbox speaks; Finnish
    /// otherwise.
    pub fn from_accept_language(header: &str) -> Lang {
        header
            .split(',')
            .filter_map(|part| part.split(';').next())
            .filter_map(|tag| tag.trim().get(..2))
            .find_map(|prefix| Lang::parse(&prefix.to_ascii_lowercase()))
            .unwrap_or(Lang::Fi)
    }
}

type Table = HashMap<String, String>;

fn tables() -> &'static [Table; 3] {
    static TABLES: OnceLock<[Table; 3]> = OnceLock::new();
    TABLES.get_or_init(|| {
        [
            include_str!("../../texts/fi.toml"),
            include_str!("../../texts/sv.toml"),
            include_str!("../../texts/en.toml"),
        ]
        .map(|text| toml::from_str(text).unwrap_or_else(|e| panic!("built-in texts: {e}")))
    })
}

/// The words of one language.
#[derive(Debug, Clone, Copy)]
pub struct Texts {
    pub lang: Lang,
}

impl Texts {
    pub fn new(lang: Lang) -> Self {
        Self { lang }
    }

    fn table(self) -> &'static Table {
        let t = tables();
        match self.lang {
            Lang::Fi => &t[0],
            Lang::Sv => &t[1],
            Lang::En => &t[2],
        }
    }

    /// A text by key. A missing key shows as itself, which the page tests
    /// catch (`every_page_key_exists`).
    pub fn get(self, key: &str) -> &'static str {
        match self.table().get(key) {
            Some(text) => text.as_str(),
            None => {
                tracing::error!(key, "missing inbox text");
                "?"
            }
        }
    }

    /// A text with its `{hole}`s filled in. Values are plain text: the page
    /// escapes the result.
    pub fn fill(self, key: &str, values: &[(&str, &str)]) -> String {
        let mut out = self.get(key).to_owned();
        for (hole, value) in values {
            out = out.replace(&format!("{{{hole}}}"), value);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn holes(text: &str) -> BTreeSet<&str> {
        text.split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(hole, _)| hole))
            .collect()
    }

    #[test]
    fn every_language_has_every_key_with_the_same_holes() {
        let en = Texts::new(Lang::En).table();
        for lang in [Lang::Fi, Lang::Sv] {
            let other = Texts::new(lang).table();
            let a: BTreeSet<_> = en.keys().collect();
            let b: BTreeSet<_> = other.keys().collect();
            assert_eq!(a, b, "keys of {} differ from en", lang.code());
            for (key, text) in en {
                assert_eq!(holes(text), holes(&other[key]), "{key} in {}", lang.code());
            }
        }
    }

    #[test]
    fn the_browser_language_is_followed_when_spoken() {
        assert_eq!(
            Lang::from_accept_language("sv-FI,sv;q=0.9,en;q=0.8"),
            Lang::Sv
        );
        assert_eq!(Lang::from_accept_language("de-DE,en;q=0.5"), Lang::En);
        assert_eq!(Lang::from_accept_language("de"), Lang::Fi);
        assert_eq!(Lang::from_accept_language(""), Lang::Fi);
    }

    #[test]
    fn holes_are_filled() {
        let t = Texts::new(Lang::En);
        assert_eq!(t.fill("queue_title", &[("unit", "u1")]), "Queue of u1");
    }
}
