//! The inbox in Debian's Chromium: `tests/browser/inbox.mjs` signs in
//! through the local identity provider and works the queue, triage and
//! quarantine; screenshots go to `target/browser/`.

use intake_tests::inbox::TestInbox;
use intake_tests::lag::Exporter;
use intake_tests::prometheus::TestPrometheus;
use intake_tests::{Stack, free_port};

use crate::fixture::{CLEAN_PDF, Fixture, PLAIN_APP};

/// The identity provider knows this port's callback as a redirect address.
const BROWSER_PORT: u16 = 8792;

#[tokio::test]
async fn a_caseworker_works_the_queue_in_a_real_browser() {
    let stack = Stack::new();
    // The operations page reads a Prometheus that scrapes the inbox and a
    // lag exporter on the inbox's database (its seeded queue is business
    // lag) and on topics of the test's own.
    let ops = format!("127.0.0.1:{}", free_port());
    let lag = format!("127.0.0.1:{}", free_port());
    let prometheus = TestPrometheus::start(
        &stack,
        &[("intake-inbox", ops.clone()), ("intake-lag", lag.clone())],
    )
    .await;
    let inbox = TestInbox::start_with(
        &stack,
        BROWSER_PORT,
        "debug",
        &[
            ("INTAKE_OPS__LISTEN", &ops),
            ("INTAKE_INBOX__PROMETHEUS_URL", &prometheus.url),
        ],
    )
    .await;
    let kafka = stack.kafka();
    intake_adapters::kafka::ensure_topics(&kafka, &intake_core::topics::ALL)
        .await
        .expect("topics");
    let _exporter = Exporter::start(
        &stack,
        &lag,
        &kafka.topic_prefix,
        "intake-worker",
        &stack.database_url(&inbox.db),
    );
    let f = Fixture::on(inbox).await;
    let repo = f.stack.repo_dir().to_path_buf();
    let expect = serde_json::json!({
        "first": f.first,
        "secret": f.secret,
        "triage": f.triage,
        "infected_file": f.infected_file,
        "plain_app": PLAIN_APP,
        "first_text": "Hello, here is my passport",
        "secret_sender": "secret@example.org",
        "clean_pdf": std::str::from_utf8(CLEAN_PDF).expect("ascii"),
    });
    // The page shows figures once Prometheus has scraped both a few times.
    prometheus
        .wait_for(
            "business lag scraped",
            "intake_business_waiting",
            std::time::Duration::from_secs(60),
            |s| !s.is_empty(),
        )
        .await;
    let out = tokio::process::Command::new("node")
        .arg(repo.join("tests/browser/inbox.mjs"))
        .current_dir(repo.join("tests/browser"))
        .env("INBOX_URL", &f.inbox.url)
        .env("OIDC_PASSWORD", f.stack.get("STACK_OIDC_PASSWORD"))
        .env("SHOTS", repo.join("target/browser"))
        .env("EXPECT", expect.to_string())
        .output()
        .await
        .expect("run node (make prereqs installs it)");
    assert!(
        out.status.success(),
        "browser test failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
