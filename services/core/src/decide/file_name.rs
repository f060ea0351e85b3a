//! A file name as an applicant's mail client or browser gave it, made safe
//! to judge, store and show: invisible and direction-changing characters
//! removed, path parts and Windows' ignored trailing dots and spaces
//! dropped, and the length capped. Judging works on the result, so
//! `invoice\u{202E}fdp.exe` and `report.pdf .` are seen for what they are.

/// Longest name kept, in bytes: file systems and the events' schema stop
/// at 255.
pub const MAX_NAME_BYTES: usize = 255;

/// Extensions longer than this are not extensions; `settingcontent-ms`
/// (17) is the longest that runs code.
const MAX_EXTENSION_CHARS: usize = 24;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileName {
    /// The cleaned name; may be empty when nothing printable was given.
    pub name: String,
    /// Every extension, lower-case, outermost last: `a.pdf.exe` gives
    /// `["pdf", "exe"]`.
    pub extensions: Vec<String>,
}

impl FileName {
    /// The extension a desktop acts on.
    pub fn extension(&self) -> Option<&str> {
        self.extensions.last().map(String::as_str)
    }
}

/// Characters that change how the rest of a name is displayed or that
/// cannot be seen: bidi embeddings, overrides and isolates, marks, zero
/// width characters, byte-order marks, and every control character.
pub fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{2069}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
        )
}

pub fn normalise_name(raw: &str) -> FileName {
    // A path is not a name: keep what follows the last separator, as
    // browsers do with uploads.
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let visible: String = last
        .chars()
        .filter(|c| !is_hidden(*c))
        // Full-width and other look-alike dots would hide an extension.
        .map(|c| match c {
            '\u{FF0E}' | '\u{2024}' | '\u{FE52}' | '\u{3002}' => '.',
            c if c.is_whitespace() => ' ',
            c => c,
        })
        .collect();
    let collapsed = visible
        .split(' ')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    // Windows drops trailing dots and spaces when it saves a file.
    let trimmed = collapsed.trim_end_matches(['.', ' ']).trim_start();
    let name = cap_keeping_extension(trimmed, MAX_NAME_BYTES)
        .trim_end_matches(['.', ' '])
        .to_owned();
    let extensions = extensions(&name);
    FileName { name, extensions }
}

fn extensions(name: &str) -> Vec<String> {
    let mut segments = name.split('.');
    segments.next(); // the stem, even when empty (".bashrc" has no stem)
    segments
        .map(|s| s.trim().to_lowercase())
        .filter(|s| {
            !s.is_empty()
                && s.chars().count() <= MAX_EXTENSION_CHARS
                && s.chars()
                    .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        })
        .collect()
}

/// Cuts the stem, never the extension, so a long name keeps its type.
fn cap_keeping_extension(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_owned();
    }
    let (stem, extension) = match name.rsplit_once('.') {
        Some((stem, ext)) if ext.len() <= MAX_EXTENSION_CHARS * 4 => (stem, format!(".{ext}")),
        _ => (name, String::new()),
    };
    let mut cut = max.saturating_sub(extension.len());
    while !stem.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{extension}", &stem[..cut.min(stem.len())])
}

/// Text from a sender made fit for rows and events: no NUL or other
/// control characters (PostgreSQL refuses NUL in text and JSON), no
/// direction tricks, at most `max` bytes.
pub fn clean_text(text: &str, max: usize) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| if c == '\t' { ' ' } else { c })
        .filter(|c| !is_hidden(*c))
        .collect();
    cap_bytes(cleaned.trim(), max).to_owned()
}

/// Caps any text at `max` bytes on a character boundary.
pub fn cap_bytes(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    &text[..cut]
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn an_rtl_override_cannot_hide_an_executable() {
        let name = normalise_name("invoice\u{202E}fdp.exe");
        assert_eq!(name.name, "invoicefdp.exe");
        assert_eq!(name.extension(), Some("exe"));
    }

    #[test]
    fn trailing_dots_and_spaces_are_dropped_as_windows_does() {
        assert_eq!(normalise_name("payload.exe. . ").extension(), Some("exe"));
        assert_eq!(
            normalise_name("letter.pdf\u{200B}").extension(),
            Some("pdf")
        );
    }

    #[test]
    fn every_extension_is_seen() {
        let name = normalise_name("passport.pdf .exe");
        assert_eq!(name.extensions, vec!["pdf", "exe"]);
        assert_eq!(normalise_name("scan.JPG").extensions, vec!["jpg"]);
        assert_eq!(
            normalise_name("v1.final draft").extensions,
            Vec::<String>::new()
        );
        assert_eq!(normalise_name("noext").extension(), None);
    }

    #[test]
    fn look_alike_dots_are_dots() {
        assert_eq!(normalise_name("photo\u{FF0E}exe").extension(), Some("exe"));
    }

    #[test]
    fn paths_and_control_characters_are_removed() {
        assert_eq!(normalise_name("..\\..\\windows\\evil.bat").name, "evil.bat");
        assert_eq!(normalise_name("a\0b\r\nc.pdf").name, "abc.pdf");
        assert_eq!(normalise_name("\u{202E}\u{200F}").name, "");
    }

    #[test]
    fn long_names_keep_their_extension() {
        let long = format!("{}.pdf", "ä".repeat(400));
        let name = normalise_name(&long);
        assert!(name.name.len() <= MAX_NAME_BYTES);
        assert_eq!(name.extension(), Some("pdf"));
    }

    #[test]
    fn clean_text_removes_nul_and_caps() {
        assert_eq!(clean_text("<a\0b@c>\r\n", 998), "<ab@c>");
        assert_eq!(clean_text(&"x".repeat(2000), 998).len(), 998);
    }

    proptest! {
        #[test]
        fn any_name_is_capped_visible_and_stable(raw in "\\PC{0,400}") {
            let name = normalise_name(&raw);
            prop_assert!(name.name.len() <= MAX_NAME_BYTES);
            prop_assert!(!name.name.chars().any(is_hidden));
            prop_assert!(!name.name.ends_with(['.', ' ']));
            prop_assert_eq!(normalise_name(&name.name), name.clone());
        }
    }
}
