//! intake's services as real processes, as production runs them, so tests
//! can kill them with SIGKILL and start them again.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

use crate::Stack;

/// A built binary of the workspace, wherever `CARGO_TARGET_DIR` puts it.
pub fn binary(stack: &Stack, profile: &str, name: &str) -> PathBuf {
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

/// The operator's `intake` command on `db`, with nothing of this
/// process's environment but what is added.
pub fn intake_command(stack: &Stack, db: &crate::TestDb) -> Command {
    let mut command = Command::new(binary(stack, "debug", "intake"));
    command
        .env_clear()
        .env("INTAKE_POSTGRES__URL", stack.database_url(db));
    command
}

/// Runs `command` and returns what it printed; fails the test if it fails.
pub async fn succeeds(mut command: Command) -> String {
    let output = command.output().await.expect("run intake");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{command:?} failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// One service binary with its environment and a log of its own under
/// `target/test-logs`.
pub struct ServiceProcess {
    name: &'static str,
    env: Vec<(String, String)>,
    log: PathBuf,
    child: Option<Child>,
    pub starts: u32,
    /// `debug` (tests) or `release` (benchmarks).
    profile: &'static str,
}

impl ServiceProcess {
    /// Starts `name` (e.g. `intake-worker`) and waits until it logs "ready".
    pub async fn start(
        stack: &Stack,
        name: &'static str,
        log_name: &str,
        env: Vec<(String, String)>,
        profile: &'static str,
    ) -> Self {
        let dir = stack.repo_dir().join("target/test-logs");
        std::fs::create_dir_all(&dir).expect("log directory");
        let mut process = Self {
            name,
            env,
            log: dir.join(format!("{log_name}.log")),
            child: None,
            starts: 0,
            profile,
        };
        process.spawn(stack).await;
        process
    }

    async fn spawn(&mut self, stack: &Stack) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("service log");
        let mut command = Command::new(binary(stack, self.profile, self.name));
        command
            // Any free port: tests run services side by side, and beside
            // the local stack's own (a test's setting wins).
            .env("INTAKE_OPS__LISTEN", "127.0.0.1:0")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env_remove("INTAKE_CONFIG")
            // Tests run on the local stack, whose committed keys they use.
            .env("INTAKE_LOCAL_STACK", "true")
            .current_dir(stack.repo_dir())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .kill_on_drop(true);
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", self.name));
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
                    "{} exited ({status}); log {}:\n{}",
                    self.name,
                    self.log.display(),
                    tail(&text)
                );
            }
            assert!(
                Instant::now() < deadline,
                "{} not ready in 120 s; log {}:\n{}",
                self.name,
                self.log.display(),
                tail(&text)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGKILL: no shutdown code runs, as when a node dies.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.expect("SIGKILL the service");
        }
    }

    pub async fn restart(&mut self, stack: &Stack) {
        self.kill().await;
        self.spawn(stack).await;
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    /// `http://address` of the current process's `/metrics` and `/health`,
    /// as it logged it.
    pub fn ops_url(&self) -> String {
        let log = self.log();
        let address = log
            .lines()
            .rev()
            .find_map(|line| {
                let at = line.find("\"ops_address\":\"")? + "\"ops_address\":\"".len();
                line[at..].split('"').next()
            })
            .unwrap_or_else(|| panic!("{} logged no ops address", self.name));
        format!("http://{address}")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}
