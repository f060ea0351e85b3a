//! Whether one part of a supplement may reach a caseworker, from what
//! inspection and the virus scan found in it.

use crate::events::{QuarantineReason, RefusalReason};

/// One thing inspection or the scanner found in a part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// The virus scanner's signature name.
    Infected {
        signature: String,
    },
    /// Active content: PDF JavaScript, launch or auto-run actions,
    /// executables (also inside archives).
    ActiveContent {
        detail: String,
    },
    /// Encrypted for someone else: PGP, S/MIME, Microsoft protected mail.
    ForeignEncryption {
        scheme: String,
    },
    /// Protected by a password: ZIP, PDF, Office.
    PasswordProtected {
        what: String,
    },
    TooLarge {
        size: u64,
        limit: u64,
    },
    /// A type the agency does not accept.
    NotAllowed {
        detected: String,
    },
    /// Does not parse, or needs more than the inspection budget.
    Malformed {
        detail: String,
    },
    /// The name claims another type than the content has; delivered, flagged.
    TypeMismatch {
        claimed: String,
        detected: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartVerdict {
    Accept {
        /// (claimed, detected) when the name misleads about the content.
        mismatch: Option<(String, String)>,
    },
    Refuse {
        /// What the applicant's receipt explains.
        refusal: RefusalReason,
        /// What security staff see on the quarantine topic.
        quarantine: QuarantineReason,
    },
}

/// The gravest finding decides: a virus outranks a password, which
/// outranks a wrong type, so the receipt names the reason that matters.
pub fn classify(findings: &[Finding]) -> PartVerdict {
    let gravest = findings
        .iter()
        .filter_map(|f| refusal(f).map(|r| (rank(f), r)))
        .min_by_key(|(rank, _)| *rank);
    if let Some((_, refused)) = gravest {
        return refused;
    }
    let mismatch = findings.iter().find_map(|f| match f {
        Finding::TypeMismatch { claimed, detected } => Some((claimed.clone(), detected.clone())),
        _ => None,
    });
    PartVerdict::Accept { mismatch }
}

fn rank(finding: &Finding) -> u8 {
    match finding {
        Finding::Infected { .. } => 0,
        Finding::ActiveContent { .. } => 1,
        Finding::ForeignEncryption { .. } => 2,
        Finding::PasswordProtected { .. } => 3,
        Finding::TooLarge { .. } => 4,
        Finding::Malformed { .. } => 5,
        Finding::NotAllowed { .. } => 6,
        Finding::TypeMismatch { .. } => u8::MAX,
    }
}

fn refusal(finding: &Finding) -> Option<PartVerdict> {
    let (refusal, quarantine) = match finding {
        Finding::Infected { signature } => (
            RefusalReason::Infected,
            QuarantineReason::Infected {
                signature: signature.clone(),
            },
        ),
        Finding::ActiveContent { detail } => (
            RefusalReason::Dangerous,
            QuarantineReason::Dangerous {
                detail: detail.clone(),
            },
        ),
        Finding::ForeignEncryption { scheme } => (
            RefusalReason::ForeignEncryption,
            QuarantineReason::ForeignEncryption {
                scheme: scheme.clone(),
            },
        ),
        Finding::PasswordProtected { what } => (
            RefusalReason::PasswordProtected,
            QuarantineReason::ForeignEncryption {
                scheme: format!("password-protected {what}"),
            },
        ),
        Finding::TooLarge { size, limit } => (
            RefusalReason::TooLarge,
            QuarantineReason::Malformed {
                detail: format!("{size} bytes, over the limit of {limit}"),
            },
        ),
        Finding::NotAllowed { detected } => (
            RefusalReason::UnsupportedType,
            QuarantineReason::Malformed {
                detail: format!("type {detected} is not accepted"),
            },
        ),
        Finding::Malformed { detail } => (
            RefusalReason::UnsupportedType,
            QuarantineReason::Malformed {
                detail: detail.clone(),
            },
        ),
        Finding::TypeMismatch { .. } => return None,
    };
    Some(PartVerdict::Refuse {
        refusal,
        quarantine,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn infected() -> Finding {
        Finding::Infected {
            signature: "Eicar-Test-Signature".into(),
        }
    }

    fn password() -> Finding {
        Finding::PasswordProtected { what: "ZIP".into() }
    }

    fn mismatch() -> Finding {
        Finding::TypeMismatch {
            claimed: "application/pdf".into(),
            detected: "image/png".into(),
        }
    }

    #[test]
    fn nothing_found_is_accepted() {
        assert_eq!(classify(&[]), PartVerdict::Accept { mismatch: None });
    }

    #[test]
    fn a_mismatch_alone_is_delivered_and_flagged() {
        assert_eq!(
            classify(&[mismatch()]),
            PartVerdict::Accept {
                mismatch: Some(("application/pdf".into(), "image/png".into()))
            }
        );
    }

    #[test]
    fn a_virus_outranks_everything_in_any_order() {
        for findings in [
            vec![password(), infected(), mismatch()],
            vec![mismatch(), infected(), password()],
        ] {
            assert!(matches!(
                classify(&findings),
                PartVerdict::Refuse {
                    refusal: RefusalReason::Infected,
                    quarantine: QuarantineReason::Infected { .. }
                }
            ));
        }
    }

    #[test]
    fn each_finding_maps_to_what_the_receipt_can_explain() {
        let cases = [
            (
                Finding::ActiveContent {
                    detail: "JavaScript".into(),
                },
                RefusalReason::Dangerous,
            ),
            (
                Finding::ForeignEncryption {
                    scheme: "PGP".into(),
                },
                RefusalReason::ForeignEncryption,
            ),
            (password(), RefusalReason::PasswordProtected),
            (
                Finding::TooLarge { size: 2, limit: 1 },
                RefusalReason::TooLarge,
            ),
            (
                Finding::NotAllowed {
                    detected: "application/x-msdownload".into(),
                },
                RefusalReason::UnsupportedType,
            ),
            (
                Finding::Malformed {
                    detail: "no trailer".into(),
                },
                RefusalReason::UnsupportedType,
            ),
        ];
        for (finding, expected) in cases {
            match classify(std::slice::from_ref(&finding)) {
                PartVerdict::Refuse { refusal, .. } => assert_eq!(refusal, expected, "{finding:?}"),
                other => panic!("{finding:?} accepted: {other:?}"),
            }
        }
    }

    #[test]
    fn a_password_is_reported_before_an_unsupported_type() {
        assert!(matches!(
            classify(&[
                Finding::NotAllowed {
                    detected: "x".into()
                },
                password()
            ]),
            PartVerdict::Refuse {
                refusal: RefusalReason::PasswordProtected,
                ..
            }
        ));
    }
}
