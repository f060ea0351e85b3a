//! The outbox relay against the real broker: a row that can never be
//! published is set aside after its attempts, the rows of other keys go
//! out meanwhile, and later rows of its own key wait behind it.

use intake_adapters::kafka::EventProducer;
use intake_core::topics;
use intake_tests::Stack;
use intake_worker::stage::publish::{SET_ASIDE_AFTER, relay_once};
use prometheus_client::metrics::counter::Counter;

use crate::support::gateway;

#[tokio::test]
async fn a_row_that_always_fails_is_set_aside_without_stopping_other_keys() {
    let stack = Stack::new();
    let gateway = gateway(&stack).await;
    intake_adapters::kafka::ensure_topics(&gateway.kafka, &topics::ALL)
        .await
        .expect("topics");
    let pool = &gateway.db.pool;
    let good = gateway.kafka.topics().name(&topics::RECEIPTS);
    let insert = |key: &'static str, payload: serde_json::Value| {
        let topic = good.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "insert into outbox (topic, message_key, headers, payload)
                 values ($1, $2, '[]'::jsonb, $3) returning id",
            )
            .bind(topic)
            .bind(key)
            .bind(payload)
            .fetch_one(pool)
            .await
            .expect("row")
        }
    };
    // Larger than any record the producer may send: it can never go out.
    let poisoned = insert("k1", serde_json::json!({ "text": "x".repeat(2 << 20) })).await;
    let behind = insert("k1", serde_json::json!({})).await;
    let other = insert("k2", serde_json::json!({})).await;

    let producer = EventProducer::new(&gateway.kafka).expect("producer");
    for _ in 0..SET_ASIDE_AFTER {
        let _ = relay_once(pool, &producer, &Counter::default()).await;
    }
    let state = |id: i64| async move {
        sqlx::query_as::<_, (bool, bool, i32)>(
            "select sent_at is not null, set_aside_at is not null, attempts from outbox where id = $1",
        )
        .bind(id)
        .fetch_one(pool)
        .await
        .expect("state")
    };
    assert_eq!(state(poisoned).await, (false, true, SET_ASIDE_AFTER));
    assert_eq!(
        state(behind).await,
        (false, false, 0),
        "its key's later row waits"
    );
    assert!(state(other).await.0, "other keys are not held");
    // Nothing more is picked up while the row is set aside.
    assert_eq!(
        relay_once(pool, &producer, &Counter::default()).await,
        Ok(0)
    );
}
