//! The inbox as a process on a database and bucket of the test's own, and
//! rows and sealed objects put in place as the worker would have left them.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use intake_adapters::s3::ObjectStore;
use intake_adapters::sealing::{Digest, Recipients, seal_stream};
use tokio_util::io::StreamReader;
use uuid::Uuid;

use crate::process::ServiceProcess;
use crate::{Stack, TestDb, free_port, unique};

pub struct TestInbox {
    pub url: String,
    pub db: TestDb,
    pub store: ObjectStore,
    pub bucket: String,
    pub process: ServiceProcess,
    recipients: Recipients,
}

impl TestInbox {
    pub async fn start(stack: &Stack) -> Self {
        Self::start_on(stack, free_port()).await
    }

    /// On a given port: the browser test's, which the identity provider
    /// knows as a redirect address.
    pub async fn start_on(stack: &Stack, port: u16) -> Self {
        Self::start_profile(stack, port, "debug").await
    }

    /// `release` for benchmarks.
    pub async fn start_profile(stack: &Stack, port: u16, profile: &'static str) -> Self {
        Self::start_with(stack, port, profile, &[]).await
    }

    /// With some settings replaced (a scanner that is not there, say).
    pub async fn start_with(
        stack: &Stack,
        port: u16,
        profile: &'static str,
        overrides: &[(&str, &str)],
    ) -> Self {
        let db = stack.database().await;
        let (store, bucket) = stack.bucket().await;
        let url = format!("http://127.0.0.1:{port}");
        let mut env: Vec<(String, String)> = [
            "INTAKE_S3__ENDPOINT",
            "INTAKE_S3__REGION",
            "INTAKE_S3__ACCESS_KEY_ID",
            "INTAKE_S3__SECRET_ACCESS_KEY",
            "INTAKE_S3__FORCE_PATH_STYLE",
            "INTAKE_INBOX__IDENTITIES",
            "INTAKE_INBOX__OIDC__ISSUER",
            "INTAKE_INBOX__OIDC__CLIENT_ID",
            "INTAKE_INBOX__OIDC__CLIENT_SECRET",
            "INTAKE_INBOX__SESSION_KEY",
            "INTAKE_CLAMAV__ADDRESS",
        ]
        .iter()
        .map(|k| (k.to_string(), stack.get(k)))
        .collect();
        env.extend([
            ("INTAKE_POSTGRES__URL".into(), stack.database_url(&db)),
            (
                "INTAKE_INBOX__DATABASE_URL".into(),
                stack.database_url(&db).replacen(
                    "://intake:intake@",
                    "://intake_inbox:intake_inbox@",
                    1,
                ),
            ),
            ("INTAKE_INBOX__LISTEN".into(), format!("127.0.0.1:{port}")),
            ("INTAKE_INBOX__PUBLIC_URL".into(), url.clone()),
            ("INTAKE_TELEMETRY__LOG_FORMAT".into(), "json".into()),
            ("RUST_LOG".into(), "info".into()),
        ]);
        for (key, value) in overrides {
            env.retain(|(k, _)| k != key);
            env.push(((*key).to_owned(), (*value).to_owned()));
        }
        let process =
            ServiceProcess::start(stack, "intake-inbox", &unique("inbox"), env, profile).await;
        let recipients =
            Recipients::parse(&[stack.get("INTAKE_GATEWAY__RECIPIENTS")]).expect("recipients");
        Self {
            url,
            db,
            store,
            bucket,
            process,
            recipients,
        }
    }

    /// Seals `bytes` as the worker does and stores them under `key`.
    pub async fn seal(&self, key: &str, bytes: Bytes) -> Digest {
        let digest: Arc<Mutex<Option<Digest>>> = Arc::default();
        let plain = futures::stream::iter([Ok::<_, std::io::Error>(bytes)]);
        let sealed = seal_stream(plain, &self.recipients, u64::MAX, digest.clone());
        self.store
            .put_stream(&self.bucket, key, StreamReader::new(Box::pin(sealed)))
            .await
            .expect("store sealed object");
        digest.lock().expect("digest").take().expect("sealed")
    }

