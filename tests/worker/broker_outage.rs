//! A broker that stops answering (frozen, as one spinning on its store):
//! the worker notices within its configured time, says so once at ERROR
//! with what librdkafka last reported, counts it and reports not ready;
//! once the broker answers again it is ready again by itself, without a
//! restart, and goes on with what comes next.

use std::time::{Duration, Instant};

use intake_adapters::kafka::KafkaConfig;
use intake_generator::population::Population;
use intake_tests::broker::TestBroker;
use intake_tests::gateway::TestGateway;
use intake_tests::worker::TestWorker;
use intake_tests::{Stack, unique};

use crate::support::{self, limits, send_all, wait_until_done};

const STALL_AFTER: Duration = Duration::from_secs(10);

async fn ready(client: &reqwest::Client, url: &str) -> (bool, String) {
    match client.get(format!("{url}/health/ready")).send().await {
        Ok(response) => (
            response.status().is_success(),
            response.text().await.unwrap_or_default(),
        ),
        Err(error) => (false, error.to_string()),
    }
}

async fn cut_offs(client: &reqwest::Client, url: &str) -> u64 {
    let text = client
        .get(format!("{url}/metrics"))
        .send()
        .await
        .expect("metrics answer")
        .text()
        .await
        .expect("metrics text");
    text.lines()
        .find(|l| l.starts_with(r#"intake_consumer_cut_off_total{consumer="kafka_consumer"} "#))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .expect("the cut-off counter is exported")
}

/// Frozen past the session timeout, the broker evicts every member at the
/// first heartbeat after the thaw; the release of tansu then kept the
/// evicted leader as the group's leader for ever, and the worker's member
/// waited to join until the broker restarted (`infra/local/tansu/fixes.patch`
/// fixes it). Here the worker must be back without anyone's help.
#[tokio::test]
async fn a_frozen_broker_makes_the_worker_not_ready_once_and_it_recovers_by_itself() {
    let stack = Stack::new();
    let broker = TestBroker::start(&stack).await;
    let mut kafka = KafkaConfig::local(broker.address.clone());
    kafka.topic_prefix = format!("{}.", unique("outage"));
    let gateway = TestGateway::start_with_kafka(&stack, limits(), kafka).await;
    let population = Population::generate(21, 30);
    support::publish_registry(&gateway, &population).await;
    let supplements = support::supplements(&population, 21, 50);
    let (before, after) = supplements.split_at(25);
    let worker = TestWorker::start_with(
        &stack,
        &gateway,
        None,
        "debug",
        vec![
            ("INTAKE_KAFKA__BROKERS".into(), broker.address.clone()),
            (
                "INTAKE_KAFKA__CONSUMER_STALL_AFTER".into(),
                format!("{}s", STALL_AFTER.as_secs()),
            ),
        ],
    )
    .await;
    let first = send_all(&gateway, before, |_| async {}).await;
    let pool = &gateway.db.pool;
    wait_until_done(pool, first.len(), &worker, Duration::from_secs(120)).await;
    let ops = worker.process.ops_url();
    let client = reqwest::Client::new();
    assert!(
        ready(&client, &ops).await.0,
        "ready while the broker answers"
    );
    assert_eq!(cut_offs(&client, &ops).await, 0);

    broker.freeze().await;
    let frozen = Instant::now();
    // The producer's probe (`kafka`) may notice first; the consumer's
    // watch must say so too, within its limit.
    let not_ready = loop {
        let (is_ready, body) = ready(&client, &ops).await;
        if !is_ready && body.contains("kafka_consumer") {
            break body;
        }
        assert!(
            frozen.elapsed() < STALL_AFTER + Duration::from_secs(40),
            "the consumer still counted as in its group {:?} after the broker froze",
            frozen.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(not_ready.contains("kafka_consumer"), "{not_ready}");
    // Kept frozen a while longer: still one ERROR, one count.
    tokio::time::sleep(Duration::from_secs(12)).await;
    let errors: Vec<String> = worker
        .log()
        .lines()
        .filter(|l| l.contains("\"ERROR\"") && l.contains("kafka_consumer"))
        .map(str::to_owned)
        .collect();
    assert_eq!(errors.len(), 1, "one ERROR for the outage: {errors:#?}");
    assert!(
        errors[0].contains("group") && errors[0].contains("brokers"),
        "the log says what librdkafka last reported: {}",
        errors[0]
    );
    assert_eq!(cut_offs(&client, &ops).await, 1);

    broker.thaw().await;
    let second = send_all(&gateway, after, |_| async {}).await;
    wait_until_done(
        pool,
        first.len() + second.len(),
        &worker,
        Duration::from_secs(180),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready(&client, &ops).await.0 {
        assert!(Instant::now() < deadline, "not ready again after the thaw");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(worker.process.starts, 1, "recovered without a restart");
}
