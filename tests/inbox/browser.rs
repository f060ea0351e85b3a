//! The inbox in Debian's Chromium: `tests/browser/inbox.mjs` signs in
//! through the local identity provider and works the queue, triage and
//! quarantine; screenshots go to `target/browser/`.

use intake_tests::inbox::TestInbox;

use crate::fixture::{CLEAN_PDF, Fixture, PLAIN_APP};

/// The identity provider knows this port's callback as a redirect address.
const BROWSER_PORT: u16 = 8792;

#[tokio::test]
async fn a_caseworker_works_the_queue_in_a_real_browser() {
    let f = Fixture::on(TestInbox::start_on(&intake_tests::Stack::new(), BROWSER_PORT).await).await;
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
