//! The receipt service as a real process, with an SMTP server and an
//! Enter Finland stand-in of the test's own (the same scripts the local
//! stack runs), to stop, start and refuse without disturbing other tests.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use chrono::Utc;
use intake_adapters::kafka::{EventProducer, KafkaConfig};
use intake_core::events::{Event, ReceiptRequested};
use intake_core::topics;
use sqlx::PgPool;
use tokio::process::{Child, Command};
use uuid::Uuid;

use crate::mail::Mailbox;
use crate::process::ServiceProcess;
use crate::{Stack, free_port, unique};

pub const DOMAIN: &str = "agency.example";
pub const ESERVICE_TOKEN: &str = "test-eservice-token";

async fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "{what} did not listen in 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A helper process the test can stop abruptly and start again.
struct Helper {
    program: PathBuf,
    args: Vec<String>,
    port: u16,
    what: &'static str,
    child: Option<Child>,
}

impl Helper {
    async fn resume(&mut self) {
        let child = Command::new(&self.program)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("start the test {}: {e}", self.what));
        self.child = Some(child);
        wait_for_port(self.port, self.what).await;
    }

    async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.expect("kill helper");
        }
    }
}

/// An SMTP server (aiosmtpd with DKIM verification) of one test's own.
pub struct TestSmtp {
    pub port: u16,
    pub mailbox: Mailbox,
    helper: Helper,
}

impl TestSmtp {
    /// `reject_domain`: recipients there get a permanent 550.
    pub async fn start(stack: &Stack, reject_domain: Option<&str>) -> Self {
        let port = free_port();
        let dir = stack
            .repo_dir()
            .join("target/test-logs")
            .join(unique("smtp"));
        let python = stack
            .tools_dir()
            .join(format!(
                "smtp-venv-{}-dkimpy-{}",
                stack.get("STACK_AIOSMTPD_VERSION"),
                stack.get("STACK_DKIMPY_VERSION")
            ))
            .join("bin/python");
        assert!(
            python.exists(),
            "{} is missing: `make stack-up` installs it",
            python.display()
        );
        let local = stack.repo_dir().join("infra/local");
        let mut args = vec![
            local.join("smtp_sink.py").display().to_string(),
            "--port".into(),
            port.to_string(),
            "--maildir".into(),
            dir.display().to_string(),
            "--dkim-record".into(),
            format!(
                "{}={}",
                stack.get("STACK_DKIM_RECORD_NAME"),
                local.join("dkim/local.txt").display()
            ),
        ];
        if let Some(domain) = reject_domain {
            args.extend(["--reject-domain".into(), domain.into()]);
        }
        let mut helper = Helper {
            program: python,
            args,
            port,
            what: "SMTP server",
            child: None,
        };
        helper.resume().await;
        Self {
            port,
            mailbox: Mailbox::new(dir),
            helper,
        }
    }

    pub async fn stop(&mut self) {
        self.helper.stop().await;
    }

    pub async fn resume(&mut self) {
        self.helper.resume().await;
    }
}

/// The Enter Finland notification stand-in of one test's own.
pub struct TestEservice {
    pub url: String,
    pub dir: PathBuf,
    helper: Helper,
}

impl TestEservice {
    /// Customer numbers in `refuse` are answered 404 (unknown customer).
    pub async fn start(stack: &Stack, refuse: &[&str]) -> Self {
        let port = free_port();
        let dir = stack
            .repo_dir()
            .join("target/test-logs")
            .join(unique("eservice"));
        let mut args = vec![
            stack
                .repo_dir()
                .join("infra/local/eservice_standin.py")
                .display()
                .to_string(),
            "--port".into(),
            port.to_string(),
            "--dir".into(),
            dir.display().to_string(),
            "--token".into(),
            ESERVICE_TOKEN.into(),
        ];
        for customer in refuse {
            args.extend(["--refuse".into(), (*customer).into()]);
        }
        let mut helper = Helper {
            program: PathBuf::from("python3"),
            args,
            port,
            what: "e-service stand-in",
            child: None,
        };
        helper.resume().await;
        Self {
            url: format!("http://127.0.0.1:{port}"),
            dir,
            helper,
        }
    }

    /// Every notification stored, once per idempotency key.
    pub fn notifications(&self) -> Vec<serde_json::Value> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return vec![];
        };
        entries
            .filter_map(|e| Some(e.ok()?.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .filter_map(|p| serde_json::from_slice(&std::fs::read(p).ok()?).ok())
            .collect()
    }

    /// Requests that repeated an idempotency key already stored.
    pub fn replays(&self) -> usize {
        std::fs::read_to_string(self.dir.join("replays.log"))
            .map(|t| t.lines().count())
            .unwrap_or(0)
    }

    pub async fn stop(&mut self) {
        self.helper.stop().await;
    }

    pub async fn resume(&mut self) {
        self.helper.resume().await;
    }
}

/// The receipt service on a test's topics and database, sending to the
/// test's SMTP server and e-service stand-in.
pub struct TestReceipts {
    pub process: ServiceProcess,
    pub group: String,
}

impl TestReceipts {
    pub async fn start(
        stack: &Stack,
        kafka: &KafkaConfig,
        database_url: &str,
        smtp: &TestSmtp,
        eservice: &TestEservice,
        overrides: &[(&str, &str)],
    ) -> Self {
        Self::start_profile(
            stack,
            kafka,
            database_url,
            smtp,
            eservice,
            overrides,
            "debug",
        )
        .await
    }

