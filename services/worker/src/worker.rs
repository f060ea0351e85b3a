//! Starting the worker: the registry follower first (matching waits for
//! it), then the stages from the last to the first (see `stage`), the
//! status log and the group membership report.

use std::sync::Arc;
use std::time::Duration;

use intake_adapters::clamav::Scanner;
use intake_adapters::kafka::{EventProducer, KafkaConfig, watch};
use intake_adapters::ops::{Health, members, probes};
use intake_adapters::s3::ObjectStore;
use intake_adapters::sealing::{KeyRing, Recipients};
use intake_core::topics;
use rdkafka::consumer::{Consumer, StreamConsumer};
use sqlx::PgPool;
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::analyse::Analyser;
use crate::config::WorkerConfig;
use crate::content::Content;
use crate::metrics::WorkerMetrics;
use crate::registry::RegistryView;
use crate::scan::Scanning;
use crate::stage::{
    self,
    analyse::{AnalyseSettings, AnalyseStage},
    consume::{ConsumeContext, ConsumeStage},
    order::{Claims, OrderStage},
    record::{RecordSettings, RecordStage},
};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("INTAKE_WORKER__IDENTITIES: {0}")]
    Identities(#[source] intake_adapters::sealing::KeyError),
    #[error("INTAKE_WORKER__IDENTITIES holds no key")]
    NoIdentities,
    #[error("INTAKE_WORKER__RECIPIENTS: {0}")]
    Recipients(#[source] intake_adapters::sealing::KeyError),
    #[error("S3: {0}")]
    Store(#[from] intake_adapters::s3::S3Error),
    #[error("Kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("Kafka producer: {0}")]
    Producer(#[from] intake_adapters::kafka::PublishError),
    #[error("applications registry: {0}")]
    Registry(#[from] crate::registry::RegistryError),
    #[error("the registry follower stopped before catching up")]
    RegistryStopped,
    #[error(transparent)]
    MemoryBudget(#[from] crate::config::MemoryBudgetError),
    #[error("cannot find the worker's own binary to inspect files in a child: {0}")]
    OwnBinary(#[source] std::io::Error),
}

const CHANNEL_DEPTH: usize = 4096;

/// What the worker runs on, connected by the caller.
pub struct Parts {
    pub kafka: KafkaConfig,
    pub pool: PgPool,
    pub store: ObjectStore,
    pub scanner: Scanner,
    pub config: WorkerConfig,
    pub metrics: WorkerMetrics,
    /// Readiness: the worker adds a probe for each dependency it uses.
    pub health: Health,
}

pub struct Worker {
    /// Every stage's task: none ends while the worker runs.
    stages: Vec<JoinHandle<()>>,
    membership: members::Membership,
}

impl Worker {
    pub async fn start(parts: Parts) -> Result<Self, StartError> {
        let Parts {
            kafka,
            pool,
            store,
            scanner,
            config,
            metrics,
            health,
        } = parts;
        // Settings first: a bad one stops the start before anything connects.
        let mail_memory = config.mail_memory_permits()?;
        let identities = config.identity_secrets();
        if identities.is_empty() {
            return Err(StartError::NoIdentities);
        }
        let keys = KeyRing::parse(&identities).map_err(StartError::Identities)?;
        let recipients =
            Recipients::parse(&config.recipient_keys()).map_err(StartError::Recipients)?;
        store.ensure_bucket(&config.inbound_bucket).await?;
        store.ensure_bucket(&config.quarantine_bucket).await?;

        probes::postgres(&health, pool.clone());
        probes::s3(&health, store.clone(), config.inbound_bucket.clone());
        probes::clamd(&health, scanner.clone());
        let producer = EventProducer::new(&kafka)?;
        probes::kafka(&health, producer.clone(), intake_core::topics::SECUREMAIL);

        let (caught_up_tx, caught_up) = oneshot::channel();
        let registry = RegistryView::default();
        let _registry = crate::registry::follow(
            &kafka,
            &config.group_id,
            pool.clone(),
            registry.clone(),
            caught_up_tx,
            &health,
            &metrics.cut_offs,
        )
        .await?;
        tracing::info!("reading the applications registry");
        caught_up.await.map_err(|_| StartError::RegistryStopped)?;
        tracing::info!("applications registry caught up");

        let scanning = Scanning::new(scanner, config.backoff(), metrics.scans_waiting.clone());
        let analyser = Analyser {
            content: Content::new(store.clone(), keys, recipients, metrics.clone()),
            metrics: metrics.clone(),
            scanning,
            mime: config.mime_limits(),
            limits: config.inspect_limits(),
            inbound_bucket: config.inbound_bucket.clone(),
            quarantine_bucket: config.quarantine_bucket.clone(),
            max_mail_bytes: config.max_mail_bytes,
            inspect_max_bytes: config.inspect_max_bytes,
            sandbox: crate::sandbox::Budget {
                program: std::env::current_exe().map_err(StartError::OwnBinary)?,
                time: config.pdf_time_budget,
                memory_bytes: config.inspect_memory_bytes,
            },
            authserv_id: config.authserv_id.clone(),
            mail_memory: Arc::new(tokio::sync::Semaphore::new(mail_memory)),
        };
        let backoff = config.backoff();

        // The stages, from the last to the first: each is handed the next.
        let publish = Arc::new(Notify::new());
        let mut stages = Vec::new();
        stages.push(tokio::spawn(stage::publish::run(
            pool.clone(),
            producer.clone(),
            publish.clone(),
            backoff,
            metrics.published.clone(),
        )));
        let (to_record, record_inbox) = mpsc::channel(CHANNEL_DEPTH);
        let record = RecordStage::new(
            pool.clone(),
            kafka.topics(),
            RecordSettings {
                dedup_window: config.dedup_window,
                max_batch: config.record_batch,
                backoff,
            },
            producer,
            store,
            publish,
            metrics.clone(),
        );
        stages.push(tokio::spawn(record.run(record_inbox)));
        let (to_order, order_inbox) = mpsc::channel(CHANNEL_DEPTH);
        let finished_elsewhere = Arc::new(Notify::new());
        stages.push(tokio::spawn(stage::order::listen(
            pool.clone(),
            finished_elsewhere.clone(),
            backoff,
        )));
        let order = OrderStage::new(
            Claims {
                pool: pool.clone(),
                stale_after: config.claim_stale_after,
                non_party: config.non_party,
            },
            to_record,
            config.hold_limit,
            finished_elsewhere,
            backoff,
            metrics.clone(),
        );
        stages.push(tokio::spawn(order.run(order_inbox)));
        let analyse = AnalyseStage::new(
            pool.clone(),
            registry,
            kafka.topics(),
            analyser,
            AnalyseSettings {
                non_party: config.non_party,
                backoff,
                max_attempts: config.max_attempts as usize,
                group_id: config.group_id.clone(),
            },
            metrics.clone(),
            to_order,
        );

        let names = kafka.topics();
        // A lane stalled longer than max.poll.interval (clamd away) makes
        // this member leave and rejoin, which redelivery and the
        // processed-event table absorb.
        let mut client = kafka.member(&config.group_id, config.instance_id.as_deref());
        let watched = watch::watch(
            &mut client,
            &health,
            &metrics.cut_offs,
            kafka.consumer_stall_after,
        );
        let (consume, context) = ConsumeStage::new(analyse, config.lanes, watched, metrics.clone());
        let consumer: StreamConsumer<ConsumeContext> = client.create_with_context(context)?;
        consumer.subscribe(&[
            &names.name(&topics::SECUREMAIL),
            &names.name(&topics::ENTER_FINLAND),
        ])?;
        let membership = members::report(
            pool.clone(),
            &config.group_id,
            &members::instance_name(config.instance_id.as_deref()),
        );
        tokio::spawn(status_log(metrics));
        stages.push(tokio::spawn(consume.run(consumer)));
        Ok(Self { stages, membership })
    }

    /// Resolves when any stage ends, which it does only on a bug (a
    /// panic): the process should then stop rather than look healthy
    /// while recording nothing.
    pub async fn finished(&mut self) -> Result<(), tokio::task::JoinError> {
        let (ended, _, _) = futures::future::select_all(self.stages.iter_mut()).await;
        ended
    }

    /// A clean stop: the group shows this process gone at once.
    pub async fn leave(self) {
        for stage in &self.stages {
            stage.abort();
        }
        self.membership.leave().await;
    }
}

/// A periodic line for operations: records in flight, supplements waiting
/// for their turn, files waiting for the virus scanner.
async fn status_log(metrics: WorkerMetrics) {
    let mut tick = tokio::time::interval(Duration::from_secs(10));
    loop {
        tick.tick().await;
        let (in_flight, held, scans_waiting) = (
            metrics.in_flight.get(),
            metrics.held.get(),
            metrics.scans_waiting.get(),
        );
        if in_flight + held + scans_waiting > 0 {
            tracing::info!(in_flight, held, scans_waiting, "worker status");
        }
        if scans_waiting > 0 {
            tracing::warn!(scans_waiting, "files are waiting for the virus scanner");
        }
    }
}
