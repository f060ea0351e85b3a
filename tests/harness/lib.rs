//! The harness shared by intake's end-to-end tests. It reaches the real
//! local stack (`make stack-up`) and gives every test its own topics,
//! bucket and database, so tests run in parallel without seeing each
//! other's data.
//!
//! Addresses come from `INTAKE_*` variables when set, else from
//! `infra/local/stack.env`, so `cargo test` works with or without `make`.

pub mod broker;
pub mod chart;
mod db;
pub mod gateway;
pub mod inbox;
pub mod lag;
mod mail;
pub mod oidc;
pub mod otlp;
pub mod process;
pub mod prometheus;
pub mod receipts;
mod settings;
pub mod worker;

use intake_adapters::clamav::ClamavConfig;
use intake_adapters::kafka::KafkaConfig;
use intake_adapters::s3::{ObjectStore, S3Config};
use intake_adapters::smtp::{SmtpConfig, SmtpTls};

pub use db::TestDb;
pub use mail::{Mailbox, StoredMail};
use settings::Settings;

/// A short random name part: unique per call.
/// A process's peak resident memory (VmHWM) in KiB, 0 if unknown.
pub fn peak_rss_kib(pid: u32) -> u64 {
    status_kib(pid, "VmHWM:").unwrap_or(0)
}

/// A process's resident memory now (VmRSS) in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    status_kib(pid, "VmRSS:")
}

/// One of the memory lines of `/proc/<pid>/status`, in KiB.
fn status_kib(pid: u32, field: &str) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// A port nothing listens on now (a process started next may take it).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
    listener.local_addr().expect("address").port()
}

pub fn unique(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}-{}", &id[..12])
}

/// Connection settings of the local stack.
pub struct Stack {
    settings: Settings,
}

impl Stack {
    pub fn new() -> Self {
        Self {
            settings: Settings::load(),
        }
    }

    /// Kafka settings whose topic names carry a prefix of their own.
    pub fn kafka(&self) -> KafkaConfig {
        let mut config = KafkaConfig::local(self.settings.get("INTAKE_KAFKA__BROKERS"));
        config.topic_prefix = format!("{}.", unique("test"));
        config
    }

    pub fn s3_config(&self) -> S3Config {
        S3Config {
            endpoint: Some(self.settings.get("INTAKE_S3__ENDPOINT")),
            region: self.settings.get("INTAKE_S3__REGION"),
            access_key_id: Some(self.settings.get("INTAKE_S3__ACCESS_KEY_ID")),
            secret_access_key: Some(self.settings.get("INTAKE_S3__SECRET_ACCESS_KEY").into()),
            force_path_style: true,
            part_size: 8 * 1024 * 1024,
        }
    }

    /// A client and a new, empty bucket of this test's own.
    pub async fn bucket(&self) -> (ObjectStore, String) {
        let store = ObjectStore::connect(&self.s3_config())
            .await
            .expect("S3 client");
        let bucket = unique("test");
        store
            .ensure_bucket(&bucket)
            .await
            .expect("create test bucket (is the stack up?)");
        (store, bucket)
    }

    pub fn clamav(&self) -> ClamavConfig {
        ClamavConfig::at(self.settings.get("INTAKE_CLAMAV__ADDRESS"))
    }

    pub fn smtp(&self) -> SmtpConfig {
        SmtpConfig {
            host: self.settings.get("INTAKE_SMTP__HOST"),
            port: self
                .settings
                .get("INTAKE_SMTP__PORT")
                .parse()
                .expect("numeric SMTP port"),
            tls: SmtpTls::None,
            username: None,
            password: None,
            timeout: std::time::Duration::from_secs(10),
        }
    }

    /// Where the local SMTP server stores what it receives.
    pub fn mailbox(&self) -> Mailbox {
        Mailbox::new(self.settings.repo_dir().join(".stack/smtp/mail"))
    }

    /// Another process's way into a test database.
    pub fn database_url(&self, db: &TestDb) -> String {
        let base = self.settings.get("INTAKE_POSTGRES__URL");
        let (server, _) = base.rsplit_once('/').expect("a database URL with a path");
        format!("{server}/{}", db.name)
    }

    pub fn get(&self, key: &str) -> String {
        self.settings.get(key)
    }

    /// Where `make stack-up` installs the stack's tools (as `lib.sh` says).
    pub fn tools_dir(&self) -> std::path::PathBuf {
        std::env::var("INTAKE_TOOLS_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|_| {
                std::env::var("XDG_CACHE_HOME")
                    .map(std::path::PathBuf::from)
                    .unwrap_or_else(|_| {
                        std::path::PathBuf::from(std::env::var("HOME").expect("HOME"))
                            .join(".cache")
                    })
                    .join("intake")
            })
    }

    /// The stack's S3 and Kafka settings, as every service process of a
    /// test gets them.
    pub fn s3_and_kafka_env(&self) -> Vec<(String, String)> {
        [
            "INTAKE_S3__ENDPOINT",
            "INTAKE_S3__REGION",
            "INTAKE_S3__ACCESS_KEY_ID",
            "INTAKE_S3__SECRET_ACCESS_KEY",
            "INTAKE_S3__FORCE_PATH_STYLE",
            "INTAKE_KAFKA__BROKERS",
        ]
        .iter()
        .map(|k| (k.to_string(), self.get(k)))
        .collect()
    }

    pub fn repo_dir(&self) -> &std::path::Path {
        self.settings.repo_dir()
    }

    /// A new database with every migration applied.
    pub async fn database(&self) -> TestDb {
        TestDb::create(&self.settings.get("INTAKE_POSTGRES__URL")).await
    }
}

impl Default for Stack {
    fn default() -> Self {
        Self::new()
    }
}
