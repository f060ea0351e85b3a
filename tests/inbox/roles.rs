//! Every role against every triage and quarantine action: who may, and
//! that everyone else is refused before anything happens or is counted.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::fixture::Fixture;

const EVERYONE: [&str; 8] = [
    "aino", "mikko", "lauri", "elina", "tiina", "sami", "olli", "anja",
];

async fn call(f: &Fixture, method: Method, path: &str, token: &str, body: Value) -> StatusCode {
    f.request(method, path, token)
        .json(&body)
        .send()
        .await
        .expect("inbox answers")
        .status()
}

#[tokio::test]
async fn only_the_right_role_reaches_triage_and_quarantine() {
    let f = Fixture::new().await;
    for user in EVERYONE {
        let token = f.token(user).await;
        let (_, triage) = f.get("/triage", &token).await;
        let (_, quarantine) = f.get("/quarantine", &token).await;
        let expect_triage = if user == "tiina" { 1 } else { 0 };
        let expect_quarantine = if user == "sami" { 1 } else { 0 };
        assert_eq!(triage["total"], expect_triage, "{user} counts triage");
        assert_eq!(
            quarantine["total"], expect_quarantine,
            "{user} counts quarantine"
        );

        // Allowed past the role check, each of these still changes
        // nothing: an application the registry does not hold, a file no
        // one asked to release.
        let attach = call(
            &f,
            Method::POST,
            &format!("/supplements/{}/attach", f.triage),
            &token,
            json!({"application_id": "MIG-2026-999999-0"}),
        )
        .await;
        let expected = if user == "tiina" {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::FORBIDDEN
        };
        assert_eq!(attach, expected, "{user} attaches");
        let approve = call(
            &f,
            Method::POST,
            &format!("/release-requests/{}/approve", uuid::Uuid::new_v4()),
            &token,
            json!(null),
        )
        .await;
        let expected = if user == "sami" {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::FORBIDDEN
        };
        assert_eq!(approve, expected, "{user} approves");
        let analysis = f
            .request(
                Method::POST,
                &format!("/quarantine/{}/analysis", f.clean_file),
                &token,
            )
            .json(&json!({"reason": "look"}))
            .send()
            .await
            .expect("answer")
            .status();
        let expected = if user == "sami" {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::FORBIDDEN
        };
        assert_eq!(
            analysis, expected,
            "{user} opens a clean file as quarantined"
        );
        if !matches!(user, "tiina") {
            let dismiss = call(
                &f,
                Method::POST,
                &format!("/supplements/{}/dismiss", f.triage),
                &token,
                json!({"reason": "spam"}),
            )
            .await;
            assert_eq!(dismiss, StatusCode::FORBIDDEN, "{user} dismisses");
        }
        if !matches!(user, "sami") {
            let ask = call(
                &f,
                Method::POST,
                &format!("/quarantine/{}/release-requests", f.infected_file),
                &token,
                json!({"reason": "please"}),
            )
            .await;
            assert_eq!(ask, StatusCode::FORBIDDEN, "{user} asks for a release");
        }
    }
    // Nothing of the refused attempts happened.
    let (requests, outcome): (i64, String) = sqlx::query_as(
        "select (select count(*) from release_requests),
                (select outcome from supplements where supplement_id = $1)",
    )
    .bind(f.triage)
    .fetch_one(&f.inbox.db.pool)
    .await
    .expect("state");
    assert_eq!((requests, outcome.as_str()), (0, "triage"));
}
