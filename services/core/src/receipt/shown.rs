//! How a receipt shows what it refers to without disclosing it, and the
//! Message-ID that makes a second send of the same receipt recognisable.

use uuid::Uuid;

use crate::ids::ApplicationId;

/// `MIG-2026-004217-5` as `MIG-2026-••••17-5`: enough for the applicant to
/// recognise, too little for someone else who reads the mail.
pub fn mask_application_id(id: &ApplicationId) -> String {
    let s = id.as_str();
    // "MIG-YYYY-" is 9 bytes, then six digits, "-" and the check digit.
    format!("{}••••{}", &s[..9], &s[13..])
}

/// Text for a log line with every e-mail address in it masked
/// (`a***@e***.org`): mail servers quote the recipient in their errors, and
/// logs must not carry applicants' addresses.
pub fn mask_addresses(text: &str) -> String {
    static ADDRESS: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"([^\s<>@,;:()\[\]]+)@([^\s<>@,;:()\[\]]+?)(\.[A-Za-z]{2,})?([\s<>,;:()\[\]]|$)",
        )
        .expect("address pattern")
    });
    ADDRESS
        .replace_all(text, |c: &regex::Captures<'_>| {
            let first = |s: &str| s.chars().next().unwrap_or('*');
            format!(
                "{}***@{}***{}{}",
                first(&c[1]),
                first(&c[2]),
                c.get(3).map_or("", |m| m.as_str()),
                &c[4]
            )
        })
        .into_owned()
}

/// The receipt's own Message-ID, derived from its id: sending it again after
/// a crash produces the very same message, which receiving servers and the
/// sender's own records can recognise.
pub fn receipt_message_id(receipt_id: Uuid, domain: &str) -> String {
    format!("<receipt.{}@{domain}>", receipt_id.simple())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_in_server_errors_are_masked() {
        assert_eq!(
            mask_addresses("550 5.1.1 <aino.applicant@example.org>: Recipient address rejected"),
            "550 5.1.1 <a***@e***.org>: Recipient address rejected"
        );
        assert_eq!(mask_addresses("to x@y.fi"), "to x***@y***.fi");
        assert_eq!(mask_addresses("no address here"), "no address here");
    }

    #[test]
    fn the_middle_of_the_serial_is_hidden() {
        let id = ApplicationId::from_parts(2026, 4217).expect("valid");
        assert_eq!(id.as_str(), "MIG-2026-004217-5");
        assert_eq!(mask_application_id(&id), "MIG-2026-••••17-5");
    }

    #[test]
    fn message_ids_are_stable_per_receipt() {
        let a = Uuid::from_u128(1);
        assert_eq!(
            receipt_message_id(a, "migri.invalid"),
            receipt_message_id(a, "migri.invalid")
        );
        assert_ne!(
            receipt_message_id(a, "x"),
            receipt_message_id(Uuid::from_u128(2), "x")
        );
        assert!(receipt_message_id(a, "migri.invalid").ends_with("@migri.invalid>"));
    }
}
