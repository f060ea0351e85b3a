//! `make bench`: a 400 MiB attachment through the real gateway binary into
//! the local stack, three times. Reports the median throughput and the
//! gateway's peak resident memory (VmHWM), and writes them to
//! `target/bench/gateway_upload.json`. The figures are measured, not
//! asserted: timing assertions flake on shared machines.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{StreamExt, stream};
use intake_tests::{Stack, peak_rss_kib, unique};
use rand::{RngCore, SeedableRng};

const MIB: usize = 1024 * 1024;
const UPLOAD_MIB: usize = 400;
const RUNS: usize = 3;

struct Gateway {
    child: Child,
    url: String,
    ops: String,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The release binary, as deployed; `make bench` builds it first.
fn binary() -> std::path::PathBuf {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/intake-gateway");
    assert!(
        path.exists(),
        "{} is missing: run `make bench`, which builds it",
        path.display()
    );
    path
}

/// `database` is a URL of the benchmark's own database, so its arrivals
/// never mix with a running pipeline's.
fn start(bucket: &str, prefix: &str, database: &str, port: u16) -> Gateway {
    let listen = format!("127.0.0.1:{port}");
    let child = Command::new(binary())
        .env("INTAKE_GATEWAY__LISTEN", &listen)
        .env("INTAKE_OPS__LISTEN", format!("127.0.0.1:{}", port + 1))
        .env("INTAKE_GATEWAY__INBOUND_BUCKET", bucket)
        .env("INTAKE_KAFKA__TOPIC_PREFIX", prefix)
        .env("INTAKE_POSTGRES__URL", database)
        .env("INTAKE_GATEWAY__MAX_MESSAGE_BYTES", (450 * MIB).to_string())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("start intake-gateway (are the INTAKE_* variables set? run through make bench)");
    Gateway {
        child,
        url: format!("http://{listen}"),
        ops: format!("http://127.0.0.1:{}", port + 1),
    }
}

/// `ops` is the gateway's operations address.
async fn wait_ready(ops: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if reqwest::get(format!("{ops}/health/ready"))
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("the gateway did not answer within 60 s");
}

/// One upload: 400 MiB of seeded random bytes, generated as they are sent.
async fn upload(url: &str, seed: u64) -> Duration {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let body = stream::iter(0..UPLOAD_MIB).map(move |_| {
        let mut chunk = vec![0u8; MIB];
        rng.fill_bytes(&mut chunk);
        Ok::<_, std::io::Error>(Bytes::from(chunk))
    });
    let metadata = serde_json::json!({
        "submission_id": unique("bench"),
        "customer_number": "12345678-6",
        "application_id": "MIG-2026-004217-5",
        "language": "en",
        "message": "benchmark upload",
    });
    let form = reqwest::multipart::Form::new()
        .part(
            "metadata",
            reqwest::multipart::Part::text(metadata.to_string())
                .mime_str("application/json")
                .expect("mime"),
        )
        .part(
            "attachment",
            reqwest::multipart::Part::stream(reqwest::Body::wrap_stream(body))
                .file_name("scan.bin"),
        );
    let started = Instant::now();
    let response = reqwest::Client::new()
        .post(format!("{url}/v1/enterfinland/submissions"))
        .bearer_auth(
            std::env::var("INTAKE_GATEWAY__ENTERFINLAND_TOKEN").expect("token from stack.env"),
        )
        .multipart(form)
        .send()
        .await
        .expect("upload");
    assert_eq!(
        response.status(),
        202,
        "{}",
        response.text().await.unwrap_or_default()
    );
    started.elapsed()
}

#[tokio::main]
async fn main() {
    let stack = Stack::new();
    let (store, bucket) = stack.bucket().await;
    let kafka = stack.kafka();
    let port = 18_080 + (std::process::id() % 1000) as u16;
    let db = stack.database().await;
    let gateway = start(&bucket, &kafka.topic_prefix, &stack.database_url(&db), port);
    wait_ready(&gateway.ops).await;
    let idle_kib = peak_rss_kib(gateway.child.id());

    let mut seconds = Vec::new();
    for run in 0..RUNS {
        let took = upload(&gateway.url, run as u64).await;
        println!(
            "run {}: {UPLOAD_MIB} MiB in {:.1} s",
            run + 1,
            took.as_secs_f64()
        );
        seconds.push(took.as_secs_f64());
    }
    let peak_kib = peak_rss_kib(gateway.child.id());
    let stored = store.list(&bucket, "").await.expect("list");
    assert_eq!(
        stored.len(),
        RUNS * 2,
        "each run stored its text and its attachment"
    );

    seconds.sort_by(f64::total_cmp);
    let median = seconds[RUNS / 2];
    let figures = serde_json::json!({
        "benchmark": "gateway_upload",
        "upload_mib": UPLOAD_MIB,
        "runs": RUNS,
        "seconds": seconds,
        "median_seconds": median,
        "median_mib_per_s": UPLOAD_MIB as f64 / median,
        "gateway_idle_rss_mib": idle_kib as f64 / 1024.0,
        "gateway_peak_rss_mib": peak_kib as f64 / 1024.0,
    });
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    std::fs::create_dir_all(&out).expect("create target/bench");
    std::fs::write(
        out.join("gateway_upload.json"),
        serde_json::to_string_pretty(&figures).expect("json"),
    )
    .expect("write figures");
    println!(
        "gateway upload: median {:.1} MiB/s over {RUNS} runs of {UPLOAD_MIB} MiB; peak RSS {:.1} MiB (idle {:.1} MiB)",
        UPLOAD_MIB as f64 / median,
        peak_kib as f64 / 1024.0,
        idle_kib as f64 / 1024.0
    );
}
