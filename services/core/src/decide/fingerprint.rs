//! Fingerprints that recognise an applicant's resend: the same words and
//! files again, whatever the new Message-ID, date or transport.

use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprints {
    /// Normalised text plus the sorted file hashes: an exact resend.
    pub full: [u8; 32],
    /// The sorted file hashes alone: the same files with new words.
    /// `None` without files, since "no files" is not a resemblance.
    pub attachments: Option<[u8; 32]>,
}

/// Case, line breaks and runs of white space vary between mail clients
/// resending the same message; they do not make it a different one.
pub fn normalise_text(text: &str) -> String {
    text.split_whitespace()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// `file_hashes` are lower-case hex SHA-256 of the decrypted files, in any
/// order.
pub fn fingerprints(text: &str, file_hashes: &[String]) -> Fingerprints {
    let mut hashes: Vec<&str> = file_hashes.iter().map(String::as_str).collect();
    hashes.sort_unstable();
    let files = hashes.join("\n");
    let full = Sha256::new()
        .chain_update(b"intake.full.v1\0")
        .chain_update(normalise_text(text).as_bytes())
        .chain_update(b"\0")
        .chain_update(files.as_bytes())
        .finalize()
        .into();
    let attachments = (!hashes.is_empty()).then(|| {
        Sha256::new()
            .chain_update(b"intake.files.v1\0")
            .chain_update(files.as_bytes())
            .finalize()
            .into()
    });
    Fingerprints { full, attachments }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn hashes(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| format!("{n:0>64}")).collect()
    }

    #[test]
    fn reformatted_text_is_the_same_message() {
        let a = fingerprints("Hei,\r\n\r\nliitteenä  selvitys.", &hashes(&["a"]));
        let b = fingerprints("hei,\nliitteenä selvitys.  ", &hashes(&["a"]));
        assert_eq!(a, b);
    }

    #[test]
    fn new_words_change_the_full_print_but_not_the_files_print() {
        let a = fingerprints("selvitys", &hashes(&["a", "b"]));
        let b = fingerprints("selvitys ja PS", &hashes(&["a", "b"]));
        assert_ne!(a.full, b.full);
        assert_eq!(a.attachments, b.attachments);
    }

    #[test]
    fn another_file_changes_both() {
        let a = fingerprints("x", &hashes(&["a"]));
        let b = fingerprints("x", &hashes(&["b"]));
        assert_ne!(a.full, b.full);
        assert_ne!(a.attachments, b.attachments);
    }

    #[test]
    fn no_files_has_no_files_print() {
        assert_eq!(fingerprints("x", &[]).attachments, None);
    }

    #[test]
    fn text_cannot_impersonate_a_file_list() {
        let h = hashes(&["a"]);
        let glued = fingerprints(&format!("x {}", h[0]), &[]);
        assert_ne!(glued.full, fingerprints("x", &h).full);
    }

    proptest! {
        #[test]
        fn file_order_does_not_matter(mut files in prop::collection::vec("[0-9a-f]{64}", 0..6)) {
            let a = fingerprints("t", &files);
            files.reverse();
            prop_assert_eq!(a, fingerprints("t", &files));
        }
    }
}
