//! Quarantine: security officers alone see refused files, and only their
//! metadata; opening one for analysis is recorded with its reason; a
//! release takes two different officers and a second scan by the real
//! clamd, and a scanner that cannot answer releases nothing.

use bytes::Bytes;
use intake_generator::files::EICAR;
use intake_tests::Stack;
use intake_tests::free_port;
use intake_tests::inbox::{SupplementSeed, TestInbox};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::fixture::{Fixture, PLAIN_APP};

async fn ask(f: &Fixture, file: Uuid, token: &str) -> (StatusCode, Value) {
    f.post(
        &format!("/quarantine/{file}/release-requests"),
        token,
        json!({"reason": "the sender called; it is her payslip, a false positive"}),
    )
    .await
}

async fn approve(f: &Fixture, request: &Value, token: &str) -> (StatusCode, Value) {
    let id = request["request_id"].as_str().expect("request id");
    f.post(
        &format!("/release-requests/{id}/approve"),
        token,
        json!(null),
    )
    .await
}

async fn download(f: &Fixture, file: Uuid, token: &str) -> StatusCode {
    f.request(Method::GET, &format!("/files/{file}"), token)
        .send()
        .await
        .expect("answer")
        .status()
}

#[tokio::test]
async fn only_security_officers_see_metadata_and_analysis_is_on_record() {
    let f = Fixture::new().await;
    let (sami, mikko, tiina, anja) = (
        f.token("sami").await,
        f.token("mikko").await,
        f.token("tiina").await,
        f.token("anja").await,
    );
    let (status, page) = f.get("/quarantine", &sami).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["total"], 1);
    let entry = &page["entries"][0];
    assert_eq!(entry["attachment_id"], f.infected_file.to_string());
    assert_eq!(entry["filename"], "invoice.pdf");
    for hidden in [
        "sender",
        "application_id",
        "text_key",
        "bucket",
        "object_key",
    ] {
        assert!(
            entry.get(hidden).is_none(),
            "{hidden} is not shown: {entry}"
        );
    }
    for token in [&mikko, &tiina, &anja] {
        let (_, page) = f.get("/quarantine", token).await;
        assert_eq!(page["total"], 0, "{page}");
    }

    let analysis = |token: &str, file: Uuid, reason: &str| {
        f.request(Method::POST, &format!("/quarantine/{file}/analysis"), token)
            .json(&json!({ "reason": reason }))
            .send()
    };
    let r = analysis(&mikko, f.infected_file, "curious")
        .await
        .expect("answer");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = analysis(&sami, f.infected_file, " ").await.expect("answer");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "a reason is needed");
    let r = analysis(&sami, f.clean_file, "look").await.expect("answer");
    assert_eq!(
        r.status(),
        StatusCode::NOT_FOUND,
        "a clean file is not quarantine's"
    );
    let r = analysis(&sami, f.infected_file, "signature check for the vendor")
        .await
        .expect("answer");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/octet-stream");
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .expect("ascii")
            .starts_with("attachment")
    );
    let bytes = r.bytes().await.expect("body");
    assert!(
        bytes.starts_with(b"X5O!P%@AP"),
        "the stored file, decrypted"
    );

    let rows: Vec<(String, Option<String>, Value)> = sqlx::query_as(
        "select actor, role, detail from audit_log where action = 'open_for_analysis'",
    )
    .fetch_all(&f.inbox.db.pool)
    .await
    .expect("audit");
    assert_eq!(rows.len(), 1, "refusals open nothing: {rows:?}");
    assert_eq!(rows[0].0, "sami");
    assert_eq!(rows[0].1.as_deref(), Some("security_officer"));
    assert_eq!(rows[0].2["reason"], "signature check for the vendor");
}

#[tokio::test]
async fn a_release_takes_two_officers_and_a_clean_second_scan() {
    let f = Fixture::new().await;
    let (sami, sofia, mikko) = (
        f.token("sami").await,
        f.token("sofia").await,
        f.token("mikko").await,
    );
    assert_eq!(
        download(&f, f.infected_file, &mikko).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        ask(&f, f.infected_file, &mikko).await.0,
        StatusCode::FORBIDDEN
    );
    let (status, request) = ask(&f, f.infected_file, &sami).await;
    assert_eq!(status, StatusCode::CREATED, "{request}");
    assert_eq!(
        ask(&f, f.infected_file, &sofia).await.0,
        StatusCode::CONFLICT,
        "one open request"
    );
    let (status, body) = approve(&f, &request, &sami).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "not the one who asked: {body}"
    );
    assert_eq!(approve(&f, &request, &mikko).await.0, StatusCode::FORBIDDEN);
    assert_eq!(
        download(&f, f.infected_file, &mikko).await,
        StatusCode::FORBIDDEN,
        "still held"
    );

    // The fixture's "infected" bytes are no virus: clamd finds nothing.
    let (status, approval) = approve(&f, &request, &sofia).await;
    assert_eq!(status, StatusCode::OK, "{approval}");
    assert_eq!(approval["decision"], "released");
    assert_eq!(
        approve(&f, &request, &sofia).await.0,
        StatusCode::NOT_FOUND,
        "decided once"
    );
    assert_eq!(
        download(&f, f.infected_file, &mikko).await,
        StatusCode::OK,
        "joined its supplement"
    );
    let (_, detail) = f.get(&format!("/supplements/{}", f.first), &mikko).await;
    let file = detail["files"]
        .as_array()
        .expect("files")
        .iter()
        .find(|x| x["attachment_id"] == f.infected_file.to_string())
        .expect("the file");
    assert_eq!(file["released"], true);
    assert_eq!(file["verdict"], "clean");
    let (_, page) = f.get("/quarantine", &sami).await;
    assert_eq!(page["total"], 0);

    let actions: Vec<(String, String)> = sqlx::query_as(
        "select actor, action from audit_log where action like 'release%' order by chain_seq",
    )
    .fetch_all(&f.inbox.db.pool)
    .await
    .expect("audit");
    assert_eq!(
        actions,
        vec![
            ("sami".into(), "release_requested".into()),
            ("sofia".into(), "release_approved".into())
        ]
    );
}

