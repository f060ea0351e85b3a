//! The gateway's own settings (`INTAKE_GATEWAY__*`).

use std::net::SocketAddr;
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

const MIB: u64 = 1024 * 1024;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayConfig {
    /// Where to listen for the channels' requests.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Bearer token of the Securemail channel.
    pub securemail_token: SecretString,
    /// Bearer token of the Enter Finland e-service.
    pub enterfinland_token: SecretString,
    /// age public keys (`age1...`), comma-separated, that payloads are
    /// sealed to. Two during a key rotation.
    pub recipients: String,
    /// Bucket for sealed inbound payloads.
    #[serde(default = "default_bucket")]
    pub inbound_bucket: String,
    /// Largest attachment accepted: the 400 MB the service promises.
    #[serde(default = "default_max_attachment")]
    pub max_attachment_bytes: u64,
    /// Largest whole supplement: a raw e-mail (base64 makes a 400 MB file
    /// about 540 MB), or an Enter Finland submission with all its files.
    #[serde(default = "default_max_message")]
    pub max_message_bytes: u64,
    #[serde(default = "default_max_attachments")]
    pub max_attachments: usize,
    /// How long an unfinished request holds its idempotency key before a
    /// retry may take over; longer than the slowest healthy upload.
    #[serde(default = "default_claim_stale_after", with = "humantime_serde")]
    pub claim_stale_after: Duration,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

fn default_bucket() -> String {
    "intake-inbound".into()
}

fn default_max_attachment() -> u64 {
    400 * MIB
}

fn default_max_message() -> u64 {
    600 * MIB
}

fn default_max_attachments() -> usize {
    50
}

fn default_claim_stale_after() -> Duration {
    Duration::from_secs(30 * 60)
}

impl GatewayConfig {
    pub fn recipient_keys(&self) -> Vec<String> {
        self.recipients
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(str::to_owned)
            .collect()
    }
}
