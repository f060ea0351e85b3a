//! Readiness probes of the systems the services share, one small request
//! each, every few seconds.

use std::time::Duration;

use intake_core::topics::TopicSpec;
use sqlx::PgPool;

use super::{Dependency, Health};
use crate::clamav::Scanner;
use crate::kafka::EventProducer;
use crate::s3::ObjectStore;

/// Often enough that an outage shows within seconds, rarely enough that
/// probes cost nothing beside real traffic.
pub const EVERY: Duration = Duration::from_secs(5);

pub fn postgres(health: &Health, pool: PgPool) -> Dependency {
    health.probe("postgres", EVERY, move || {
        let pool = pool.clone();
        async move { sqlx::query("select 1").execute(&pool).await.map(|_| ()) }
    })
}

/// Asks about `topic` only, within half the interval so that a slow
/// answer is reported as such rather than as the probe's own timeout.
pub fn kafka(health: &Health, producer: EventProducer, topic: TopicSpec) -> Dependency {
    health.probe("kafka", EVERY, move || {
        let producer = producer.clone();
        async move { producer.reachable(&topic, EVERY / 2).await }
    })
}

/// HeadBucket: the credentials need `s3:ListBucket` on `bucket`.
pub fn s3(health: &Health, store: ObjectStore, bucket: String) -> Dependency {
    health.probe("s3", EVERY, move || {
        let (store, bucket) = (store.clone(), bucket.clone());
        async move { store.head_bucket(&bucket).await }
    })
}

pub fn clamd(health: &Health, scanner: Scanner) -> Dependency {
    health.probe("clamd", EVERY, move || {
        let scanner = scanner.clone();
        async move { scanner.ping().await }
    })
}
