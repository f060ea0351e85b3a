//! Triage: only triage officers see what waits for it; attaching numbers
//! the supplement next in its application, puts it in the unit's queue and
//! announces it on the routed topic in the same transaction; closing takes
//! a reason. Neither can be done twice, nor by anyone else, nor around the
//! `inbox` schema.

use chrono::{Duration, Utc};
use intake_core::decide::outbox_event_id;
use intake_core::events::SupplementRouted;
use intake_tests::inbox::SupplementSeed;
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::fixture::{CLEAN_PDF, Fixture, PLAIN_APP, SECRET_APP, TAMPERE_APP, ids};

async fn attach(f: &Fixture, id: Uuid, token: &str, app: &str) -> (StatusCode, Value) {
    let body = json!({"application_id": app, "note": "the passport number matches"});
    f.post(&format!("/supplements/{id}/attach"), token, body)
        .await
}

async fn dismiss(f: &Fixture, id: Uuid, token: &str, reason: &str) -> (StatusCode, Value) {
    let body = json!({ "reason": reason });
    f.post(&format!("/supplements/{id}/dismiss"), token, body)
        .await
}

#[tokio::test]
async fn a_triage_officer_attaches_and_the_unit_gets_it_in_arrival_order() {
    let f = Fixture::new().await;
    let (tiina, aino, mikko, sami) = (
        f.token("tiina").await,
        f.token("aino").await,
        f.token("mikko").await,
        f.token("sami").await,
    );
    // An ambiguous one with a file and two candidates, arrived before the
    // plain application's second supplement.
    let ambiguous = f
        .inbox
        .supplement(SupplementSeed {
            outcome: "triage",
            arrived_at: Utc::now() - Duration::minutes(35),
            candidates: &[PLAIN_APP, TAMPERE_APP],
            text: Some("About MIG-2026-100001-9 and MIG-2026-100003-5"),
            ..Default::default()
        })
        .await;
    let file = f
        .inbox
        .attachment(ambiguous, 0, "permit.pdf", "clean", CLEAN_PDF.into())
        .await;

    let (status, page) = f.get("/triage", &tiina).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(ids(&page), vec![ambiguous, f.triage], "oldest first");
    assert_eq!(
        page["entries"][0]["triage_candidates"],
        json!([PLAIN_APP, TAMPERE_APP])
    );
    for (who, token) in [("a caseworker", &aino), ("a security officer", &sami)] {
        let (status, page) = f.get("/triage", token).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(page["total"], 0, "{who} sees nothing in triage");
        let (status, _) = f.get(&format!("/supplements/{ambiguous}"), token).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{who} cannot open it");
    }

    assert_eq!(
        attach(&f, ambiguous, &aino, PLAIN_APP).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        attach(&f, ambiguous, &tiina, "MIG-2026-999999-9").await.0,
        StatusCode::NOT_FOUND,
        "not in the registry"
    );
    assert_eq!(
        attach(&f, ambiguous, &tiina, "not an id").await.0,
        StatusCode::BAD_REQUEST
    );
    let (status, attached) = attach(&f, ambiguous, &tiina, PLAIN_APP).await;
    assert_eq!(status, StatusCode::OK, "{attached}");
    assert_eq!(attached["sequence"], 3, "next after the worker's 1 and 2");
    let (status, again) = attach(&f, ambiguous, &tiina, TAMPERE_APP).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "decided once, then not triage's: {again}"
    );

    // Out of triage, into the unit's queue at its arrival place.
    let (_, page) = f.get("/triage", &tiina).await;
    assert_eq!(ids(&page), vec![f.triage]);
    let queue = ids(&f.queue(&mikko, "").await);
    let at = |id: Uuid| queue.iter().position(|q| *q == id).expect("in the queue");
    assert!(
        at(f.secret) < at(ambiguous) && at(ambiguous) < at(f.second),
        "{queue:?}"
    );
    let (status, detail) = f.get(&format!("/supplements/{ambiguous}"), &mikko).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(detail["supplement"]["application_id"], PLAIN_APP);
    let (status, _) = f.get(&format!("/supplements/{ambiguous}"), &tiina).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "triage is done with it");

    // Announced once, as the worker would have: same id, same event.
    let rows: Vec<(String, String, Value, Value)> = sqlx::query_as(
        "select topic, message_key, headers, payload from outbox where payload->>'supplement_id' = $1",
    )
    .bind(ambiguous.to_string())
    .fetch_all(&f.inbox.db.pool)
    .await
    .expect("outbox");
    assert_eq!(rows.len(), 1);
    let (topic, key, headers, payload) = &rows[0];
    assert_eq!(topic, "supplements.routed.v1");
    assert_eq!(key, PLAIN_APP);
    let ce_id = headers
        .as_array()
        .expect("headers")
        .iter()
        .find(|h| h[0] == "ce_id")
        .map(|h| h[1].as_str().expect("id").to_owned());
    assert_eq!(
        ce_id,
        Some(outbox_event_id(ambiguous, "routed").to_string())
    );
    let routed: SupplementRouted = serde_json::from_value(payload.clone()).expect("a routed event");
    assert_eq!(routed.sequence, 3);
    assert_eq!(routed.unit, crate::fixture::HELSINKI);
    assert_eq!(routed.attachments.len(), 1);
    assert_eq!(routed.attachments[0].attachment_id, file);
    assert!(routed.text.is_some(), "the text's claim check goes along");

    let actions: Vec<(String, String, Value)> = sqlx::query_as(
        "select actor, action, detail from audit_log where supplement_id = $1 and action = 'attach'",
    )
    .bind(ambiguous)
    .fetch_all(&f.inbox.db.pool)
    .await
    .expect("audit");
    assert_eq!(actions.len(), 1);
    assert_eq!(actions[0].0, "tiina");
    assert_eq!(actions[0].2["note"], "the passport number matches");
}

