//! The store's batch of outcomes and its arrival gate on a database of
//! their own (`#[sqlx::test]` makes and migrates one per test): numbers,
//! duplicates and redeliveries decided inside one batch as across
//! batches, and the aggregate questions the order stage asks.

use std::time::Duration;

use chrono::{DateTime, Utc};
use intake_adapters::pg::MIGRATOR;
use intake_core::decide::{
    Candidate, Explicit, Identifiers, Kind, NonPartyPolicy, PartVerdict, Proposal, Scope,
};
use intake_core::events::{
    Channel, Language, ObjectRef, PayloadEncryption, QuarantineReason, ReceiptRecipient,
    RefusalReason, RoutingFlag, Transport,
};
use intake_core::ids::{ApplicationId, CustomerNumber};
use intake_core::topics::TopicNames;
use intake_worker::analyse::{Analysis, FileResult};
use intake_worker::store::{self, Pending, Recorded, Registered};
use sqlx::PgPool;
use uuid::Uuid;

const WINDOW: Duration = Duration::from_secs(30 * 24 * 3600);

fn at(second: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + second, 0).expect("time")
}

fn app(n: u32) -> ApplicationId {
    ApplicationId::from_parts(2026, n).expect("valid")
}

async fn register(pool: &PgPool, application: &ApplicationId, contact: &str) -> Registered {
    let customer = CustomerNumber::from_serial(42).expect("valid");
    sqlx::query(
        "insert into applications (application_id, customer_number, status, unit, confidential,
             language, contact_addresses, version, updated_at)
         values ($1, $3, 'pending', 'unit-a', false, 'fi', array[$2], 1, now())",
    )
    .bind(application.as_str())
    .bind(contact)
    .bind(customer.as_str())
    .execute(pool)
    .await
    .expect("application registered");
    Registered {
        candidate: Candidate {
            application_id: application.clone(),
            customer_number: customer,
            contact_addresses: vec![contact.into()],
            open_requests: vec![],
        },
        unit: "unit-a".into(),
        confidential: false,
        language: Language::Fi,
    }
}

/// A supplement's analysis as the record stage gets it; also used by
/// the group-commit test.
pub(crate) fn analysis(
    id: u128,
    arrived: i64,
    channel: Channel,
    text: &str,
    files: &[&str],
) -> Analysis {
    let supplement_id = Uuid::from_u128(id);
    Analysis {
        supplement_id,
        inbound_attempt: None,
        channel,
        transport: (channel == Channel::Securemail).then_some(Transport::Securemail),
        sender: Some("applicant@example.fi".into()),
        customer_number: None,
        arrived_at: at(arrived),
        language: None,
        request_id: None,
        decrypted_with: None,
        text: text.into(),
        text_object: None,
        files: files
            .iter()
            .enumerate()
            .map(|(i, sha)| file(supplement_id, i as u32 + 1, sha, false))
            .collect(),
        whole: None,
        mail: None,
        recipient: ReceiptRecipient::Email {
            address: "applicant@example.fi".into(),
        },
        identifiers: Identifiers::default(),
        explicit: Explicit::Sender {
            address: "applicant@example.fi".into(),
        },
        bounce: None,
    }
}

fn file(supplement_id: Uuid, ordinal: u32, sha: &str, refused: bool) -> FileResult {
    FileResult {
        attachment_id: Uuid::new_v5(&supplement_id, &ordinal.to_be_bytes()),
        ordinal,
        filename: format!("file{ordinal}.pdf"),
        declared_type: None,
        detected_type: "application/pdf".into(),
        size: 10,
        sha256: sha.repeat(64),
        verdict: if refused {
            PartVerdict::Refuse {
                refusal: RefusalReason::Infected,
                quarantine: QuarantineReason::Infected {
                    signature: "Eicar-Test-Signature".into(),
                },
            }
        } else {
            PartVerdict::Accept
        },
        object: ObjectRef {
            bucket: "b".into(),
            key: format!("{supplement_id}/{ordinal}"),
            size: 10,
            sha256: sha.repeat(64),
            encryption: PayloadEncryption::Age,
        },
        remove_after: None,
        scanned_at: Utc::now(),
    }
}

