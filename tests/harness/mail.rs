//! Reading what the local SMTP server stored: `<name>.eml` holds the message
//! byte for byte, `<name>.json` its envelope and DKIM verdict.

use std::path::PathBuf;
use std::time::Duration;

pub struct Mailbox {
    dir: PathBuf,
}

#[derive(Debug, Clone)]
pub struct StoredMail {
    pub raw: Vec<u8>,
    pub mail_from: String,
    pub rcpt_tos: Vec<String>,
    /// The SMTP server's DKIM verdict: `pass`, `fail (...)` or `none`.
    pub dkim: String,
}

impl StoredMail {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.raw).into_owned()
    }
}

impl Mailbox {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    /// Every stored message that `matches`, in arrival order.
    pub fn find(&self, matches: impl Fn(&StoredMail) -> bool) -> Vec<StoredMail> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return vec![];
        };
        let mut names: Vec<PathBuf> = entries
            .filter_map(|e| Some(e.ok()?.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        names.sort();
        names
            .into_iter()
            .filter_map(|eml| {
                let raw = std::fs::read(&eml).ok()?;
                let envelope: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(eml.with_extension("json")).ok()?)
                        .ok()?;
                Some(StoredMail {
                    raw,
                    mail_from: envelope["mail_from"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    rcpt_tos: envelope["rcpt_tos"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|v| v.as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default(),
                    dkim: envelope["dkim"].as_str().unwrap_or("none").to_owned(),
                })
            })
            .filter(|mail| matches(mail))
            .collect()
    }

    /// Deliveries the server accepted but did not store again, because a
    /// message with the same Message-ID was already stored for the
    /// recipient: `(message_id, same_message, dkim)`.
    pub fn duplicates(&self) -> Vec<(String, bool, String)> {
        std::fs::read_to_string(self.dir.join("duplicates.jsonl"))
            .unwrap_or_default()
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .map(|v| {
                (
                    v["message_id"].as_str().unwrap_or_default().to_owned(),
                    v["same_message"].as_bool().unwrap_or(false),
                    v["dkim"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }

    /// Waits until at least one matching message has arrived.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        matches: impl Fn(&StoredMail) -> bool,
    ) -> Vec<StoredMail> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let found = self.find(&matches);
            if !found.is_empty() || tokio::time::Instant::now() >= deadline {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
