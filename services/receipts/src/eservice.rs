//! A receipt for an Enter Finland supplement: a notification in the
//! applicant's e-service inbox. The receipt id is the idempotency key, so
//! the e-service keeps one notification however often it is sent.

use std::time::Duration;

use intake_core::receipt::Attempt;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
#[error("cannot build the e-service client: {0}")]
pub struct EserviceSetupError(#[source] reqwest::Error);

#[derive(Debug, Serialize)]
pub struct Notification<'a> {
    pub notification_id: Uuid,
    pub customer_number: &'a str,
    pub reference: &'a str,
    pub language: Option<&'a str>,
    pub subject: &'a str,
    pub text: &'a str,
}

pub struct Eservice {
    client: reqwest::Client,
    url: String,
    token: SecretString,
}

impl Eservice {
    pub fn new(
        url: &str,
        token: SecretString,
        timeout: Duration,
    ) -> Result<Self, EserviceSetupError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(EserviceSetupError)?;
        Ok(Self {
            client,
            url: format!("{}/v1/notifications", url.trim_end_matches('/')),
            token,
        })
    }

    pub async fn notify(&self, notification: &Notification<'_>) -> Attempt {
        let response = self
            .client
            .post(&self.url)
            .bearer_auth(self.token.expose_secret())
            .header("Idempotency-Key", notification.notification_id.to_string())
            .json(notification)
            .send()
            .await;
        match response {
            Ok(response) if response.status().is_success() => Attempt::Delivered,
            Ok(response) => {
                let status = response.status();
                let body = response.text().await.unwrap_or_default();
                classify(status, body.chars().take(200).collect::<String>().trim())
            }
            Err(error) => Attempt::Transient(format!("e-service unreachable: {error}")),
        }
    }
}

/// Server trouble and throttling pass; a refusal of the request itself
/// (unknown customer, bad token, invalid notification) does not.
fn classify(status: StatusCode, body: &str) -> Attempt {
    let text = format!("e-service answered {status}: {body}");
    if status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
    {
        Attempt::Transient(text)
    } else {
        Attempt::Permanent(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_errors_and_throttling_are_retried_refusals_are_not() {
        for status in [503, 500, 429, 408] {
            let status = StatusCode::from_u16(status).expect("status");
            assert!(
                matches!(classify(status, ""), Attempt::Transient(_)),
                "{status}"
            );
        }
        for status in [400, 401, 404, 422] {
            let status = StatusCode::from_u16(status).expect("status");
            assert!(
                matches!(classify(status, "no"), Attempt::Permanent(_)),
                "{status}"
            );
        }
    }
}
