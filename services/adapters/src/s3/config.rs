//! Where the object store is and how to sign requests to it.

use secrecy::SecretString;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Config {
    /// Endpoint of an S3-compatible server; unset means AWS itself.
    pub endpoint: Option<String>,
    pub region: String,
    /// Static credentials; when unset, the AWS default chain is used
    /// (environment, profile, web identity, instance metadata).
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<SecretString>,
    /// Path-style addressing (`host/bucket/key`), which most
    /// S3-compatible servers need.
    #[serde(default)]
    pub force_path_style: bool,
    /// Size of each multipart upload part in bytes: the most memory one
    /// upload holds. At least 5 MiB (the S3 minimum).
    #[serde(default = "default_part_size")]
    pub part_size: usize,
}

fn default_part_size() -> usize {
    8 * 1024 * 1024
}

pub(super) const MIN_PART_SIZE: usize = 5 * 1024 * 1024;
