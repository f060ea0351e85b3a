//! Whether one part of a supplement may reach a caseworker, from what
//! inspection and the virus scan found in it.

use crate::events::{QuarantineReason, RefusalReason};

/// One thing inspection or the scanner found in a part.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
    /// A second format hides inside (a polyglot): what one reader shows as
    /// harmless another opens as a PDF or an archive.
    Disguised {
        detail: String,
    },
    /// The virus scanner can never give a verdict (over its limits, a
    /// format it refuses): kept from caseworkers, apart from infected.
    Unscannable {
        detail: String,
    },
    /// The name claims another type than the content has.
    TypeMismatch {
        claimed: String,
        detected: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartVerdict {
    Accept,
    Refuse {
        /// What the applicant's receipt explains.
        refusal: RefusalReason,
        /// What security staff see on the quarantine topic.
        quarantine: QuarantineReason,
    },
}

/// What a clamd signature means. Its heuristic alerts name conditions
/// rather than malware: a limit it could not scan past, encryption it
/// could not look through, macros or a broken executable. Each is told to
/// the applicant as what it is, not as a virus.
pub fn scanner_finding(signature: &str) -> Finding {
    let lower = signature.to_ascii_lowercase();
    let detail = |what: &str| format!("{what} (clamd: {signature})");
    if lower.starts_with("heuristics.limits.exceeded") {
        Finding::Unscannable {
            detail: detail("over the virus scanner's limits"),
        }
    } else if lower.starts_with("heuristics.encrypted") {
        Finding::PasswordProtected {
            what: detail("encrypted content"),
        }
    } else if lower.starts_with("heuristics.ole2.containsmacros")
        || lower.starts_with("heuristics.broken.executable")
    {
        Finding::ActiveContent {
            detail: detail("macros or an executable"),
        }
    } else {
        Finding::Infected {
            signature: signature.to_owned(),
        }
    }
}

impl PartVerdict {
    /// What the receipt says about the part, if it was refused.
    pub fn refusal(&self) -> Option<RefusalReason> {
        match self {
            PartVerdict::Accept => None,
            PartVerdict::Refuse { refusal, .. } => Some(*refusal),
        }
    }
}

/// The gravest finding decides: a virus outranks a password, which
/// outranks a wrong type, so the receipt names the reason that matters.
pub fn classify(findings: &[Finding]) -> PartVerdict {
    let gravest = findings
        .iter()
        .map(|f| (rank(f), refusal(f)))
        .min_by_key(|(rank, _)| *rank);
    gravest.map_or(PartVerdict::Accept, |(_, refused)| refused)
}

fn rank(finding: &Finding) -> u8 {
    match finding {
        Finding::Infected { .. } => 0,
        Finding::ActiveContent { .. } => 1,
        Finding::Disguised { .. } => 2,
        Finding::ForeignEncryption { .. } => 3,
        Finding::PasswordProtected { .. } => 4,
        Finding::TooLarge { .. } => 5,
        Finding::Unscannable { .. } => 6,
        Finding::Malformed { .. } => 7,
        Finding::NotAllowed { .. } => 8,
        Finding::TypeMismatch { .. } => 9,
    }
}

fn refusal(finding: &Finding) -> PartVerdict {
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
        Finding::Disguised { detail } => (
            RefusalReason::Dangerous,
            QuarantineReason::Dangerous {
                detail: detail.clone(),
            },
        ),
        Finding::Unscannable { detail } => (
            RefusalReason::Unscannable,
            QuarantineReason::Unscannable {
                detail: detail.clone(),
            },
        ),
        Finding::TypeMismatch { claimed, detected } => (
            RefusalReason::TypeMismatch,
            QuarantineReason::Malformed {
                detail: format!("named {claimed} but the content is {detected}"),
            },
        ),
    };
    PartVerdict::Refuse {
        refusal,
        quarantine,
    }
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
    fn scanner_heuristics_are_told_as_what_they_are() {
        let cases = [
            (
                "Heuristics.Limits.Exceeded.MaxFileSize",
                RefusalReason::Unscannable,
            ),
            ("Heuristics.Encrypted.Zip", RefusalReason::PasswordProtected),
            ("Heuristics.Encrypted.PDF", RefusalReason::PasswordProtected),
            ("Heuristics.OLE2.ContainsMacros", RefusalReason::Dangerous),
            ("Heuristics.Broken.Executable", RefusalReason::Dangerous),
            ("Eicar-Test-Signature", RefusalReason::Infected),
            ("Win.Trojan.Agent-1", RefusalReason::Infected),
        ];
        for (signature, expected) in cases {
            assert_eq!(
                classify(&[scanner_finding(signature)]).refusal(),
                Some(expected),
                "{signature}"
            );
        }
    }

    #[test]
    fn nothing_found_is_accepted() {
        assert_eq!(classify(&[]), PartVerdict::Accept);
    }

    #[test]
    fn a_name_that_lies_about_the_content_is_refused() {
        assert!(matches!(
            classify(&[mismatch()]),
            PartVerdict::Refuse {
                refusal: RefusalReason::TypeMismatch,
                ..
            }
        ));
    }

    #[test]
    fn unscannable_is_kept_apart_from_infected_and_clean() {
        let unscannable = Finding::Unscannable {
            detail: "over the scanner's size limit".into(),
        };
        assert!(matches!(
            classify(std::slice::from_ref(&unscannable)),
            PartVerdict::Refuse {
                refusal: RefusalReason::Unscannable,
                quarantine: QuarantineReason::Unscannable { .. }
            }
        ));
        assert!(matches!(
            classify(&[unscannable, infected()]),
            PartVerdict::Refuse {
                refusal: RefusalReason::Infected,
                ..
            }
        ));
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
            (
                Finding::Disguised {
                    detail: "a PDF behind text".into(),
                },
                RefusalReason::Dangerous,
            ),
            (mismatch(), RefusalReason::TypeMismatch),
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
