//! The API keeps the contract its OpenAPI document states: schemathesis
//! (PyPI, installed by `make prereqs`) generates requests from
//! `/api/v1/openapi.json`, valid and invalid, for a caseworker, a triage
//! officer and a security officer, and checks every answer: no server
//! error, only documented statuses and content types, bodies matching
//! their schemas, invalid input refused, and no operation working without
//! the token.

use std::path::PathBuf;

use crate::fixture::Fixture;

fn schemathesis(f: &Fixture) -> PathBuf {
    let tools = std::env::var_os("INTAKE_TOOLS_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("intake")))
        .or_else(|| std::env::var_os("HOME").map(|d| PathBuf::from(d).join(".cache/intake")))
        .expect("HOME is set");
    tools
        .join(format!(
            "schemathesis-{}",
            f.stack.get("STACK_SCHEMATHESIS_VERSION")
        ))
        .join("bin/schemathesis")
}

#[tokio::test]
async fn the_api_keeps_its_openapi_contract() {
    let f = Fixture::new().await;
    let binary = schemathesis(&f);
    assert!(
        binary.exists(),
        "{} is missing: run make prereqs",
        binary.display()
    );
    // Its own working directory: schemathesis keeps a cache of failures.
    let work = f.stack.repo_dir().join("target/schemathesis");
    std::fs::create_dir_all(&work).expect("work directory");
    for user in ["mikko", "tiina", "sami"] {
        let token = f.token(user).await;
        let out = tokio::process::Command::new(&binary)
            .current_dir(&work)
            .args([
                "run",
                &format!("{}/api/v1/openapi.json", f.inbox.url),
                "--url",
                &f.inbox.url,
                "--header",
                &format!("Authorization: Bearer {token}"),
                "--checks",
                "all",
                "--max-examples",
                "25",
                "--seed",
                "20261128",
                "--generation-database",
                "none",
                "--no-color",
            ])
            .output()
            .await
            .expect("run schemathesis");
        assert!(
            out.status.success(),
            "schemathesis found the API off its contract as {user}:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
