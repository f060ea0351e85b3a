//! Serving a file: decrypted from S3 as it streams to the caseworker, so
//! memory stays flat for a 400 MB file, and sent so no browser renders it:
//! an attachment, `application/octet-stream`, nosniff, and a file name made
//! harmless (the applicant chose it).

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use intake_adapters::s3::ObjectStore;
use intake_adapters::sealing::{KeyRing, open_object};
use tokio_stream::wrappers::ReceiverStream;

use crate::detail::FileToServe;
use crate::error::ApiError;

pub async fn serve(
    store: &ObjectStore,
    keys: Arc<KeyRing>,
    file: FileToServe,
) -> Result<Response, ApiError> {
    let (Some(bucket), Some(key)) = (&file.bucket, &file.object_key) else {
        return Err(ApiError::denied(
            file.refused.as_deref().unwrap_or("not_downloadable"),
            None,
        ));
    };
    let opened = open_object(store, keys, bucket, key)
        .await
        .map_err(|e| ApiError::Unavailable(e.into()))?;
    tracing::info!(
        attachment_id = %file.attachment_id,
        supplement_id = %file.supplement_id,
        size = file.size,
        "download started"
    );
    let body = Body::from_stream(ReceiverStream::new(opened.chunks));
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    if let Ok(len) = HeaderValue::try_from(file.size.to_string()) {
        headers.insert(header::CONTENT_LENGTH, len);
    }
    if let Ok(disposition) = HeaderValue::try_from(content_disposition(&file.filename)) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, private"),
    );
    if let Ok(digest) = HeaderValue::try_from(format!("sha-256={}", file.sha256)) {
        headers.insert("x-intake-sha256", digest);
    }
    Ok(response)
}

/// `attachment` with an ASCII fallback and the UTF-8 name (RFC 6266,
/// RFC 8187). Path separators, control and bidirectional-override
/// characters, and quotes are replaced; a name left empty becomes `file`.
pub fn content_disposition(filename: &str) -> String {
    let cleaned: String = filename
        .chars()
        .map(|c| {
            if c.is_control() || is_bidi_control(c) || matches!(c, '/' | '\\' | '"' | ';') {
                '_'
            } else {
                c
            }
        })
        .collect();
    let cleaned = cleaned.trim_matches(|c: char| c == '.' || c.is_whitespace());
    let cleaned: String = cleaned.chars().take(200).collect();
    let cleaned = if cleaned.is_empty() {
        "file".to_owned()
    } else {
        cleaned
    };
    let ascii: String = cleaned
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = cleaned
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_plain_name_is_kept() {
        assert_eq!(
            content_disposition("passport.pdf"),
            "attachment; filename=\"passport.pdf\"; filename*=UTF-8''passport.pdf"
        );
    }

    #[test]
    fn a_finnish_name_keeps_its_letters_in_the_utf8_form() {
        let d = content_disposition("päätös.pdf");
        assert!(d.contains("filename=\"p__t_s.pdf\""), "{d}");
        assert!(
            d.contains("filename*=UTF-8''p%C3%A4%C3%A4t%C3%B6s.pdf"),
            "{d}"
        );
    }

    #[test]
    fn a_reversed_extension_and_a_path_are_defused() {
        let d = content_disposition("../../etc/invoice\u{202E}fdp.exe");
        assert!(!d.contains('/'), "{d}");
        assert!(!d.contains('\u{202E}'), "{d}");
        assert!(d.contains("filename=\"_.._etc_invoice_fdp.exe\""), "{d}");
    }

    #[test]
    fn an_empty_or_dotted_name_becomes_file() {
        for name in ["", "...", " . "] {
            let d = content_disposition(name);
            assert!(
                d.starts_with("attachment; filename=\"file\";"),
                "{name:?}: {d}"
            );
        }
    }

    proptest! {
        /// Whatever the applicant named the file, the header is one valid
        /// line with exactly the two parameters and no way out of the quotes.
        #[test]
        fn any_name_gives_a_safe_header(name in "\\PC{0,300}|[\\x00-\\x7f]{0,50}") {
            let d = content_disposition(&name);
            prop_assert!(HeaderValue::try_from(d.as_str()).is_ok());
            prop_assert!(d.is_ascii());
            prop_assert_eq!(d.matches('"').count(), 2);
            prop_assert_eq!(d.matches(';').count(), 2);
            prop_assert!(!d.contains('/') && !d.contains('\\'));
        }
    }
}
