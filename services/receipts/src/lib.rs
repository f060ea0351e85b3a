//! intake-receipts: exactly one automatic receipt per supplement, by
//! e-mail (SMTP, DKIM-signed) or as an Enter Finland notification.
//!
//! The request from `receipts.v1` is stored first, once per supplement,
//! and admitted or suppressed there (loop rules, suppression list, rate
//! limit); a sender then takes due receipts under a lease, marks them
//! `sending` before anything leaves, and records the outcome. See the
//! README's "Receipts" section for what this guarantees after a crash.

pub mod config;
pub mod eservice;
pub mod intake;
pub mod mail;
pub mod metrics;
pub mod sender;
pub mod store;
pub mod templates;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use intake_adapters::ops::{Health, members, probes};
use std::time::Duration;

use intake_adapters::kafka::watch::{self, WatchedContext};
use intake_adapters::kafka::{EventProducer, KafkaConfig};
use intake_adapters::smtp::SmtpConfig;
use intake_core::topics;
use rdkafka::consumer::{Consumer, StreamConsumer};
use sqlx::PgPool;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::config::ReceiptsConfig;
use crate::metrics::ReceiptMetrics;
use crate::sender::Sender;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Templates(#[from] templates::TemplateError),
    #[error(transparent)]
    Mail(#[from] mail::MailSetupError),
    #[error(transparent)]
    Smtp(#[from] intake_adapters::smtp::SmtpConfigError),
    #[error(transparent)]
    Eservice(#[from] eservice::EserviceSetupError),
    #[error("Kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("Kafka producer: {0}")]
    Producer(#[from] intake_adapters::kafka::PublishError),
    #[error(
        "INTAKE_RECEIPTS__SEND_LEASE ({lease:?}) must be longer than the SMTP and e-service \
         timeouts ({timeout:?}): a send still running when its lease ends would be repeated"
    )]
    Lease { lease: Duration, timeout: Duration },
}

const SMTP_PROBE_EVERY: Duration = Duration::from_secs(60);

pub struct Parts {
    pub kafka: KafkaConfig,
    pub pool: PgPool,
    pub smtp: SmtpConfig,
    pub config: ReceiptsConfig,
    pub metrics: ReceiptMetrics,
    /// Readiness: the service adds a probe for each dependency it uses.
    pub health: Health,
}

pub struct Receipts {
    intake: JoinHandle<()>,
    membership: members::Membership,
    sender: JoinHandle<()>,
    stopping: Arc<AtomicBool>,
    wake: Arc<Notify>,
}

impl Receipts {
    pub async fn start(parts: Parts) -> Result<Self, StartError> {
        let Parts {
            kafka,
            pool,
            smtp,
            config,
            metrics,
            health,
        } = parts;
        let timeout = smtp.timeout.max(config.eservice_timeout);
        if config.send_lease <= timeout {
            return Err(StartError::Lease {
                lease: config.send_lease,
                timeout,
            });
        }
        let templates = templates::load(config.templates_dir.as_deref())?;
        let mailer = mail::Mailer::new(
            intake_adapters::smtp::transport(&smtp)?,
            &config.from,
            &config.domain,
            &config.dkim_selector,
            &config.dkim_key_file,
        )?;
        let eservice = eservice::Eservice::new(
            &config.eservice_url,
            config.eservice_token.clone(),
            config.eservice_timeout,
        )?;
        probes::postgres(&health, pool.clone());
        let transport = mailer.transport();
        // Rarely: a session every few seconds could itself trip a relay's
        // rate limit or greylisting.
        health.probe("smtp", SMTP_PROBE_EVERY, move || {
            let transport = transport.clone();
            async move {
                match transport.test_connection().await {
                    Ok(true) => Ok(()),
                    Ok(false) => Err("the mail server does not answer NOOP".to_owned()),
                    Err(e) => Err(e.to_string()),
                }
            }
        });
        let producer = EventProducer::new(&kafka)?;
        probes::kafka(&health, producer.clone(), topics::RECEIPTS);
        let wake = Arc::new(Notify::new());
        let stopping = Arc::new(AtomicBool::new(false));
        let sender = Arc::new(Sender {
            pool: pool.clone(),
            mailer,
            eservice,
            templates,
            domain: config.domain.clone(),
            retry: config.retry(),
            limit: config.rate(),
            lease: config.send_lease,
            concurrency: config.concurrency.max(1),
            poll_interval: config.poll_interval,
            wake: wake.clone(),
            metrics: metrics.clone(),
            stopping: stopping.clone(),
        });

        let mut client = kafka.member(&config.group_id, config.instance_id.as_deref());
        // Offsets are stored by hand after each request is in the database;
        // librdkafka commits what is stored.
        client.set("enable.auto.commit", "true");
        client.set("auto.commit.interval.ms", "1000");
        let watched = watch::watch(
            &mut client,
            &health,
            &metrics.cut_offs,
            kafka.consumer_stall_after,
        );
        let consumer: StreamConsumer<WatchedContext> = client.create_with_context(watched)?;
        consumer.subscribe(&[&kafka.topics().name(&topics::RECEIPTS)])?;
        let intake = intake::Intake {
            consumer,
            producer,
            pool,
            domain: config.domain.clone(),
            limit: config.rate(),
            wake: wake.clone(),
            metrics: metrics.clone(),
            group_id: config.group_id.clone(),
        };
        let intake_wake = wake;
        tokio::spawn(status_log(metrics));
        let membership = members::report(
            sender.pool.clone(),
            &config.group_id,
            &members::instance_name(config.instance_id.as_deref()),
        );
        Ok(Self {
            intake: tokio::spawn(intake.run()),
            membership,
            sender: tokio::spawn(sender.run()),
            stopping,
            wake: intake_wake,
        })
    }

    /// Resolves if either loop ends, which happens only on a bug or after
    /// `stop`.
    pub async fn finished(&mut self) -> Result<(), tokio::task::JoinError> {
        tokio::select! {
            result = &mut self.intake => result,
            result = &mut self.sender => result,
        }
    }

    /// Stops taking receipts and lets the sends under way finish, for at
    /// most `within`; a send cut off after that is retried after its lease
    /// as the same message.
    pub async fn stop(self, within: Duration) {
        self.intake.abort();
        self.stopping.store(true, Ordering::Relaxed);
        self.wake.notify_one();
        self.membership.leave().await;
        if tokio::time::timeout(within, self.sender).await.is_err() {
            tracing::warn!("sends still under way at shutdown; they will be retried");
        }
    }
}

/// A periodic line for operations, when something happened.
async fn status_log(metrics: ReceiptMetrics) {
    let mut tick = tokio::time::interval(Duration::from_secs(10));
    let mut last = (0, 0, 0, 0);
    loop {
        tick.tick().await;
        let (sent, retrying, failed) = metrics.totals();
        let now = (sent, retrying, failed, metrics.interrupted.get());
        if now != last {
            let (sent, retrying, failed, interrupted) = now;
            tracing::info!(sent, retrying, failed, interrupted, "receipts status");
            last = now;
        }
    }
}
