//! A Kafka-protocol broker of one test's own (the stack's tansu, on a free
//! port, with its own store), to make unresponsive and bring back without
//! disturbing other tests.

use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

use crate::{Stack, free_port, unique};

pub struct TestBroker {
    /// `host:port`, for `INTAKE_KAFKA__BROKERS`.
    pub address: String,
    child: Child,
}

impl TestBroker {
    /// Deleting expired records as often as the stack's broker does.
    pub async fn start(stack: &Stack) -> Self {
        Self::launch(stack, &stack.get("STACK_KAFKA_MAINTENANCE_INTERVAL")).await
    }

    /// A broker that deletes expired records every `maintenance`.
    pub async fn start_with_maintenance(stack: &Stack, maintenance: Duration) -> Self {
        Self::launch(stack, &format!("{}s", maintenance.as_secs().max(1))).await
    }

    /// `maintenance`: tansu's interval between retention runs (`5m`, `1s`).
    async fn launch(stack: &Stack, maintenance: &str) -> Self {
        let port = free_port();
        let dir = stack
            .repo_dir()
            .join("target/test-logs")
            .join(unique("broker"));
        std::fs::create_dir_all(&dir).expect("broker directory");
        let tansu = binary(stack);
        assert!(
            tansu.exists(),
            "{} is missing: `make stack-up` builds it",
            tansu.display()
        );
        let url = format!("tcp://127.0.0.1:{port}");
        let log = std::fs::File::create(dir.join("tansu.log")).expect("broker log");
        let child = Command::new(tansu)
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
            ])
            .args([
                "--storage-engine",
                &format!("sqlite://tansu.db?maintenance_interval={maintenance}"),
            ])
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("start tansu");
        let address = format!("127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while tokio::net::TcpStream::connect(&address).await.is_err() {
            assert!(
                Instant::now() < deadline,
                "tansu did not listen within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Self { address, child }
    }

    /// The broker stops answering (SIGSTOP): connections stay open and
    /// requests time out, as with a broker spinning on its store.
    pub async fn freeze(&self) {
        self.signal("-STOP").await;
    }

    /// Answers again (SIGCONT).
    pub async fn thaw(&self) {
        self.signal("-CONT").await;
    }

    async fn signal(&self, signal: &str) {
        let pid = self.child.id().expect("broker running").to_string();
        let status = Command::new("kill")
            .args([signal, &pid])
            .status()
            .await
            .expect("kill");
        assert!(status.success(), "kill {signal} {pid}");
    }
}

/// The broker `make stack-up` builds: named as `tansu_root` in
/// `infra/local/kafka.sh` names it, by version, features and patch.
fn binary(stack: &Stack) -> std::path::PathBuf {
    use sha2::Digest;
    let patch = std::fs::read(stack.repo_dir().join("infra/local/tansu/fixes.patch"))
        .expect("infra/local/tansu/fixes.patch");
    let digest = hex::encode(sha2::Sha256::digest(&patch));
    stack
        .tools_dir()
        .join(format!(
            "tansu-{}-{}-fixes-{}",
            stack.get("STACK_TANSU_VERSION"),
            stack.get("STACK_TANSU_FEATURES").replace(',', "-"),
            &digest[..8]
        ))
        .join("bin/tansu")
}

impl Drop for TestBroker {
    /// A frozen broker must be able to die.
    fn drop(&mut self) {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .args(["-CONT", &pid.to_string()])
                .status();
        }
    }
}