    pub async fn start_profile(
        stack: &Stack,
        kafka: &KafkaConfig,
        database_url: &str,
        smtp: &TestSmtp,
        eservice: &TestEservice,
        overrides: &[(&str, &str)],
        profile: &'static str,
    ) -> Self {
        let group = unique("receipts");
        let key = stack.repo_dir().join("infra/local/dkim/local.pem");
        let mut env: Vec<(String, String)> = vec![
            (
                "INTAKE_KAFKA__BROKERS".into(),
                stack.get("INTAKE_KAFKA__BROKERS"),
            ),
            (
                "INTAKE_KAFKA__TOPIC_PREFIX".into(),
                kafka.topic_prefix.clone(),
            ),
            ("INTAKE_POSTGRES__URL".into(), database_url.to_owned()),
            ("INTAKE_SMTP__HOST".into(), "127.0.0.1".into()),
            ("INTAKE_SMTP__PORT".into(), smtp.port.to_string()),
            ("INTAKE_SMTP__TLS".into(), "none".into()),
            ("INTAKE_SMTP__TIMEOUT".into(), "3s".into()),
            ("INTAKE_RECEIPTS__DOMAIN".into(), DOMAIN.into()),
            (
                "INTAKE_RECEIPTS__FROM".into(),
                format!("Finnish Immigration Service <no-reply@{DOMAIN}>"),
            ),
            (
                "INTAKE_RECEIPTS__DKIM_SELECTOR".into(),
                stack.get("INTAKE_RECEIPTS__DKIM_SELECTOR"),
            ),
            (
                "INTAKE_RECEIPTS__DKIM_KEY_FILE".into(),
                key.display().to_string(),
            ),
            ("INTAKE_RECEIPTS__ESERVICE_URL".into(), eservice.url.clone()),
            (
                "INTAKE_RECEIPTS__ESERVICE_TOKEN".into(),
                ESERVICE_TOKEN.into(),
            ),
            ("INTAKE_RECEIPTS__ESERVICE_TIMEOUT".into(), "3s".into()),
            ("INTAKE_RECEIPTS__GROUP_ID".into(), group.clone()),
            ("INTAKE_RECEIPTS__INSTANCE_ID".into(), format!("{group}-0")),
            // Tests wait seconds, not minutes, for retries and leases.
            ("INTAKE_RECEIPTS__SEND_LEASE".into(), "5s".into()),
            ("INTAKE_RECEIPTS__RETRY_FIRST".into(), "200ms".into()),
            ("INTAKE_RECEIPTS__RETRY_MAX".into(), "1s".into()),
            ("INTAKE_RECEIPTS__POLL_INTERVAL".into(), "200ms".into()),
            ("INTAKE_TELEMETRY__LOG_FORMAT".into(), "json".into()),
            ("RUST_LOG".into(), "info".into()),
        ];
        for (key, value) in overrides {
            env.retain(|(k, _)| k != key);
            env.push(((*key).to_owned(), (*value).to_owned()));
        }
        let process = ServiceProcess::start(stack, "intake-receipts", &group, env, profile).await;
        Self { process, group }
    }
}

/// Receipt requests published straight to `receipts.v1`, for tests of the
/// receipt service alone. Each needs its supplement's row (the receipt
/// references it), which `seed` writes as the worker would have.
pub struct Requests {
    producer: EventProducer,
}

impl Requests {
    pub async fn new(kafka: &KafkaConfig) -> Self {
        intake_adapters::kafka::ensure_topics(kafka, &topics::ALL)
            .await
            .expect("topics");
        Self {
            producer: EventProducer::new(kafka).expect("producer"),
        }
    }

    pub async fn seed(pool: &PgPool, request: &ReceiptRequested) {
        sqlx::query(
            "insert into supplements (supplement_id, event_id, channel, arrived_at, outcome,
                                      receipt_reference)
             values ($1, $2, $3, $4, 'triage', $5) on conflict do nothing",
        )
        .bind(request.supplement_id)
        .bind(Uuid::new_v4())
        .bind(request.channel.as_str())
        .bind(request.arrived_at)
        .bind(&request.reference)
        .execute(pool)
        .await
        .expect("seed a supplement");
    }

    pub async fn publish(&self, request: &ReceiptRequested) {
        let event = Event::new("/tests/worker", Utc::now(), request.clone())
            .with_id(Uuid::new_v5(&request.receipt_id, b"event"));
        self.producer
            .publish(&topics::RECEIPTS, &event)
            .await
            .expect("publish a receipt request");
    }
}

/// Waits until `expected` receipts are stored, whatever their state.
pub async fn wait_until_stored(pool: &PgPool, expected: i64, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        let (total,): (i64,) = sqlx::query_as("select count(*) from receipts")
            .fetch_one(pool)
            .await
            .expect("count receipts");
        if total >= expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{total} of {expected} receipts stored in {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until no receipt is pending, sending or held and `expected` exist.
pub async fn wait_until_settled(pool: &PgPool, expected: i64, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        let (total, open): (i64, i64) = sqlx::query_as(
            "select count(*), count(*) filter (where state in ('pending', 'sending', 'held')) from receipts",
        )
        .fetch_one(pool)
        .await
        .expect("count receipts");
        if total >= expected && open == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "receipts not settled in {limit:?}: {total} of {expected} stored, {open} open"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
