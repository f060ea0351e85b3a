//! What a person types into the inbox (reasons, notes): at most 2000
//! characters, no NUL (PostgreSQL cannot store it), and a reason says
//! something. The OpenAPI document states the same rules as patterns
//! (a reason: `^[^\u0000]*[^\s\u0000][^\u0000]*$`), and the contract test
//! sends what the patterns allow and forbid.

use crate::store::StoreError;

pub const MAX_CHARS: usize = 2000;

/// White space as the pattern's `\s` means it (ECMAScript), which is
/// Unicode's White_Space and the byte order mark.
pub fn is_space(c: char) -> bool {
    c.is_whitespace() || c == '\u{FEFF}'
}

/// Free text: a note, which may say nothing.
pub fn text<'a>(field: &str, value: &'a str) -> Result<&'a str, StoreError> {
    if value.contains('\0') {
        return Err(StoreError::Invalid(format!(
            "{field}: may not contain NUL characters"
        )));
    }
    if value.chars().count() > MAX_CHARS {
        return Err(StoreError::Invalid(format!(
            "{field}: at most {MAX_CHARS} characters"
        )));
    }
    Ok(value)
}

/// A reason: free text that says something; returned without the white
/// space around it.
pub fn reason<'a>(field: &str, value: &'a str) -> Result<&'a str, StoreError> {
    let value = text(field, value)?;
    if value.chars().all(is_space) {
        return Err(StoreError::Invalid(format!("{field}: say why")));
    }
    Ok(value.trim_matches(is_space))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_must_say_something_and_fit() {
        for empty in ["", " ", "\n\t", "\u{3000}", "\u{FEFF}"] {
            assert!(reason("reason", empty).is_err(), "{empty:?}");
        }
        assert!(reason("reason", "a\0b").is_err());
        assert!(reason("reason", &"x".repeat(MAX_CHARS + 1)).is_err());
        assert_eq!(reason("reason", "  spam \n").ok(), Some("spam"));
        assert_eq!(
            reason("reason", &"ä".repeat(MAX_CHARS)).map(str::len).ok(),
            Some(4000)
        );
    }

    #[test]
    fn a_note_may_be_empty_but_not_hold_nul() {
        assert_eq!(text("note", "").ok(), Some(""));
        assert!(text("note", "\0").is_err());
    }
}
