//! Every look and decision is in the hash-chained audit log, in the same
//! transaction; `intake audit verify` finds a row changed or removed by
//! hand; the assigned caseworker and auditors can see who looked.

use reqwest::{Method, StatusCode};

use crate::fixture::Fixture;

async fn verify(f: &Fixture) -> (bool, String) {
    intake(f, &["audit", "verify"], &[]).await
}

/// Runs the `intake` command line against the fixture's database, with
/// the stack's own checkpoint settings (if any) replaced by `env`.
async fn intake(f: &Fixture, args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let binary = intake_tests::process::binary(&f.stack, "debug", "intake");
    let mut command = tokio::process::Command::new(binary);
    command
        .args(args)
        .env("INTAKE_POSTGRES__URL", f.stack.database_url(&f.inbox.db))
        .env_remove("INTAKE_CONFIG");
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("INTAKE_AUDIT__")) {
        command.env_remove(key);
    }
    for key in [
        "ENDPOINT",
        "REGION",
        "ACCESS_KEY_ID",
        "SECRET_ACCESS_KEY",
        "FORCE_PATH_STYLE",
    ] {
        let key = format!("INTAKE_S3__{key}");
        command.env(&key, f.stack.get(&key));
    }
    command.envs(env.iter().copied());
    let out = command.output().await.expect("run intake");
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

/// Someone with the owner's password rewrites the chain from a row on,
/// hashes and head included: the chain alone still verifies, the signed
/// checkpoint taken before does not match.
#[tokio::test]
async fn a_rewritten_chain_is_caught_by_a_signed_checkpoint() {
    let f = Fixture::new().await;
    let mikko = f.token("mikko").await;
    for _ in 0..4 {
        f.queue(&mikko, "").await;
    }
    let (ok, keys) = intake(&f, &["audit", "keygen"], &[]).await;
    assert!(ok, "{keys}");
    let mut lines = keys.lines();
    let public = lines
        .next()
        .and_then(|l| l.rsplit(' ').next())
        .expect("public key")
        .to_owned();
    let private = lines.next().expect("private key").to_owned();
    let prefix = format!("audit-checkpoints/{}/", uuid::Uuid::new_v4());
    let settings = [
        ("INTAKE_AUDIT__CHECKPOINT_BUCKET", f.inbox.bucket.as_str()),
        ("INTAKE_AUDIT__CHECKPOINT_PREFIX", prefix.as_str()),
        ("INTAKE_AUDIT__SIGNING_KEY", private.as_str()),
        ("INTAKE_AUDIT__VERIFYING_KEY", public.as_str()),
    ];
    let (ok, text) = intake(&f, &["audit", "checkpoint"], &settings).await;
    assert!(ok, "{text}");
    assert!(text.contains("row 4"), "{text}");
    let (ok, text) = intake(&f, &["audit", "verify"], &settings).await;
    assert!(ok && text.contains("1 signed checkpoints match"), "{text}");

    // Row 2 changed, every hash after it recomputed, the head moved along.
    let pool = &f.inbox.db.pool;
    for sql in [
        "alter table audit_log disable trigger audit_log_append_only",
        "alter table audit_chain_head disable trigger audit_chain_head_only_by_chain",
        "update audit_log set actor = 'someone-else' where chain_seq = 2",
        "do $$
         declare r audit_log%rowtype; prev bytea;
         begin
             select hash into prev from audit_log where chain_seq = 1;
             for r in select * from audit_log where chain_seq >= 2 order by chain_seq loop
                 r.prev_hash := prev;
                 r.hash := sha256(prev || convert_to(audit_canonical(r), 'UTF8'));
                 update audit_log set prev_hash = r.prev_hash, hash = r.hash where chain_seq = r.chain_seq;
                 prev := r.hash;
             end loop;
             update audit_chain_head set hash = prev;
         end $$",
        "alter table audit_log enable trigger audit_log_append_only",
        "alter table audit_chain_head enable trigger audit_chain_head_only_by_chain",
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(pool)
            .await
            .expect(sql);
    }
    let (ok, text) = verify(&f).await;
    assert!(ok, "the chain alone cannot tell: {text}");
    let (ok, text) = intake(&f, &["audit", "verify"], &settings).await;
    assert!(!ok && text.contains("checkpoint pins"), "{text}");

    // A checkpoint signed with another key is no checkpoint.
    let (_, other) = intake(&f, &["audit", "keygen"], &[]).await;
    let other_private = other.lines().nth(1).expect("private key").to_owned();
    let forged_prefix = format!("{prefix}forged/");
    let forger = [
        ("INTAKE_AUDIT__CHECKPOINT_BUCKET", f.inbox.bucket.as_str()),
        ("INTAKE_AUDIT__CHECKPOINT_PREFIX", forged_prefix.as_str()),
        ("INTAKE_AUDIT__SIGNING_KEY", other_private.as_str()),
    ];
    let (ok, text) = intake(&f, &["audit", "checkpoint"], &forger).await;
    assert!(ok, "{text}");
    let (ok, text) = intake(&f, &["audit", "verify"], &settings).await;
    assert!(!ok && text.contains("signed with key"), "{text}");
}

/// The owner edits a row and replaces `audit_canonical()` so the edited row
/// still yields its old text (what the stored hash covers): the verifier
/// builds the text itself and is not fooled.
#[tokio::test]
async fn a_replaced_canonical_function_does_not_hide_an_edit() {
    let f = Fixture::new().await;
    let mikko = f.token("mikko").await;
    for _ in 0..3 {
        f.queue(&mikko, "").await;
    }
    let pool = &f.inbox.db.pool;
    for sql in [
        "create table shadow as select chain_seq, audit_canonical(a) as text from audit_log a",
        "create or replace function audit_canonical(a audit_log) returns text
         language sql stable as $$ select text from shadow where chain_seq = a.chain_seq $$",
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(pool)
            .await
            .expect(sql);
    }
    tamper(
        &f,
        "update audit_log set actor = 'someone-else' where chain_seq = 2",
    )
    .await;
    let database_says: String =
        sqlx::query_scalar("select audit_canonical(a) from audit_log a where chain_seq = 2")
            .fetch_one(pool)
            .await
            .expect("text");
    assert!(!database_says.contains("someone-else"), "the function lies");
    let (ok, text) = verify(&f).await;
    assert!(!ok && text.contains("row 2 was changed"), "{text}");
}
