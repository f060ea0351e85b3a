//! The receipt service's own settings (`INTAKE_RECEIPTS__*`).

use std::path::PathBuf;
use std::time::Duration;

use intake_core::receipt::{RateLimit, RetryPolicy};
use secrecy::SecretString;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptsConfig {
    /// The agency's own mail domain: Message-IDs, the DKIM signing domain,
    /// and the one domain the receipt names as the source of genuine mail.
    pub domain: String,
    /// The From header: the agency's no-reply address, with a display name.
    pub from: String,
    /// DKIM selector published under `<selector>._domainkey.<domain>`.
    pub dkim_selector: String,
    /// RSA private key (PKCS#1 PEM) for DKIM, read at start.
    pub dkim_key_file: PathBuf,
    /// Base URL of the Enter Finland notification API.
    pub eservice_url: String,
    pub eservice_token: SecretString,
    #[serde(default = "default_eservice_timeout", with = "humantime_serde")]
    pub eservice_timeout: Duration,
    /// Replaces the built-in texts with `<dir>/{fi,sv,en}.toml`.
    #[serde(default)]
    pub templates_dir: Option<PathBuf>,
    #[serde(default = "default_group")]
    pub group_id: String,
    /// Kafka static membership (a stable replica name).
    #[serde(default)]
    pub instance_id: Option<String>,
    /// Receipts to one e-mail address per `rate_window`; more are held and
    /// sent as one combined receipt when the window allows.
    #[serde(default = "default_rate_limit")]
    pub rate_limit: u32,
    #[serde(default = "default_rate_window", with = "humantime_serde")]
    pub rate_window: Duration,
    /// Receipts sent at the same time.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// How long a send may take before another sender treats it as
    /// interrupted; longer than the SMTP and e-service timeouts.
    #[serde(default = "default_send_lease", with = "humantime_serde")]
    pub send_lease: Duration,
    #[serde(default = "default_retry_first", with = "humantime_serde")]
    pub retry_first: Duration,
    #[serde(default = "default_retry_max", with = "humantime_serde")]
    pub retry_max: Duration,
    /// Attempts before a transient failure becomes a visible failure.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// How often due retries are looked for when nothing new arrives.
    #[serde(default = "default_poll_interval", with = "humantime_serde")]
    pub poll_interval: Duration,
}

impl ReceiptsConfig {
    pub fn rate(&self) -> RateLimit {
        RateLimit {
            per_window: self.rate_limit,
            window: self.rate_window,
        }
    }

    pub fn retry(&self) -> RetryPolicy {
        RetryPolicy {
            first: self.retry_first,
            max: self.retry_max,
            max_attempts: self.max_attempts,
        }
    }
}

fn default_eservice_timeout() -> Duration {
    Duration::from_secs(20)
}
fn default_group() -> String {
    "intake-receipts".to_owned()
}
fn default_rate_limit() -> u32 {
    10
}
fn default_rate_window() -> Duration {
    Duration::from_secs(3600)
}
fn default_concurrency() -> usize {
    8
}
fn default_send_lease() -> Duration {
    Duration::from_secs(120)
}
fn default_retry_first() -> Duration {
    Duration::from_secs(5)
}
fn default_retry_max() -> Duration {
    Duration::from_secs(15 * 60)
}
fn default_max_attempts() -> u32 {
    // 5 s doubling to 15 min: about a day of retries before giving up.
    100
}
fn default_poll_interval() -> Duration {
    Duration::from_secs(1)
}