#[tokio::test]
async fn closing_needs_a_triage_officer_and_a_reason() {
    let f = Fixture::new().await;
    let (tiina, aino) = (f.token("tiina").await, f.token("aino").await);
    let unprocessable = f
        .inbox
        .supplement(SupplementSeed {
            outcome: "unprocessable",
            text: None,
            ..Default::default()
        })
        .await;
    let (_, page) = f.get("/triage", &tiina).await;
    assert_eq!(
        ids(&page),
        vec![unprocessable, f.triage],
        "the unreadable one waits too"
    );
    let (status, _) = f
        .post(
            &format!("/supplements/{unprocessable}/attach"),
            &tiina,
            json!({"application_id": PLAIN_APP}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "nothing of it can be attached"
    );

    assert_eq!(
        dismiss(&f, f.triage, &aino, "spam").await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        dismiss(&f, f.triage, &tiina, "   ").await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        dismiss(&f, f.triage, &tiina, &"x".repeat(2001)).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        dismiss(&f, f.first, &tiina, "not mine").await.0,
        StatusCode::NOT_FOUND,
        "a routed one is not triage's"
    );
    assert_eq!(
        dismiss(&f, f.triage, &tiina, "an advertisement").await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        dismiss(&f, unprocessable, &tiina, "sent again, handled")
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        dismiss(&f, f.triage, &tiina, "again").await.0,
        StatusCode::NOT_FOUND,
        "closed is closed"
    );
    let (_, page) = f.get("/triage", &tiina).await;
    assert_eq!(page["total"], 0);

    let (outcome, reason, by): (String, String, String) = sqlx::query_as(
        "select outcome, dismissed_reason, decided_by from supplements where supplement_id = $1",
    )
    .bind(f.triage)
    .fetch_one(&f.inbox.db.pool)
    .await
    .expect("row");
    assert_eq!(
        (outcome.as_str(), reason.as_str(), by.as_str()),
        ("dismissed", "an advertisement", "tiina")
    );
}

/// The inbox's own database login cannot announce anything the schema did
/// not just decide, nor write the outbox or a supplement itself.
#[tokio::test]
async fn the_outbox_is_reached_only_through_an_attach() {
    let f = Fixture::new().await;
    let url = f.stack.database_url(&f.inbox.db).replacen(
        "://intake:intake@",
        "://intake_inbox:intake_inbox@",
        1,
    );
    let pool = sqlx::PgPool::connect(&url)
        .await
        .expect("connect as the inbox");
    let mut tx = pool.begin().await.expect("tx");
    sqlx::query("set local role intake_inbox_access")
        .execute(&mut *tx)
        .await
        .expect("role");
    sqlx::query("select inbox.act_as('tiina', '{triage_officer}', '{}')")
        .execute(&mut *tx)
        .await
        .expect("act as");
    let forged =
        sqlx::query("select inbox.announce_routed($1, 'supplements.routed.v1', $2, '[]', $3)")
            .bind(f.first)
            .bind(PLAIN_APP)
            .bind(
                json!({"supplement_id": f.first, "application_id": PLAIN_APP, "sequence": 1,
                     "unit": crate::fixture::HELSINKI, "confidential": false}),
            )
            .execute(&mut *tx)
            .await
            .expect_err("no attach in this transaction");
    assert_eq!(code(&forged), "42501", "{forged}");
    drop(tx);

    // Attached, then a second announcement of another supplement, or of
    // this one on another topic, in the same transaction.
    let mut tx = pool.begin().await.expect("tx");
    sqlx::query("set local role intake_inbox_access")
        .execute(&mut *tx)
        .await
        .expect("role");
    sqlx::query("select inbox.act_as('tiina', '{triage_officer}', '{}')")
        .execute(&mut *tx)
        .await
        .expect("act as");
    let facts: Value = sqlx::query_scalar(
        "select jsonb_build_object('application_id', application_id, 'sequence', sequence,
             'unit', unit, 'confidential', confidential, 'channel', channel,
             'arrived_at', arrived_at, 'request_id', request_id, 'flags', flags,
             'text', text_object, 'attachments', attachments)
         from inbox.attach($1, $2, null)",
    )
    .bind(f.triage)
    .bind(SECRET_APP)
    .fetch_one(&mut *tx)
    .await
    .expect("attach");
    let sequence = facts["sequence"].as_i64().expect("sequence");
    let payload = |id: Uuid| {
        json!({"supplement_id": id, "application_id": SECRET_APP,
        "sequence": sequence, "unit": crate::fixture::HELSINKI, "confidential": true})
    };
    for (id, topic) in [
        (f.first, "supplements.routed.v1"),
        (f.triage, "receipts.requested.v1"),
    ] {
        savepoint(&mut tx).await;
        let e = sqlx::query("select inbox.announce_routed($1, $2, $3, '[]', $4)")
            .bind(id)
            .bind(topic)
            .bind(SECRET_APP)
            .bind(payload(id))
            .execute(&mut *tx)
            .await
            .expect_err("refused");
        assert_eq!(code(&e), "42501", "{e}");
        back_to_savepoint(&mut tx).await;
    }
    // The attach's own event, but carrying a quarantined file to the
    // caseworkers' systems: refused.
    let mut smuggled = facts.clone();
    smuggled["supplement_id"] = json!(f.triage);
    smuggled["attachments"] = json!([{
        "attachment_id": f.infected_file, "filename": "invoice.pdf",
        "detected_type": "application/pdf",
        "object": {"bucket": "b", "key": "k", "size": 1, "sha256": "0".repeat(64), "encryption": "age"}
    }]);
    let headers = json!([
        ["ce_type", "fi.intake.supplement.routed.v1"],
        ["ce_subject", f.triage]
    ]);
    savepoint(&mut tx).await;
    let e = sqlx::query("select inbox.announce_routed($1, 'supplements.routed.v1', $2, $3, $4)")
        .bind(f.triage)
        .bind(SECRET_APP)
        .bind(&headers)
        .bind(&smuggled)
        .execute(&mut *tx)
        .await
        .expect_err("a smuggled file is refused");
    assert_eq!(code(&e), "42501", "{e}");
    back_to_savepoint(&mut tx).await;
    for sql in [
        "insert into outbox (topic, message_key, headers, payload) values ('x', 'x', '[]', '{}')",
        "update supplements set outcome = 'routed'",
        "select * from audit_log",
    ] {
        savepoint(&mut tx).await;
        let e = sqlx::query(sql)
            .execute(&mut *tx)
            .await
            .expect_err("no table privilege");
        assert_eq!(code(&e), "42501", "{sql}: {e}");
        back_to_savepoint(&mut tx).await;
    }
    // Attached and never announced: the transaction cannot commit, so no
    // supplement is routed without its event.
    let e = tx.commit().await.expect_err("an attach without its event");
    assert_eq!(code(&e), "42501", "{e}");
    let outcome: String =
        sqlx::query_scalar("select outcome from supplements where supplement_id = $1")
            .bind(f.triage)
            .fetch_one(&f.inbox.db.pool)
            .await
            .expect("row");
    assert_eq!(outcome, "triage");
}

async fn savepoint(tx: &mut sqlx::PgConnection) {
    sqlx::query("savepoint attempt")
        .execute(&mut *tx)
        .await
        .expect("savepoint");
}

async fn back_to_savepoint(tx: &mut sqlx::PgConnection) {
    sqlx::query("rollback to savepoint attempt")
        .execute(&mut *tx)
        .await
        .expect("rollback to savepoint");
}

fn code(e: &sqlx::Error) -> String {
    e.as_database_error()
        .and_then(|d| d.code())
        .map(|c| c.into_owned())
        .unwrap_or_default()
}
