//! The worker as a real process, and a clamd of a test's own, to stop and
//! start without disturbing other tests.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use secrecy::ExposeSecret;
use tokio::process::{Child, Command};

use crate::gateway::TestGateway;
use crate::process::ServiceProcess;
use crate::{Stack, unique};

/// The name the tests' "receiving mail server" signs its
/// `Authentication-Results` with.
pub const AUTHSERV_ID: &str = "mx.intake.test";

pub struct TestWorker {
    pub process: ServiceProcess,
    pub group: String,
    pub quarantine_bucket: String,
}

impl TestWorker {
    /// Starts a worker on the gateway's topics, bucket, database and keys;
    /// `clamd` overrides the stack's scanner address.
    pub async fn start(stack: &Stack, gateway: &TestGateway, clamd: Option<&str>) -> Self {
        Self::start_profile(stack, gateway, clamd, "debug").await
    }

    pub async fn start_profile(
        stack: &Stack,
        gateway: &TestGateway,
        clamd: Option<&str>,
        profile: &'static str,
    ) -> Self {
        Self::start_with(stack, gateway, clamd, profile, Vec::new()).await
    }

    /// As `start_profile`, with further settings (`INTAKE_...` names).
    pub async fn start_with(
        stack: &Stack,
        gateway: &TestGateway,
        clamd: Option<&str>,
        profile: &'static str,
        extra: Vec<(String, String)>,
    ) -> Self {
        let (store, quarantine_bucket) = stack.bucket().await;
        drop(store);
        let group = unique("worker");
        let mut env = stack.s3_and_kafka_env();
        env.extend([
            (
                "INTAKE_KAFKA__TOPIC_PREFIX".into(),
                gateway.kafka.topic_prefix.clone(),
            ),
            (
                "INTAKE_POSTGRES__URL".into(),
                stack.database_url(&gateway.db),
            ),
            (
                "INTAKE_CLAMAV__ADDRESS".into(),
                clamd.map_or_else(|| stack.get("INTAKE_CLAMAV__ADDRESS"), str::to_owned),
            ),
            (
                "INTAKE_WORKER__IDENTITIES".into(),
                gateway.identity.expose_secret().to_owned(),
            ),
            (
                "INTAKE_WORKER__RECIPIENTS".into(),
                gateway.recipient.clone(),
            ),
            (
                "INTAKE_WORKER__INBOUND_BUCKET".into(),
                gateway.bucket.clone(),
            ),
            (
                "INTAKE_WORKER__QUARANTINE_BUCKET".into(),
                quarantine_bucket.clone(),
            ),
            ("INTAKE_WORKER__GROUP_ID".into(), group.clone()),
            ("INTAKE_WORKER__INSTANCE_ID".into(), format!("{group}-0")),
            // Retries come quickly in tests; production waits longer.
            ("INTAKE_WORKER__MAX_BACKOFF".into(), "1s".into()),
            ("INTAKE_TELEMETRY__LOG_FORMAT".into(), "json".into()),
            ("INTAKE_WORKER__AUTHSERV_ID".into(), AUTHSERV_ID.into()),
            ("RUST_LOG".into(), "info".into()),
        ]);
        env.extend(extra);
        let process = ServiceProcess::start(stack, "intake-worker", &group, env, profile).await;
        Self {
            process,
            group,
            quarantine_bucket,
        }
    }

    pub async fn kill(&mut self) {
        self.process.kill().await;
    }

    pub async fn restart(&mut self, stack: &Stack) {
        self.process.restart(stack).await;
    }

    pub fn pid(&self) -> Option<u32> {
        self.process.pid()
    }

    pub fn log(&self) -> String {
        self.process.log()
    }
}

/// A clamd of one test's own, on a free port, with the stack's signatures.
pub struct TestClamd {
    pub address: String,
    conf: PathBuf,
    child: Option<Child>,
    /// Its signature database, when it has one of its own.
    own_db: Option<PathBuf>,
}

impl TestClamd {
    pub async fn start(stack: &Stack) -> Self {
        Self::start_in(stack, None).await
    }

    /// With a copy of the stack's signatures, to which the test may add
    /// its own ([`TestClamd::add_signature`]).
    pub async fn start_with_own_signatures(stack: &Stack) -> Self {
        let db = stack
            .repo_dir()
            .join("target/test-logs")
            .join(unique("clamd-db"));
        std::fs::create_dir_all(&db).expect("signature directory");
        let stack_db = stack.repo_dir().join(".stack/clamav/db");
        for entry in std::fs::read_dir(&stack_db).expect("the stack's signatures") {
            let entry = entry.expect("entry");
            if entry.file_type().expect("type").is_file() {
                std::fs::copy(entry.path(), db.join(entry.file_name())).expect("copy signatures");
            }
        }
        Self::start_in(stack, Some(db)).await
    }

    /// A new signature (a body pattern, ClamAV's `.ndb` format) that finds
    /// any file containing `pattern`; clamd is restarted to load it.
    pub async fn add_signature(&mut self, name: &str, pattern: &[u8]) {
        let db = self
            .own_db
            .as_ref()
            .expect("add_signature needs start_with_own_signatures");
        let line = format!("{name}:0:*:{}\n", hex::encode(pattern));
        std::fs::write(db.join("intake-test.ndb"), line).expect("write the signature");
        self.stop().await;
        self.resume().await;
    }

    async fn start_in(stack: &Stack, own_db: Option<PathBuf>) -> Self {
        let port = crate::free_port();
        let dir = stack
            .repo_dir()
            .join("target/test-logs")
            .join(unique("clamd"));
        std::fs::create_dir_all(dir.join("tmp")).expect("clamd directory");
        let db = own_db
            .clone()
            .unwrap_or_else(|| stack.repo_dir().join(".stack/clamav/db"));
        let conf = dir.join("clamd.conf");
        std::fs::write(
            &conf,
            format!(
                "TCPSocket {port}\nTCPAddr 127.0.0.1\nDatabaseDirectory {}\nTemporaryDirectory {}\n\
                 Foreground yes\nStreamMaxLength 450M\nMaxScanSize 450M\nMaxFileSize 450M\n\
                 AlertExceedsMax yes\nAlertEncrypted yes\nAlertEncryptedArchive yes\n\
                 AlertEncryptedDoc yes\nAlertOLE2Macros yes\nAlertBrokenExecutables yes\n\
                 MaxThreads 2\n",
                db.display(),
                dir.join("tmp").display()
            ),
        )
        .expect("clamd.conf");
        let mut clamd = Self {
            address: format!("127.0.0.1:{port}"),
            conf,
            child: None,
            own_db,
        };
        clamd.resume().await;
        clamd
    }

    /// Stops clamd abruptly.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.expect("kill clamd");
        }
    }

    /// Starts clamd again and waits until it answers.
    pub async fn resume(&mut self) {
        let child = Command::new("/usr/sbin/clamd")
            .arg(format!("--config-file={}", self.conf.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start clamd (make stack-up installs it)");
        self.child = Some(child);
        let scanner = intake_adapters::clamav::Scanner::new(
            &intake_adapters::clamav::ClamavConfig::at(self.address.clone()),
        );
        let deadline = Instant::now() + Duration::from_secs(60);
        while scanner.ping().await.is_err() {
            assert!(
                Instant::now() < deadline,
                "test clamd did not answer in 60 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
