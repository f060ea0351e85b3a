//! Reading clamd's reply. clamd answers `stream: OK`, `stream: <name>
//! FOUND` or `<reason> ERROR`, NUL-terminated; anything else is treated as a
//! failed scan, so an unexpected answer can never let a file through.

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Clean,
    Infected { signature: String },
}

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// clamd could not be reached or the connection broke (including when
    /// clamd closes it after a stream exceeds its size limit).
    #[error("clamd at {address} is unreachable")]
    Unreachable {
        address: String,
        #[source]
        source: std::io::Error,
    },
    /// clamd refused to give a verdict, e.g. a size limit was exceeded.
    #[error("clamd could not scan: {0}")]
    Refused(String),
    #[error("clamd sent an unexpected reply: {0:?}")]
    Protocol(String),
    #[error("clamd did not answer within {0:?}")]
    Timeout(std::time::Duration),
    /// The stream is longer than clamd accepts; it is never sent.
    #[error("{size} bytes is over clamd's stream limit of {limit}")]
    OverLimit { size: u64, limit: u64 },
}

impl ScanError {
    /// Whether asking again can never give a verdict: the stream is over
    /// clamd's limits, or clamd refused it for a size or format limit.
    /// Everything else (clamd away, slow, out of memory) may pass.
    pub fn can_never_succeed(&self) -> bool {
        match self {
            ScanError::OverLimit { .. } => true,
            ScanError::Refused(reason) => {
                let reason = reason.to_ascii_lowercase();
                reason.contains("limit") || reason.contains("exceeded")
            }
            _ => false,
        }
    }
}

pub fn parse_reply(reply: &[u8]) -> Result<Verdict, ScanError> {
    let text = String::from_utf8_lossy(reply);
    let text = text.trim_end_matches(['\0', '\n', '\r']).trim();
    if let Some(reason) = text.strip_suffix(" ERROR") {
        return Err(ScanError::Refused(reason.to_owned()));
    }
    let Some(result) = text.strip_prefix("stream: ") else {
        return Err(ScanError::Protocol(text.to_owned()));
    };
    if result == "OK" {
        return Ok(Verdict::Clean);
    }
    match result.strip_suffix(" FOUND") {
        Some(signature) if !signature.is_empty() => Ok(Verdict::Infected {
            signature: signature.to_owned(),
        }),
        _ => Err(ScanError::Protocol(text.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean() {
        assert_eq!(parse_reply(b"stream: OK\0").expect("clean"), Verdict::Clean);
    }

    #[test]
    fn infected_names_the_signature() {
        assert_eq!(
            parse_reply(b"stream: Eicar-Test-Signature.UNOFFICIAL FOUND\0").expect("verdict"),
            Verdict::Infected {
                signature: "Eicar-Test-Signature.UNOFFICIAL".into()
            }
        );
    }

    #[test]
    fn errors_are_never_clean() {
        for reply in [
            &b"INSTREAM size limit exceeded. ERROR\0"[..],
            b"stream: Can't allocate memory ERROR\0",
        ] {
            assert!(
                matches!(parse_reply(reply), Err(ScanError::Refused(_))),
                "{reply:?}"
            );
        }
    }

    #[test]
    fn only_limits_are_final() {
        let over = parse_reply(b"INSTREAM size limit exceeded. ERROR\0").expect_err("error");
        assert!(over.can_never_succeed());
        let memory = parse_reply(b"stream: Can't allocate memory ERROR\0").expect_err("error");
        assert!(!memory.can_never_succeed());
        assert!(!ScanError::Timeout(std::time::Duration::from_secs(1)).can_never_succeed());
        assert!(ScanError::OverLimit { size: 2, limit: 1 }.can_never_succeed());
    }

    #[test]
    fn anything_unexpected_is_a_protocol_error() {
        for reply in [
            &b""[..],
            b"PONG\0",
            b"stream: FOUND\0",
            b"stream: maybe\0",
            b"OK\0",
        ] {
            assert!(
                matches!(parse_reply(reply), Err(ScanError::Protocol(_))),
                "{reply:?}"
            );
        }
    }
}