    pub async fn application(
        &self,
        id: &str,
        unit: &str,
        confidential: bool,
        assigned: Option<&str>,
    ) {
        sqlx::query(
            "insert into applications (application_id, customer_number, status, unit, confidential,
                 language, contact_addresses, version, updated_at, assigned_caseworker)
             values ($1, '10000000-1', 'pending', $2, $3, 'fi', '{}', 1, now(), $4)",
        )
        .bind(id)
        .bind(unit)
        .bind(confidential)
        .bind(assigned)
        .execute(&self.db.pool)
        .await
        .expect("insert application");
    }

    /// A supplement as the worker records it; routed ones get the next
    /// number of their application.
    pub async fn supplement(&self, s: SupplementSeed<'_>) -> Uuid {
        let id = Uuid::now_v7();
        let (text_bucket, text_key, text_digest) = match s.text {
            Some(text) => {
                let key = format!("supplements/{id}/text.age");
                let digest = self.seal(&key, Bytes::from(text.to_owned())).await;
                (Some(self.bucket.clone()), Some(key), Some(digest))
            }
            None => (None, None, None),
        };
        let sequence: Option<i64> = if s.outcome == "routed" {
            let app = s
                .application_id
                .expect("a routed supplement has an application");
            // The worker's counter, which a triage attach continues.
            Some(
                sqlx::query_scalar(
                    "insert into application_sequences (application_id, last_sequence)
                     values ($1, 1)
                     on conflict (application_id)
                     do update set last_sequence = application_sequences.last_sequence + 1
                     returning last_sequence",
                )
                .bind(app)
                .fetch_one(&self.db.pool)
                .await
                .expect("next sequence"),
            )
        } else {
            None
        };
        let unit: Option<String> = match s.application_id {
            Some(app) => {
                sqlx::query_scalar("select unit from applications where application_id = $1")
                    .bind(app)
                    .fetch_optional(&self.db.pool)
                    .await
                    .expect("unit")
            }
            None => None,
        };
        sqlx::query(
            "insert into supplements (supplement_id, event_id, channel, transport, sender, arrived_at,
                 language, outcome, application_id, sequence, unit, confidential, duplicate_of,
                 flags, triage_reasons, text_bucket, text_key, receipt_reference, triage_candidates,
                 text_size, text_sha256)
             values ($1, $2, $3, 'securemail', $4, $5, 'fi', $6, $7, $8, $9, $10, $11, $12, $13,
                 $14, $15, $16, $17, $18, $19)",
        )
        .bind(id)
        .bind(Uuid::new_v4())
        .bind(s.channel)
        .bind(s.sender)
        .bind(s.arrived_at)
        .bind(s.outcome)
        .bind(s.application_id)
        .bind(sequence)
        .bind(unit)
        .bind(s.confidential)
        .bind(s.duplicate_of)
        .bind(s.flags.clone())
        .bind(if s.outcome == "triage" {
            Some(serde_json::json!([{"kind": "no_identifier"}]))
        } else {
            None
        })
        .bind(text_bucket)
        .bind(text_key)
        .bind(format!("R-{}", &id.simple().to_string()[20..]))
        .bind((s.outcome == "triage").then_some(s.candidates))
        .bind(text_digest.as_ref().map(|d| d.size as i64))
        .bind(text_digest.as_ref().map(|d| d.sha256.clone()))
        .execute(&self.db.pool)
        .await
        .expect("insert supplement");
        id
    }

    /// A file of a supplement, sealed in the bucket when clean.
    pub async fn attachment(
        &self,
        supplement: Uuid,
        ordinal: i32,
        name: &str,
        verdict: &str,
        bytes: Bytes,
    ) -> Uuid {
        let id = Uuid::new_v4();
        let key = format!("supplements/{supplement}/file-{ordinal}.age");
        let digest = self.seal(&key, bytes).await;
        sqlx::query(
            "insert into attachments (attachment_id, supplement_id, ordinal, filename, detected_type,
                 size, sha256, bucket, object_key, verdict, verdict_detail, scanned_at)
             values ($1, $2, $3, $4, 'application/pdf', $5, $6, $7, $8, $9, $10, now())",
        )
        .bind(id)
        .bind(supplement)
        .bind(ordinal)
        .bind(name)
        .bind(i64::try_from(digest.size).expect("size"))
        .bind(&digest.sha256)
        .bind(&self.bucket)
        .bind(&key)
        .bind(verdict)
        .bind((verdict != "clean").then_some("Eicar-Signature"))
        .execute(&self.db.pool)
        .await
        .expect("insert attachment");
        id
    }

    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client")
    }
}

/// What a seeded supplement is; `Default` is a routed Securemail one.
#[derive(Clone)]
pub struct SupplementSeed<'a> {
    pub application_id: Option<&'a str>,
    pub outcome: &'a str,
    pub channel: &'a str,
    pub sender: Option<&'a str>,
    pub arrived_at: DateTime<Utc>,
    pub confidential: bool,
    pub duplicate_of: Option<Uuid>,
    pub flags: serde_json::Value,
    pub text: Option<&'a str>,
    /// For a triaged one: the applications the matcher pointed at.
    pub candidates: &'a [&'a str],
}

impl Default for SupplementSeed<'_> {
    fn default() -> Self {
        Self {
            application_id: None,
            outcome: "routed",
            channel: "securemail",
            sender: Some("applicant@example.org"),
            arrived_at: Utc::now() - Duration::hours(1),
            confidential: false,
            duplicate_of: None,
            flags: serde_json::json!([]),
            text: Some("Hello, here is my passport."),
            candidates: &[],
        }
    }
}