struct Item {
    event: Uuid,
    analysis: Analysis,
    proposal: Proposal,
    registered: Option<Registered>,
}

fn routed(event: u128, analysis: Analysis, to: &Registered) -> Item {
    Item {
        event: Uuid::from_u128(1000 + event),
        analysis,
        proposal: Proposal::Route {
            application_id: to.candidate.application_id.clone(),
            flags: vec![],
        },
        registered: Some(to.clone()),
    }
}

async fn record(pool: &PgPool, items: &[Item]) -> Vec<Recorded> {
    let pending: Vec<Pending<'_>> = items
        .iter()
        .enumerate()
        .map(|(i, item)| Pending {
            event_id: item.event,
            topic: "in",
            partition: 0,
            offset: i as i64,
            analysis: &item.analysis,
            proposal: &item.proposal,
            registered: item.registered.as_ref(),
            traceparent: None,
            dead_letter: None,
            replay: None,
        })
        .collect();
    store::record(pool, &TopicNames::new(String::new()), WINDOW, &pending)
        .await
        .expect("batch recorded")
}

fn written(kind: Kind, sequence: Option<i64>) -> Recorded {
    Recorded::Written { kind, sequence }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn one_batch_numbers_both_channels_in_order_and_links_a_resend_inside_it(pool: PgPool) {
    let a = register(&pool, &app(1), "applicant@example.fi").await;
    let b = register(&pool, &app(2), "other@example.fi").await;
    let items = [
        routed(
            1,
            analysis(1, 10, Channel::EnterFinland, "first", &["a"]),
            &a,
        ),
        routed(2, analysis(2, 11, Channel::Securemail, "second", &[]), &a),
        routed(3, analysis(3, 12, Channel::Securemail, "for b", &[]), &b),
        // The first one sent again: a duplicate of a supplement of this batch.
        routed(4, analysis(4, 13, Channel::Securemail, "first", &["a"]), &a),
        // Its files with new words: routed, flagged as a possible resend.
        routed(
            5,
            analysis(5, 14, Channel::EnterFinland, "new words", &["a"]),
            &a,
        ),
    ];
    let results = record(&pool, &items).await;
    assert_eq!(
        results,
        vec![
            written(Kind::Routed, Some(1)),
            written(Kind::Routed, Some(2)),
            written(Kind::Routed, Some(1)),
            written(Kind::Duplicate, None),
            written(Kind::Routed, Some(3)),
        ]
    );
    let (duplicate_of, resend_of): (Option<Uuid>, Option<Uuid>) = sqlx::query_as(
        "select (select duplicate_of from supplements where supplement_id = $1),
                (select possible_resend_of from supplements where supplement_id = $2)",
    )
    .bind(Uuid::from_u128(4))
    .bind(Uuid::from_u128(5))
    .fetch_one(&pool)
    .await
    .expect("read");
    assert_eq!(duplicate_of, Some(Uuid::from_u128(1)));
    assert_eq!(resend_of, Some(Uuid::from_u128(1)));
    let last: i64 = sqlx::query_scalar(
        "select last_sequence from application_sequences where application_id = $1",
    )
    .bind(app(1).as_str())
    .fetch_one(&pool)
    .await
    .expect("read");
    assert_eq!(last, 3);
    // Exactly one receipt request per supplement, in the order written.
    let receipts: Vec<String> = sqlx::query_scalar(
        "select payload->>'supplement_id' from outbox where topic = 'receipts.v1' order by id",
    )
    .fetch_all(&pool)
    .await
    .expect("read");
    let expected: Vec<String> = (1..=5).map(|n| Uuid::from_u128(n).to_string()).collect();
    assert_eq!(receipts, expected);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_redelivered_event_writes_nothing_in_the_same_batch_or_a_later_one(pool: PgPool) {
    let a = register(&pool, &app(1), "applicant@example.fi").await;
    let first = [routed(
        1,
        analysis(1, 10, Channel::Securemail, "x", &[]),
        &a,
    )];
    assert_eq!(
        record(&pool, &first).await,
        vec![written(Kind::Routed, Some(1))]
    );
    let again = [
        routed(1, analysis(1, 10, Channel::Securemail, "x", &[]), &a),
        routed(2, analysis(2, 11, Channel::Securemail, "y", &[]), &a),
        routed(2, analysis(2, 11, Channel::Securemail, "y", &[]), &a),
    ];
    assert_eq!(
        record(&pool, &again).await,
        vec![
            Recorded::AlreadyProcessed,
            written(Kind::Routed, Some(2)),
            Recorded::AlreadyProcessed,
        ]
    );
    let rows: i64 = sqlx::query_scalar("select count(*) from supplements")
        .fetch_one(&pool)
        .await
        .expect("read");
    assert_eq!(rows, 2);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_resend_of_an_earlier_batch_is_a_duplicate_and_a_refused_part_is_announced(pool: PgPool) {
    let a = register(&pool, &app(1), "applicant@example.fi").await;
    record(
        &pool,
        &[routed(
            1,
            analysis(1, 10, Channel::Securemail, "hello", &[]),
            &a,
        )],
    )
    .await;
    let mut infected = analysis(3, 12, Channel::Securemail, "with a virus", &[]);
    infected.files = vec![file(infected.supplement_id, 1, "c", true)];
    let results = record(
        &pool,
        &[
            routed(2, analysis(2, 11, Channel::Securemail, "hello", &[]), &a),
            routed(3, infected, &a),
        ],
    )
    .await;
    assert_eq!(
        results,
        vec![
            written(Kind::Duplicate, None),
            written(Kind::Routed, Some(2))
        ]
    );
    let flags: serde_json::Value =
        sqlx::query_scalar("select flags from supplements where supplement_id = $1")
            .bind(Uuid::from_u128(3))
            .fetch_one(&pool)
            .await
            .expect("read");
    assert_eq!(
        flags,
        serde_json::json!([RoutingFlag::PartsRefused { count: 1 }])
    );
    let quarantined: i64 =
        sqlx::query_scalar("select count(*) from outbox where topic = 'supplements.quarantine.v1'")
            .fetch_one(&pool)
            .await
            .expect("read");
    assert_eq!(quarantined, 1);
}

async fn claim(
    pool: &PgPool,
    id: u128,
    arrived: i64,
    application: Option<&str>,
    sender: Option<&str>,
    state: &str,
) {
    sqlx::query(
        "insert into ingest_claims (channel, idempotency_key, supplement_id, state, accepted_at,
             arrived_at, application_id, sender, claimed_at)
         values ('securemail', $1, $2, $3, case when $3 = 'accepted' then now() end, $4, $5, $6,
             now())",
    )
    .bind(format!("k{id}"))
    .bind(Uuid::from_u128(id))
    .bind(state)
    .bind(at(arrived))
    .bind(application)
    .bind(sender)
    .execute(pool)
    .await
    .expect("claim");
}

/// The gate's answer for arrivals up to second 100, uploads stale after
/// ten minutes.
async fn ask_gate(
    pool: &PgPool,
    applications: &[&ApplicationId],
    ours: &[Uuid],
    non_party: NonPartyPolicy,
) -> store::Blockers {
    mark_and_ask_gate(pool, &[], applications, ours, non_party).await
}

async fn mark_and_ask_gate(
    pool: &PgPool,
    marks: &[(Uuid, &ApplicationId)],
    applications: &[&ApplicationId],
    ours: &[Uuid],
    non_party: NonPartyPolicy,
) -> store::Blockers {
    let question = store::Question {
        marks,
        applications,
        ours,
        until: at(100),
        stale_after: Duration::from_secs(600),
        non_party,
    };
    store::blockers(pool, &question)
        .await
        .expect("gate answers")
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_gate_answers_with_the_earliest_blocker_per_application(pool: PgPool) {
    register(&pool, &app(1), "applicant@example.fi").await;
    register(&pool, &app(2), "other@example.fi").await;
    let (a1, a2) = (app(1), app(2));
    claim(&pool, 1, 10, Some(a1.as_str()), None, "accepted").await;
    claim(&pool, 2, 5, Some(a1.as_str()), None, "accepted").await;
    // An unmatched e-mail from application 2's contact.
    claim(&pool, 3, 7, None, Some("other@example.fi"), "accepted").await;
    // Held by this worker: not a blocker of its own.
    claim(&pool, 4, 1, Some(a1.as_str()), None, "accepted").await;
    // An upload still going on.
    claim(&pool, 5, 20, Some(a2.as_str()), None, "in_progress").await;
    let gate = ask_gate(
        &pool,
        &[&a1, &a2],
        &[Uuid::from_u128(4)],
        NonPartyPolicy::Triage,
    )
    .await;
    let mut seen: Vec<(u128, Scope)> = gate
        .blockers
        .iter()
        .map(|b| (b.supplement_id.as_u128(), b.scope.clone()))
        .collect();
    seen.sort_by_key(|(id, _)| *id);
    assert_eq!(
        seen,
        vec![
            (2, Scope::Only(vec![a1.clone()])),
            (3, Scope::Only(vec![a2.clone()])),
            (5, Scope::Only(vec![a2.clone()])),
        ],
        "the earliest of each application by its claims and by its contacts' unmatched mail"
    );
    assert!(
        gate.next_lapse.is_some(),
        "the upload stops counting when it goes stale"
    );

    // Where anyone's mail is routed, the unmatched mail holds every application.
    let gate = ask_gate(&pool, &[&a2], &[], NonPartyPolicy::Route).await;
    assert!(
        gate.blockers
            .iter()
            .any(|b| b.supplement_id == Uuid::from_u128(3) && b.scope == Scope::Any)
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn an_unfinished_upload_counts_until_it_goes_stale_and_says_when(pool: PgPool) {
    register(&pool, &app(1), "applicant@example.fi").await;
    let a1 = app(1);
    claim(&pool, 1, 10, Some(a1.as_str()), None, "in_progress").await;
    let gate = ask_gate(&pool, &[&a1], &[], NonPartyPolicy::Triage).await;
    assert_eq!(gate.blockers.len(), 1);
    let lapse = gate
        .next_lapse
        .expect("an upload stops counting at some point");
    let in_ten_minutes = Utc::now() + chrono::Duration::seconds(600);
    assert!((lapse - in_ten_minutes).num_seconds().abs() < 30, "{lapse}");
    sqlx::query("update ingest_claims set claimed_at = now() - interval '1 hour'")
        .execute(&pool)
        .await
        .expect("age the claim");
    let gate = ask_gate(&pool, &[&a1], &[], NonPartyPolicy::Triage).await;
    assert!(
        gate.blockers.is_empty(),
        "an abandoned upload holds nothing"
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_mark_made_while_asking_narrows_what_the_supplement_holds_elsewhere(pool: PgPool) {
    register(&pool, &app(1), "applicant@example.fi").await;
    register(&pool, &app(2), "other@example.fi").await;
    let (a1, a2) = (app(1), app(2));
    // Unmatched yet, in this worker: to every other worker it may belong
    // to any application.
    claim(&pool, 1, 5, None, None, "accepted").await;
    let elsewhere = ask_gate(&pool, &[&a2], &[], NonPartyPolicy::Route).await;
    assert!(
        elsewhere
            .blockers
            .iter()
            .any(|b| b.supplement_id == Uuid::from_u128(1) && b.scope == Scope::Any)
    );

    let here = mark_and_ask_gate(
        &pool,
        &[(Uuid::from_u128(1), &a1)],
        &[&a1],
        &[Uuid::from_u128(1)],
        NonPartyPolicy::Route,
    )
    .await;
    assert!(here.blockers.is_empty(), "its own mark holds nothing here");

    let elsewhere = ask_gate(&pool, &[&a1, &a2], &[], NonPartyPolicy::Route).await;
    let seen: Vec<(u128, Scope)> = elsewhere
        .blockers
        .iter()
        .map(|b| (b.supplement_id.as_u128(), b.scope.clone()))
        .collect();
    assert_eq!(
        seen,
        vec![(1, Scope::Only(vec![a1.clone()]))],
        "once marked it holds application 1 only"
    );
}
