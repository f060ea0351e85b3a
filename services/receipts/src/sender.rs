//! Sending what is due: new receipts, retries whose time has come, and
//! sends interrupted by a crash (retried as the very same message). Each
//! outcome goes through the pure state machine and is recorded fenced by
//! the attempt number.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures::StreamExt;
use intake_adapters::retry::{Backoff, retry};
use intake_core::events::ReceiptRecipient;
use intake_core::receipt::{
    Attempt, RateLimit, ReceiptState, RetryPolicy, Templates, after_attempt, mask_addresses,
    render_combined,
};
use sqlx::PgPool;
use tokio::sync::Notify;

use crate::eservice::{Eservice, Notification};
use crate::mail::{Envelope, Mailer};
use crate::metrics::ReceiptMetrics;
use crate::store::{self, Claimed, StoreError};

/// Recording a delivery's outcome is retried for as long as the lease lasts.
const RECORD_RETRY: Backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));

pub struct Sender {
    pub pool: PgPool,
    pub mailer: Mailer,
    pub eservice: Eservice,
    pub templates: Templates,
    pub domain: String,
    pub retry: RetryPolicy,
    /// Held receipts are released, combined, when this allows.
    pub limit: RateLimit,
    pub lease: Duration,
    pub concurrency: usize,
    pub poll_interval: Duration,
    pub wake: Arc<Notify>,
    pub metrics: ReceiptMetrics,
    /// Set on shutdown: no new claims; sends under way finish and are
    /// recorded, so a deploy does not leave receipts in doubt.
    pub stopping: Arc<std::sync::atomic::AtomicBool>,
}

impl Sender {
    pub async fn run(self: Arc<Self>) {
        let batch_size = i64::try_from(self.concurrency * 2).unwrap_or(16);
        while !self.stopping.load(Ordering::Relaxed) {
            match store::release_held(&self.pool, self.limit).await {
                Ok(0) => {}
                Ok(carriers) => tracing::info!(carriers, "held receipts released, combined"),
                Err(error) => {
                    tracing::warn!(error = %error, "cannot release held receipts; trying again")
                }
            }
            let batch = match store::claim_due(&self.pool, batch_size, self.lease).await {
                Ok(batch) => batch,
                Err(error) => {
                    tracing::warn!(error = %error, "cannot read due receipts; trying again");
                    tokio::time::sleep(self.poll_interval).await;
                    continue;
                }
            };
            if batch.is_empty() {
                tokio::select! {
                    () = self.wake.notified() => {}
                    () = tokio::time::sleep(self.poll_interval) => {}
                }
                continue;
            }
            futures::stream::iter(batch)
                .for_each_concurrent(self.concurrency, |claimed| self.deliver(claimed))
                .await;
        }
    }

    #[tracing::instrument(skip_all, fields(
        receipt_id = %claimed.request.receipt_id,
        supplement_id = %claimed.request.supplement_id,
        reference = %claimed.request.reference,
        attempt = claimed.attempt,
    ))]
    async fn deliver(&self, claimed: Claimed) {
        if claimed.interrupted {
            self.metrics.interrupted.inc();
            tracing::warn!(
                "an earlier send of this receipt was interrupted; sending the same message again"
            );
        }
        let request = &claimed.request;
        let words = render_combined(request, &claimed.also, &self.templates, &self.domain);
        let channel = request.channel.as_str();
        let sending = std::time::Instant::now();
        let attempt = match &request.recipient {
            ReceiptRecipient::Email { address } => {
                let envelope = Envelope {
                    receipt_id: request.receipt_id,
                    to: address,
                    language: request.language.map(intake_core::events::Language::as_str),
                    created_at: claimed.created_at,
                    in_reply_to: request.mail.as_ref().and_then(|m| m.message_id.as_deref()),
                };
                match self.mailer.compose(&envelope, &words) {
                    Ok(message) => self.mailer.send(&message).await,
                    Err(why) => Attempt::Permanent(why),
                }
            }
            ReceiptRecipient::EnterFinland { customer_number } => {
                self.eservice
                    .notify(&Notification {
                        notification_id: request.receipt_id,
                        customer_number: customer_number.as_str(),
                        reference: &request.reference,
                        language: request.language.map(intake_core::events::Language::as_str),
                        subject: &words.subject,
                        text: &words.text,
                    })
                    .await
            }
        };
        let send_seconds = sending.elapsed().as_secs_f64();
        let attempt_no = u32::try_from(claimed.attempt).unwrap_or(u32::MAX);
        let next = after_attempt(attempt_no, &attempt, self.retry);
        if !self.record(&claimed, &next).await {
            // Another attempt decides (its lease ran out), or the outcome
            // could not be written: this one is not counted.
            return;
        }
        match next.state {
            ReceiptState::Sent => {
                self.metrics.attempt(channel, "sent", send_seconds);
                let waited = chrono::Utc::now() - claimed.created_at;
                self.metrics.sent_after(channel, waited.as_seconds_f64());
                tracing::info!(channel, "receipt sent");
            }
            ReceiptState::Failed => {
                self.metrics.attempt(channel, "failed", send_seconds);
                let why = match attempt {
                    Attempt::Permanent(_) => "rejected",
                    _ => "retries_exhausted",
                };
                self.metrics.failure(channel, why);
                let reason = next.reason.as_deref().map(mask_addresses);
                tracing::error!(reason, "receipt failed");
            }
            _ => {
                self.metrics.attempt(channel, "retrying", send_seconds);
                self.metrics.failure(channel, "transient");
                let reason = next.reason.as_deref().map(mask_addresses);
                tracing::warn!(
                    reason,
                    retry_in = ?next.retry_in,
                    "receipt not delivered yet; it will be retried"
                );
            }
        }
    }

    /// Keeps trying while the lease lasts: a delivered receipt left
    /// `sending` would be sent again when the lease runs out. Whether this
    /// attempt's outcome is the one on record.
    async fn record(&self, claimed: &Claimed, next: &intake_core::receipt::Next) -> bool {
        let id = claimed.request.receipt_id;
        let attempt = retry(RECORD_RETRY, "recording the receipt's outcome", || async {
            store::finish(&self.pool, id, claimed.attempt, next)
                .await
                .map_err(StoreError::classified)
        });
        match tokio::time::timeout(self.lease, attempt).await {
            Ok(Ok(true)) => true,
            Ok(Ok(false)) => {
                tracing::warn!("the receipt's lease had run out; a newer attempt decides");
                false
            }
            Ok(Err(error)) => {
                tracing::error!(%error, "could not record the receipt's outcome");
                false
            }
            Err(_) => {
                tracing::error!("could not record the receipt's outcome within its lease");
                false
            }
        }
    }
}
