//! One unit's queue with every kind of supplement, and a token for every
//! local user.

use bytes::Bytes;
use chrono::{Duration, Utc};
use intake_tests::Stack;
use intake_tests::inbox::{SupplementSeed, TestInbox};
use intake_tests::oidc;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

pub const HELSINKI: &str = "residence-permits-helsinki";
pub const TAMPERE: &str = "residence-permits-tampere";
pub const PLAIN_APP: &str = "MIG-2026-100001-9";
pub const SECRET_APP: &str = "MIG-2026-100002-4";
pub const TAMPERE_APP: &str = "MIG-2026-100003-5";
pub const CLEAN_PDF: &[u8] = b"%PDF-1.4 a passport scan";

pub struct Fixture {
    pub stack: Stack,
    pub inbox: TestInbox,
    /// Plain application, first in the queue, flagged as a possible resend.
    pub first: Uuid,
    /// Confidential, assigned to aino; also flagged.
    pub secret: Uuid,
    /// Plain application, second of its application.
    pub second: Uuid,
    pub tampere: Uuid,
    pub triage: Uuid,
    pub duplicate: Uuid,
    pub clean_file: Uuid,
    pub infected_file: Uuid,
    pub secret_file: Uuid,
}

impl Fixture {
    pub async fn new() -> Self {
        Self::on(TestInbox::start(&Stack::new()).await).await
    }

    /// Seeds an inbox already started.
    pub async fn on(inbox: TestInbox) -> Self {
        let stack = Stack::new();
        inbox
            .application(PLAIN_APP, HELSINKI, false, Some("aino"))
            .await;
        inbox
            .application(SECRET_APP, HELSINKI, true, Some("aino"))
            .await;
        inbox
            .application(TAMPERE_APP, TAMPERE, false, Some("elina"))
            .await;
        let at = |minutes: i64| Utc::now() - Duration::minutes(minutes);
        let resend = json!([{"kind": "possible_resend", "original_supplement_id": Uuid::nil()}]);
        // A gap: quarantined before the others, of the plain application.
        inbox
            .supplement(SupplementSeed {
                application_id: Some(PLAIN_APP),
                outcome: "quarantined",
                arrived_at: at(60),
                ..Default::default()
            })
            .await;
        let first = inbox
            .supplement(SupplementSeed {
                application_id: Some(PLAIN_APP),
                arrived_at: at(50),
                sender: Some("first@example.org"),
                flags: resend.clone(),
                ..Default::default()
            })
            .await;
        let secret = inbox
            .supplement(SupplementSeed {
                application_id: Some(SECRET_APP),
                arrived_at: at(40),
                sender: Some("secret@example.org"),
                confidential: true,
                flags: resend,
                text: Some("Confidential: my new address"),
                ..Default::default()
            })
            .await;
        let second = inbox
            .supplement(SupplementSeed {
                application_id: Some(PLAIN_APP),
                arrived_at: at(30),
                channel: "enter_finland",
                ..Default::default()
            })
            .await;
        let tampere = inbox
            .supplement(SupplementSeed {
                application_id: Some(TAMPERE_APP),
                arrived_at: at(20),
                ..Default::default()
            })
            .await;
        let triage = inbox
            .supplement(SupplementSeed {
                outcome: "triage",
                arrived_at: at(10),
                ..Default::default()
            })
            .await;
        let duplicate = inbox
            .supplement(SupplementSeed {
                application_id: Some(PLAIN_APP),
                outcome: "duplicate",
                duplicate_of: Some(first),
                arrived_at: at(5),
                ..Default::default()
            })
            .await;
        let clean_file = inbox
            .attachment(
                first,
                0,
                "passport.pdf",
                "clean",
                Bytes::from_static(CLEAN_PDF),
            )
            .await;
        let infected_file = inbox
            .attachment(
                first,
                1,
                "invoice.pdf",
                "infected",
                Bytes::from_static(b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR"),
            )
            .await;
        let secret_file = inbox
            .attachment(
                secret,
                0,
                "secret-plan.pdf",
                "clean",
                Bytes::from_static(CLEAN_PDF),
            )
            .await;
        Self {
            stack,
            inbox,
            first,
            secret,
            second,
            tampere,
            triage,
            duplicate,
            clean_file,
            infected_file,
            secret_file,
        }
    }

    pub async fn token(&self, user: &str) -> String {
        oidc::sign_in(&self.stack, user).await.access_token
    }

    pub fn request(&self, method: Method, path: &str, token: &str) -> RequestBuilder {
        self.inbox
            .client()
            .request(method, format!("{}/api/v1{path}", self.inbox.url))
            .bearer_auth(token)
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        let response = self
            .request(Method::GET, path, token)
            .send()
            .await
            .expect("inbox answers");
        let status = response.status();
        let body = response.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// A JSON POST: the status and the body (`null` when it is not JSON).
    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        let response = self
            .request(Method::POST, path, token)
            .json(&body)
            .send()
            .await
            .expect("inbox answers");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn queue(&self, token: &str, query: &str) -> Value {
        let (status, body) = self
            .get(&format!("/queue?unit={HELSINKI}{query}"), token)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    pub async fn take_next(&self, token: &str) -> Option<Uuid> {
        let response = self
            .request(Method::POST, "/queue/take-next", token)
            .json(&json!({ "unit": HELSINKI }))
            .send()
            .await
            .expect("inbox answers");
        match response.status() {
            StatusCode::NO_CONTENT => None,
            StatusCode::OK => {
                let body: Value = response.json().await.expect("json");
                Some(
                    body["supplement_id"]
                        .as_str()
                        .expect("id")
                        .parse()
                        .expect("uuid"),
                )
            }
            other => panic!(
                "take next: {other}: {}",
                response.text().await.unwrap_or_default()
            ),
        }
    }
}

pub fn ids(page: &Value) -> Vec<Uuid> {
    page["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            e["supplement_id"]
                .as_str()
                .expect("id")
                .parse()
                .expect("uuid")
        })
        .collect()
}
