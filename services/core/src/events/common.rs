//! Value types shared by several events.

use serde::{Deserialize, Serialize};

/// How a supplement reached the agency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Securemail,
    EnterFinland,
}

impl Channel {
    /// The name used in events and database rows.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Securemail => "securemail",
            Channel::EnterFinland => "enter_finland",
        }
    }
}

/// For the Securemail channel: encrypted Securemail, or plain e-mail that
/// arrived at the same mailbox (also receipted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    Securemail,
    Email,
}

/// The languages the agency answers in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    Fi,
    Sv,
    En,
}

impl Language {
    /// The ISO 639-1 code, as in events, rows and `Content-Language`.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Fi => "fi",
            Language::Sv => "sv",
            Language::En => "en",
        }
    }
}

/// What a receipt may say a file was: a closed set, so nothing the
/// applicant wrote reaches the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    Pdf,
    Image,
    Text,
    Document,
    Spreadsheet,
    Presentation,
    Archive,
    Other,
}

/// How the stored bytes are protected at rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PayloadEncryption {
    /// The age format to the agency's X25519 recipients.
    Age,
}

/// A claim check: where the bytes are, and what they must hash to once
/// decrypted. Events never carry bodies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectRef {
    pub bucket: String,
    pub key: String,
    /// Size of the plaintext in bytes.
    pub size: u64,
    /// Lower-case hex SHA-256 of the plaintext.
    pub sha256: String,
    pub encryption: PayloadEncryption,
}

/// A file handed over by Enter Finland as its own part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentRef {
    /// The name the applicant gave it, as UTF-8.
    pub filename: String,
    /// The content type the sender declared; not trusted.
    pub declared_content_type: Option<String>,
    pub object: ObjectRef,
}
