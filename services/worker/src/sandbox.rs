//! Parsing hostile files in a child process that can be killed. A PDF
//! parser or an archive reader given a crafted file can spin or allocate
//! past any budget checked from inside, and a timed-out thread cannot be
//! stopped. So PDFs, ZIP-based and OLE files are inspected by
//! `intake-worker inspect-file`, which limits its own CPU time and memory
//! (RLIMIT_CPU, RLIMIT_DATA) before it reads a byte, and which the worker
//! kills when the time budget runs out. Whatever goes wrong is a finding
//! (the file is refused), never a crash of the worker.

use std::io::{self, BufRead, Read, Write};
use std::process::{ExitCode, Stdio};
use std::time::Duration;

use intake_core::decide::Finding;
use intake_inspect::{FileBytes, InspectLimits, Inspection, inspect_file};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The subcommand the worker binary runs as a child.
pub const SUBCOMMAND: &str = "inspect-file";

/// What the child is told before the file's bytes follow on stdin.
#[derive(Debug, Serialize, Deserialize)]
struct Request {
    filename: String,
    declared_type: Option<String>,
    size: u64,
    limits: InspectLimits,
    cpu_seconds: u64,
    memory_bytes: u64,
}

/// The child's side: limits itself, reads the request line and the bytes,
/// inspects, writes the inspection as JSON.
pub fn serve() -> ExitCode {
    match serve_inner() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("inspect-file: {error}");
            ExitCode::FAILURE
        }
    }
}

fn serve_inner() -> io::Result<()> {
    let mut stdin = io::stdin().lock();
    let mut line = String::new();
    stdin.read_line(&mut line)?;
    let request: Request = serde_json::from_str(&line).map_err(io::Error::other)?;
    limit_self(request.cpu_seconds, request.memory_bytes)?;
    let mut bytes = Vec::with_capacity(usize::try_from(request.size).unwrap_or(0));
    stdin.take(request.size).read_to_end(&mut bytes)?;
    let inspection = inspect_file(
        FileBytes::whole(&request.filename, request.declared_type.as_deref(), &bytes),
        &request.limits,
    );
    let mut out = io::stdout().lock();
    serde_json::to_writer(&mut out, &inspection).map_err(io::Error::other)?;
    out.flush()
}

fn limit_self(cpu_seconds: u64, memory_bytes: u64) -> io::Result<()> {
    use nix::sys::resource::{Resource, setrlimit};
    setrlimit(Resource::RLIMIT_CPU, cpu_seconds, cpu_seconds).map_err(io::Error::from)?;
    setrlimit(Resource::RLIMIT_DATA, memory_bytes, memory_bytes).map_err(io::Error::from)?;
    Ok(())
}

/// The child to run and its budgets.
#[derive(Debug, Clone)]
pub struct Budget {
    /// The worker's own binary (`std::env::current_exe`).
    pub program: std::path::PathBuf,
    pub time: Duration,
    pub memory_bytes: u64,
}

/// The worker's side: runs the child on one file and waits at most the
/// time budget. A child that is killed, crashes, runs out of memory or
/// answers nonsense gives a `Malformed` finding.
pub async fn inspect_in_child(
    file: FileBytes<'_>,
    limits: &InspectLimits,
    budget: &Budget,
) -> Inspection {
    let refused = |why: String| Inspection {
        detected_type: intake_inspect::detect_type(file.head, None),
        findings: vec![Finding::Malformed { detail: why }],
        text: String::new(),
    };
    let Some(whole) = file.whole else {
        return refused("nothing to inspect".to_owned());
    };
    let request = Request {
        filename: file.filename.to_owned(),
        declared_type: file.declared_type.map(str::to_owned),
        size: whole.len() as u64,
        limits: limits.clone(),
        cpu_seconds: budget.time.as_secs().max(1),
        memory_bytes: budget.memory_bytes,
    };
    let run = async {
        let mut child = tokio::process::Command::new(&budget.program)
            .arg(SUBCOMMAND)
            // The child needs no secrets: it gets no environment at all.
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        let mut stdin = child
            .stdin
            .take()
            .ok_or_else(|| io::Error::other("no stdin"))?;
        let mut stdout = child
            .stdout
            .take()
            .ok_or_else(|| io::Error::other("no stdout"))?;
        let mut line = serde_json::to_vec(&request).map_err(io::Error::other)?;
        line.push(b'\n');
        let write = async {
            stdin.write_all(&line).await?;
            stdin.write_all(whole).await?;
            drop(stdin);
            Ok::<_, io::Error>(())
        };
        let mut answer = Vec::new();
        let read = stdout.read_to_end(&mut answer);
        let (written, read) = tokio::join!(write, read);
        let status = child.wait().await?;
        // A child that died early closes its stdin: that is its status's
        // story, not a write error's.
        if !status.success() {
            return Ok(Err(status));
        }
        written?;
        read?;
        Ok::<_, io::Error>(Ok(answer))
    };
    match tokio::time::timeout(budget.time, run).await {
        Err(_) => refused(format!(
            "inspection took longer than {:?} and was stopped",
            budget.time
        )),
        Ok(Err(error)) => refused(format!("inspection could not run: {error}")),
        Ok(Ok(Err(status))) => refused(format!(
            "inspection stopped outside its CPU or memory budget ({status})"
        )),
        Ok(Ok(Ok(answer))) => serde_json::from_slice(&answer)
            .unwrap_or_else(|e| refused(format!("inspection answered nonsense: {e}"))),
    }
}
