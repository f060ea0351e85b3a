//! Every look and decision is in the hash-chained audit log, in the same
//! transaction; `intake audit verify` finds a row changed or removed by
//! hand; the assigned caseworker and auditors can see who looked.

use reqwest::{Method, StatusCode};

use crate::fixture::Fixture;

async fn verify(f: &Fixture) -> (bool, String) {
    let binary = intake_tests::process::binary(&f.stack, "debug", "intake");
    let out = tokio::process::Command::new(binary)
        .args(["audit", "verify"])
        .env("INTAKE_POSTGRES__URL", f.stack.database_url(&f.inbox.db))
        .env_remove("INTAKE_CONFIG")
        .output()
        .await
        .expect("run intake audit verify");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

async fn tamper(f: &Fixture, sql: &str) {
    let pool = &f.inbox.db.pool;
    // What someone with the owner's password could do: the append-only
    // trigger is switched off, the row changed, the trigger back on.
    sqlx::query("alter table audit_log disable trigger audit_log_append_only")
        .execute(pool)
        .await
        .expect("disable");
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(pool)
        .await
        .expect("tamper");
    sqlx::query("alter table audit_log enable trigger audit_log_append_only")
        .execute(pool)
        .await
        .expect("enable");
}

#[tokio::test]
async fn every_look_is_chained_and_a_changed_row_is_found() {
    let f = Fixture::new().await;
    let (aino, mikko) = (f.token("aino").await, f.token("mikko").await);
    f.queue(&mikko, "").await;
    f.get(&format!("/supplements/{}", f.secret), &mikko).await;
    f.get(&format!("/supplements/{}", f.secret), &aino).await;
    f.request(Method::GET, &format!("/files/{}", f.secret_file), &aino)
        .send()
        .await
        .expect("download");
    f.take_next(&mikko).await;

    let rows: Vec<(String, Option<String>, String)> =
        sqlx::query_as("select actor, role, action from audit_log order by chain_seq")
            .fetch_all(&f.inbox.db.pool)
            .await
            .expect("audit rows");
    for expected in [
        ("mikko", "list_queue"),
        ("mikko", "read_refused"),
        ("aino", "read"),
        ("aino", "download"),
        ("mikko", "lease"),
    ] {
        assert!(
            rows.iter().any(
                |(actor, role, action)| (actor.as_str(), action.as_str()) == expected
                    && role.as_deref() == Some("caseworker")
            ),
            "{expected:?} missing from {rows:?}"
        );
    }
    // Not even the tables' owner can rewrite history without switching the
    // trigger off first.
    let refused = sqlx::query("update audit_log set actor = 'x'")
        .execute(&f.inbox.db.pool)
        .await;
    assert!(refused.is_err(), "the audit log took an update");

    let (ok, text) = verify(&f).await;
    assert!(ok, "{text}");
    assert!(text.contains("intact"), "{text}");

    tamper(
        &f,
        "update audit_log set actor = 'someone-else' where chain_seq = 2",
    )
    .await;
    let (ok, text) = verify(&f).await;
    assert!(!ok, "a changed row went unnoticed: {text}");
    assert!(text.contains("row 2 was changed"), "{text}");
}

#[tokio::test]
async fn a_removed_row_is_found_in_the_middle_and_at_the_end() {
    let f = Fixture::new().await;
    let mikko = f.token("mikko").await;
    for _ in 0..3 {
        f.queue(&mikko, "").await;
    }
    tamper(&f, "delete from audit_log where chain_seq = 2").await;
    let (ok, text) = verify(&f).await;
    assert!(!ok && text.contains("missing"), "{text}");

    let f = Fixture::new().await;
    let mikko = f.token("mikko").await;
    for _ in 0..3 {
        f.queue(&mikko, "").await;
    }
    tamper(
        &f,
        "delete from audit_log where chain_seq = (select max(chain_seq) from audit_log)",
    )
    .await;
    let (ok, text) = verify(&f).await;
    assert!(!ok && text.contains("removed"), "{text}");
}

#[tokio::test]
async fn the_assigned_caseworker_and_auditors_see_who_looked() {
    let f = Fixture::new().await;
    let (aino, mikko, anja) = (
        f.token("aino").await,
        f.token("mikko").await,
        f.token("anja").await,
    );
    f.get(&format!("/supplements/{}", f.first), &mikko).await;
    let path = format!("/supplements/{}/access-log", f.first);
    for (who, token) in [("aino", &aino), ("anja", &anja)] {
        let (status, body) = f.get(&path, token).await;
        assert_eq!(status, StatusCode::OK, "{who}: {body}");
        let entries = body.as_array().expect("entries");
        assert!(
            entries.iter().any(|e| e["actor"] == "mikko"
                && e["action"] == "read"
                && e["role"] == "caseworker"),
            "{who}: {body}"
        );
    }
    let (status, body) = f.get(&path, &mikko).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        serde_json::json!([]),
        "not assigned, not an auditor: nothing"
    );
}
