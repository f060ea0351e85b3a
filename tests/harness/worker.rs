//! The worker as a real process, as production runs it, so tests can kill
//! it with SIGKILL and start it again; and a clamd of a test's own, to
//! stop and start without disturbing other tests.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use secrecy::ExposeSecret;
use tokio::process::{Child, Command};

use crate::gateway::TestGateway;
use crate::{Stack, unique};

pub struct TestWorker {
    env: Vec<(String, String)>,
    log: PathBuf,
    child: Option<Child>,
    pub group: String,
    pub quarantine_bucket: String,
    pub starts: u32,
    /// `debug` (tests) or `release` (benchmarks).
    profile: &'static str,
}

fn binary(stack: &Stack, profile: &str, name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| stack.repo_dir().join("target"));
    let path = target.join(profile).join(name);
    assert!(
        path.exists(),
        "{} is missing: build it first (`cargo build --bins`; `make test` does)",
        path.display()
    );
    path
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
        let (store, quarantine_bucket) = stack.bucket().await;
        drop(store);
        let group = unique("worker");
        let mut env: Vec<(String, String)> = [
            "INTAKE_S3__ENDPOINT",
            "INTAKE_S3__REGION",
            "INTAKE_S3__ACCESS_KEY_ID",
            "INTAKE_S3__SECRET_ACCESS_KEY",
            "INTAKE_S3__FORCE_PATH_STYLE",
            "INTAKE_KAFKA__BROKERS",
        ]
        .iter()
        .map(|k| (k.to_string(), stack.get(k)))
        .collect();
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
            ("RUST_LOG".into(), "info".into()),
        ]);
        let dir = stack.repo_dir().join("target/test-logs");
        std::fs::create_dir_all(&dir).expect("log directory");
        let mut worker = Self {
            env,
            log: dir.join(format!("{group}.log")),
            child: None,
            group,
            quarantine_bucket,
            starts: 0,
            profile,
        };
        worker.spawn(stack).await;
        worker
    }

    async fn spawn(&mut self, stack: &Stack) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("worker log");
        let mut command = Command::new(binary(stack, self.profile, "intake-worker"));
        command
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env_remove("INTAKE_CONFIG")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .kill_on_drop(true);
        let child = command.spawn().expect("start intake-worker");
        self.child = Some(child);
        self.starts += 1;
        self.wait_ready().await;
    }

    async fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let text = std::fs::read_to_string(&self.log).unwrap_or_default();
            if text.matches("\"message\":\"ready\"").count() >= self.starts as usize {
                return;
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!(
                    "intake-worker exited ({status}); log {}:\n{}",
                    self.log.display(),
                    tail(&text)
                );
            }
            assert!(
                Instant::now() < deadline,
                "intake-worker not ready in 120 s; log {}:\n{}",
                self.log.display(),
                tail(&text)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGKILL: no shutdown code runs, as when a node dies.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.expect("SIGKILL the worker");
        }
    }

    pub async fn restart(&mut self, stack: &Stack) {
        self.kill().await;
        self.spawn(stack).await;
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// A clamd of one test's own, on a free port, with the stack's signatures.
pub struct TestClamd {
    pub address: String,
    conf: PathBuf,
    child: Option<Child>,
}

impl TestClamd {
    pub async fn start(stack: &Stack) -> Self {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
            listener.local_addr().expect("address").port()
        };
        let dir = stack
            .repo_dir()
            .join("target/test-logs")
            .join(unique("clamd"));
        std::fs::create_dir_all(dir.join("tmp")).expect("clamd directory");
        let db = stack.repo_dir().join(".stack/clamav/db");
        let conf = dir.join("clamd.conf");
        std::fs::write(
            &conf,
            format!(
                "TCPSocket {port}\nTCPAddr 127.0.0.1\nDatabaseDirectory {}\nTemporaryDirectory {}\n\
                 Foreground yes\nStreamMaxLength 450M\nMaxScanSize 450M\nMaxFileSize 450M\n\
                 AlertExceedsMax yes\nMaxThreads 2\n",
                db.display(),
                dir.join("tmp").display()
            ),
        )
        .expect("clamd.conf");
        let mut clamd = Self {
            address: format!("127.0.0.1:{port}"),
            conf,
            child: None,
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
        let scanner =
            intake_adapters::clamav::Scanner::new(&intake_adapters::clamav::ClamavConfig {
                address: self.address.clone(),
                chunk_size: 1 << 20,
            });
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