#[tokio::test]
async fn a_real_virus_stays_and_a_whole_message_cannot_be_released_in_parts() {
    let f = Fixture::new().await;
    let (sami, sofia, mikko) = (
        f.token("sami").await,
        f.token("sofia").await,
        f.token("mikko").await,
    );
    let eicar = f
        .inbox
        .attachment(
            f.second,
            0,
            "eicar.com",
            "infected",
            Bytes::from_static(EICAR),
        )
        .await;
    let (_, request) = ask(&f, eicar, &sami).await;
    let (status, approval) = approve(&f, &request, &sofia).await;
    assert_eq!(status, StatusCode::OK, "{approval}");
    assert_eq!(approval["decision"], "still_infected");
    assert!(
        approval["found"].as_str().unwrap_or("").contains("Eicar"),
        "{approval}"
    );
    assert_eq!(download(&f, eicar, &mikko).await, StatusCode::FORBIDDEN);
    let (_, page) = f.get("/quarantine", &sami).await;
    assert!(
        page["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .any(|e| e["attachment_id"] == eicar.to_string())
    );

    let whole = f
        .inbox
        .supplement(SupplementSeed {
            application_id: Some(PLAIN_APP),
            outcome: "quarantined",
            ..Default::default()
        })
        .await;
    let part = f
        .inbox
        .attachment(
            whole,
            0,
            "part.pdf",
            "dangerous",
            Bytes::from_static(b"%PDF-1.7 /JS"),
        )
        .await;
    let (status, body) = ask(&f, part, &sami).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
}

#[tokio::test]
async fn without_a_scanner_nothing_is_released() {
    let stack = Stack::new();
    // Nothing listens there.
    let closed = format!("127.0.0.1:{}", free_port());
    let inbox = TestInbox::start_with(
        &stack,
        free_port(),
        "debug",
        &[("INTAKE_CLAMAV__ADDRESS", closed.as_str())],
    )
    .await;
    let f = Fixture::on(inbox).await;
    let (sami, sofia, mikko) = (
        f.token("sami").await,
        f.token("sofia").await,
        f.token("mikko").await,
    );
    let (_, request) = ask(&f, f.infected_file, &sami).await;
    let (status, body) = approve(&f, &request, &sofia).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(
        download(&f, f.infected_file, &mikko).await,
        StatusCode::FORBIDDEN
    );
    let (_, page) = f.get("/quarantine", &sami).await;
    assert_eq!(
        page["entries"][0]["request_id"], request["request_id"],
        "the request is still open"
    );
    let approved: i64 =
        sqlx::query_scalar("select count(*) from audit_log where action = 'release_approved'")
            .fetch_one(&f.inbox.db.pool)
            .await
            .expect("count");
    assert_eq!(approved, 0);
}

/// A quarantined file swapped in S3 after inspection (anyone holding the
/// public sealing key can write a valid sealed object) is not released:
/// the approval hashes what it scans.
#[tokio::test]
async fn a_file_swapped_in_storage_is_not_released() {
    let f = Fixture::new().await;
    let (sami, sofia, mikko) = (
        f.token("sami").await,
        f.token("sofia").await,
        f.token("mikko").await,
    );
    let key: String =
        sqlx::query_scalar("select object_key from attachments where attachment_id = $1")
            .bind(f.infected_file)
            .fetch_one(&f.inbox.db.pool)
            .await
            .expect("key");
    f.inbox
        .seal(
            &key,
            Bytes::from_static(b"%PDF-1.7 something else entirely"),
        )
        .await;
    let (_, request) = ask(&f, f.infected_file, &sami).await;
    let (status, body) = approve(&f, &request, &sofia).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(
        download(&f, f.infected_file, &mikko).await,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn a_confidential_applicants_file_name_is_not_shown() {
    let f = Fixture::new().await;
    let sami = f.token("sami").await;
    f.inbox
        .attachment(
            f.secret,
            1,
            "diagnosis-hiv.pdf",
            "infected",
            Bytes::from_static(b"x"),
        )
        .await;
    let (_, page) = f.get("/quarantine", &sami).await;
    let text = page.to_string();
    assert!(!text.contains("diagnosis"), "{text}");
    let secret = page["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| e["confidential"] == true)
        .expect("listed, without its name");
    assert!(secret["filename"].is_null());
    let looks: i64 =
        sqlx::query_scalar("select count(*) from audit_log where action = 'look_quarantine'")
            .fetch_one(&f.inbox.db.pool)
            .await
            .expect("count");
    assert_eq!(looks, 1, "the look is on record");
}
